//! `/healthz`: the process is up. `/readyz`: it can serve, i.e. its database and key-value store
//! answer.

use crate::server::state::AppState;
use axum::{extract::State, http::StatusCode, Json};
use serde::Serialize;
use std::time::Duration;

pub async fn healthz() -> &'static str {
    "ok"
}

#[derive(Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub database: Check,
    pub kv: Check,
}

#[derive(Serialize)]
pub struct Check {
    pub backend: &'static str,
    pub ok: bool,
    /// What went wrong, in words safe to show (no addresses, no credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let (database, kv) = tokio::join!(
        tokio::time::timeout(CHECK_TIMEOUT, state.store.ping()),
        tokio::time::timeout(CHECK_TIMEOUT, state.kv.ping()),
    );
    let database = check(
        state.store.engine(),
        database.map_err(|_| "timed out").and_then(|r| {
            r.map_err(|e| {
                tracing::warn!(error = %crate::server::error::Chain(&e), "readiness: database check failed");
                "unreachable"
            })
        }),
    );
    let kv = check(
        state.kv.backend(),
        kv.map_err(|_| "timed out").and_then(|r| {
            r.map_err(|e| {
                tracing::warn!(error = %crate::server::error::Chain(&e), "readiness: key-value store check failed");
                "unreachable"
            })
        }),
    );
    let ready = database.ok && kv.ok;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(Readiness { ready, database, kv }))
}

fn check(backend: &'static str, result: Result<(), &'static str>) -> Check {
    Check {
        backend,
        ok: result.is_ok(),
        error: result.err(),
    }
}
