//! The JSON paths of recurring series, as the design names them: `GET /api/events/detect-series`
//! (the signed-in organiser's proposals), `POST /api/events/create-series` (make a series of
//! proposed events) and `POST /api/events/series/{slug}/sync` (publish its next occurrence now, if
//! it is not on Bluesky). Same services and errors as the pages' server functions.

use crate::api::{
    series::parse_ids,
    ssr::signed_in_on,
    views::{ProposalView, SeriesPage},
    ApiError, ErrorCode,
};
use crate::domain::Slug;
use crate::server::state::AppState;
use axum::{
    extract::{rejection::JsonRejection, Path, State},
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/events/detect-series", get(detect))
        .route("/api/events/create-series", post(create))
        .route("/api/events/series/{slug}/sync", post(sync))
}

async fn detect(State(state): State<AppState>, session: Session) -> Result<Json<Vec<ProposalView>>, ApiError> {
    let user = signed_in_on(&state, &session).await?;
    let schedule = crate::api::ssr::schedule(&state)?;
    let proposals = schedule.proposals(&user).await.map_err(ApiError::series)?;
    Ok(Json(
        proposals
            .into_iter()
            .map(|(proposal, recurrence, events)| ProposalView::of(&proposal, &recurrence, events))
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
struct CreateBody {
    /// The events to make a series of: a proposal's.
    events: Vec<i64>,
}

#[derive(Debug, Serialize)]
struct Created {
    id: i64,
    slug: Slug,
    url: String,
}

async fn create(
    State(state): State<AppState>,
    session: Session,
    body: Result<Json<CreateBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let Json(body) = body.map_err(|rejection| {
        ApiError::with_message(
            ErrorCode::Request,
            format!(
                "Send JSON like {{\"events\": [12, 15, 19]}} ({}).",
                rejection.body_text()
            ),
        )
    })?;
    let ids = parse_ids(
        &body
            .events
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
    )
    .ok_or_else(|| ApiError::invalid("events", "Name between 1 and 500 events."))?;
    let user = signed_in_on(&state, &session).await?;
    let schedule = crate::api::ssr::schedule(&state)?;
    let series = schedule.adopt(&user, &ids).await.map_err(ApiError::series)?;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            id: series.id,
            url: format!("/series/{}", series.slug),
            slug: series.slug,
        }),
    ))
}

async fn sync(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Json<SeriesPage>, ApiError> {
    let id = Slug::id_in(&id).ok_or_else(|| {
        ApiError::with_message(
            ErrorCode::Request,
            "A series is named by its slug, as in its page's address /series/{slug}, or by its id.",
        )
    })?;
    let user = signed_in_on(&state, &session).await?;
    let schedule = crate::api::ssr::schedule(&state)?;
    let series = crate::api::ssr::series(&state, id).await?;
    let details = schedule.sync(&user, &series).await.map_err(ApiError::series)?;
    Ok(Json(SeriesPage::of(details, Some(&user), Some(&user))))
}
