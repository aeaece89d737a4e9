//! What the server functions answer with: the data each page shows, shaped for it. States and
//! decisions are enums the pages match on; the JSON names are stable (scripts read them too).
//!
//! On the server, `From` conversions at the end of this file turn what the services read into
//! these views; nothing here reads storage or the network.

use crate::domain::{
    Decision, EventDraft, EventImage, EventInput, FieldError, Marked, Place, RsvpStatus, Slug, SyncStatus,
    TimeZoneName, UnknownZone, Visibility, WriteOperation, WriteState,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How many events one page of `/events` lists.
pub const EVENTS_PER_PAGE: u32 = 20;

/// How a page names a person: their display name, else `@handle`, else "Someone".
pub fn shown_name(display_name: Option<&str>, handle: Option<&str>) -> String {
    display_name
        .map(str::to_owned)
        .or_else(|| handle.map(|h| format!("@{h}")))
        .unwrap_or_else(|| "Someone".to_owned())
}

// ---- Events ----

/// One event as a list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventSummary {
    pub id: i64,
    /// Its address: `/events/{slug}`.
    pub slug: Slug,
    pub name: String,
    pub starts_at: Option<DateTime<Utc>>,
    /// The zone the organiser entered the times in.
    pub time_zone: TimeZoneName,
    /// When it starts, in the zone the page shows times in (see [`When`]).
    pub when: String,
    pub sync_status: SyncStatus,
    pub at_uri: Option<String>,
}

/// `/me`: what the person keeps on Skymeet only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptHere {
    /// Their events kept here, latest start first, with who may see each.
    pub events: Vec<(EventSummary, Visibility)>,
    /// How many of their answers kept here are to events on Bluesky (publishable once they
    /// connected it).
    pub answers_to_publish: usize,
}

/// One event with everything a page shows of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    /// `None` for a record on a PDS that Skymeet has not cached.
    pub id: Option<i64>,
    /// Its address, `/events/{slug}`, when Skymeet holds it.
    pub slug: Option<Slug>,
    pub draft: EventDraft,
    pub when: When,
    /// A zone its record names that is not in the tz database; `draft.time_zone` stands in for it.
    pub unknown_zone: Option<UnknownZone>,
    /// Every place it names, in its record's order.
    pub places: Vec<Place>,
    /// The images its record carries (served at `/events/{slug}/images/{cid}`); none for an event
    /// Skymeet does not hold.
    pub images: Vec<EventImage>,
    pub owner: Option<OwnerView>,
    pub sync: SyncView,
    /// The viewer owns it (and may edit and delete it).
    pub can_edit: bool,
    pub visibility: Visibility,
}

/// When an event happens, written out. The server writes every time a page shows: the browser
/// build carries no time zone database (it would be most of the wasm), so it never converts one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct When {
    /// Its start and end in the zone the page shows times in (the viewer's, else its own), or
    /// "Date to be announced".
    pub shown: String,
    /// The same in the event's own zone.
    pub own: String,
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

/// How an event (or an answer) stands against its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncView {
    pub status: SyncStatus,
    pub at_uri: Option<String>,
    /// The raw record on its PDS.
    pub record_url: Option<String>,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// A write the PDS has not accepted yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingWriteView {
    pub id: i64,
    pub event_id: Option<i64>,
    pub operation: WriteOperation,
    pub state: WriteState,
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
        let what = match (self.rsvp, self.operation) {
            (true, WriteOperation::Delete) => "Withdrawing your answer to",
            (true, _) => "Answering",
            (false, WriteOperation::Create) => "Publishing",
            (false, WriteOperation::Update) => "Saving changes to",
            (false, WriteOperation::Delete) => "Deleting",
        };
        let name = self.name.as_deref().unwrap_or("an event");
        match self.state {
            WriteState::Pending => format!("{what} “{name}”: waiting for your Bluesky server, retried automatically"),
            WriteState::Conflict if self.rsvp => {
                format!("{what} “{name}”: your answer was changed in another app, so this was not applied")
            }
            WriteState::Conflict => {
                format!("{what} “{name}”: the event was changed elsewhere, so this was not applied")
            }
            WriteState::Failed => format!("{what} “{name}” failed: your Bluesky server refused it"),
        }
    }
}

/// A write of ours that met another version on the PDS, and how it was settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictView {
    pub id: i64,
    /// The event it is about (none when that event is gone).
    pub event_id: Option<i64>,
    /// The name in the version Skymeet tried to write (none for a delete).
    pub ours: Option<String>,
    /// The name in the version the PDS held (none when it was gone or could not be read).
    pub theirs: Option<String>,
    /// `None` while open.
    pub decision: Option<Decision>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// `/events/{slug}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    pub event: EventView,
    pub pending: Option<PendingWriteView>,
    pub attendance: AttendanceView,
    /// The viewer's answer while it waits for (or was refused by) their PDS.
    pub answer_pending: Option<PendingWriteView>,
    /// For the organiser: this event's conflicts, newest first.
    pub conflicts: Vec<ConflictView>,
    /// The series this event is an occurrence of.
    pub series: Option<SeriesLink>,
    /// Ways to put it in a calendar; `None` while it has no start.
    pub add_to_calendar: Option<AddToCalendar>,
    /// What link previews and search engines read of it (nothing of a private event).
    pub share: Option<Share>,
    /// For the organiser of a private event: the link that lets people in.
    pub invite_link: Option<String>,
    /// For the organiser: the edit form, filled (times in the event's own zone).
    pub input: Option<EventInput>,
    /// When the page was made, so "synced 3 minutes ago" reads the same after hydration.
    pub now: DateTime<Utc>,
}

/// "Add to calendar": the event's `.ics`, and the web calendars' own forms filled with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddToCalendar {
    pub ics: String,
    pub google: String,
    pub outlook: String,
}

/// What an event page tells link previews and search engines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    /// The page's one address, in full.
    pub canonical: String,
    /// A line or two for previews.
    pub preview: String,
    /// schema.org `Event` JSON-LD, already safe to put inside a `<script>`.
    pub json_ld: String,
    /// The header image's full address, for previews.
    pub image: Option<String>,
}

/// `/u/{handle}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserPage {
    pub handle: String,
    pub did: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub is_owner: bool,
    /// Their events still to come on this page, soonest first (then those without a date).
    pub upcoming: Vec<EventView>,
    /// Their events that are over on this page, latest first.
    pub past: Vec<EventView>,
    /// The page (from 1), and whether another follows.
    pub page: u32,
    pub has_next: bool,
    /// Events this person answered "going" (from Skymeet's copy).
    pub going: Vec<EventSummary>,
    /// The PDS could not be reached: these are Skymeet's copies.
    pub cached: bool,
    pub pending: Vec<PendingWriteView>,
    pub now: DateTime<Utc>,
}

/// `/events`: one page of a search (with nothing asked, of everything still to come).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub results: Vec<FoundView>,
    /// The search's fields as the address carries them (`q=jazz&mode=virtual`), for its links.
    pub query: String,
    /// Where the next page starts (`after=`), when there is one.
    pub next: Option<String>,
    /// This is not the first page.
    pub later: bool,
    /// What was wrong with the search (nothing is listed then).
    pub errors: Vec<FieldError>,
    /// Words were asked for: the results are by relevance, not by date.
    pub ranked: bool,
}

/// One event a search found, with its matches marked when words found it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoundView {
    pub event: EventView,
    pub name: Option<Marked>,
    pub passage: Option<Marked>,
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

/// How an owner settles a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The version on Bluesky stays; ours is dropped.
    KeepBluesky,
    /// Our version is written over the one on Bluesky.
    ReapplyMine,
}

// ---- Answers (RSVPs) ----

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
        shown_name(self.display_name.as_deref(), self.handle.as_deref())
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

// ---- Sign-in ----

/// The signed-in person, as pages show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub user_id: i64,
    pub handle: Option<String>,
    pub did: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    /// Skymeet holds working credentials for the account; `false`: it has to sign in again.
    pub connected: bool,
    /// From the AppView, when one is configured.
    pub followers_count: Option<i64>,
    pub follows_count: Option<i64>,
    /// May open `/admin` (the DID is in `ADMIN_DIDS`).
    pub is_admin: bool,
    /// When this account took over what the firehose had already brought for its DID.
    pub claimed_at: Option<DateTime<Utc>>,
    /// A local account's address (shown to its owner only: `current_user` is about oneself).
    #[serde(default)]
    pub email: Option<String>,
}

impl Viewer {
    /// The connection status in words, as the status dot's tooltip and `/me` show it.
    pub fn connection_status(&self) -> &'static str {
        match (self.did.is_some(), self.connected) {
            (false, _) => "A Skymeet account, not connected to Bluesky",
            (true, true) => "Connected to Bluesky",
            (true, false) => "Sign in again to reconnect Bluesky",
        }
    }

    /// The status dot's colour.
    pub fn connection_dot_class(&self) -> &'static str {
        match (self.did.is_some(), self.connected) {
            (false, _) => "bg-slate-400",
            (true, true) => "bg-emerald-500",
            (true, false) => "bg-amber-500",
        }
    }

    /// What the header calls the person: their handle, else their name.
    pub fn short_name(&self) -> String {
        match (&self.handle, &self.display_name) {
            (Some(handle), _) => format!("@{handle}"),
            (None, Some(name)) => name.clone(),
            (None, None) => "Your profile".to_owned(),
        }
    }

    /// A link to the account on the Bluesky app.
    pub fn bluesky_url(&self) -> Option<String> {
        self.did.as_ref().map(|did| format!("https://bsky.app/profile/{did}"))
    }
}

/// The signed-in account and what it holds, as `POST /api/auth/bluesky/claim-account` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedAccount {
    pub user_id: i64,
    pub did: String,
    pub handle: Option<String>,
    /// When the account took over the shadow user the firehose had made for its DID; `None` when
    /// there was none (the person signed in before the firehose saw them).
    pub claimed_at: Option<DateTime<Utc>>,
    /// Events and RSVPs the account owns here, including those the firehose brought before.
    pub events: i64,
    pub rsvps: i64,
}

// ---- The admin dashboard ----

/// Everything `/admin` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Events per sync status.
    pub events: Vec<Count<SyncStatus>>,
    pub events_total: i64,
    /// Share of events in sync, 0-100; 100 with no events.
    pub in_sync_percent: f64,
    pub rsvps: i64,
    /// Pending writes per state.
    pub pending_writes: Vec<Count<WriteState>>,
    /// `None` when this instance runs no firehose consumer.
    pub consumer: Option<ConsumerView>,
    pub dead_letters: Vec<DeadLetterView>,
    pub dead_letters_total: i64,
    /// The newest conflicts; their owners settle them on the event's page.
    pub conflicts: Vec<ConflictView>,
    /// Newest first.
    pub reconciliations: Vec<ReconcileView>,
    pub reconciling: bool,
    /// While a run goes on on this instance: repos compared so far, and how many it compares.
    pub reconcile_progress: Option<(u64, u64)>,
    /// The latest import of the network; `None` without a relay.
    pub import: Option<ImportView>,
    pub charts: Charts,
    pub now: DateTime<Utc>,
}

/// How the import of the network stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportView {
    pub relay: String,
    pub running: bool,
    /// `None` before the first import.
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The relay is still listing repos.
    pub listing: bool,
    pub found: i64,
    pub done: i64,
    pub failed: i64,
    pub records: i64,
    /// The repos that failed (a few), and why.
    pub failures: Vec<(String, Option<String>)>,
}

impl ImportView {
    /// Repos read or given up on, of those found, 0-100.
    pub fn percent(&self) -> u32 {
        match self.found {
            0 => 0,
            found => (((self.done + self.failed) * 100) / found).clamp(0, 100) as u32,
        }
    }
}

/// The charts over time, over the last hours that have samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charts {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// How often samples are taken; `None` when sampling is off.
    pub sample_seconds: Option<u64>,
    pub charts: Vec<ChartView>,
}

/// One chart: a value per time bucket from `start` to `end` (`None`: nothing happened there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartView {
    pub title: String,
    /// What the values are in: `frames/s`, `s`, `ms` or `%`.
    pub unit: String,
    pub points: Vec<Option<f64>>,
}

/// How many there are of one kind (`name` is a status or state, as stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count<K> {
    pub name: K,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsumerView {
    pub endpoint: String,
    pub connected: bool,
    pub cursor: Option<i64>,
    /// When the cursor last moved.
    pub cursor_moved_at: Option<DateTime<Utc>>,
    /// Sequence gaps seen (each repaired by re-reading repos).
    pub gaps: u64,
    /// Times the consumer lost its lock and stopped (another instance may have taken over).
    pub lock_losses: u64,
    /// Times a connection ended and the consumer connected again.
    pub reconnects: u64,
    /// How far behind the network the last applied commit was, in seconds.
    pub lag_seconds: Option<f64>,
    /// Frames keep failing to apply: the cursor does not move and the cache falls behind.
    pub stuck: bool,
    /// Why frames fail, while they do.
    pub last_error: Option<String>,
    /// Why the last connection failed or ended, while none is open (the consumer retries).
    pub connection_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterView {
    pub id: i64,
    pub error: String,
    pub uri: Option<String>,
    pub seq: Option<i64>,
    /// The record, pretty-printed.
    pub record: Option<String>,
    /// The size of an undecodable frame.
    pub raw_bytes: Option<usize>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileView {
    pub id: i64,
    pub trigger: String,
    pub started_at: DateTime<Utc>,
    /// `None` while it runs.
    pub finished_at: Option<DateTime<Utc>>,
    pub repos: i64,
    pub missing: i64,
    pub stale: i64,
    pub deleted: i64,
    pub unpublished: i64,
    pub errors: Vec<String>,
}

/// What a backfill of one repo found and repaired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillView {
    pub did: String,
    pub missing: usize,
    pub stale: usize,
    pub deleted: usize,
}

/// A person's Bluesky session as Skymeet holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub user_id: i64,
    pub handle: Option<String>,
    /// `None` for an email account that has not connected Bluesky.
    pub did: Option<String>,
    pub email: Option<String>,
    /// An admin stopped the account from signing in.
    pub disabled: bool,
    /// Skymeet holds credentials for the account.
    pub connected: bool,
    /// When the stored credentials expire (and are cleaned up) unless refreshed.
    pub expires_in_seconds: Option<u64>,
    /// How long ago the credentials were last written: at sign-in or a token refresh (each write
    /// renews their lifetime, so this is that lifetime minus what is left of it).
    pub refreshed_seconds_ago: Option<u64>,
    /// When the access token expires, from now (negative: it has); the next use after that
    /// refreshes it.
    pub access_token_expires_in_seconds: Option<i64>,
}

/// What a batch refresh did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshOutcome {
    pub refreshed: usize,
    /// `handle-or-did: why`, one per session that could not be refreshed.
    pub failed: Vec<String>,
}

// ---- Series ----

/// Where one occurrence of a series stands on Bluesky.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OccurrenceState {
    /// Not published yet: it will be when it is next, or as soon as someone answers it.
    NotYet,
    /// Its record waits for the organiser's PDS (a pending write).
    Queued,
    /// On Bluesky, as an event here.
    Published,
    /// Published once, and deleted since.
    Gone,
}

/// One occurrence of a series, as its page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OccurrenceView {
    /// What names it in URLs (`/series/{slug}/at/{key}`): its start by the rule, in UTC.
    pub key: String,
    pub starts_at: DateTime<Utc>,
    /// When it takes place instead, if its organiser moved it.
    pub moved_to: Option<DateTime<Utc>>,
    /// Its own name, if its organiser gave it one.
    pub name: Option<String>,
    pub ends_at: Option<DateTime<Utc>>,
    /// When it takes place, in the series' zone.
    pub when: String,
    /// Where it was moved from, in the series' zone ("moved from …").
    pub moved_from: Option<String>,
    /// When it takes place, as the series' zone's `datetime-local` (for the form that moves it).
    pub starts_input: String,
    pub cancelled: bool,
    pub state: OccurrenceState,
    /// The event it became, once published: its address, `/events/{slug}`.
    pub event: Option<Slug>,
    /// Its record on the organiser's PDS.
    pub record_url: Option<String>,
}

/// `/series/{slug}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPage {
    pub id: i64,
    /// Its address: `/series/{slug}`.
    pub slug: Slug,
    /// The first occurrence: name, description, place and the series' time zone.
    pub draft: EventDraft,
    /// "Occurs weekly on Tuesdays".
    pub rule_words: String,
    /// The RRULE, as stored.
    pub rule: String,
    pub cancelled: bool,
    pub owner: Option<OwnerView>,
    /// The viewer organises it (and may change it).
    pub is_owner: bool,
    /// The occurrence kept on Bluesky now.
    pub current: Option<OccurrenceView>,
    pub upcoming: Vec<OccurrenceView>,
    pub past: Vec<OccurrenceView>,
}

/// `/series/{slug}/at/{key}`: one occurrence, published or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OccurrencePage {
    pub series_id: i64,
    /// The series' address: `/series/{slug}`.
    pub series_slug: Slug,
    pub draft: EventDraft,
    pub rule_words: String,
    pub occurrence: OccurrenceView,
    /// From its start to its end, in the series' zone.
    pub when: String,
}

/// The series edit form, filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesForm {
    /// The series' address, `/series/{slug}`.
    pub slug: Slug,
    pub input: crate::domain::EventInput,
    pub repeat: crate::domain::RepeatInput,
}

/// One of the organiser's series, as `/me` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesSummary {
    pub id: i64,
    pub slug: Slug,
    pub name: String,
    pub rule_words: String,
    pub cancelled: bool,
}

/// Events of the organiser's that look like a series, to make one of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalView {
    /// "Occurs weekly on Tuesdays".
    pub rule_words: String,
    pub rule: String,
    /// 0 to 100.
    pub confidence: u8,
    pub events: Vec<EventSummary>,
    /// The events' ids, comma-separated: what accepting the proposal posts.
    pub event_ids: String,
}

/// `/me`'s series section: the organiser's series, and the series their events look like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesOverview {
    pub series: Vec<SeriesSummary>,
    pub proposals: Vec<ProposalView>,
}

/// On an event's page: the series it is an occurrence of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesLink {
    pub slug: Slug,
    pub rule_words: String,
}

#[cfg(feature = "ssr")]
mod series_from_server {
    //! The series service's reads, as views.
    use super::*;
    use crate::domain::ShownZone;
    use crate::server::{
        series::{Occurrence, OnBluesky, Recurrence, SeriesDetails},
        store::{Event, SeriesRow, SeriesStatus, User},
    };

    impl OccurrenceView {
        /// `occurrence` of a series whose times are in `zone`.
        pub fn of(occurrence: &Occurrence, zone: &TimeZoneName) -> Self {
            let (state, event) = match &occurrence.on_bluesky {
                OnBluesky::NotYet => (OccurrenceState::NotYet, None),
                OnBluesky::Queued(_) => (OccurrenceState::Queued, None),
                OnBluesky::Published(event) => (OccurrenceState::Published, Some(event)),
                OnBluesky::Gone => (OccurrenceState::Gone, None),
            };
            Self {
                key: crate::domain::occurrence_key(occurrence.starts_at),
                starts_at: occurrence.starts_at,
                moved_to: occurrence.moved_to,
                name: occurrence.name.clone(),
                ends_at: occurrence.ends_at,
                when: zone.format(occurrence.moved_to.unwrap_or(occurrence.starts_at)),
                moved_from: occurrence.moved_to.map(|_| zone.format(occurrence.starts_at)),
                starts_input: zone.local_input(occurrence.moved_to.unwrap_or(occurrence.starts_at)),
                cancelled: occurrence.cancelled,
                state,
                event: event.map(|event| event.slug.clone()),
                record_url: event.and_then(|event| event.source.source_url.clone()),
            }
        }
    }

    impl SeriesPage {
        pub fn of(details: SeriesDetails, owner: Option<&User>, viewer: Option<&User>) -> Self {
            let zone = &details.series.draft.time_zone;
            Self {
                id: details.series.id,
                slug: details.series.slug.clone(),
                rule_words: details.recurrence.describe(),
                rule: details.series.rule.clone(),
                cancelled: details.series.status == SeriesStatus::Cancelled,
                owner: owner.map(OwnerView::from),
                is_owner: viewer.is_some_and(|viewer| viewer.id == details.series.owner_id),
                current: details.current.as_ref().map(|o| OccurrenceView::of(o, zone)),
                upcoming: details.upcoming.iter().map(|o| OccurrenceView::of(o, zone)).collect(),
                past: details.past.iter().map(|o| OccurrenceView::of(o, zone)).collect(),
                draft: details.series.draft,
            }
        }
    }

    impl ProposalView {
        /// Its events' times are in their own zones (a proposal is the organiser's own events).
        pub fn of(proposal: &crate::server::series::Proposal, recurrence: &Recurrence, events: Vec<Event>) -> Self {
            Self {
                rule_words: recurrence.describe(),
                rule: proposal.rrule(),
                confidence: (proposal.confidence * 100.0).round().clamp(0.0, 100.0) as u8,
                event_ids: events.iter().map(|e| e.id.to_string()).collect::<Vec<_>>().join(","),
                events: events
                    .into_iter()
                    .map(|e| EventSummary::of(e, &ShownZone::EventsOwn))
                    .collect(),
            }
        }
    }

    impl OccurrencePage {
        pub fn of(series: &SeriesRow, recurrence: &Recurrence, occurrence: &Occurrence) -> Self {
            let mut draft = series.draft.clone();
            draft.starts_at = Some(occurrence.moved_to.unwrap_or(occurrence.starts_at));
            draft.ends_at = occurrence.ends_at;
            if let Some(name) = &occurrence.name {
                draft.name = name.clone();
            }
            let zone = &series.draft.time_zone;
            Self {
                series_id: series.id,
                series_slug: series.slug.clone(),
                when: zone.span(draft.starts_at, draft.ends_at),
                rule_words: recurrence.describe(),
                occurrence: OccurrenceView::of(occurrence, zone),
                draft,
            }
        }
    }
}

#[cfg(feature = "ssr")]
mod from_server {
    //! What the services read, as views.
    use super::*;
    use crate::domain::ShownZone;
    use crate::server::{
        calendar::{
            reads::{AnswerRead, AttendanceRead, DetailsRead, EventRead, Listed, UserRead},
            Synced,
        },
        dashboard::{ConsumerRead, DashboardRead, SessionRead},
        store::{Conflict, DeadLetter, Event, PendingWrite, ReconcileReport, User},
    };

    impl From<&User> for OwnerView {
        fn from(user: &User) -> Self {
            Self {
                handle: user.handle.as_ref().map(ToString::to_string),
                display_name: user.display_name.clone(),
                avatar_url: user.avatar_url.clone(),
            }
        }
    }

    impl From<&Event> for SyncView {
        fn from(event: &Event) -> Self {
            Self {
                status: event.source.sync_status,
                at_uri: event.source.at_uri.clone(),
                record_url: event.source.source_url.clone(),
                last_synced_at: event.source.last_synced_at,
                last_error: event.source.last_sync_error.clone(),
            }
        }
    }

    impl EventSummary {
        /// `event` on a page that shows times in `zone`.
        pub fn of(event: Event, zone: &ShownZone) -> Self {
            Self {
                id: event.id,
                when: zone.span(event.starts_at, None, &event.time_zone),
                slug: event.slug,
                name: event.name,
                starts_at: event.starts_at,
                time_zone: event.time_zone,
                sync_status: event.source.sync_status,
                at_uri: event.source.at_uri,
            }
        }
    }

    impl FoundView {
        pub fn of(found: crate::server::calendar::discovery::FoundRead, zone: &ShownZone) -> Self {
            Self {
                event: EventView::of(found.event, zone),
                name: found.name,
                passage: found.passage,
            }
        }
    }

    impl When {
        fn of(draft: &EventDraft, zone: &ShownZone) -> Self {
            Self {
                shown: zone.span(draft.starts_at, draft.ends_at, &draft.time_zone),
                own: draft.time_zone.span(draft.starts_at, draft.ends_at),
            }
        }
    }

    impl EventView {
        /// `read` on a page that shows times in `zone`.
        pub fn of(read: EventRead, zone: &ShownZone) -> Self {
            Self {
                id: Some(read.event.id),
                slug: Some(read.event.slug.clone()),
                when: When::of(&read.draft, zone),
                draft: read.draft,
                unknown_zone: read.unknown_zone,
                places: read.places,
                images: read.images,
                owner: read.owner.as_ref().map(OwnerView::from),
                sync: SyncView::from(&read.event),
                can_edit: read.can_edit,
                visibility: read.event.visibility,
            }
        }

        /// An event a user's page lists, on a page that shows times in `zone`.
        pub fn listed(listed: Listed, zone: &ShownZone) -> Self {
            match listed {
                Listed::Cached(read) => Self::of(*read, zone),
                Listed::Elsewhere(foreign) => Self {
                    when: When::of(&foreign.draft, zone),
                    id: None,
                    slug: None,
                    owner: foreign.owner.as_ref().map(OwnerView::from),
                    sync: SyncView {
                        status: SyncStatus::InSync,
                        at_uri: Some(foreign.at_uri),
                        record_url: foreign.record_url,
                        last_synced_at: Some(foreign.read_at),
                        last_error: None,
                    },
                    draft: foreign.draft,
                    unknown_zone: foreign.unknown_zone,
                    places: foreign.places,
                    images: Vec::new(),
                    can_edit: false,
                    visibility: Visibility::Public,
                },
            }
        }
    }

    impl PendingWriteView {
        /// A pending write as its owner sees it; `event_name` names the event an answer is for.
        pub fn of(write: &PendingWrite, event_name: Option<&str>) -> Self {
            let rsvp = write.is_rsvp();
            let own_name = write
                .record
                .as_ref()
                .filter(|_| !rsvp)
                .and_then(|r| r.get("name"))
                .and_then(|n| n.as_str());
            Self {
                id: write.id,
                event_id: write.event_id,
                operation: write.operation,
                state: write.state,
                rsvp,
                name: own_name.or(event_name).map(str::to_owned),
                attempts: write.attempts,
                last_error: write.last_error.clone(),
                next_attempt_at: write.next_attempt_at,
            }
        }
    }

    impl From<Conflict> for ConflictView {
        fn from(conflict: Conflict) -> Self {
            let name = |value: &Option<serde_json::Value>| {
                value
                    .as_ref()
                    .and_then(|v| v.get("name"))
                    .and_then(|n| n.as_str())
                    .map(str::to_owned)
            };
            Self {
                id: conflict.id,
                event_id: conflict.event_id,
                ours: name(&conflict.ours),
                theirs: name(&conflict.theirs),
                decision: conflict.decision,
                decided_at: conflict.decided_at,
                created_at: conflict.created_at,
            }
        }
    }

    impl From<AttendanceRead> for AttendanceView {
        fn from(read: AttendanceRead) -> Self {
            let count = |status| {
                read.counts
                    .iter()
                    .find(|(counted, _)| *counted == status)
                    .map_or(0, |(_, count)| usize::try_from(*count).unwrap_or(0))
            };
            let attendees = read
                .answers
                .iter()
                .filter(|a| read.organiser || a.status != RsvpStatus::NotGoing)
                .map(|a| AttendeeView {
                    handle: a.handle.as_ref().map(ToString::to_string),
                    display_name: a.display_name.clone(),
                    avatar_url: a.avatar_url.clone(),
                    status: a.status,
                    earlier_version: read.answered_earlier_version(a.subject_cid.as_deref()),
                })
                .collect();
            let mine = read.mine.as_ref().map(|mine| MyAnswerView::of(mine, &read));
            Self {
                going: count(RsvpStatus::Going),
                interested: count(RsvpStatus::Interested),
                not_going: count(RsvpStatus::NotGoing),
                attendees,
                mine,
            }
        }
    }

    impl MyAnswerView {
        fn of(mine: &AnswerRead, attendance: &AttendanceRead) -> Self {
            let stored = mine.stored.as_ref();
            let (status, sync_status, last_error) = match (&mine.queued, &mine.here) {
                (_, Some(here)) => (Some(here.status), SyncStatus::Local, None),
                (Some(write), None) => {
                    let status = match write.operation {
                        WriteOperation::Delete => None,
                        _ => write
                            .record
                            .as_ref()
                            .and_then(|r| r.get("status"))
                            .and_then(|s| s.as_str())
                            .and_then(RsvpStatus::from_token),
                    };
                    (status, SyncStatus::from(write.state), write.last_error.clone())
                }
                (None, None) => (stored.map(|r| r.status), SyncStatus::InSync, None),
            };
            Self {
                status,
                sync: SyncView {
                    status: sync_status,
                    at_uri: stored.map(|r| r.at_uri.clone()),
                    record_url: mine.record_url.clone(),
                    last_synced_at: stored.map(|r| r.updated_at),
                    last_error,
                },
                earlier_version: stored.is_some_and(|r| attendance.answered_earlier_version(r.subject_cid.as_deref())),
            }
        }
    }

    impl EventPage {
        /// `read` on a page that shows times in `zone`.
        pub fn of(read: DetailsRead, zone: &ShownZone) -> Self {
            let answer_pending = read
                .attendance
                .mine
                .as_ref()
                .and_then(|mine| mine.queued.as_ref())
                .map(|write| PendingWriteView::of(write, Some(&read.event.event.name)));
            Self {
                pending: read.pending.as_ref().map(|write| PendingWriteView::of(write, None)),
                answer_pending,
                attendance: read.attendance.into(),
                conflicts: read.conflicts.into_iter().map(ConflictView::from).collect(),
                series: None,
                add_to_calendar: None,
                share: None,
                invite_link: None,
                input: read.event.can_edit.then(|| read.event.draft.to_input()),
                event: EventView::of(read.event, zone),
                now: Utc::now(),
            }
        }
    }

    impl UserPage {
        /// `read` on a page that shows times in `zone`.
        pub fn of(read: UserRead, zone: &ShownZone) -> Self {
            let mut upcoming = read.events;
            let past = upcoming.split_off(read.upcoming.min(upcoming.len()));
            Self {
                handle: read.handle.to_string(),
                did: read.did.to_string(),
                display_name: read.user.as_ref().and_then(|u| u.display_name.clone()),
                avatar_url: read.user.as_ref().and_then(|u| u.avatar_url.clone()),
                is_owner: read.is_owner,
                upcoming: upcoming.into_iter().map(|e| EventView::listed(e, zone)).collect(),
                past: past.into_iter().map(|e| EventView::listed(e, zone)).collect(),
                page: read.page,
                has_next: read.has_next,
                going: read.going.into_iter().map(|e| EventSummary::of(e, zone)).collect(),
                cached: read.cached,
                pending: read
                    .pending
                    .iter()
                    .map(|(write, answered)| PendingWriteView::of(write, answered.as_deref()))
                    .collect(),
                now: Utc::now(),
            }
        }
    }

    impl From<Synced> for SyncOutcome {
        fn from(synced: Synced) -> Self {
            match synced {
                Synced::Sent => Self::Sent,
                Synced::Deleted => Self::Deleted,
                Synced::Refreshed => Self::Refreshed,
                Synced::Gone => Self::Gone,
            }
        }
    }

    impl From<ReconcileReport> for ReconcileView {
        fn from(report: ReconcileReport) -> Self {
            Self {
                id: report.id,
                trigger: report.trigger,
                started_at: report.started_at,
                finished_at: report.finished_at,
                repos: report.counts.repos,
                missing: report.counts.missing,
                stale: report.counts.stale,
                deleted: report.counts.deleted,
                unpublished: report.counts.unpublished,
                errors: report.counts.errors,
            }
        }
    }

    impl From<DeadLetter> for DeadLetterView {
        fn from(letter: DeadLetter) -> Self {
            Self {
                id: letter.id,
                error: letter.error,
                uri: letter.uri,
                seq: letter.seq,
                record: letter
                    .record
                    .map(|record| serde_json::to_string_pretty(&record).unwrap_or_else(|_| record.to_string())),
                raw_bytes: letter.raw.map(|raw| raw.len()),
                created_at: letter.created_at,
            }
        }
    }

    impl From<&User> for Viewer {
        fn from(user: &User) -> Self {
            Self {
                user_id: user.id,
                handle: user.handle.as_ref().map(ToString::to_string),
                did: user.did.as_ref().map(ToString::to_string),
                display_name: user.display_name.clone(),
                description: user.description.clone(),
                avatar_url: user.avatar_url.clone(),
                connected: false,
                followers_count: user.followers_count,
                follows_count: user.follows_count,
                is_admin: false,
                claimed_at: user.claimed_at,
                email: None,
            }
        }
    }

    impl From<DashboardRead> for SyncReport {
        fn from(read: DashboardRead) -> Self {
            let in_sync_percent = read.in_sync_percent();
            let series = read.charts.series;
            let chart = |title: &str, unit: &str, points: Vec<Option<f64>>| ChartView {
                title: title.to_owned(),
                unit: unit.to_owned(),
                points,
            };
            Self {
                events_total: read.events_by_status.iter().map(|(_, count)| count).sum(),
                events: read
                    .events_by_status
                    .into_iter()
                    .map(|(name, count)| Count { name, count })
                    .collect(),
                in_sync_percent,
                rsvps: read.rsvps,
                pending_writes: read
                    .pending_writes_by_state
                    .into_iter()
                    .map(|(name, count)| Count { name, count })
                    .collect(),
                consumer: read.consumer.map(ConsumerView::from),
                dead_letters: read.dead_letters.into_iter().map(DeadLetterView::from).collect(),
                dead_letters_total: read.dead_letters_total,
                conflicts: read.conflicts.into_iter().map(ConflictView::from).collect(),
                reconciliations: read.reconciliations.into_iter().map(ReconcileView::from).collect(),
                reconciling: read.reconciling,
                reconcile_progress: read.reconcile_progress,
                import: read.import.map(|import| {
                    let progress = import.progress;
                    ImportView {
                        relay: import.relay,
                        running: import.running,
                        started_at: progress.as_ref().map(|p| p.import.started_at),
                        finished_at: progress.as_ref().and_then(|p| p.import.finished_at),
                        listing: progress.as_ref().is_some_and(|p| p.import.listing.is_some()),
                        found: progress.as_ref().map_or(0, |p| p.found),
                        done: progress.as_ref().map_or(0, |p| p.done),
                        failed: progress.as_ref().map_or(0, |p| p.failed),
                        records: progress.as_ref().map_or(0, |p| p.records),
                        failures: progress.map(|p| p.failures).unwrap_or_default(),
                    }
                }),
                charts: Charts {
                    start: series.start,
                    end: series.end,
                    sample_seconds: read.charts.sample_interval.map(|interval| interval.as_secs()),
                    charts: vec![
                        chart("Firehose rate", "frames/s", series.firehose_frames_per_second),
                        chart("Sync latency", "s", series.sync_latency_seconds),
                        chart("Publish duration", "ms", series.publish_milliseconds),
                        chart("In sync", "%", series.in_sync_percent),
                    ],
                },
                now: Utc::now(),
            }
        }
    }

    impl From<ConsumerRead> for ConsumerView {
        fn from(read: ConsumerRead) -> Self {
            Self {
                endpoint: read.endpoint,
                connected: read.connected,
                cursor: read.cursor,
                cursor_moved_at: read.cursor_moved_at,
                gaps: read.gaps,
                lock_losses: read.lock_losses,
                reconnects: read.reconnects,
                lag_seconds: read.lag_seconds,
                stuck: read.stuck,
                last_error: read.last_error,
                connection_error: read.connection_error,
            }
        }
    }

    impl From<SessionRead> for SessionView {
        fn from(read: SessionRead) -> Self {
            Self {
                user_id: read.user_id,
                handle: read.handle.as_ref().map(ToString::to_string),
                did: read.did.as_ref().map(ToString::to_string),
                email: read.email.as_ref().map(|email| email.as_str().to_owned()),
                disabled: read.disabled,
                connected: read.credentials_ttl.is_some(),
                expires_in_seconds: read.credentials_ttl.map(|ttl| ttl.as_secs()),
                refreshed_seconds_ago: read.refreshed_ago().map(|ago| ago.as_secs()),
                access_token_expires_in_seconds: read.access_token_expires_at.map(|at| (at - Utc::now()).num_seconds()),
            }
        }
    }
}
