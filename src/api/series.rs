//! Recurring series: their pages, and starting, changing, cancelling and deleting them. Starting
//! one is [`super::events::create_event`] with "Repeats" set.

use super::{
    views::{OccurrencePage, SeriesForm, SeriesOverview, SeriesPage},
    ApiError,
};
use crate::domain::{EventInput, RepeatInput};
use leptos::prelude::*;

/// `/series/{slug}`: a series (`id` is the slug's) and its occurrences; `None` when there is none.
#[server(endpoint = "series_details")]
pub async fn series_details(id: i64) -> Result<Option<SeriesPage>, ApiError> {
    let state = super::ssr::state()?;
    let viewer = super::ssr::viewer(&state).await?;
    let schedule = super::ssr::schedule(&state)?;
    let Some(details) = schedule
        .details(id, chrono::Utc::now())
        .await
        .map_err(ApiError::series)?
    else {
        return Ok(None);
    };
    let owner = state.store.user_by_id(details.series.owner_id).await?;
    Ok(Some(SeriesPage::of(details, owner.as_ref(), viewer.as_ref())))
}

/// `/series/{slug}/at/{key}`: one occurrence; `None` when the series has none at that time.
#[server(endpoint = "occurrence_details")]
pub async fn occurrence_details(id: i64, key: String) -> Result<Option<OccurrencePage>, ApiError> {
    let Some(starts_at) = crate::domain::parse_occurrence_key(&key) else {
        return Ok(None);
    };
    let state = super::ssr::state()?;
    let schedule = super::ssr::schedule(&state)?;
    let found = schedule.occurrence_of(id, starts_at).await.map_err(ApiError::series)?;
    Ok(found.map(|(series, recurrence, occurrence)| OccurrencePage::of(&series, &recurrence, &occurrence)))
}

/// The edit form of a series, filled; only for its organiser.
#[server(endpoint = "edit_series_form")]
pub async fn edit_series_form(id: i64) -> Result<SeriesForm, ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let series = super::ssr::series(&state, id).await?;
    if series.owner_id != user.id {
        return Err(super::ErrorCode::SeriesNotOrganiser.into());
    }
    let start = series.draft.starts_at.unwrap_or_default();
    let recurrence = crate::server::series::Recurrence::parse(&series.rule, start, &series.draft.time_zone)
        .map_err(|e| ApiError::series(e.into()))?;
    Ok(SeriesForm {
        slug: series.slug.clone(),
        input: series.draft.to_input(),
        repeat: recurrence.to_input(),
    })
}

/// Saves a changed series; its occurrence on Bluesky follows. Back to the series.
#[server(endpoint = "update_series")]
pub async fn update_series(id: i64, input: EventInput, repeat: RepeatInput) -> Result<(), ApiError> {
    let draft = crate::domain::EventDraft::parse(&input).map_err(ApiError::form)?;
    let repeat = crate::domain::Repeat::parse(&repeat)
        .map_err(ApiError::form)?
        .ok_or_else(|| ApiError::invalid("repeat_frequency", "A series repeats: choose how often."))?;
    let (state, user) = super::ssr::signed_in_user().await?;
    let schedule = super::ssr::schedule(&state)?;
    let series = super::ssr::series(&state, id).await?;
    schedule
        .update(&user, &series, &draft, &repeat)
        .await
        .map_err(ApiError::series)?;
    leptos_axum::redirect(&format!("/series/{}", series.slug));
    Ok(())
}

/// Cancels a whole series: nothing more is published, and Bluesky says it is cancelled.
#[server(endpoint = "cancel_series")]
pub async fn cancel_series(id: i64) -> Result<(), ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let schedule = super::ssr::schedule(&state)?;
    let series = super::ssr::series(&state, id).await?;
    schedule.cancel(&user, &series).await.map_err(ApiError::series)?;
    leptos_axum::redirect(&format!("/series/{}", series.slug));
    Ok(())
}

/// Deletes a series and its upcoming occurrences on Bluesky; back to the organiser's page.
#[server(endpoint = "delete_series")]
pub async fn delete_series(id: i64) -> Result<(), ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let schedule = super::ssr::schedule(&state)?;
    let series = super::ssr::series(&state, id).await?;
    schedule.delete(&user, &series).await.map_err(ApiError::series)?;
    let handle = user.handle.map(String::from).unwrap_or_default();
    leptos_axum::redirect(&format!("/u/{handle}"));
    Ok(())
}

/// Cancels one occurrence (`cancelled` true) or takes that back.
#[server(endpoint = "cancel_occurrence")]
pub async fn cancel_occurrence(id: i64, key: String, cancelled: bool) -> Result<(), ApiError> {
    let starts_at = crate::domain::parse_occurrence_key(&key).ok_or(super::ErrorCode::SeriesNoOccurrence)?;
    let (state, user) = super::ssr::signed_in_user().await?;
    let schedule = super::ssr::schedule(&state)?;
    let series = super::ssr::series(&state, id).await?;
    schedule
        .set_cancelled(&user, &series, starts_at, cancelled)
        .await
        .map_err(ApiError::series)?;
    leptos_axum::redirect(&format!("/series/{}", series.slug));
    Ok(())
}

/// Moves one occurrence (`starts_at`: a new wall time in the series' zone, `YYYY-MM-DDTHH:MM`;
/// empty for the rule's) and names it (`name`; empty for the series' name).
#[server(endpoint = "change_occurrence")]
pub async fn change_occurrence(id: i64, key: String, starts_at: String, name: String) -> Result<(), ApiError> {
    let occurrence = crate::domain::parse_occurrence_key(&key).ok_or(super::ErrorCode::SeriesNoOccurrence)?;
    let (state, user) = super::ssr::signed_in_user().await?;
    let schedule = super::ssr::schedule(&state)?;
    let series = super::ssr::series(&state, id).await?;
    let moved_to = match starts_at.trim() {
        "" => None,
        text => Some(
            crate::domain::local_to_utc(text, &series.draft.time_zone)
                .map_err(|message| ApiError::invalid("starts_at", message))?,
        ),
    };
    let name = name.trim();
    if name.chars().count() > crate::domain::NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "name",
            format!(
                "A name has at most {} characters and no control characters.",
                crate::domain::NAME_MAX_CHARS
            ),
        ));
    }
    schedule
        .change_occurrence(&user, &series, occurrence, moved_to, (!name.is_empty()).then_some(name))
        .await
        .map_err(ApiError::series)?;
    leptos_axum::redirect(&format!("/series/{}", series.slug));
    Ok(())
}

/// Answers one occurrence (publishing it first when it is not on Bluesky yet), then shows it.
#[server(endpoint = "answer_occurrence")]
pub async fn answer_occurrence(id: i64, key: String, status: String) -> Result<(), ApiError> {
    let starts_at = crate::domain::parse_occurrence_key(&key).ok_or(super::ErrorCode::SeriesNoOccurrence)?;
    let status = crate::domain::RsvpStatus::from_token(&status)
        .ok_or_else(|| ApiError::invalid("status", "Answer with going, interested or not going."))?;
    let (state, user) = super::ssr::signed_in_user().await?;
    let schedule = super::ssr::schedule(&state)?;
    let (event, _) = schedule
        .answer(&user, id, starts_at, status)
        .await
        .map_err(|e| match e {
            crate::server::series::SeriesError::Publish(e) => ApiError::answering(e),
            other => ApiError::series(other),
        })?;
    leptos_axum::redirect(&format!("/events/{}", event.slug));
    Ok(())
}

/// `/me`: the signed-in organiser's series, and the series their own events look like.
#[server(endpoint = "my_series")]
pub async fn my_series() -> Result<SeriesOverview, ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let schedule = super::ssr::schedule(&state)?;
    let mut series = Vec::new();
    for row in state.store.series_of_owner(user.id).await? {
        let words = row
            .draft
            .starts_at
            .and_then(|start| crate::server::series::Recurrence::parse(&row.rule, start, &row.draft.time_zone).ok())
            .map(|recurrence| recurrence.describe())
            .unwrap_or_else(|| row.rule.clone());
        series.push(super::views::SeriesSummary {
            id: row.id,
            slug: row.slug.clone(),
            name: row.draft.name.clone(),
            rule_words: words,
            cancelled: row.status == crate::server::store::SeriesStatus::Cancelled,
        });
    }
    let proposals = schedule
        .proposals(&user)
        .await
        .map_err(ApiError::series)?
        .into_iter()
        .map(|(proposal, recurrence, events)| super::views::ProposalView::of(&proposal, &recurrence, events))
        .collect();
    Ok(SeriesOverview { series, proposals })
}

/// Makes a series of the signed-in organiser's events (`events`: their ids, comma-separated), as
/// detection proposed; nothing is written to their PDS for the events themselves.
#[server(endpoint = "accept_series_proposal")]
pub async fn accept_series_proposal(events: String) -> Result<(), ApiError> {
    let ids = parse_ids(&events).ok_or_else(|| ApiError::invalid("events", "The events are a list of ids."))?;
    let (state, user) = super::ssr::signed_in_user().await?;
    let schedule = super::ssr::schedule(&state)?;
    let series = schedule.adopt(&user, &ids).await.map_err(ApiError::series)?;
    leptos_axum::redirect(&format!("/series/{}", series.slug));
    Ok(())
}

/// `1,2,3` as ids; `None` for anything else, or for more ids than a person can have events.
pub fn parse_ids(text: &str) -> Option<Vec<i64>> {
    let ids: Vec<i64> = text
        .split(',')
        .map(|id| id.trim().parse().ok())
        .collect::<Option<_>>()?;
    (!ids.is_empty() && ids.len() <= 500).then_some(ids)
}
