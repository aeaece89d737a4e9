//! `GET /events/{slug}/record.json`: the record behind an event, so organisers and developers can
//! see every field of it, other apps' extension fields included. It is read from the owner's PDS
//! as it holds it now (`{uri, cid, value}`, the shape of `com.atproto.repo.getRecord`); when the
//! PDS cannot be reached, Skymeet's copy is answered instead. `X-Record-Source` says which.

use crate::api::{ApiError, ErrorCode};
use crate::domain::Slug;
use crate::server::{state::AppState, store::Looker};
use axum::{
    extract::{Path, State},
    http::{header, HeaderName, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use tower_sessions::Session;

pub const SOURCE_HEADER: HeaderName = HeaderName::from_static("x-record-source");

pub fn routes() -> Router<AppState> {
    Router::new().route("/events/{slug}/record.json", get(record))
}

/// 404 (error-event-3) when there is no such event (none the viewer may see), or its record is
/// gone from its PDS.
async fn record(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    session: Session,
) -> Result<Response, ApiError> {
    let id = Slug::id_in(&slug).ok_or(ErrorCode::EventNotFound)?;
    let viewer = crate::api::ssr::viewer_of(&state, &session).await?;
    let looker = Looker::user(viewer.map(|viewer| viewer.id));
    let copy = state
        .reads()
        .record(id, looker)
        .await?
        .ok_or(ErrorCode::EventNotFound)?;
    let source = HeaderValue::from_static(copy.from.as_str());
    let mut response = Json(copy).into_response();
    let headers = response.headers_mut();
    headers.insert(SOURCE_HEADER, source);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}
