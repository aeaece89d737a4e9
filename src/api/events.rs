//! Events: reading them for pages, and creating, editing and deleting them on their organiser's
//! PDS first.

use super::{
    views::{ConflictView, EventPage, EventSummary, EventsPage, Resolution, SyncResult, UserPage},
    ApiError,
};
use crate::domain::{EventInput, SearchInput};
use leptos::prelude::*;

/// The home page's list: the next events to come.
#[server(endpoint = "upcoming_events")]
pub async fn upcoming_events() -> Result<Vec<EventSummary>, ApiError> {
    /// How many upcoming events the home page lists.
    const UPCOMING_LIMIT: u32 = 20;
    let state = super::ssr::state()?;
    let viewer = super::ssr::viewer(&state).await?;
    let found = state
        .reads()
        .search(
            &crate::domain::EventSearch::upcoming(),
            &crate::domain::TimeZoneName::utc(),
            chrono::Utc::now(),
            None,
            UPCOMING_LIMIT,
            viewer.as_ref(),
        )
        .await?;
    let zone = super::preferences::viewer_time_zone().await?;
    Ok(found
        .results
        .into_iter()
        .map(|found| EventSummary::of(found.event.event, &zone))
        .collect())
}

/// `/events/{slug}`: one event (`id` is the slug's); `None` when there is none the viewer may
/// see. `invite` is a private event's invitation code, from its link.
#[server(endpoint = "event_details")]
pub async fn event_details(id: i64, #[server(default)] invite: String) -> Result<Option<EventPage>, ApiError> {
    let state = super::ssr::state()?;
    let viewer = super::ssr::viewer(&state).await?;
    let invite = Some(invite.trim()).filter(|code| !code.is_empty());
    let Some(details) = state.reads().details(id, viewer.as_ref(), invite).await? else {
        return Ok(None);
    };
    let series = match state.schedule() {
        Some(schedule) => schedule
            .series_of(&details.event.event)
            .await
            .map_err(ApiError::series)?
            .map(|(series, recurrence)| super::views::SeriesLink {
                slug: series.slug,
                rule_words: recurrence.describe(),
            }),
        None => None,
    };
    let path = format!("/events/{}", details.event.event.slug);
    let page_url = state
        .config
        .public_url
        .join(&path)
        .map(String::from)
        .unwrap_or_default();
    let add_to_calendar =
        crate::server::feeds::web_calendar_links(&details.event.draft, &page_url).map(|(google, outlook)| {
            super::views::AddToCalendar {
                ics: format!("{path}/calendar.ics"),
                google,
                outlook,
            }
        });
    let invite_link = match (details.event.can_edit, details.event.event.visibility) {
        (true, crate::domain::Visibility::Private) => {
            let code = crate::server::calendar::invite_code(&state.store, id).await?;
            code.and_then(|code| state.config.public_url.join(&format!("{path}?invite={code}")).ok())
                .map(String::from)
        }
        _ => None,
    };
    let private = details.event.event.visibility == crate::domain::Visibility::Private;
    let zone = super::preferences::viewer_time_zone().await?;
    let page = EventPage::of(details, &zone);
    let organiser = page
        .event
        .owner
        .as_ref()
        .map(|owner| crate::server::sharing::Organiser {
            name: owner.name(),
            url: owner
                .handle
                .as_ref()
                .and_then(|handle| state.config.public_url.join(&format!("/u/{handle}")).ok())
                .map(String::from),
        });
    let place = crate::server::ics::location(&page.event.draft);
    let image = crate::domain::EventImage::header(&page.event.images)
        .and_then(|image| state.config.public_url.join(&image.path(&path)).ok())
        .map(String::from);
    let share = super::views::Share {
        preview: crate::server::sharing::preview(&page.event.draft, place.as_deref()),
        json_ld: crate::server::sharing::json_ld(
            &page.event.draft,
            &page.event.places,
            organiser.as_ref(),
            image.as_deref(),
            &page_url,
        ),
        canonical: page_url,
        image,
    };
    Ok(Some(EventPage {
        series,
        add_to_calendar,
        // A private event tells previews and search engines nothing.
        share: (!private).then_some(share),
        invite_link,
        ..page
    }))
}

/// `/events`: a page of events found by `search` (everything still to come when it asks nothing),
/// from `after` (a position an earlier page gave; anything else starts at the first page).
#[server(endpoint = "search_events")]
pub async fn search_events(
    #[server(default)] search: SearchInput,
    #[server(default)] after: String,
) -> Result<EventsPage, ApiError> {
    let query = search.query_string();
    let parsed = match crate::domain::EventSearch::parse(&search) {
        Ok(parsed) => parsed,
        Err(errors) => {
            return Ok(EventsPage {
                results: Vec::new(),
                query,
                next: None,
                later: false,
                errors,
                ranked: false,
            })
        }
    };
    let state = super::ssr::state()?;
    let viewer = super::ssr::viewer(&state).await?;
    // Dates are the viewer's days: in their zone, else UTC.
    let shown = super::preferences::viewer_time_zone().await?;
    let zone = shown.viewer().cloned().unwrap_or_default();
    let after = crate::domain::Cursor::parse(&after);
    let found = state
        .reads()
        .search(
            &parsed,
            &zone,
            chrono::Utc::now(),
            after,
            super::views::EVENTS_PER_PAGE,
            viewer.as_ref(),
        )
        .await?;
    Ok(EventsPage {
        results: found
            .results
            .into_iter()
            .map(|found| super::views::FoundView::of(found, &shown))
            .collect(),
        query,
        next: found.next.map(|cursor| cursor.to_string()),
        later: after.is_some(),
        errors: Vec::new(),
        ranked: parsed.text.is_some(),
    })
}

/// `/u/{handle}`: a Bluesky user's events, read from their PDS, or from Skymeet's copy when the
/// PDS cannot be reached. `None` when the handle is no Bluesky account.
#[server(endpoint = "user_events")]
pub async fn user_events(handle: String, #[server(default)] page: u32) -> Result<Option<UserPage>, ApiError> {
    let Ok(handle) = crate::domain::Handle::parse(handle.trim().trim_start_matches('@')) else {
        return Ok(None);
    };
    let state = super::ssr::state()?;
    let viewer = super::ssr::viewer(&state).await?;
    let read = state.reads().user(&handle, page, viewer.as_ref()).await?;
    let zone = super::preferences::viewer_time_zone().await?;
    Ok(read.map(|read| UserPage::of(read, &zone)))
}

/// `/me`: the signed-in person's events kept on Skymeet only (all of them, for someone without
/// Bluesky), and how many of their answers kept here could go to Bluesky.
#[server(endpoint = "kept_here")]
pub async fn kept_here() -> Result<super::views::KeptHere, ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let events = state.store.events_by_owner(user.id).await?;
    let answers = state.store.local_answers_to_published(user.id).await?;
    let zone = super::preferences::viewer_time_zone().await?;
    Ok(super::views::KeptHere {
        events: events
            .into_iter()
            .filter(|event| event.source.source_type == crate::server::store::SourceType::Local)
            .map(|event| {
                let visibility = event.visibility;
                (EventSummary::of(event, &zone), visibility)
            })
            .collect(),
        answers_to_publish: answers.len(),
    })
}

/// Publishes one of the signed-in person's public events kept here to their Bluesky account
/// (once they connected it), PDS first, as pending writes are.
#[server(endpoint = "publish_local_event")]
pub async fn publish_local_event(id: i64) -> Result<(), ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = super::ssr::calendar(&state)?;
    let event = super::ssr::seen_event(&state, &user, id).await?;
    calendar
        .publish_here(&user, &event)
        .await
        .map_err(ApiError::publishing)?;
    Ok(())
}

/// Publishes a new event to the signed-in user's PDS, then shows it. With "Repeats" set it
/// starts a series instead, whose first occurrence is published, and shows the series.
#[server(endpoint = "create_event")]
pub async fn create_event(
    input: EventInput,
    #[server(default)] repeat: crate::domain::RepeatInput,
    #[server(default)] visibility: String,
) -> Result<(), ApiError> {
    let (draft, repeat) = match (
        crate::domain::EventDraft::parse(&input),
        crate::domain::Repeat::parse(&repeat),
    ) {
        (Ok(draft), Ok(repeat)) => (draft, repeat),
        (draft, repeat) => {
            let errors = draft.err().into_iter().chain(repeat.err()).flatten().collect();
            return Err(ApiError::form(errors));
        }
    };
    let visibility = ssr::visibility(&visibility)?;
    let (state, user) = super::ssr::signed_in_user().await?;
    if let Some(repeat) = repeat {
        // A series is listed (and published, for a Bluesky account) occurrence by occurrence.
        if visibility.is_hidden() {
            return Err(super::ErrorCode::SeriesIsPublic.into());
        }
        let schedule = super::ssr::schedule(&state)?;
        let series = schedule
            .create(&user, &draft, &repeat)
            .await
            .map_err(ApiError::series)?;
        leptos_axum::redirect(&format!("/series/{}", series.slug));
        return Ok(());
    }
    let calendar = super::ssr::calendar(&state)?;
    let event = calendar
        .create(&user, &draft, visibility)
        .await
        .map_err(ApiError::publishing)?;
    leptos_axum::redirect(&format!("/events/{}", event.slug));
    Ok(())
}

/// Saves an edit to the owner's PDS (only over the version we hold), then shows the event.
#[server(endpoint = "update_event")]
pub async fn update_event(id: i64, input: EventInput, #[server(default)] visibility: String) -> Result<(), ApiError> {
    let draft = crate::domain::EventDraft::parse(&input).map_err(ApiError::form)?;
    let visibility = ssr::visibility(&visibility)?;
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = super::ssr::calendar(&state)?;
    let event = super::ssr::seen_event(&state, &user, id).await?;
    calendar
        .update(&user, &event, &draft, visibility)
        .await
        .map_err(ApiError::publishing)?;
    leptos_axum::redirect(&format!("/events/{}", event.slug));
    Ok(())
}

/// Deletes an event from the owner's PDS, then here; back to the owner's page.
#[server(endpoint = "delete_event")]
pub async fn delete_event(id: i64) -> Result<(), ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = super::ssr::calendar(&state)?;
    let event = super::ssr::seen_event(&state, &user, id).await?;
    calendar.delete(&user, &event).await.map_err(ApiError::publishing)?;
    match user.handle {
        Some(handle) => leptos_axum::redirect(&format!("/u/{handle}")),
        None => leptos_axum::redirect("/me"),
    }
    Ok(())
}

/// Sends a pending write to the PDS again now.
#[server(endpoint = "retry_write")]
pub async fn retry_write(id: i64) -> Result<(), ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = super::ssr::calendar(&state)?;
    calendar.retry(&user, id).await.map_err(ApiError::publishing)?;
    Ok(())
}

/// Settles a conflict by writing the queued version over the one on the PDS ("re-apply mine").
#[server(endpoint = "reapply_write")]
pub async fn reapply_write(id: i64) -> Result<(), ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = super::ssr::calendar(&state)?;
    calendar.reapply(&user, id).await.map_err(ApiError::publishing)?;
    Ok(())
}

/// Forgets a pending write without sending it.
#[server(endpoint = "discard_write")]
pub async fn discard_write(id: i64) -> Result<(), ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = super::ssr::calendar(&state)?;
    calendar.discard(&user, id).await.map_err(ApiError::publishing)?;
    Ok(())
}

/// An event's conflicts, newest first, for its organiser (also `GET /api/events/{id}/conflicts`).
#[server(endpoint = "event_conflicts", input = leptos::server_fn::codec::GetUrl)]
pub async fn event_conflicts(id: i64) -> Result<Vec<ConflictView>, ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    ssr::conflicts(&state, &user, id).await
}

/// Brings one event and its owner's PDS together now, for its owner ("Sync now", also
/// `POST /api/events/{id}/sync`): a queued write is sent, otherwise the event is read again from
/// the PDS.
#[server(endpoint = "sync_event")]
pub async fn sync_event(id: i64) -> Result<SyncResult, ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    ssr::sync(&state, &user, id).await
}

/// Settles an event's open conflict (also `POST /api/events/{id}/resolve`): the owner's queued
/// write that met another version is dropped or written over it. An admin may keep Bluesky's
/// version; only the owner may re-apply theirs.
#[server(endpoint = "resolve_conflict")]
pub async fn resolve_conflict(id: i64, resolution: Resolution) -> Result<(), ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    ssr::resolve(&state, &user, id, resolution).await
}

/// The calls the server functions above share with the JSON handlers of `/api/events/{id}/...`.
#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::*;
    use crate::api::{
        ssr::{calendar, event, is_admin},
        views::SyncView,
    };
    use crate::domain::{Decision, Visibility};
    use crate::server::{state::AppState, store::User};

    /// The form's visibility, or the message that it is none.
    pub fn visibility(name: &str) -> Result<Visibility, ApiError> {
        Visibility::parse(name).map_err(|_| ApiError::invalid("visibility", "Choose public, unlisted or private."))
    }

    pub async fn conflicts(state: &AppState, user: &User, id: i64) -> Result<Vec<ConflictView>, ApiError> {
        let event = event(state, id).await?;
        let conflicts = calendar(state)?
            .conflicts(user, &event)
            .await
            .map_err(ApiError::publishing)?;
        Ok(conflicts.into_iter().map(ConflictView::from).collect())
    }

    pub async fn sync(state: &AppState, user: &User, id: i64) -> Result<SyncResult, ApiError> {
        let calendar = calendar(state)?;
        let event = event(state, id).await?;
        let (synced, now) = calendar.sync_now(user, &event).await.map_err(ApiError::publishing)?;
        Ok(SyncResult {
            outcome: synced.into(),
            sync: now.as_ref().map(SyncView::from),
        })
    }

    pub async fn resolve(state: &AppState, user: &User, id: i64, resolution: Resolution) -> Result<(), ApiError> {
        let calendar = calendar(state)?;
        let event = event(state, id).await?;
        let decision = match resolution {
            Resolution::KeepBluesky => Decision::KeptTheirs,
            Resolution::ReapplyMine => Decision::ReappliedOurs,
        };
        calendar
            .resolve(user, is_admin(state, user), &event, decision)
            .await
            .map_err(ApiError::publishing)
    }
}
