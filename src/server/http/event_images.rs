//! `GET /events/{slug}/images/{cid}`: an image the event's record names, from its owner's PDS
//! through [`crate::server::images`]. Anything that is not such an image, or could not be fetched
//! or checked, is a 404: the page then simply has no image.

use crate::api::{ApiError, ErrorCode};
use crate::domain::{BlobCid, Slug};
use crate::server::state::AppState;
use axum::{
    extract::{Path, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/events/{slug}/images/{cid}", get(image))
}

async fn image(State(state): State<AppState>, Path((slug, cid)): Path<(String, String)>) -> Result<Response, ApiError> {
    let (Some(id), Some(cid), Some(images)) = (Slug::id_in(&slug), BlobCid::parse(&cid), state.images()) else {
        return Err(ErrorCode::EventNotFound.into());
    };
    let image = match images.of_event(id, &cid).await {
        Ok(Some(image)) => image,
        Ok(None) => return Err(ErrorCode::EventNotFound.into()),
        Err(error) => {
            tracing::debug!(%error, %cid, "an event image is not shown");
            return Err(ErrorCode::EventNotFound.into());
        }
    };
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(image.content_type)),
        // The address names the bytes (a CID), so they never change.
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=604800, immutable"),
        ),
    ];
    Ok((headers, image.bytes.to_vec()).into_response())
}
