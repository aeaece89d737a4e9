//! Calendar feeds: which events each `.ics` holds, read from Skymeet's copy and written by
//! [`crate::server::ics`]. Every feed is bounded: upcoming events and a stretch of recent past, at
//! most a few hundred.

use crate::domain::{EventDraft, EventStatus, Handle, RsvpStatus, Visibility};
use crate::server::{
    calendar::reads::draft,
    ics::{calendar, CalendarEntry, Repeats},
    identity::Identity,
    pds::PdsError,
    series::Recurrence,
    store::{Event, Looker, SeriesRow, SeriesStatus, Store, StoreError},
};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

/// How far back a feed keeps events that are over: a calendar app keeps what it saw anyway.
const RECENT_PAST: Duration = Duration::days(90);
/// The most events the site's feed holds.
const SITE_FEED_LIMIT: u32 = 500;
/// How far ahead a feed spells out a series (its skipped and changed dates, its zone's changes);
/// apps look again every hour, so the window moves on with time.
const SERIES_HORIZON: Duration = Duration::days(2 * 366);

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the handle could not be resolved")]
    Unresolved(#[source] PdsError),
}

/// A feed ready to send: its name (for a file name), its text and what kind of text it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    pub name: String,
    pub text: String,
    pub format: FeedFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    /// iCalendar, for calendar apps.
    Calendar,
    /// Atom, for feed readers.
    Atom,
}

impl FeedFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Calendar => "text/calendar; charset=utf-8",
            Self::Atom => "application/atom+xml; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Calendar => "ics",
            Self::Atom => "atom",
        }
    }
}

pub struct Feeds {
    store: Store,
    /// `None` where Bluesky is off: then no handle names anyone.
    identity: Option<Arc<Identity>>,
    public_url: url::Url,
}

impl Feeds {
    pub fn new(store: Store, identity: Option<Arc<Identity>>, public_url: url::Url) -> Self {
        Self {
            store,
            identity,
            public_url,
        }
    }

    /// One event, to add to a calendar, and who may see it; `None` when there is none `looker`
    /// may see.
    pub async fn event(&self, id: i64, looker: Looker<'_>) -> Result<Option<(Feed, Visibility)>, FeedError> {
        let Some(event) = self.store.event_seen_by(id, looker).await? else {
            return Ok(None);
        };
        let name = event.name.clone();
        let feed = Feed {
            format: FeedFormat::Calendar,
            text: calendar(&name, &[self.entry(&event)]),
            name: event.slug.to_string(),
        };
        Ok(Some((feed, event.visibility)))
    }

    /// What a person organises (`/u/{handle}/calendar.ics`); `None` when the handle names no one
    /// Skymeet knows.
    pub async fn organiser(&self, handle: &Handle, now: DateTime<Utc>) -> Result<Option<Feed>, FeedError> {
        let Some(identity) = &self.identity else {
            return Ok(None);
        };
        let Some(did) = identity.resolve_handle(handle).await.map_err(FeedError::Unresolved)? else {
            return Ok(None);
        };
        let Some(user) = self.store.user_by_did(&did).await? else {
            return Ok(None);
        };
        // Their unlisted and private events are not in what anyone may subscribe to.
        let mut events = self.store.events_by_owner(user.id).await?;
        events.retain(|event| !event.visibility.is_hidden());
        // A series is one entry with its rule: the dates of it that are on Bluesky as events of
        // their own are not listed again.
        let in_series = self.store.occurrence_rkeys_of_owner(user.id).await?;
        let mut entries = self.entries(
            events
                .iter()
                .filter(|event| !event.source.rkey.as_ref().is_some_and(|rkey| in_series.contains(rkey))),
            now,
        );
        for series in self.store.series_of_owner(user.id).await? {
            entries.extend(self.series_entries(&series, now).await?);
        }
        Ok(Some(Feed {
            format: FeedFormat::Calendar,
            text: calendar(&format!("@{handle} on Skymeet"), &entries),
            name: handle.to_string(),
        }))
    }

    /// What the person whose token `token` is answered going or interested to; `None` for a
    /// token that is no one's (never issued, or replaced since).
    pub async fn going(&self, token: &str, now: DateTime<Utc>) -> Result<Option<Feed>, FeedError> {
        if !looks_like_token(token) {
            return Ok(None);
        }
        let Some(user_id) = self.store.user_id_by_calendar_token(token).await? else {
            return Ok(None);
        };
        let mut events = self.store.events_answered(user_id, RsvpStatus::Going).await?;
        events.extend(self.store.events_answered(user_id, RsvpStatus::Interested).await?);
        let entries = self.entries(events.iter(), now);
        Ok(Some(Feed {
            format: FeedFormat::Calendar,
            text: calendar("My Skymeet events", &entries),
            name: "going".to_owned(),
        }))
    }

    /// The path of `user_id`'s private feed, if they asked for one.
    pub async fn going_path(&self, user_id: i64) -> Result<Option<String>, FeedError> {
        Ok(self
            .store
            .calendar_token(user_id)
            .await?
            .map(|token| going_path(&token)))
    }

    /// Gives `user_id` a new private feed address (the old one stops working); its path.
    pub async fn new_going_path(&self, user_id: i64) -> Result<String, FeedError> {
        // 256 bits from the operating system's generator, as 64 hex digits.
        use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let token: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        self.store.set_calendar_token(user_id, &token).await?;
        Ok(going_path(&token))
    }

    /// The whole site: what is coming, and what was on lately.
    pub async fn site(&self, now: DateTime<Utc>) -> Result<Feed, FeedError> {
        let events = self.store.upcoming_events(now - RECENT_PAST, SITE_FEED_LIMIT).await?;
        let entries: Vec<_> = events.iter().map(|event| self.entry(event)).collect();
        Ok(Feed {
            format: FeedFormat::Calendar,
            text: calendar("Skymeet", &entries),
            name: "skymeet".to_owned(),
        })
    }

    /// A search's events (`/events/calendar.ics?…`), as the search ordered them.
    pub fn found(&self, title: &str, events: &[&Event]) -> Feed {
        let entries: Vec<_> = events.iter().map(|event| self.entry(event)).collect();
        Feed {
            format: FeedFormat::Calendar,
            text: calendar(title, &entries),
            name: "events".to_owned(),
        }
    }

    /// One series, to add to a calendar; `None` when there is none.
    pub async fn series(&self, id: i64, now: DateTime<Utc>) -> Result<Option<Feed>, FeedError> {
        let Some(series) = self.store.series_by_id(id).await? else {
            return Ok(None);
        };
        Ok(Some(Feed {
            format: FeedFormat::Calendar,
            text: calendar(&series.draft.name, &self.series_entries(&series, now).await?),
            name: series.slug.to_string(),
        }))
    }

    /// A series as a calendar has it: one entry with its rule and the dates it skips, and one for
    /// each date its organiser moved or renamed. A series whose rule no longer reads has none.
    async fn series_entries(&self, series: &SeriesRow, now: DateTime<Utc>) -> Result<Vec<CalendarEntry>, FeedError> {
        let Some(start) = series.draft.starts_at else {
            return Ok(Vec::new());
        };
        let recurrence = match Recurrence::parse(&series.rule, start, &series.draft.time_zone) {
            Ok(recurrence) => recurrence,
            Err(e) => {
                tracing::warn!(series = series.id, error = %e, "a stored series rule no longer reads");
                return Ok(Vec::new());
            }
        };
        // From now on, or from its start for a series that has not begun.
        let horizon = now.max(start) + SERIES_HORIZON;
        let through = recurrence
            .between(start, horizon, u16::MAX)
            .last()
            .copied()
            .unwrap_or(start);
        let rows = self.store.occurrence_rows(series.id, start, horizon).await?;
        let host = self.public_url.host_str().unwrap_or("skymeet");
        let mut draft = series.draft.clone();
        if series.status == SeriesStatus::Cancelled {
            draft.status = EventStatus::Cancelled;
        }
        let base = CalendarEntry {
            uid: format!("skymeet-series-{}@{host}", series.id),
            draft,
            url: self
                .public_url
                .join(&format!("series/{}", series.slug))
                .map(String::from)
                .unwrap_or_default(),
            // A series has no count of its changes; the seconds since it was made grow with each.
            sequence: (series.updated_at - series.created_at).num_seconds(),
            last_modified: series.updated_at,
            repeats: Some(Repeats {
                rule: recurrence.as_str().to_owned(),
                skipped: rows
                    .iter()
                    .filter(|row| row.cancelled)
                    .map(|row| row.starts_at)
                    .collect(),
                through,
            }),
            recurrence_id: None,
        };
        let length = match (base.draft.starts_at, base.draft.ends_at) {
            (Some(start), Some(end)) if end > start => Some(end - start),
            _ => None,
        };
        let changed = rows
            .iter()
            .filter(|row| !row.cancelled && (row.moved_to.is_some() || row.name.is_some()))
            .map(|row| {
                let mut entry = base.clone();
                let starts_at = row.moved_to.unwrap_or(row.starts_at);
                entry.draft.starts_at = Some(starts_at);
                entry.draft.ends_at = length.map(|length| starts_at + length);
                if let Some(name) = &row.name {
                    entry.draft.name = name.clone();
                }
                entry.repeats = None;
                entry.recurrence_id = Some(row.starts_at);
                entry
            })
            .collect::<Vec<_>>();
        Ok(std::iter::once(base).chain(changed).collect())
    }

    /// `events` as entries, those long over left out.
    fn entries<'a>(&self, events: impl Iterator<Item = &'a Event>, now: DateTime<Utc>) -> Vec<CalendarEntry> {
        events
            .filter(|event| not_long_over(event, now))
            .map(|event| self.entry(event))
            .collect()
    }

    fn entry(&self, event: &Event) -> CalendarEntry {
        let host = self.public_url.host_str().unwrap_or("skymeet");
        CalendarEntry {
            uid: event
                .source
                .at_uri
                .clone()
                .unwrap_or_else(|| format!("skymeet-event-{}@{host}", event.id)),
            draft: draft(event),
            url: self
                .public_url
                .join(&format!("events/{}", event.slug))
                .map(String::from)
                .unwrap_or_default(),
            sequence: event.sequence,
            last_modified: event.updated_at,
            repeats: None,
            recurrence_id: None,
        }
    }
}

/// How much of a description goes into a web calendar's link (the rest is on the event's page).
const LINK_DESCRIPTION_MAX_CHARS: usize = 500;

/// Google Calendar's and Outlook's "new event" forms, filled with `draft` (which links to
/// `page_url` for the rest); `None` without a start.
pub fn web_calendar_links(draft: &EventDraft, page_url: &str) -> Option<(String, String)> {
    let start = draft.starts_at?;
    let end = draft
        .ends_at
        .filter(|end| *end >= start)
        .unwrap_or(start + Duration::hours(1));
    let mut details: String = draft
        .description
        .as_deref()
        .unwrap_or_default()
        .chars()
        .take(LINK_DESCRIPTION_MAX_CHARS)
        .collect();
    if !details.is_empty() {
        details.push_str("\n\n");
    }
    details.push_str(page_url);
    let place = crate::server::ics::location(draft).unwrap_or_default();
    let compact = |at: DateTime<Utc>| at.format("%Y%m%dT%H%M%SZ").to_string();
    let google = url::Url::parse_with_params(
        "https://calendar.google.com/calendar/render",
        [
            ("action", "TEMPLATE"),
            ("text", draft.name.as_str()),
            ("dates", &format!("{}/{}", compact(start), compact(end))),
            ("details", &details),
            ("location", &place),
            ("ctz", draft.time_zone.as_str()),
        ],
    );
    let iso = |at: DateTime<Utc>| at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let outlook = url::Url::parse_with_params(
        "https://outlook.live.com/calendar/0/deeplink/compose",
        [
            ("path", "/calendar/action/compose"),
            ("rru", "addevent"),
            ("subject", draft.name.as_str()),
            ("startdt", &iso(start)),
            ("enddt", &iso(end)),
            ("body", &details),
            ("location", &place),
        ],
    );
    Some((google.ok()?.into(), outlook.ok()?.into()))
}

fn going_path(token: &str) -> String {
    format!("/feeds/{token}/going.ics")
}

/// What a token can be: 64 lower-case hex digits. Anything else is not looked up.
fn looks_like_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn not_long_over(event: &Event, now: DateTime<Utc>) -> bool {
    event
        .ends_at
        .or(event.starts_at)
        .is_some_and(|at| at >= now - RECENT_PAST)
}
