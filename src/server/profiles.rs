//! A person's profile as Skymeet shows it: name, description and avatar from their own PDS
//! (`app.bsky.actor.profile/self`), and follower counts from the AppView when one is configured.

use crate::domain::Did;
use crate::server::{
    appview::AppView,
    auth::oauth::{BlueskyAuth, OAuthError},
    store::Profile,
};
use std::sync::Arc;

pub struct Profiles {
    auth: Arc<BlueskyAuth>,
    appview: Option<AppView>,
}

impl Profiles {
    pub fn new(auth: Arc<BlueskyAuth>, appview: Option<AppView>) -> Self {
        Self { auth, appview }
    }

    /// The profile of a signed-in account (its PDS is read through its session).
    pub async fn read(&self, did: &Did) -> Result<Profile, OAuthError> {
        let mut profile = self.auth.fetch_profile(did).await?;
        if let Some(appview) = &self.appview {
            match appview.follow_counts(did).await {
                Ok(counts) => {
                    profile.followers_count = counts.followers;
                    profile.follows_count = counts.follows;
                }
                // Counts are a nicety: the profile is read without them.
                Err(e) => tracing::warn!(error = %e, "the AppView did not give follower counts"),
            }
        }
        Ok(profile)
    }
}
