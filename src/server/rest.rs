//! The plan's JSON endpoints that name an event in their path (F26):
//! `POST /api/events/{slug}/sync`, `GET /api/events/{slug}/conflicts` and
//! `POST /api/events/{slug}/resolve`, where the slug is the event's id, as in its page's address.
//!
//! Server functions take no path parameters, so these handlers read the path and call the same
//! server functions the pages use, inside the context the router gives every server function: one
//! implementation and one set of authorization rules, answered the same way (the value, or an
//! [`ApiError`] with its stable code, as JSON).

use crate::api::{
    events::{event_conflicts, resolve_conflict, sync_event, Resolution},
    ApiError,
};
use crate::server::state::AppState;
use axum::{
    extract::{rejection::JsonRejection, Path, State},
    http::{request::Parts, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use leptos::{
    prelude::{provide_context, Owner},
    reactive::computed::ScopedFuture,
};
use leptos_axum::ResponseOptions;
use serde::{Deserialize, Serialize};
use std::future::Future;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/events/{slug}/sync", post(sync))
        .route("/api/events/{slug}/conflicts", get(conflicts))
        .route("/api/events/{slug}/resolve", post(resolve))
}

async fn sync(State(state): State<AppState>, Path(slug): Path<String>, parts: Parts) -> Response {
    answer(state, parts, async move { sync_event(event_id(&slug)?).await }).await
}

async fn conflicts(State(state): State<AppState>, Path(slug): Path<String>, parts: Parts) -> Response {
    answer(state, parts, async move { event_conflicts(event_id(&slug)?).await }).await
}

#[derive(Debug, Deserialize)]
struct ResolveBody {
    resolution: Resolution,
}

async fn resolve(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    parts: Parts,
    body: Result<Json<ResolveBody>, JsonRejection>,
) -> Response {
    answer(state, parts, async move {
        let id = event_id(&slug)?;
        let Json(body) = body.map_err(|rejection| {
            bad_request(format!(
                "Send JSON like {{\"resolution\": \"keep_bluesky\"}} or \"reapply_mine\" ({}).",
                rejection.body_text()
            ))
        })?;
        resolve_conflict(id, body.resolution).await
    })
    .await
}

/// The event id a slug names.
fn event_id(slug: &str) -> Result<i64, ApiError> {
    slug.parse()
        .map_err(|_| bad_request("An event is named by its id, a number, as in its page's address /events/{id}."))
}

fn bad_request(message: impl Into<String>) -> ApiError {
    crate::api::ssr::set_status(StatusCode::BAD_REQUEST);
    ApiError::new("error-request-1", message)
}

/// Runs `call` (a server function called directly) with the context server functions get from
/// the router, as `leptos_axum::handle_server_fns_with_context` sets it up, and answers with its
/// value or error as JSON, under the status it chose (200 for a value, 500 for an error otherwise).
async fn answer<T: Serialize>(
    state: AppState,
    parts: Parts,
    call: impl Future<Output = Result<T, ApiError>> + Send + 'static,
) -> Response {
    let owner = Owner::new();
    owner
        .with(|| {
            ScopedFuture::new(async move {
                provide_context(state);
                provide_context(parts);
                let options = ResponseOptions::default();
                provide_context(options.clone());
                let result = call.await;
                let status = options.0.read().ok().and_then(|parts| parts.status);
                match result {
                    Ok(value) => (status.unwrap_or(StatusCode::OK), Json(value)).into_response(),
                    Err(error) => (status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), Json(error)).into_response(),
                }
            })
        })
        .await
}
