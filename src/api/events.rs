//! Reading events for pages.

use super::ApiError;
use crate::domain::{SyncStatus, TimeZoneName};
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
    Ok(events
        .into_iter()
        .map(|event| EventSummary {
            id: event.id,
            name: event.name,
            starts_at: event.starts_at,
            time_zone: event.time_zone,
            sync_status: event.source.sync_status,
            at_uri: event.source.at_uri,
        })
        .collect())
}
