//! RSVPs (F23): who is going to an event, and answering it PDS first.

use super::{events::SyncView, ApiError};
use crate::domain::RsvpStatus;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// An event's answers as its page shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttendanceView {
    pub going: usize,
    pub interested: usize,
    pub not_going: usize,
    /// Going and interested, earliest answer first; the organiser also sees who is not going.
    pub attendees: Vec<AttendeeView>,
    /// The viewer's own answer; `None` for a guest or when the event cannot be answered.
    pub mine: Option<MyAnswerView>,
}

impl AttendanceView {
    pub fn count(&self, status: RsvpStatus) -> usize {
        match status {
            RsvpStatus::Going => self.going,
            RsvpStatus::Interested => self.interested,
            RsvpStatus::NotGoing => self.not_going,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttendeeView {
    pub handle: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub status: RsvpStatus,
    /// Answered a version of the event from before its last edit.
    pub earlier_version: bool,
}

impl AttendeeView {
    pub fn name(&self) -> String {
        super::events::shown_name(self.display_name.as_deref(), self.handle.as_deref())
    }
}

/// The viewer's answer and how it stands against their RSVP record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyAnswerView {
    /// What the viewer answered (the queued answer while it waits for their PDS); `None` when they
    /// have not answered or withdrew.
    pub status: Option<RsvpStatus>,
    pub sync: SyncView,
    pub earlier_version: bool,
}

/// Answers an event for the signed-in user: their PDS first, then here.
/// `status` is `going`, `interested` or `notgoing` (or the record's full token).
#[server(endpoint = "answer_event")]
pub async fn answer_event(id: i64, status: String) -> Result<(), ApiError> {
    let Some(status) = RsvpStatus::from_token(&status) else {
        super::ssr::set_status(axum::http::StatusCode::BAD_REQUEST);
        return Err(ApiError::invalid(
            "status",
            "Answer with going, interested or not going.",
        ));
    };
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = super::events::ssr::calendar(&state)?;
    let event = super::events::ssr::event(&state, id).await?;
    calendar
        .answer(&user, &event, status)
        .await
        .map_err(ssr::answer_error)?;
    Ok(())
}

/// Withdraws the signed-in user's answer: deletes their RSVP record, then here.
#[server(endpoint = "withdraw_answer")]
pub async fn withdraw_answer(id: i64) -> Result<(), ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    let calendar = super::events::ssr::calendar(&state)?;
    let event = super::events::ssr::event(&state, id).await?;
    calendar.withdraw(&user, &event).await.map_err(ssr::answer_error)?;
    Ok(())
}

#[cfg(feature = "ssr")]
pub(super) mod ssr {
    use super::*;
    use crate::domain::{AtUri, SyncStatus};
    use crate::server::{
        calendar::PublishError,
        error::{Chain, ServerError},
        pds::{calendar_rsvp::COLLECTION, record_url, PdsError},
        state::AppState,
        store::{Event, User, WriteOperation, WriteState},
    };
    use axum::http::StatusCode;

    /// The answers to `event`, and the viewer's own.
    pub async fn attendance(
        state: &AppState,
        event: &Event,
        viewer: Option<&User>,
    ) -> Result<(AttendanceView, Option<crate::api::events::PendingWriteView>), ApiError> {
        let Some(subject) = event.source.at_uri.as_deref() else {
            let empty = AttendanceView {
                going: 0,
                interested: 0,
                not_going: 0,
                attendees: Vec::new(),
                mine: None,
            };
            return Ok((empty, None));
        };
        let answers = state.store.attendees(subject).await.map_err(ServerError::from)?;
        let organiser = viewer.is_some_and(|v| event.owner_id == Some(v.id));
        let count = |status| answers.iter().filter(|a| a.rsvp.status == status).count();
        let earlier = |cid: &Option<String>| cid.is_some() && event.source.cid.is_some() && *cid != event.source.cid;
        let attendees = answers
            .iter()
            .filter(|a| organiser || a.rsvp.status != RsvpStatus::NotGoing)
            .map(|a| AttendeeView {
                handle: a.handle.as_ref().map(ToString::to_string),
                display_name: a.display_name.clone(),
                avatar_url: a.avatar_url.clone(),
                status: a.rsvp.status,
                earlier_version: earlier(&a.rsvp.subject_cid),
            })
            .collect();
        let mut pending = None;
        let mine = match viewer {
            Some(viewer) if viewer.did.is_some() => {
                let stored = answers.iter().find(|a| a.rsvp.owner_id == viewer.id).map(|a| &a.rsvp);
                let queued = state
                    .store
                    .pending_write_for_event(viewer.id, COLLECTION, event.id)
                    .await
                    .map_err(ServerError::from)?;
                let (status, sync_status, last_error) = match &queued {
                    Some(write) => {
                        let status = match write.operation {
                            WriteOperation::Delete => None,
                            _ => write
                                .record
                                .as_ref()
                                .and_then(|r| r.get("status"))
                                .and_then(|s| s.as_str())
                                .and_then(RsvpStatus::from_token),
                        };
                        let sync = match write.state {
                            WriteState::Pending => SyncStatus::Pending,
                            WriteState::Failed => SyncStatus::Failed,
                            WriteState::Conflict => SyncStatus::Conflict,
                        };
                        (status, sync, write.last_error.clone())
                    }
                    None => (stored.map(|r| r.status), SyncStatus::InSync, None),
                };
                let at_uri = stored.map(|r| r.at_uri.clone());
                let record_url = match at_uri.as_deref().map(AtUri::parse) {
                    Some(Ok(uri)) => link(state, &uri).await,
                    _ => None,
                };
                pending = queued
                    .as_ref()
                    .map(|write| crate::api::events::ssr::pending_view(write, Some(&event.name)));
                Some(MyAnswerView {
                    status,
                    sync: SyncView {
                        status: sync_status,
                        at_uri,
                        record_url,
                        last_synced_at: stored.map(|r| r.updated_at),
                        last_error,
                    },
                    earlier_version: stored.is_some_and(|r| earlier(&r.subject_cid)),
                })
            }
            _ => None,
        };
        let view = AttendanceView {
            going: count(RsvpStatus::Going),
            interested: count(RsvpStatus::Interested),
            not_going: count(RsvpStatus::NotGoing),
            attendees,
            mine,
        };
        Ok((view, pending))
    }

    /// A link to a record on its owner's PDS; none when the PDS cannot be found just now.
    async fn link(state: &AppState, uri: &AtUri) -> Option<String> {
        let auth = state.auth.as_ref()?;
        match auth.pds_endpoint(uri.did()).await {
            Ok(pds) => Some(record_url(&pds, uri)),
            Err(e) => {
                tracing::debug!(error = %e, "no record link: the PDS is unknown");
                None
            }
        }
    }

    pub fn answer_error(error: PublishError) -> ApiError {
        use super::super::ssr::set_status;
        tracing::warn!(error = %Chain(&error), "answering an event failed");
        match error {
            PublishError::NotPublished => {
                set_status(StatusCode::CONFLICT);
                ApiError::new(
                    "error-rsvp-1",
                    "This event is not on Bluesky yet, so it cannot be answered. Try again once it is published.",
                )
            }
            PublishError::Queued { cause, .. } => {
                set_status(StatusCode::SERVICE_UNAVAILABLE);
                let reason = crate::api::events::ssr::why_not_sent(&cause);
                ApiError::new(
                    "error-pds-1",
                    format!("Your answer is not on Bluesky yet: {reason}. Skymeet keeps it as pending and retries automatically."),
                )
            }
            PublishError::Conflict { .. } => {
                set_status(StatusCode::CONFLICT);
                ApiError::new(
                    "error-pds-2",
                    "Your answer was changed in another app since this page was loaded, so nothing was overwritten. Keep Bluesky's answer (Discard) or try again.",
                )
            }
            PublishError::Rejected {
                cause: PdsError::ScopeMissing,
                ..
            } => {
                set_status(StatusCode::BAD_GATEWAY);
                ApiError::new(
                    "error-pds-6",
                    "Your Bluesky account did not allow Skymeet to write RSVPs. Sign out, sign in again and allow it.",
                )
            }
            PublishError::Rejected { cause, .. } => {
                set_status(StatusCode::BAD_GATEWAY);
                ApiError::new(
                    "error-pds-3",
                    format!("Your Bluesky server refused the answer ({cause}). You can retry or discard it below."),
                )
            }
            other => crate::api::events::ssr::publish_error(other),
        }
    }
}
