//! What every handler and server function can reach.

use crate::server::{config::Config, kv::KvStore, store::Store};
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
}
