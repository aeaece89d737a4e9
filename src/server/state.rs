//! What every handler and server function can reach.

use crate::server::{
    auth::oauth::BlueskyAuth,
    calendar::{listings::Listings, reads::Reads, Calendar},
    config::Config,
    firehose::{Ingest, Repos},
    identity::Identity,
    kv::KvStore,
    profiles::Profiles,
    reconcile::Reconciler,
    series::Schedule,
    store::Store,
};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub kv: KvStore,
    pub leptos_options: LeptosOptions,
    pub metrics: PrometheusHandle,
    /// Everything that talks to the ATProto network; `None` where Bluesky sign-in is not
    /// available (see [`BlueskyAuth::new`]).
    pub bluesky: Option<Bluesky>,
    /// Local accounts: email and password.
    pub accounts: Arc<crate::server::accounts::Accounts>,
}

/// The services that work with people's PDSes, there together or not at all.
#[derive(Clone)]
pub struct Bluesky {
    /// Sign-in and the credentials it keeps.
    pub auth: Arc<BlueskyAuth>,
    /// Resolving DIDs and handles, and reading anyone's public repo.
    pub identity: Arc<Identity>,
    /// Reading a signed-in person's profile.
    pub profiles: Arc<Profiles>,
    /// Publishing events and answers to their owners' PDSes.
    pub calendar: Arc<Calendar>,
    /// Recurring series, and publishing their next occurrence.
    pub schedule: Arc<Schedule>,
    /// Reading whole repos into the cache (backfills) and replaying dead letters.
    pub repos: Arc<Repos>,
    /// Comparing repos with the cache.
    pub reconciler: Arc<Reconciler>,
    /// The firehose consumer; there when `FIREHOSE_URL` is set.
    pub consumer: Option<Arc<Ingest>>,
    /// Importing what the network holds; there when `RELAY_URL` is set.
    pub importer: Option<Arc<crate::server::network_import::Importer>>,
    /// Event images from their owners' PDSes, checked and cached.
    pub images: Arc<crate::server::images::Images>,
    /// What people's PDSes listed lately, for their user pages.
    pub listings: Arc<Listings>,
}

impl AppState {
    /// Reads for the pages.
    pub fn reads(&self) -> Reads {
        let network = self
            .bluesky
            .as_ref()
            .map(|b| (Arc::clone(&b.identity), Arc::clone(&b.listings)));
        Reads::new(self.store.clone(), network)
    }

    pub fn feeds(&self) -> crate::server::feeds::Feeds {
        crate::server::feeds::Feeds::new(self.store.clone(), self.identity(), self.config.public_url.clone())
    }

    pub fn images(&self) -> Option<Arc<crate::server::images::Images>> {
        self.bluesky.as_ref().map(|b| Arc::clone(&b.images))
    }

    pub fn identity(&self) -> Option<Arc<Identity>> {
        self.bluesky.as_ref().map(|b| Arc::clone(&b.identity))
    }

    pub fn auth(&self) -> Option<Arc<BlueskyAuth>> {
        self.bluesky.as_ref().map(|b| Arc::clone(&b.auth))
    }

    pub fn consumer(&self) -> Option<Arc<Ingest>> {
        self.bluesky.as_ref().and_then(|b| b.consumer.clone())
    }

    pub fn calendar(&self) -> Option<Arc<Calendar>> {
        self.bluesky.as_ref().map(|b| Arc::clone(&b.calendar))
    }

    pub fn schedule(&self) -> Option<Arc<Schedule>> {
        self.bluesky.as_ref().map(|b| Arc::clone(&b.schedule))
    }

    pub fn importer(&self) -> Option<Arc<crate::server::network_import::Importer>> {
        self.bluesky.as_ref().and_then(|b| b.importer.clone())
    }

    pub fn reconciler(&self) -> Option<Arc<Reconciler>> {
        self.bluesky.as_ref().map(|b| Arc::clone(&b.reconciler))
    }
}
