//! The JSON paths that name an event: `POST /api/events/{slug}/sync`,
//! `GET /api/events/{slug}/conflicts` and `POST /api/events/{slug}/resolve`, where the slug is the
//! one in the event's page address (its id works too).
//!
//! Server functions take no path parameters, so these are axum handlers. They read the session
//! and the path, then make the same calls the server functions make (`crate::api::events::ssr`):
//! one implementation and one set of authorization rules, answered the same way (the value, or
//! an [`ApiError`] as JSON under its code's status).

use crate::api::{
    events::ssr as events,
    ssr::signed_in_on,
    views::{ConflictView, Resolution, SyncResult},
    ApiError, ErrorCode,
};
use crate::server::state::AppState;
use axum::{
    extract::{rejection::JsonRejection, Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use tower_sessions::Session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/events/{slug}/sync", post(sync))
        .route("/api/events/{slug}/conflicts", get(conflicts))
        .route("/api/events/{slug}/resolve", post(resolve))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self)).into_response()
    }
}

async fn sync(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Json<SyncResult>, ApiError> {
    let id = event_id(&id)?;
    let user = signed_in_on(&state, &session).await?;
    Ok(Json(events::sync(&state, &user, id).await?))
}

async fn conflicts(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Json<Vec<ConflictView>>, ApiError> {
    let id = event_id(&id)?;
    let user = signed_in_on(&state, &session).await?;
    Ok(Json(events::conflicts(&state, &user, id).await?))
}

#[derive(Debug, Deserialize)]
struct ResolveBody {
    resolution: Resolution,
}

async fn resolve(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    body: Result<Json<ResolveBody>, JsonRejection>,
) -> Result<Json<()>, ApiError> {
    let id = event_id(&id)?;
    let Json(body) = body.map_err(|rejection| {
        ApiError::with_message(
            ErrorCode::Request,
            format!(
                "Send JSON like {{\"resolution\": \"keep_bluesky\"}} or \"reapply_mine\" ({}).",
                rejection.body_text()
            ),
        )
    })?;
    let user = signed_in_on(&state, &session).await?;
    events::resolve(&state, &user, id, body.resolution).await?;
    Ok(Json(()))
}

/// The event a path names, by its slug or its id.
fn event_id(segment: &str) -> Result<i64, ApiError> {
    crate::domain::Slug::id_in(segment).ok_or_else(|| {
        ApiError::with_message(
            ErrorCode::Request,
            "An event is named by its slug, as in its page's address /events/{slug}, or by its id.",
        )
    })
}
