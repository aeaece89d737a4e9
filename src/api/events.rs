//! Events: reading them for pages, and creating, editing and deleting them PDS first (F8-F14).

use super::{attendance::AttendanceView, ApiError};
use crate::domain::{EventDraft, EventInput, SyncStatus, TimeZoneName};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One event as a list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventSummary {
    pub id: i64,
    pub name: String,
    pub starts_at: Option<DateTime<Utc>>,
    /// The zone the organiser entered the times in.
    pub time_zone: TimeZoneName,
    pub sync_status: SyncStatus,
    pub at_uri: Option<String>,
}

/// One event with everything a page shows of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    /// `None` for a record on a PDS that Skymeet has not cached.
    pub id: Option<i64>,
    pub draft: EventDraft,
    pub owner: Option<OwnerView>,
    pub sync: SyncView,
    /// The viewer owns it (and may edit and delete it).
    pub can_edit: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerView {
    pub handle: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
}

impl OwnerView {
    pub fn name(&self) -> String {
        shown_name(self.display_name.as_deref(), self.handle.as_deref())
    }
}

/// How a page names a person: their display name, else `@handle`, else "Someone".
pub fn shown_name(display_name: Option<&str>, handle: Option<&str>) -> String {
    display_name
        .map(str::to_owned)
        .or_else(|| handle.map(|h| format!("@{h}")))
        .unwrap_or_else(|| "Someone".to_owned())
}

/// How the event stands against its record (F12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncView {
    pub status: SyncStatus,
    pub at_uri: Option<String>,
    /// The raw record on its PDS.
    pub record_url: Option<String>,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// A write the PDS has not accepted yet (F9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingWriteView {
    pub id: i64,
    pub event_id: Option<i64>,
    /// `create`, `update` or `delete`.
    pub operation: String,
    /// `pending` (retried automatically), `failed` or `conflict`.
    pub state: String,
    /// An answer (RSVP) to the event, rather than the event itself.
    pub rsvp: bool,
    /// The event's name.
    pub name: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
}

impl PendingWriteView {
    pub fn describe(&self) -> String {
        let what = match (self.rsvp, self.operation.as_str()) {
            (true, "delete") => "Withdrawing your answer to",
            (true, _) => "Answering",
            (false, "create") => "Publishing",
            (false, "update") => "Saving changes to",
            (false, _) => "Deleting",
        };
        let name = self.name.as_deref().unwrap_or("an event");
        match self.state.as_str() {
            "pending" => format!("{what} “{name}”: waiting for your Bluesky server, retried automatically"),
            "conflict" if self.rsvp => {
                format!("{what} “{name}”: your answer was changed in another app, so this was not applied")
            }
            "conflict" => format!("{what} “{name}”: the event was changed elsewhere, so this was not applied"),
            _ => format!("{what} “{name}” failed: your Bluesky server refused it"),
        }
    }
}

/// A write of ours that met another version on the PDS, and how it was settled (F24).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictView {
    pub id: i64,
    /// The event it is about (none when that event is gone).
    pub event_id: Option<i64>,
    /// The name in the version Skymeet tried to write (none for a delete).
    pub ours: Option<String>,
    /// The name in the version the PDS held (none when it was gone or could not be read).
    pub theirs: Option<String>,
    /// `kept_theirs`, `reapplied_ours`, or none while open.
    pub decision: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    pub event: EventView,
    pub pending: Option<PendingWriteView>,
    pub attendance: AttendanceView,
    /// The viewer's answer while it waits for (or was refused by) their PDS.
    pub answer_pending: Option<PendingWriteView>,
    /// For the organiser: this event's conflicts, newest first.
    pub conflicts: Vec<ConflictView>,
    /// When the page was made, so "synced 3 minutes ago" reads the same after hydration.
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserPage {
    pub handle: String,
    pub did: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub is_owner: bool,
    pub events: Vec<EventView>,
    /// Events this person answered "going" (from Skymeet's copy).
    pub going: Vec<EventSummary>,
    /// The PDS could not be reached: these are Skymeet's copies (F13).
    pub cached: bool,
    pub pending: Vec<PendingWriteView>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub events: Vec<EventView>,
    pub page: u32,
    pub has_next: bool,
    pub now: DateTime<Utc>,
}

/// How many events one page of `/events` lists.
pub const EVENTS_PER_PAGE: u32 = 20;

#[server(endpoint = "upcoming_events")]
pub async fn upcoming_events() -> Result<Vec<EventSummary>, ApiError> {
    use crate::server::error::ServerError;
    /// How many upcoming events the home page lists.
    const UPCOMING_LIMIT: u32 = 20;
    let state = super::ssr::state()?;
    let events = state
        .store
        .upcoming_events(Utc::now(), UPCOMING_LIMIT)
        .await
        .map_err(ServerError::from)?;
    Ok(events.into_iter().map(ssr::summary).collect())
}

/// `/events/{id}`: one event; `None` when there is none.
#[server(endpoint = "event_details")]
pub async fn event_details(id: i64) -> Result<Option<EventPage>, ApiError> {
    use crate::server::error::ServerError;
    let state = super::ssr::state()?;
    let viewer = super::ssr::viewer(&state).await?;
    let Some(event) = state.store.event_by_id(id).await.map_err(ServerError::from)? else {
        return Ok(None);
    };
    let mut owners = ssr::Owners::default();
    let view = ssr::view(&state, &mut owners, &event, viewer.as_ref()).await?;
    let pending = match (&viewer, &event.source.rkey) {
        (Some(viewer), Some(rkey)) if view.can_edit => {
            let rkey = crate::domain::Rkey::parse(rkey).map_err(|e| ServerError::Request(e.to_string()))?;
            state
                .store
                .pending_write_for_record(viewer.id, crate::server::pds::calendar_event::COLLECTION, &rkey)
                .await
                .map_err(ServerError::from)?
                .map(|write| ssr::pending_view(&write, None))
        }
        _ => None,
    };
    let (attendance, answer_pending) = super::attendance::ssr::attendance(&state, &event, viewer.as_ref()).await?;
    let conflicts = match view.can_edit {
        true => state
            .store
            .conflicts_of_event(event.id)
            .await
            .map_err(ServerError::from)?
            .into_iter()
            .map(ssr::conflict_view)
            .collect(),
        false => Vec::new(),
    };
    Ok(Some(EventPage {
        event: view,
        pending,
        attendance,
        answer_pending,
        conflicts,
        now: Utc::now(),
    }))
}

/// `/events`: events not over yet, most recently changed first, a page at a time.
#[server(endpoint = "list_events")]
pub async fn list_events(page: u32) -> Result<EventsPage, ApiError> {
    use crate::server::error::ServerError;
    let state = super::ssr::state()?;
    let viewer = super::ssr::viewer(&state).await?;
    let page = page.max(1);
    let mut events = state
        .store
        .active_events(
            Utc::now(),
            EVENTS_PER_PAGE + 1,
            (page - 1).saturating_mul(EVENTS_PER_PAGE),
        )
        .await
        .map_err(ServerError::from)?;
    let has_next = events.len() > EVENTS_PER_PAGE as usize;
    events.truncate(EVENTS_PER_PAGE as usize);
    let mut owners = ssr::Owners::default();
    let mut views = Vec::with_capacity(events.len());
    for event in &events {
        views.push(ssr::view(&state, &mut owners, event, viewer.as_ref()).await?);
    }
    Ok(EventsPage {
        events: views,
        page,
        has_next,
        now: Utc::now(),
    })
}

/// `/u/{handle}`: a Bluesky user's events, read from their PDS (F10), or from Skymeet's copy when
/// the PDS cannot be reached (F13). `None` when the handle is no Bluesky account.
#[server(endpoint = "user_events")]
pub async fn user_events(handle: String) -> Result<Option<UserPage>, ApiError> {
    ssr::user_page(handle).await
}

/// Publishes a new event to the signed-in user's PDS, then shows it.
#[server(endpoint = "create_event")]
pub async fn create_event(input: EventInput) -> Result<(), ApiError> {
    let draft = EventDraft::parse(&input).map_err(ssr::invalid)?;
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = ssr::calendar(&state)?;
    let event = calendar.create(&user, &draft).await.map_err(ssr::publish_error)?;
    leptos_axum::redirect(&format!("/events/{}", event.id));
    Ok(())
}

/// Saves an edit to the owner's PDS (only over the version we hold), then shows the event.
#[server(endpoint = "update_event")]
pub async fn update_event(id: i64, input: EventInput) -> Result<(), ApiError> {
    let draft = EventDraft::parse(&input).map_err(ssr::invalid)?;
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = ssr::calendar(&state)?;
    let event = ssr::event(&state, id).await?;
    calendar
        .update(&user, &event, &draft)
        .await
        .map_err(ssr::publish_error)?;
    leptos_axum::redirect(&format!("/events/{id}"));
    Ok(())
}

/// Deletes an event from the owner's PDS, then here; back to the owner's page.
#[server(endpoint = "delete_event")]
pub async fn delete_event(id: i64) -> Result<(), ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = ssr::calendar(&state)?;
    let event = ssr::event(&state, id).await?;
    calendar.delete(&user, &event).await.map_err(ssr::publish_error)?;
    let handle = user.handle.map(String::from).unwrap_or_default();
    leptos_axum::redirect(&format!("/u/{handle}"));
    Ok(())
}

/// Sends a pending write to the PDS again now.
#[server(endpoint = "retry_write")]
pub async fn retry_write(id: i64) -> Result<(), ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = ssr::calendar(&state)?;
    calendar.retry(&user, id).await.map_err(ssr::publish_error)?;
    Ok(())
}

/// Settles a conflict by writing the queued version over the one on the PDS ("re-apply mine").
#[server(endpoint = "reapply_write")]
pub async fn reapply_write(id: i64) -> Result<(), ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = ssr::calendar(&state)?;
    calendar.reapply(&user, id).await.map_err(ssr::publish_error)?;
    Ok(())
}

/// An event's conflicts, newest first, for its owner (F24).
#[server(endpoint = "event_conflicts", input = leptos::server_fn::codec::GetUrl)]
pub async fn event_conflicts(id: i64) -> Result<Vec<ConflictView>, ApiError> {
    use crate::server::error::ServerError;
    let (state, user) = super::ssr::signed_in_user().await?;
    let event = ssr::event(&state, id).await?;
    if event.owner_id != Some(user.id) {
        super::ssr::set_status(axum::http::StatusCode::FORBIDDEN);
        return Err(ApiError::new(
            "error-event-1",
            "Only the event's organiser can see its conflicts.",
        ));
    }
    let conflicts = state.store.conflicts_of_event(id).await.map_err(ServerError::from)?;
    Ok(conflicts.into_iter().map(ssr::conflict_view).collect())
}

/// What syncing one event did (`POST /api/events/{id}/sync`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncResult {
    pub outcome: SyncOutcome,
    /// The event as it is now; `None` once it is gone.
    pub sync: Option<SyncView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncOutcome {
    /// A queued write reached the PDS.
    Sent,
    /// A queued delete reached the PDS; the event is gone.
    Deleted,
    /// Nothing was queued; the event was read again from the PDS.
    Refreshed,
    /// Nothing was queued, and the record is gone from the PDS; so is the event.
    Gone,
}

/// Brings one event and its owner's PDS together now, for its owner ("Sync now"): a queued write
/// is sent, otherwise the event is read again from the PDS.
#[server(endpoint = "sync_event")]
pub async fn sync_event(id: i64) -> Result<SyncResult, ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = ssr::calendar(&state)?;
    let event = ssr::event(&state, id).await?;
    use crate::server::calendar::Synced;
    let synced = calendar.sync(&user, &event).await.map_err(ssr::publish_error)?;
    let now = state
        .store
        .event_by_id(id)
        .await
        .map_err(crate::server::error::ServerError::from)?;
    Ok(SyncResult {
        outcome: match synced {
            Synced::Sent => SyncOutcome::Sent,
            Synced::Deleted => SyncOutcome::Deleted,
            Synced::Refreshed => SyncOutcome::Refreshed,
            Synced::Gone => SyncOutcome::Gone,
        },
        sync: now.as_ref().map(ssr::sync_view),
    })
}

/// How an owner settles a conflict (F24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The version on Bluesky stays; ours is dropped.
    KeepBluesky,
    /// Our version is written over the one on Bluesky.
    ReapplyMine,
}

/// Settles an event's open conflict (`POST /api/events/{id}/resolve`): the owner's queued write
/// that met another version is dropped or written over it. An admin may keep Bluesky's version
/// (it needs no one's credentials); only the owner may re-apply theirs.
#[server(endpoint = "resolve_conflict")]
pub async fn resolve_conflict(id: i64, resolution: Resolution) -> Result<(), ApiError> {
    use crate::server::{
        error::ServerError,
        pds::calendar_event::COLLECTION,
        store::{StoreError, WriteState},
    };
    use axum::http::StatusCode;
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = ssr::calendar(&state)?;
    let event = ssr::event(&state, id).await?;
    let owner = match event.owner_id {
        Some(owner_id) if owner_id == user.id => user,
        Some(owner_id) if resolution == Resolution::KeepBluesky && super::ssr::is_admin(&state, &user) => state
            .store
            .user_by_id(owner_id)
            .await
            .map_err(ServerError::from)?
            .ok_or_else(|| ServerError::from(StoreError::Corrupt(format!("event {id} has no owner row"))))?,
        _ => return Err(ssr::publish_error(crate::server::calendar::PublishError::Forbidden)),
    };
    let write = state
        .store
        .pending_write_for_event(owner.id, COLLECTION, id)
        .await
        .map_err(ServerError::from)?
        .filter(|write| write.state == WriteState::Conflict)
        .ok_or_else(|| {
            super::ssr::set_status(StatusCode::CONFLICT);
            ApiError::new("error-event-5", "This event has no open conflict to resolve.")
        })?;
    match resolution {
        Resolution::KeepBluesky => calendar.discard(&owner, write.id).await,
        Resolution::ReapplyMine => calendar.reapply(&owner, write.id).await.map(|_| ()),
    }
    .map_err(ssr::publish_error)
}

/// Forgets a pending write without sending it.
#[server(endpoint = "discard_write")]
pub async fn discard_write(id: i64) -> Result<(), ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = ssr::calendar(&state)?;
    calendar.discard(&user, id).await.map_err(ssr::publish_error)?;
    Ok(())
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::*;
    use crate::domain::{AtUri, Did, Handle, Provider};
    use crate::server::{
        calendar::{Calendar, PublishError},
        error::{Chain, ServerError},
        pds::{
            calendar_event::{CalendarEvent, COLLECTION},
            record_url, PdsError,
        },
        state::AppState,
        store::{Event, PendingWrite, User},
    };
    use axum::http::StatusCode;
    use std::{collections::HashMap, sync::Arc};

    /// The most records read from one PDS for a user page.
    const USER_PAGE_MAX_RECORDS: usize = 500;

    /// The form's field errors, as a 400 to a script.
    pub fn invalid(fields: Vec<crate::domain::FieldError>) -> ApiError {
        super::super::ssr::set_status(StatusCode::BAD_REQUEST);
        ApiError::form(fields)
    }

    pub fn calendar(state: &AppState) -> Result<Arc<Calendar>, ApiError> {
        state.calendar.clone().ok_or_else(|| {
            ApiError::new(
                "error-auth-3",
                "Publishing to Bluesky is not available on this server yet.",
            )
        })
    }

    pub async fn event(state: &AppState, id: i64) -> Result<Event, ApiError> {
        state
            .store
            .event_by_id(id)
            .await
            .map_err(ServerError::from)?
            .ok_or_else(|| {
                super::super::ssr::set_status(StatusCode::NOT_FOUND);
                ApiError::new("error-event-3", "That event does not exist (any more).")
            })
    }

    /// Why a queued write has not reached the PDS yet, in words.
    pub fn why_not_sent(cause: &PdsError) -> &'static str {
        match cause {
            PdsError::SessionEnded => "your Bluesky session has ended; sign in again and it will go out",
            _ => "your Bluesky server could not be reached",
        }
    }

    pub fn publish_error(error: PublishError) -> ApiError {
        use super::super::ssr::set_status;
        tracing::warn!(error = %Chain(&error), "publishing an event failed");
        match error {
            PublishError::Forbidden => {
                set_status(StatusCode::FORBIDDEN);
                ApiError::new("error-event-1", "Only the event's organiser can change it.")
            }
            PublishError::NotBluesky => {
                set_status(StatusCode::FORBIDDEN);
                ApiError::new(
                    "error-event-2",
                    "Events are published to Bluesky: sign in with Bluesky first.",
                )
            }
            PublishError::NotPublished => {
                set_status(StatusCode::CONFLICT);
                ApiError::new("error-event-4", "This event is not on Bluesky.")
            }
            PublishError::Queued { cause, .. } => {
                set_status(StatusCode::SERVICE_UNAVAILABLE);
                let reason = why_not_sent(&cause);
                ApiError::new(
                    "error-pds-1",
                    format!(
                        "Not published yet: {reason}. Nothing is lost: Skymeet keeps your event as pending and retries automatically (see Pending on your page)."
                    ),
                )
            }
            PublishError::Conflict { .. } => {
                set_status(StatusCode::CONFLICT);
                ApiError::new(
                    "error-pds-2",
                    "This event was changed on Bluesky since you opened it, so your edit was not applied and nothing was overwritten. Your version is kept under Pending on your page.",
                )
            }
            PublishError::Rejected { cause, .. } => {
                set_status(StatusCode::BAD_GATEWAY);
                if cause == PdsError::ScopeMissing {
                    return ApiError::new(
                        "error-pds-6",
                        "Your Bluesky account did not allow Skymeet to write calendar events. Sign out, sign in again and allow it; your event is kept under Pending meanwhile.",
                    );
                }
                let detail = match cause {
                    PdsError::Rejected(detail) => detail,
                    other => other.to_string(),
                };
                ApiError::new(
                    "error-pds-3",
                    format!("Your Bluesky server refused the event ({detail}). It is kept under Pending on your page, where you can retry or discard it."),
                )
            }
            PublishError::Unreachable(_) => {
                set_status(StatusCode::SERVICE_UNAVAILABLE);
                ApiError::new(
                    "error-pds-7",
                    "Your Bluesky server could not be reached, so the event keeps its last copy. Please try again in a moment.",
                )
            }
            PublishError::BadRecord(_) => ApiError::new(
                "error-pds-4",
                "The stored copy of this event cannot be read; it will be refreshed from Bluesky.",
            ),
            PublishError::Store(e) => ServerError::from(e).into(),
        }
    }

    /// Owners met while building one page, so each is read once.
    #[derive(Default)]
    pub struct Owners(HashMap<i64, Option<User>>);

    impl Owners {
        async fn get(&mut self, state: &AppState, id: i64) -> Result<Option<User>, ApiError> {
            if let Some(user) = self.0.get(&id) {
                return Ok(user.clone());
            }
            let user = state.store.user_by_id(id).await.map_err(ServerError::from)?;
            self.0.insert(id, user.clone());
            Ok(user)
        }
    }

    pub fn conflict_view(conflict: crate::server::store::Conflict) -> ConflictView {
        let name = |value: &Option<serde_json::Value>| {
            value
                .as_ref()
                .and_then(|v| v.get("name"))
                .and_then(|n| n.as_str())
                .map(str::to_owned)
        };
        ConflictView {
            id: conflict.id,
            event_id: conflict.event_id,
            ours: name(&conflict.ours),
            theirs: name(&conflict.theirs),
            decision: conflict.decision,
            decided_at: conflict.decided_at,
            created_at: conflict.created_at,
        }
    }

    pub fn summary(event: Event) -> EventSummary {
        EventSummary {
            id: event.id,
            name: event.name,
            starts_at: event.starts_at,
            time_zone: event.time_zone,
            sync_status: event.source.sync_status,
            at_uri: event.source.at_uri,
        }
    }

    fn owner_view(user: &User) -> OwnerView {
        OwnerView {
            handle: user.handle.as_ref().map(ToString::to_string),
            display_name: user.display_name.clone(),
            avatar_url: user.avatar_url.clone(),
        }
    }

    pub fn sync_view(event: &Event) -> SyncView {
        SyncView {
            status: event.source.sync_status,
            at_uri: event.source.at_uri.clone(),
            record_url: event.source.source_url.clone(),
            last_synced_at: event.source.last_synced_at,
            last_error: event
                .source
                .source_data
                .get("lastSyncError")
                .and_then(|e| e.as_str())
                .map(str::to_owned),
        }
    }

    /// The form fields of a cached event: from its record when there is one.
    fn draft(event: &Event) -> EventDraft {
        let from_record = event
            .record
            .clone()
            .and_then(|value| CalendarEvent::from_value(value).ok())
            .map(|record| record.draft(event.time_zone.clone()));
        from_record.unwrap_or_else(|| EventDraft {
            name: event.name.clone(),
            description: event.description.clone(),
            starts_at: event.starts_at,
            ends_at: event.ends_at,
            time_zone: event.time_zone.clone(),
            mode: Default::default(),
            status: Default::default(),
            address: None,
            geo: None,
            online: None,
            links: Vec::new(),
        })
    }

    pub async fn view(
        state: &AppState,
        owners: &mut Owners,
        event: &Event,
        viewer: Option<&User>,
    ) -> Result<EventView, ApiError> {
        let owner = match event.owner_id {
            Some(id) => owners.get(state, id).await?,
            None => None,
        };
        Ok(EventView {
            id: Some(event.id),
            draft: draft(event),
            owner: owner.as_ref().map(owner_view),
            sync: sync_view(event),
            can_edit: viewer.is_some_and(|v| event.owner_id == Some(v.id)),
        })
    }

    /// A pending write as its owner sees it; `event_name` names the event an answer is for.
    pub fn pending_view(write: &PendingWrite, event_name: Option<&str>) -> PendingWriteView {
        let rsvp = write.collection == crate::server::pds::calendar_rsvp::COLLECTION;
        let own_name = write
            .record
            .as_ref()
            .filter(|_| !rsvp)
            .and_then(|r| r.get("name"))
            .and_then(|n| n.as_str());
        PendingWriteView {
            id: write.id,
            event_id: write.event_id,
            operation: write.operation.to_string(),
            state: write.state.to_string(),
            rsvp,
            name: own_name.or(event_name).map(str::to_owned),
            attempts: write.attempts,
            last_error: write.last_error.clone(),
            next_attempt_at: write.next_attempt_at,
        }
    }

    pub async fn user_page(handle: String) -> Result<Option<UserPage>, ApiError> {
        let state = super::super::ssr::state()?;
        let viewer = super::super::ssr::viewer(&state).await?;
        let Ok(handle) = Handle::parse(handle.trim().trim_start_matches('@')) else {
            return Ok(None);
        };
        let user = state.store.user_by_handle(&handle).await.map_err(ServerError::from)?;
        if user.as_ref().is_some_and(|u| u.provider != Provider::Bluesky) {
            return Ok(None);
        }
        let Some(auth) = state.auth.as_ref() else {
            return Ok(None);
        };
        let did: Did = match user.as_ref().and_then(|u| u.did.clone()) {
            Some(did) => did,
            None => match auth.resolve_handle(&handle).await {
                Ok(Some(did)) => did,
                Ok(None) => return Ok(None),
                Err(e) => {
                    tracing::warn!(error = %e, %handle, "resolving a handle failed");
                    return Err(ApiError::new(
                        "error-pds-5",
                        "That account's Bluesky server could not be reached. Please try again.",
                    ));
                }
            },
        };
        let is_owner = matches!((&viewer, &user), (Some(v), Some(u)) if v.id == u.id);
        let cached_events = match &user {
            Some(user) => state.store.events_by_owner(user.id).await.map_err(ServerError::from)?,
            None => Vec::new(),
        };
        let mut owners = Owners::default();
        let by_uri: HashMap<String, &Event> = cached_events
            .iter()
            .filter_map(|e| e.source.at_uri.clone().map(|uri| (uri, e)))
            .collect();

        let from_pds = match auth.public_repo(&did).await {
            Ok((repo, pds)) => repo
                .list_all_records(COLLECTION, USER_PAGE_MAX_RECORDS)
                .await
                .map(|records| (records, pds)),
            Err(e) => Err(e),
        };
        let (events, cached) = match from_pds {
            Ok((records, pds)) => {
                let mut views = Vec::with_capacity(records.len());
                for entry in records {
                    if let Some(event) = by_uri.get(&entry.uri) {
                        views.push(view(&state, &mut owners, event, viewer.as_ref()).await?);
                        continue;
                    }
                    // Made in another app and not cached yet (the firehose will bring it): shown
                    // read-only.
                    let Ok(record) = CalendarEvent::from_value(entry.value) else {
                        tracing::debug!(uri = entry.uri, "skipping a record that is not an event");
                        continue;
                    };
                    views.push(EventView {
                        id: None,
                        draft: record.draft(TimeZoneName::utc()),
                        owner: user.as_ref().map(owner_view),
                        sync: SyncView {
                            status: SyncStatus::InSync,
                            record_url: AtUri::parse(&entry.uri).ok().map(|uri| record_url(&pds, &uri)),
                            at_uri: Some(entry.uri),
                            last_synced_at: Some(Utc::now()),
                            last_error: None,
                        },
                        can_edit: false,
                    });
                }
                // Ours but not (yet, or any more) on the PDS: pending creates show under Pending.
                (views, false)
            }
            Err(e) => {
                tracing::warn!(error = %e, %did, "reading events from the PDS failed; showing the cached copy");
                let mut views = Vec::with_capacity(cached_events.len());
                for event in &cached_events {
                    views.push(view(&state, &mut owners, event, viewer.as_ref()).await?);
                }
                (views, true)
            }
        };
        let mut pending = Vec::new();
        if let (Some(user), true) = (&user, is_owner) {
            let writes = state
                .store
                .pending_writes_for_owner(user.id)
                .await
                .map_err(ServerError::from)?;
            for write in &writes {
                // An answer names the event it answers.
                let answered = match write.event_id {
                    Some(id) if write.collection != COLLECTION => {
                        state.store.event_by_id(id).await.map_err(ServerError::from)?
                    }
                    _ => None,
                };
                pending.push(pending_view(write, answered.as_ref().map(|e| e.name.as_str())));
            }
        }
        let going = match &user {
            Some(user) => state
                .store
                .events_answered(user.id, crate::domain::RsvpStatus::Going)
                .await
                .map_err(ServerError::from)?
                .into_iter()
                .map(summary)
                .collect(),
            None => Vec::new(),
        };
        Ok(Some(UserPage {
            handle: handle.to_string(),
            did: did.to_string(),
            display_name: user.as_ref().and_then(|u| u.display_name.clone()),
            avatar_url: user.as_ref().and_then(|u| u.avatar_url.clone()),
            is_owner,
            events,
            going,
            cached,
            pending,
            now: Utc::now(),
        }))
    }
}
