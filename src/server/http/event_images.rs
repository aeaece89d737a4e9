//! Event images.
//!
//! `GET /events/{slug}/images/{cid}`: an image the event's record names, from its owner's PDS
//! through [`crate::server::images`]. Anything that is not such an image, or could not be fetched
//! or checked, is a 404: the page then simply has no image.
//!
//! `POST /events/{slug}/image`: the organiser's header image, a plain multipart form (it works
//! without JavaScript). The file must be an image by its bytes and at most
//! [`UPLOAD_MAX_BYTES`]; it goes to the organiser's PDS and the record names it. The answer is a
//! redirect back to the event's page, with `?image_error={code}` when it was refused.

use crate::api::{ssr, ApiError, ErrorCode};
use crate::domain::{BlobCid, Slug, ALT_MAX_CHARS};
use crate::server::{images::sniff, state::AppState};
use axum::{
    extract::{multipart::Field, DefaultBodyLimit, Multipart, Path, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Router,
};
use tower_sessions::Session;

/// The largest image an organiser may upload.
pub const UPLOAD_MAX_BYTES: usize = 2 * 1024 * 1024;
/// The most bytes of the image's description that are read.
const ALT_MAX_BYTES: usize = ALT_MAX_CHARS * 4;

pub fn routes() -> Router<AppState> {
    Router::new().route("/events/{slug}/images/{cid}", get(image)).route(
        "/events/{slug}/image",
        // Room for the form's other fields and the multipart framing.
        post(upload).layer(DefaultBodyLimit::max(UPLOAD_MAX_BYTES + 64 * 1024)),
    )
}

async fn upload(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    form: Multipart,
) -> Response {
    let page = format!("/events/{slug}");
    match set_header_image(&state, &session, &slug, form).await {
        Ok(slug) => Redirect::to(&format!("/events/{slug}")).into_response(),
        Err(error) => {
            tracing::debug!(code = %error.code, "an event image was refused");
            Redirect::to(&format!("{page}?image_error={}", error.code)).into_response()
        }
    }
}

/// Checks the form and the organiser, sends the image; the event's slug when done.
async fn set_header_image(
    state: &AppState,
    session: &Session,
    slug: &str,
    mut form: Multipart,
) -> Result<Slug, ApiError> {
    let id = Slug::id_in(slug).ok_or(ErrorCode::EventNotFound)?;
    let user = ssr::signed_in_on(state, session).await?;
    let event = ssr::event(state, id).await?;
    let calendar = ssr::calendar(state)?;
    let (mut image, mut alt) = (None, String::new());
    while let Some(field) = form.next_field().await.map_err(|_| ErrorCode::ImageTooLarge)? {
        match field.name() {
            Some("image") => image = Some(read(field, UPLOAD_MAX_BYTES, ErrorCode::ImageTooLarge).await?),
            Some("alt") => {
                let bytes = read(field, ALT_MAX_BYTES, ErrorCode::ImageAltTooLong).await?;
                alt = String::from_utf8(bytes).map_err(|_| ErrorCode::Request)?;
            }
            _ => {}
        }
    }
    let image = image.filter(|bytes| !bytes.is_empty()).ok_or(ErrorCode::ImageMissing)?;
    let alt = alt.trim();
    if alt.chars().count() > ALT_MAX_CHARS {
        return Err(ErrorCode::ImageAltTooLong.into());
    }
    if alt.chars().any(char::is_control) {
        return Err(ApiError::from(ErrorCode::Input).about("alt"));
    }
    let content_type = sniff(&image).map_err(|_| ErrorCode::ImageUnsupported)?;
    let event = calendar
        .set_header_image(&user, &event, image, content_type, alt)
        .await
        .map_err(ApiError::publishing)?;
    Ok(event.slug)
}

/// A field's bytes, or `too_long` once it has more than `limit`.
async fn read(mut field: Field<'_>, limit: usize, too_long: ErrorCode) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|_| too_long)? {
        if bytes.len() + chunk.len() > limit {
            return Err(too_long.into());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
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
