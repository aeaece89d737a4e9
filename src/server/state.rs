//! What every handler and server function can reach.

use crate::server::{
    auth::oauth::BlueskyAuth, calendar::Calendar, config::Config, firehose::Ingest, kv::KvStore, reconcile::Reconciler,
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
    /// Bluesky sign-in; `None` where it is not available (see [`BlueskyAuth::new`]).
    pub auth: Option<Arc<BlueskyAuth>>,
    /// Publishing events to their owners' PDSes; there whenever Bluesky sign-in is.
    pub calendar: Option<Arc<Calendar>>,
    /// Applies firehose frames and backfills; there when `FIREHOSE_URL` is set (and sign-in is).
    pub ingest: Option<Arc<Ingest>>,
    /// Compares repos with the cache (F25); there whenever Bluesky sign-in is.
    pub reconciler: Option<Arc<Reconciler>>,
}
