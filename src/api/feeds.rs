//! The signed-in person's private calendar feed: its address, and a new one.

use super::ApiError;
use leptos::prelude::*;

/// The address of the signed-in person's feed of what they answered going or interested to;
/// `None` until they ask for one.
#[server(endpoint = "calendar_feed")]
pub async fn calendar_feed() -> Result<Option<String>, ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let path = state.feeds().going_path(user.id).await?;
    Ok(path.map(|path| ssr::absolute(&state, &path)))
}

/// Gives the signed-in person a new feed address; the old one stops working.
#[server(endpoint = "new_calendar_feed")]
pub async fn new_calendar_feed() -> Result<String, ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let path = state.feeds().new_going_path(user.id).await?;
    Ok(ssr::absolute(&state, &path))
}

#[cfg(feature = "ssr")]
mod ssr {
    /// `path` on this site, as a calendar app needs it.
    pub fn absolute(state: &crate::server::state::AppState, path: &str) -> String {
        state
            .config
            .public_url
            .join(path)
            .map(String::from)
            .unwrap_or_else(|_| path.to_owned())
    }
}
