//! The confidential OAuth client's public documents: its metadata at its client id
//! (`/oauth-client-metadata.json`) and its public signing keys (`/oauth/jwks.json`), which
//! authorization servers fetch to check the client's signed assertions.

use crate::server::state::AppState;
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

/// Authorization servers cache these; an hour keeps key rotation quick.
const CACHE_CONTROL: &str = "public, max-age=3600";

pub async fn client_metadata(State(state): State<AppState>) -> Response {
    match &state.bluesky {
        Some(bluesky) => (
            [(header::CACHE_CONTROL, CACHE_CONTROL)],
            Json(bluesky.auth.client_metadata()),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub async fn jwks(State(state): State<AppState>) -> Response {
    match &state.bluesky {
        Some(bluesky) => ([(header::CACHE_CONTROL, CACHE_CONTROL)], Json(bluesky.auth.jwks())).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
