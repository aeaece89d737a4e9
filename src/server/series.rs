//! Recurring series (F27, F28). ATProto calendar records cannot repeat, so a series lives here
//! (its rule, its first occurrence, and what the organiser changed in single occurrences) and
//! only its closest upcoming occurrence is published to the organiser's PDS, as an ordinary
//! event record whose description links back to the series. A scheduler, which every instance
//! may run, publishes the next occurrence once the current one is over; the past ones stay.
//!
//! An occurrence someone answers is published then, even if it is not the next one: an RSVP
//! record must point at an event record.
//!
//! Every write goes through [`Calendar`], PDS first with a pending write under a record key
//! chosen before the first attempt (kept in the occurrence's row), so publishing an occurrence
//! twice (two instances, or a retry) writes the same record again, never a second one.

mod describe;
pub mod detect;
pub mod labelled;
pub mod rule;

pub use detect::{Pattern, Proposal};
pub use rule::{Recurrence, RuleError};

use crate::domain::{AtUri, Collection, EventDraft, EventStatus, Repeat, RsvpStatus};
use crate::server::{
    calendar::{Calendar, PublishError},
    pds::calendar_event::COLLECTION,
    store::{Event, Exceptions, OccurrenceRow, PendingWrite, Rsvp, SeriesRow, SeriesStatus, Store, StoreError, User},
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::{collections::HashMap, sync::Arc};
use tokio_util::sync::CancellationToken;

/// How often the scheduler looks for series whose published occurrence is over.
const SCHEDULER_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);
/// How long an instance holds a claimed series before another may look at it.
const CLAIM_LEASE: Duration = Duration::seconds(120);
const SCHEDULER_BATCH: u32 = 20;
/// After a failure, when the scheduler tries the series again.
const RETRY_AFTER: Duration = Duration::minutes(5);
/// How many occurrences in a row may be cancelled or deleted before the scheduler stops looking
/// for the next one (and looks again a day later).
const LOOKAHEAD: u16 = 60;
/// How many upcoming occurrences a series page lists.
pub const UPCOMING_LISTED: u16 = 12;
/// How many past occurrences a series page lists.
const PAST_LISTED: i64 = 20;

#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("a repeating event needs a start time")]
    NoStart,
    #[error("only the series' organiser may change it")]
    Forbidden,
    #[error("the series has no occurrence starting then")]
    NoSuchOccurrence,
    #[error("the occurrence is not on Bluesky yet")]
    NotPublishedYet,
    #[error("these events do not follow one pattern")]
    NoPattern,
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where one occurrence stands on Bluesky.
#[derive(Debug, Clone, PartialEq)]
pub enum OnBluesky {
    /// Not published (it will be when it is next, or when someone answers it).
    NotYet,
    /// Its create waits for the PDS, as this pending write.
    Queued(Box<PendingWrite>),
    /// Published: this event is its record's cached copy.
    Published(Box<Event>),
    /// It was published, and the record is gone (someone deleted it).
    Gone,
}

/// One occurrence as a page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    /// The start the rule gives it: what names it.
    pub starts_at: DateTime<Utc>,
    /// When it takes place instead, if its organiser moved it.
    pub moved_to: Option<DateTime<Utc>>,
    /// Its own name, if its organiser gave it one.
    pub name: Option<String>,
    pub ends_at: Option<DateTime<Utc>>,
    pub cancelled: bool,
    pub on_bluesky: OnBluesky,
}

/// A series with its rule in words and the occurrences a page lists.
#[derive(Debug, Clone)]
pub struct SeriesDetails {
    pub series: SeriesRow,
    pub recurrence: Recurrence,
    /// The occurrences not over yet, soonest first, up to [`UPCOMING_LISTED`].
    pub upcoming: Vec<Occurrence>,
    /// Published occurrences that are over, latest first.
    pub past: Vec<Occurrence>,
    /// The occurrence the scheduler keeps on Bluesky now, if any.
    pub current: Option<Occurrence>,
}

pub struct Schedule {
    store: Store,
    calendar: Arc<Calendar>,
    /// The series pages' address, for the link in each published occurrence.
    public_url: url::Url,
}

impl Schedule {
    pub fn new(store: Store, calendar: Arc<Calendar>, public_url: url::Url) -> Self {
        Self {
            store,
            calendar,
            public_url,
        }
    }

    /// The rule of a checked form, for a first occurrence `draft`.
    pub fn recurrence(repeat: &Repeat, draft: &EventDraft) -> Result<Recurrence, SeriesError> {
        let start = draft.starts_at.ok_or(SeriesError::NoStart)?;
        let local = start.with_timezone(&draft.time_zone.tz()).naive_local();
        Ok(Recurrence::parse(
            &repeat.rrule(local, &draft.time_zone),
            start,
            &draft.time_zone,
        )?)
    }

    /// Starts a series and publishes its first occurrence (PDS first: if the PDS cannot take it
    /// now, it waits as a pending write and the series is there all the same).
    #[tracing::instrument(skip_all, fields(owner = owner.id), err)]
    pub async fn create(&self, owner: &User, draft: &EventDraft, repeat: &Repeat) -> Result<SeriesRow, SeriesError> {
        let recurrence = Self::recurrence(repeat, draft)?;
        let now = Utc::now();
        let series = self
            .store
            .insert_series(owner.id, recurrence.as_str(), draft, now)
            .await?;
        self.keep_next_published(&series, owner, now).await?;
        Ok(series)
    }

    /// A series, its rule, and the occurrences its page lists as of `now`.
    pub async fn details(&self, id: i64, now: DateTime<Utc>) -> Result<Option<SeriesDetails>, SeriesError> {
        let Some(series) = self.store.series_by_id(id).await? else {
            return Ok(None);
        };
        let recurrence = recurrence_of(&series)?;
        let Some(owner) = self.store.user_by_id(series.owner_id).await? else {
            return Ok(None);
        };
        let length = length_of(&series.draft);
        let from = now - length;
        let starts: Vec<_> = recurrence
            .between(from, from + Duration::days(366 * 10), UPCOMING_LISTED + 1)
            .into_iter()
            .filter(|start| not_over(*start, length, now))
            .take(usize::from(UPCOMING_LISTED))
            .collect();
        let last = starts.last().copied().unwrap_or(now);
        let rows = self.rows_by_start(series.id, from, last).await?;
        let mut upcoming = Vec::with_capacity(starts.len());
        for start in starts {
            upcoming.push(self.occurrence(&owner, &series, start, rows.get(&start)).await?);
        }
        let mut past = Vec::new();
        for row in self.store.past_occurrence_rows(series.id, from, PAST_LISTED).await? {
            if row.starts_at + length <= now {
                past.push(self.occurrence(&owner, &series, row.starts_at, Some(&row)).await?);
            }
        }
        let current = upcoming
            .iter()
            .find(|o| !o.cancelled && matches!(o.on_bluesky, OnBluesky::Published(_) | OnBluesky::Queued(_)))
            .cloned();
        Ok(Some(SeriesDetails {
            series,
            recurrence,
            upcoming,
            past,
            current,
        }))
    }

    /// One occurrence of series `id` (the one the rule starts at `starts_at`), if it has one.
    pub async fn occurrence_of(
        &self,
        id: i64,
        starts_at: DateTime<Utc>,
    ) -> Result<Option<(SeriesRow, Recurrence, Occurrence)>, SeriesError> {
        let Some(series) = self.store.series_by_id(id).await? else {
            return Ok(None);
        };
        let recurrence = recurrence_of(&series)?;
        if !recurrence.occurs_at(starts_at) {
            return Ok(None);
        }
        let Some(owner) = self.store.user_by_id(series.owner_id).await? else {
            return Ok(None);
        };
        let rows = self.rows_by_start(series.id, starts_at, starts_at).await?;
        let occurrence = self
            .occurrence(&owner, &series, starts_at, rows.get(&starts_at))
            .await?;
        Ok(Some((series, recurrence, occurrence)))
    }

    /// The series an event is an occurrence of, with the occurrence's start.
    pub async fn series_of(&self, event: &Event) -> Result<Option<(SeriesRow, Recurrence)>, SeriesError> {
        let (Some(owner_id), Some(rkey)) = (event.owner_id, event.source.rkey.as_deref()) else {
            return Ok(None);
        };
        match self.store.occurrence_by_rkey(owner_id, rkey).await? {
            Some((series, _)) => {
                let recurrence = recurrence_of(&series)?;
                Ok(Some((series, recurrence)))
            }
            None => Ok(None),
        }
    }

    /// Changes a series: the new rule and first occurrence are kept, and every upcoming
    /// occurrence on Bluesky follows (swapRecord), moved to the new time on its own date; one
    /// whose date the new rule no longer has is deleted from the PDS.
    #[tracing::instrument(skip_all, fields(owner = owner.id, series = series.id), err)]
    pub async fn update(
        &self,
        owner: &User,
        series: &SeriesRow,
        draft: &EventDraft,
        repeat: &Repeat,
    ) -> Result<(), SeriesError> {
        owned(owner, series)?;
        let recurrence = Self::recurrence(repeat, draft)?;
        let now = Utc::now();
        let rows = self.rows_not_over(series, now).await?;
        self.store
            .update_series(series.id, recurrence.as_str(), draft, now)
            .await?;
        let updated = SeriesRow {
            rule: recurrence.as_str().to_owned(),
            draft: draft.clone(),
            ..series.clone()
        };
        for row in rows.into_values() {
            let moved = same_date(&recurrence, row.starts_at, &series.draft, draft);
            match moved {
                Some(start) if start != row.starts_at => {
                    // A row the new rule already has at that start is the same occurrence; only
                    // an unpublished one can be dropped for this one.
                    if let Some(there) = self.rows_by_start(series.id, start, start).await?.remove(&start) {
                        if there.published {
                            continue;
                        }
                        self.store.delete_occurrence_row(there.id).await?;
                    }
                    self.store.move_occurrence_row(row.id, start).await?;
                }
                Some(_) => {}
                None => {
                    if let Some(event) = self.event_of(owner, &row).await? {
                        self.calendar.delete(owner, &event).await.or_else(queued)?;
                    }
                    self.store.delete_occurrence_row(row.id).await?;
                    continue;
                }
            }
            let start = moved.unwrap_or(row.starts_at);
            if let Some(event) = self.event_of(owner, &row).await? {
                let draft = self.occurrence_draft(&updated, &recurrence, start, &row.exceptions());
                self.follow(owner, &event, &draft).await?;
            }
        }
        self.keep_next_published(&updated, owner, now).await?;
        Ok(())
    }

    /// Stops a series: its upcoming occurrences on Bluesky say they are cancelled, and nothing
    /// more is published.
    #[tracing::instrument(skip_all, fields(owner = owner.id, series = series.id), err)]
    pub async fn cancel(&self, owner: &User, series: &SeriesRow) -> Result<(), SeriesError> {
        owned(owner, series)?;
        let now = Utc::now();
        self.store
            .set_series_status(series.id, SeriesStatus::Cancelled, far_future(now))
            .await?;
        let cancelled = SeriesRow {
            status: SeriesStatus::Cancelled,
            ..series.clone()
        };
        let recurrence = recurrence_of(series)?;
        let rows = self.rows_not_over(series, now).await?;
        for row in rows.into_values() {
            if let Some(event) = self.event_of(owner, &row).await? {
                let exceptions = Exceptions {
                    cancelled: true,
                    ..row.exceptions()
                };
                let draft = self.occurrence_draft(&cancelled, &recurrence, row.starts_at, &exceptions);
                self.follow(owner, &event, &draft).await?;
            }
        }
        Ok(())
    }

    /// Deletes a series: its upcoming occurrences are deleted from the PDS (past ones stay, as
    /// the events they were), and the scheduler forgets it.
    #[tracing::instrument(skip_all, fields(owner = owner.id, series = series.id), err)]
    pub async fn delete(&self, owner: &User, series: &SeriesRow) -> Result<(), SeriesError> {
        owned(owner, series)?;
        let now = Utc::now();
        let rows = self.rows_not_over(series, now).await?;
        for row in rows.into_values() {
            if let Some(event) = self.event_of(owner, &row).await? {
                self.calendar.delete(owner, &event).await.or_else(queued)?;
            } else if let Some(write) = self.queued_create(owner, &row).await? {
                self.store.delete_pending_write(write.id).await?;
            }
        }
        self.store.delete_series(series.id).await?;
        Ok(())
    }

    /// Cancels one occurrence (or takes the cancellation back). On Bluesky it says so if it is
    /// there; the scheduler then keeps the next one published.
    #[tracing::instrument(skip_all, fields(owner = owner.id, series = series.id), err)]
    pub async fn set_cancelled(
        &self,
        owner: &User,
        series: &SeriesRow,
        starts_at: DateTime<Utc>,
        cancelled: bool,
    ) -> Result<(), SeriesError> {
        self.change_exceptions(owner, series, starts_at, |exceptions| Exceptions {
            cancelled,
            ..exceptions
        })
        .await
    }

    /// Moves one occurrence to another time and/or gives it a name of its own (`None` takes the
    /// change back). On Bluesky it follows if it is there; the scheduler goes by its new time.
    #[tracing::instrument(skip_all, fields(owner = owner.id, series = series.id), err)]
    pub async fn change_occurrence(
        &self,
        owner: &User,
        series: &SeriesRow,
        starts_at: DateTime<Utc>,
        moved_to: Option<DateTime<Utc>>,
        name: Option<&str>,
    ) -> Result<(), SeriesError> {
        // Moved to its own time is not moved.
        let moved_to = moved_to.filter(|moved| *moved != starts_at);
        self.change_exceptions(owner, series, starts_at, |exceptions| Exceptions {
            moved_to,
            name: name.map(str::to_owned),
            ..exceptions
        })
        .await
    }

    /// Changes what is particular to one occurrence (`change` makes its new exceptions from the
    /// old): stored, followed by its record on Bluesky if it is there, and the scheduler told.
    async fn change_exceptions(
        &self,
        owner: &User,
        series: &SeriesRow,
        starts_at: DateTime<Utc>,
        change: impl FnOnce(Exceptions) -> Exceptions,
    ) -> Result<(), SeriesError> {
        owned(owner, series)?;
        let recurrence = recurrence_of(series)?;
        if !recurrence.occurs_at(starts_at) {
            return Err(SeriesError::NoSuchOccurrence);
        }
        let row = self
            .store
            .occurrence_row(series.id, starts_at, &self.calendar.next_rkey())
            .await?;
        let exceptions = change(row.exceptions());
        self.store.set_occurrence_exceptions(row.id, &exceptions).await?;
        if let Some(event) = self.event_of(owner, &row).await? {
            let draft = self.occurrence_draft(series, &recurrence, starts_at, &exceptions);
            self.follow(owner, &event, &draft).await?;
        }
        self.keep_next_published(series, owner, Utc::now()).await?;
        Ok(())
    }

    /// Answers one occurrence for `user`, publishing it first if it is not on Bluesky yet.
    #[tracing::instrument(skip_all, fields(user = user.id, series = id), err)]
    pub async fn answer(
        &self,
        user: &User,
        id: i64,
        starts_at: DateTime<Utc>,
        status: RsvpStatus,
    ) -> Result<(Event, Option<Rsvp>), SeriesError> {
        let (series, _, occurrence) = self
            .occurrence_of(id, starts_at)
            .await?
            .ok_or(SeriesError::NoSuchOccurrence)?;
        if occurrence.cancelled {
            return Err(SeriesError::NoSuchOccurrence);
        }
        let event = match occurrence.on_bluesky {
            OnBluesky::Published(event) => *event,
            OnBluesky::Queued(_) | OnBluesky::Gone => return Err(SeriesError::NotPublishedYet),
            OnBluesky::NotYet => {
                let owner = self
                    .store
                    .user_by_id(series.owner_id)
                    .await?
                    .ok_or(SeriesError::NoSuchOccurrence)?;
                match self.publish(&owner, &series, starts_at).await? {
                    Some(event) => event,
                    None => return Err(SeriesError::NotPublishedYet),
                }
            }
        };
        let rsvp = self.calendar.answer(user, &event, status).await?;
        Ok((event, rsvp))
    }

    /// Publishes the series' next occurrence now if it is not on Bluesky (`POST
    /// /api/events/series/{slug}/sync`), and reads the series as it is then.
    pub async fn sync(&self, owner: &User, series: &SeriesRow) -> Result<SeriesDetails, SeriesError> {
        owned(owner, series)?;
        let now = Utc::now();
        self.keep_next_published(series, owner, now).await?;
        self.details(series.id, now).await?.ok_or(SeriesError::NoSuchOccurrence)
    }

    /// Series the organiser's own events (published one by one, here or in other apps) look like,
    /// most confident first, each with its events; events already in a series are left out.
    pub async fn proposals(&self, owner: &User) -> Result<Vec<(Proposal, Recurrence, Vec<Event>)>, SeriesError> {
        let events = self.adoptable(owner).await?;
        let candidates: Vec<_> = events.iter().filter_map(candidate).collect();
        let mut proposals = Vec::new();
        for proposal in detect::detect(&candidates) {
            let members: Vec<Event> = proposal
                .events
                .iter()
                .filter_map(|id| events.iter().find(|event| event.id == *id).cloned())
                .collect();
            let Some(first) = members.first().and_then(|event| event.starts_at) else {
                continue;
            };
            // Detection's rule, checked like any other (it cannot fail for the patterns it
            // makes; a proposal that did is not shown).
            if let Ok(recurrence) = Recurrence::parse(&proposal.rrule(), first, &members[0].time_zone) {
                proposals.push((proposal, recurrence, members));
            }
        }
        Ok(proposals)
    }

    /// Makes a series of the organiser's events `ids` (a proposal they accepted): the events
    /// become its occurrences as they are, with nothing written to any PDS; the scheduler then
    /// keeps the next occurrence after them on Bluesky.
    #[tracing::instrument(skip_all, fields(owner = owner.id), err)]
    pub async fn adopt(&self, owner: &User, ids: &[i64]) -> Result<SeriesRow, SeriesError> {
        let mut wanted: Vec<i64> = ids.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let events: Vec<Event> = self
            .adoptable(owner)
            .await?
            .into_iter()
            .filter(|event| wanted.binary_search(&event.id).is_ok())
            .collect();
        if events.len() != wanted.len() {
            return Err(SeriesError::NoPattern);
        }
        let candidates: Vec<_> = events.iter().filter_map(candidate).collect();
        let proposal = detect::detect(&candidates)
            .into_iter()
            .find(|proposal| proposal.events.len() == events.len())
            .ok_or(SeriesError::NoPattern)?;
        let members: Vec<&Event> = proposal
            .events
            .iter()
            .filter_map(|id| events.iter().find(|event| event.id == *id))
            .collect();
        let (Some(first), Some(latest)) = (members.first(), members.last()) else {
            return Err(SeriesError::NoPattern);
        };
        // The latest event says best what the series is now; the first one's times start it.
        let mut draft = crate::server::calendar::reads::draft(latest);
        draft.starts_at = first.starts_at;
        draft.ends_at = first.ends_at;
        draft.time_zone = first.time_zone.clone();
        let start = first.starts_at.ok_or(SeriesError::NoStart)?;
        let recurrence = Recurrence::parse(&proposal.rrule(), start, &draft.time_zone)?;
        let now = Utc::now();
        let series = self
            .store
            .insert_series(owner.id, recurrence.as_str(), &draft, now)
            .await?;
        for event in &members {
            let (Some(rkey), Some(starts_at)) = (event.source.rkey.as_deref(), event.starts_at) else {
                continue;
            };
            let rkey = crate::domain::Rkey::parse(rkey).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            // The rule's occurrence on the event's date: the event may start a few minutes off it.
            let occurrence = same_date(&recurrence, starts_at, &draft, &draft).unwrap_or(starts_at);
            self.store.adopt_occurrence(series.id, occurrence, &rkey).await?;
        }
        self.keep_next_published(&series, owner, now).await?;
        Ok(series)
    }

    /// The organiser's published events that are not an occurrence of a series yet.
    async fn adoptable(&self, owner: &User) -> Result<Vec<Event>, StoreError> {
        let taken = self.store.occurrence_rkeys_of_owner(owner.id).await?;
        Ok(self
            .store
            .events_by_owner(owner.id)
            .await?
            .into_iter()
            .filter(|event| event.source.source_type == crate::server::store::SourceType::Bluesky)
            .filter(|event| event.starts_at.is_some())
            .filter(|event| event.source.rkey.as_ref().is_some_and(|rkey| !taken.contains(rkey)))
            .collect())
    }

    /// The scheduler: looks at due series until shutdown.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut interval = tokio::time::interval(SCHEDULER_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = interval.tick() => {}
            }
            if let Err(e) = self.work_once(Utc::now()).await {
                tracing::error!(error = %crate::server::error::Chain(&e), "the series scheduler failed; trying again");
            }
        }
    }

    /// One pass of the scheduler as of `now`: every due series it can claim gets its next
    /// occurrence published. Returns how many series it looked at.
    pub async fn work_once(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let due = self
            .store
            .claim_due_series(now, now + CLAIM_LEASE, SCHEDULER_BATCH)
            .await?;
        let looked = due.len();
        for series in due {
            let Some(owner) = self.store.user_by_id(series.owner_id).await? else {
                self.store.delete_series(series.id).await?;
                continue;
            };
            match self.keep_next_published(&series, &owner, now).await {
                Ok(()) => {}
                Err(SeriesError::Store(e)) => return Err(e),
                Err(e) => {
                    tracing::warn!(series = series.id, error = %e, "could not publish the series' next occurrence");
                    self.store.set_series_next_check(series.id, now + RETRY_AFTER).await?;
                }
            }
        }
        Ok(looked)
    }

    /// Makes sure the closest upcoming occurrence (not cancelled, not deleted by someone) is on
    /// Bluesky, and sets when the scheduler looks again: when that occurrence is over.
    async fn keep_next_published(
        &self,
        series: &SeriesRow,
        owner: &User,
        now: DateTime<Utc>,
    ) -> Result<(), SeriesError> {
        if series.status != SeriesStatus::Active {
            return Ok(());
        }
        let recurrence = recurrence_of(series)?;
        let length = length_of(&series.draft);
        let from = now - length;
        let starts = recurrence.between(from, from + Duration::days(366 * 10), LOOKAHEAD);
        let last = starts.last().copied().unwrap_or(now);
        let rows = self.rows_by_start(series.id, from, last).await?;
        let mut next_check = now + Duration::days(1);
        for start in starts.iter().copied() {
            let row = rows.get(&start);
            // A moved occurrence is over when its new time is.
            let takes_place = row.and_then(|row| row.moved_to).unwrap_or(start);
            if !not_over(takes_place, length, now) || row.is_some_and(|row| row.cancelled) {
                continue;
            }
            match row.filter(|row| row.published) {
                Some(row) => {
                    let there =
                        self.event_of(owner, row).await?.is_some() || self.queued_create(owner, row).await?.is_some();
                    if !there {
                        // Published once and deleted since: by its organiser, elsewhere.
                        continue;
                    }
                }
                None => {
                    self.publish(owner, series, start).await?;
                }
            }
            next_check = takes_place + length.max(Duration::zero());
            break;
        }
        if starts.is_empty() {
            // The rule has ended: nothing is ever due again.
            next_check = far_future(now);
        }
        self.store.set_series_next_check(series.id, next_check.max(now)).await?;
        Ok(())
    }

    /// Publishes the occurrence the rule starts at `starts_at`, under its own record key. `None`
    /// when the PDS has not taken it yet (it waits as a pending write).
    async fn publish(
        &self,
        owner: &User,
        series: &SeriesRow,
        starts_at: DateTime<Utc>,
    ) -> Result<Option<Event>, SeriesError> {
        let recurrence = recurrence_of(series)?;
        let row = self
            .store
            .occurrence_row(series.id, starts_at, &self.calendar.next_rkey())
            .await?;
        let draft = self.occurrence_draft(series, &recurrence, starts_at, &row.exceptions());
        let published = self.calendar.create_keyed(owner, row.rkey.clone(), &draft).await;
        // Sent or queued, it is never created again from here: a queued create is retried by the
        // pending-write worker, and a refused one waits for its organiser under "Pending".
        let event = match published {
            Ok(event) => Some(event),
            Err(PublishError::Queued { .. } | PublishError::Rejected { .. } | PublishError::Conflict { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        self.store.mark_occurrence_published(row.id).await?;
        metrics::counter!(crate::server::metrics::SERIES_OCCURRENCES_PUBLISHED_TOTAL).increment(1);
        Ok(event)
    }

    /// The record of one occurrence: the first occurrence's fields at this occurrence's times,
    /// with a line saying how the series repeats and where all its dates are.
    fn occurrence_draft(
        &self,
        series: &SeriesRow,
        recurrence: &Recurrence,
        starts_at: DateTime<Utc>,
        exceptions: &Exceptions,
    ) -> EventDraft {
        let mut draft = series.draft.clone();
        let length = length_of(&series.draft);
        let starts_at = exceptions.moved_to.unwrap_or(starts_at);
        draft.starts_at = Some(starts_at);
        draft.ends_at = series.draft.ends_at.map(|_| starts_at + length);
        if let Some(name) = &exceptions.name {
            draft.name = name.clone();
        }
        if exceptions.cancelled || series.status == SeriesStatus::Cancelled {
            draft.status = EventStatus::Cancelled;
        }
        let link = self
            .public_url
            .join(&format!("series/{}", series.slug))
            .map(|url| url.to_string())
            .unwrap_or_default();
        let line = format!("{}. All dates: {link}", recurrence.describe());
        draft.description = Some(match &series.draft.description {
            Some(text) => format!("{text}\n\n{line}"),
            None => line,
        });
        draft
    }

    async fn occurrence(
        &self,
        owner: &User,
        series: &SeriesRow,
        starts_at: DateTime<Utc>,
        row: Option<&OccurrenceRow>,
    ) -> Result<Occurrence, SeriesError> {
        let moved_to = row.and_then(|row| row.moved_to);
        let ends_at = series
            .draft
            .ends_at
            .map(|_| moved_to.unwrap_or(starts_at) + length_of(&series.draft));
        let on_bluesky = match row.filter(|row| row.published) {
            None => OnBluesky::NotYet,
            Some(row) => match self.event_of(owner, row).await? {
                Some(event) => OnBluesky::Published(Box::new(event)),
                None => match self.queued_create(owner, row).await? {
                    Some(write) => OnBluesky::Queued(Box::new(write)),
                    None => OnBluesky::Gone,
                },
            },
        };
        Ok(Occurrence {
            starts_at,
            moved_to,
            name: row.and_then(|row| row.name.clone()),
            ends_at,
            cancelled: row.is_some_and(|row| row.cancelled) || series.status == SeriesStatus::Cancelled,
            on_bluesky,
        })
    }

    /// The cached event an occurrence became, if it is there.
    async fn event_of(&self, owner: &User, row: &OccurrenceRow) -> Result<Option<Event>, StoreError> {
        // Someone without Bluesky keeps their occurrences here, under the same keys.
        let Some(did) = owner.did.clone() else {
            return self.store.event_kept_here(owner.id, &row.rkey).await;
        };
        let uri = AtUri::new(did, COLLECTION, row.rkey.clone());
        self.store.event_by_at_uri(&uri.to_string()).await
    }

    async fn queued_create(&self, owner: &User, row: &OccurrenceRow) -> Result<Option<PendingWrite>, StoreError> {
        self.store
            .pending_write_for_record(owner.id, Collection::Event, &row.rkey)
            .await
    }

    /// The rows of a series' occurrences that are not over by `now`.
    async fn rows_not_over(
        &self,
        series: &SeriesRow,
        now: DateTime<Utc>,
    ) -> Result<HashMap<DateTime<Utc>, OccurrenceRow>, StoreError> {
        let length = length_of(&series.draft);
        self.rows_by_start(series.id, now - length, now + Duration::days(366 * 100))
            .await
    }

    /// Sends an occurrence's changed record to its PDS (swapRecord); one the PDS cannot take now
    /// waits as a pending write, and the change stands.
    async fn follow(&self, owner: &User, event: &Event, draft: &EventDraft) -> Result<(), PublishError> {
        self.calendar
            .update(owner, event, draft, event.visibility)
            .await
            .map(drop)
            .or_else(queued)
    }

    async fn rows_by_start(
        &self,
        series_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<HashMap<DateTime<Utc>, OccurrenceRow>, StoreError> {
        let rows = self.store.occurrence_rows(series_id, from, to).await?;
        Ok(rows.into_iter().map(|row| (row.starts_at, row)).collect())
    }
}

/// An event as detection sees it.
fn candidate(event: &Event) -> Option<detect::Candidate> {
    let draft = crate::server::calendar::reads::draft(event);
    let place = draft.address.as_ref().map(|address| {
        [&address.name, &address.locality]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    });
    Some(detect::Candidate {
        id: event.id,
        name: event.name.clone(),
        place,
        starts_at: event.starts_at?,
        ends_at: event.ends_at,
        time_zone: event.time_zone.clone(),
    })
}

/// The stored rule, checked again (it is only text in the database).
fn recurrence_of(series: &SeriesRow) -> Result<Recurrence, SeriesError> {
    let start = series.draft.starts_at.ok_or(SeriesError::NoStart)?;
    Ok(Recurrence::parse(&series.rule, start, &series.draft.time_zone)?)
}

/// How long every occurrence lasts: the first one's length (zero without an end).
fn length_of(draft: &EventDraft) -> Duration {
    match (draft.starts_at, draft.ends_at) {
        (Some(start), Some(end)) if end > start => end - start,
        _ => Duration::zero(),
    }
}

/// Whether an occurrence starting at `start` and lasting `length` is still to come or going on.
fn not_over(start: DateTime<Utc>, length: Duration, now: DateTime<Utc>) -> bool {
    start + length > now || start >= now
}

/// Where an occurrence that started at `old` under `before` goes under a changed series: the
/// new rule's occurrence on the same date (in the new zone), if it has one.
fn same_date(
    recurrence: &Recurrence,
    old: DateTime<Utc>,
    before: &EventDraft,
    after: &EventDraft,
) -> Option<DateTime<Utc>> {
    let date = old.with_timezone(&before.time_zone.tz()).date_naive();
    let zone = after.time_zone.tz();
    let midnight = zone.from_local_datetime(&date.and_hms_opt(0, 0, 0)?).earliest()?;
    let next_midnight = zone
        .from_local_datetime(&date.succ_opt()?.and_hms_opt(0, 0, 0)?)
        .earliest()?;
    recurrence
        .between(
            midnight.with_timezone(&Utc),
            next_midnight.with_timezone(&Utc) - Duration::seconds(1),
            1,
        )
        .into_iter()
        .next()
}

fn owned(owner: &User, series: &SeriesRow) -> Result<(), SeriesError> {
    if series.owner_id == owner.id {
        Ok(())
    } else {
        Err(SeriesError::Forbidden)
    }
}

/// A write the PDS could not take now waits as a pending write: the change is made all the same.
fn queued(error: PublishError) -> Result<(), PublishError> {
    match error {
        PublishError::Queued { .. } => Ok(()),
        other => Err(other),
    }
}

fn far_future(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::days(365 * 100)
}
