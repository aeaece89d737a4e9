//! Reading events for the pages: one event with its answers, pending writes and conflicts; a page
//! of events; a person's events as their PDS holds them (lately: see [`super::listings`]). What is
//! read here is plain data; the server functions turn it into views.

use super::listings::{CopyVersion, Listings};
use crate::domain::{
    AtUri, Collection, Did, EventDraft, EventImage, Handle, Place, Provider, RsvpStatus, UnknownZone, Visibility,
};
use crate::server::{
    identity::Identity,
    pds::{calendar_event::CalendarEvent, record_url, PdsError},
    store::{Answerer, Conflict, Event, LocalAnswer, Looker, PendingWrite, Rsvp, Store, StoreError, User},
};
use chrono::{DateTime, Utc};
use std::{collections::HashMap, sync::Arc};

/// How many events one page of a user page lists.
pub const USER_PAGE_EVENTS: usize = 20;

/// A cached event, its organiser, and whether the viewer may change it.
#[derive(Debug, Clone)]
pub struct EventRead {
    pub event: Event,
    /// The form fields, from the record when there is one.
    pub draft: EventDraft,
    /// A zone its record names that we do not know (the draft's zone stands in for it).
    pub unknown_zone: Option<UnknownZone>,
    /// Every place it names.
    pub places: Vec<Place>,
    /// The images its record carries.
    pub images: Vec<EventImage>,
    pub owner: Option<User>,
    pub can_edit: bool,
}

/// An event's record as JSON, and where it was read.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RecordCopy {
    pub uri: Option<String>,
    pub cid: Option<String>,
    pub value: serde_json::Value,
    #[serde(skip)]
    pub from: RecordSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordSource {
    /// Its owner's PDS, just now.
    Pds,
    /// Skymeet's copy (the PDS did not answer, or the event is kept here only).
    Cache,
}

impl RecordSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pds => "pds",
            Self::Cache => "cache",
        }
    }
}

/// One of a person's events on their user page.
#[derive(Debug, Clone)]
pub enum Listed {
    /// Skymeet holds it.
    Cached(Box<EventRead>),
    /// Made in another app and not cached yet (the firehose will bring it): shown read-only.
    Elsewhere(Box<ForeignRead>),
}

/// An event record Skymeet has not cached, as its PDS holds it.
#[derive(Debug, Clone)]
pub struct ForeignRead {
    pub draft: EventDraft,
    pub unknown_zone: Option<UnknownZone>,
    pub places: Vec<Place>,
    pub owner: Option<User>,
    pub at_uri: String,
    pub record_url: Option<String>,
    pub read_at: DateTime<Utc>,
}

/// The viewer's own answer to an event.
#[derive(Debug, Clone)]
pub struct AnswerRead {
    /// The answer as stored (what their PDS accepted).
    pub stored: Option<Rsvp>,
    /// The answer still waiting for (or refused by) their PDS.
    pub queued: Option<PendingWrite>,
    /// Their RSVP record on its PDS.
    pub record_url: Option<String>,
    /// Their answer kept here (they have no Bluesky, or the event is kept here).
    pub here: Option<LocalAnswer>,
}

/// The answers to an event.
#[derive(Debug, Clone, Default)]
pub struct AttendanceRead {
    /// The answers, earliest first (at most `ATTENDEES_LISTED`).
    pub answers: Vec<Answerer>,
    /// How many people gave each answer, all of them counted.
    pub counts: Vec<(RsvpStatus, i64)>,
    /// The viewer organises the event (and so also sees who is not going).
    pub organiser: bool,
    /// The CID of the event's current version.
    pub event_cid: Option<String>,
    /// `None` for someone not signed in.
    pub mine: Option<AnswerRead>,
}

impl AttendanceRead {
    /// Whether an answer to the version `subject_cid` answered the event as it was before its
    /// last edit.
    pub fn answered_earlier_version(&self, subject_cid: Option<&str>) -> bool {
        subject_cid.is_some() && self.event_cid.is_some() && subject_cid != self.event_cid.as_deref()
    }
}

/// `/events/{id}`.
#[derive(Debug, Clone)]
pub struct DetailsRead {
    pub event: EventRead,
    /// For the organiser: the write of this event still waiting for their PDS.
    pub pending: Option<PendingWrite>,
    pub attendance: AttendanceRead,
    /// For the organiser: this event's conflicts, newest first.
    pub conflicts: Vec<Conflict>,
}

/// `/u/{handle}`.
#[derive(Debug, Clone)]
pub struct UserRead {
    pub handle: Handle,
    pub did: Did,
    /// Skymeet's user for the DID, when it has one.
    pub user: Option<User>,
    pub is_owner: bool,
    /// One page of their events: those to come (soonest first, then those without a date), then
    /// those over (latest first).
    pub events: Vec<Listed>,
    /// How many of `events` are still to come (the rest are over).
    pub upcoming: usize,
    /// The page (from 1), and whether another follows.
    pub page: u32,
    pub has_next: bool,
    /// Events this person answered "going" (from Skymeet's copy).
    pub going: Vec<Event>,
    /// The PDS could not be reached: `events` are Skymeet's copies.
    pub cached: bool,
    /// For the person themselves: their writes still waiting, each with the name of the event an
    /// answer is for.
    pub pending: Vec<(PendingWrite, Option<String>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the account's handle could not be resolved")]
    Unresolved(#[source] PdsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads for the pages, from the cache and (for user pages and record links) the network.
pub struct Reads {
    store: Store,
    /// `None` where Bluesky is off: then no user page has a PDS to read.
    identity: Option<Arc<Identity>>,
    listings: Option<Arc<Listings>>,
}

impl Reads {
    pub fn new(store: Store, network: Option<(Arc<Identity>, Arc<Listings>)>) -> Self {
        let (identity, listings) = network.unzip();
        Self {
            store,
            identity,
            listings,
        }
    }

    /// One event with what its page shows; `None` when there is none.
    /// The record behind event `id`, exactly as its owner's PDS holds it; Skymeet's copy when the
    /// PDS cannot be reached or the event is kept here only. `None` when there is no such event,
    /// or its record is gone from the PDS.
    pub async fn record(&self, id: i64, looker: Looker<'_>) -> Result<Option<RecordCopy>, StoreError> {
        let Some(event) = self.store.event_seen_by(id, looker).await? else {
            return Ok(None);
        };
        let ours = || {
            event.record.clone().map(|value| RecordCopy {
                uri: event.source.at_uri.clone(),
                cid: event.source.cid.clone(),
                value,
                from: RecordSource::Cache,
            })
        };
        let (Some(identity), Some(uri)) = (
            self.identity.as_ref(),
            event.source.at_uri.as_deref().and_then(|uri| AtUri::parse(uri).ok()),
        ) else {
            return Ok(ours());
        };
        let fetched = match identity.public_repo(uri.did()).await {
            Ok((repo, _)) => repo.get_record(uri.collection(), uri.rkey()).await,
            Err(e) => Err(e),
        };
        Ok(match fetched {
            Ok(Some(entry)) => Some(RecordCopy {
                uri: Some(entry.uri),
                cid: entry.cid,
                value: entry.value,
                from: RecordSource::Pds,
            }),
            Ok(None) => None,
            Err(e) => {
                tracing::debug!(error = %e, "the record's PDS did not answer; showing our copy");
                ours()
            }
        })
    }

    /// Event `id` for `viewer`, who may hold a private event's `invite`; `None` when there is none
    /// they may see. A signed-in person who came with the invitation is its guest from then on.
    pub async fn details(
        &self,
        id: i64,
        viewer: Option<&User>,
        invite: Option<&str>,
    ) -> Result<Option<DetailsRead>, StoreError> {
        let user_id = viewer.map(|viewer| viewer.id);
        let Some(event) = self.store.event_seen_by(id, Looker { user_id, invite }).await? else {
            return Ok(None);
        };
        if let (Some(user_id), Some(_), Visibility::Private) = (user_id, invite, event.visibility) {
            if event.owner_id != Some(user_id) {
                self.store.add_guest(event.id, user_id).await?;
            }
        }
        let event = self.read(&mut Owners::default(), event, viewer).await?;
        let pending = match (viewer, event.event.source.rkey.as_deref()) {
            (Some(viewer), Some(rkey)) if event.can_edit => {
                let rkey = crate::domain::Rkey::parse(rkey).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                self.store
                    .pending_write_for_record(viewer.id, Collection::Event, &rkey)
                    .await?
            }
            _ => None,
        };
        let attendance = self.attendance(&event.event, viewer).await?;
        let conflicts = match event.can_edit {
            true => self.store.conflicts_of_event(id).await?,
            false => Vec::new(),
        };
        Ok(Some(DetailsRead {
            event,
            pending,
            attendance,
            conflicts,
        }))
    }

    /// A Bluesky user's events as their PDS holds them, or Skymeet's copies when the PDS cannot be
    /// reached. `None` when the handle is no Bluesky account (or Bluesky is off here).
    pub async fn user(&self, handle: &Handle, page: u32, viewer: Option<&User>) -> Result<Option<UserRead>, ReadError> {
        let (Some(identity), Some(listings)) = (self.identity.as_ref(), self.listings.as_ref()) else {
            return Ok(None);
        };
        // Whose page this is, the handle itself says (its DNS or its server), never a stored
        // claim: a row that still holds the handle (an old holder, or someone's own DID document
        // naming it) can never show its events under it.
        let Some(did) = identity.resolve_handle(handle).await.map_err(ReadError::Unresolved)? else {
            return Ok(None);
        };
        let user = self.store.user_by_did(&did).await?;
        if user.as_ref().is_some_and(|u| u.provider != Provider::Bluesky) {
            return Ok(None);
        }
        let is_owner = matches!((viewer, &user), (Some(v), Some(u)) if v.id == u.id);
        // Their unlisted and private events are on nobody's user page (theirs are on `/me`).
        let cached_events = match &user {
            Some(user) => self
                .store
                .events_by_owner(user.id)
                .await?
                .into_iter()
                .filter(|event| !event.visibility.is_hidden())
                .collect(),
            None => Vec::new(),
        };
        let (events, cached) = match listings.of(identity, &did, CopyVersion::of(&cached_events)).await {
            Ok(listing) => {
                let mut by_uri: HashMap<String, Event> = cached_events
                    .into_iter()
                    .filter_map(|e| e.source.at_uri.clone().map(|uri| (uri, e)))
                    .collect();
                // What the PDS holds, from the cache where Skymeet has it. Ours but not (yet, or
                // any more) on the PDS: pending creates show under Pending.
                let unread = listing
                    .records
                    .iter()
                    .filter_map(|(uri, foreign)| match by_uri.remove(uri) {
                        Some(event) => Some(Unread::Cached(Box::new(event))),
                        None => foreign.clone().map(|foreign| Unread::Elsewhere(Box::new(foreign))),
                    })
                    .collect();
                (unread, false)
            }
            Err(e) => {
                tracing::warn!(error = %e, %did, "reading events from the PDS failed; showing the cached copy");
                (
                    cached_events
                        .into_iter()
                        .map(|event| Unread::Cached(Box::new(event)))
                        .collect(),
                    true,
                )
            }
        };
        let (events, upcoming, page, has_next) = one_page(events, Utc::now(), page);
        let mut owners = Owners::default();
        let cached_here: Vec<&Event> = events
            .iter()
            .filter_map(|unread| match unread {
                Unread::Cached(event) => Some(&**event),
                Unread::Elsewhere(_) => None,
            })
            .collect();
        owners.prefetch(&self.store, &cached_here).await?;
        let mut listed = Vec::with_capacity(events.len());
        for unread in events {
            listed.push(match unread {
                Unread::Cached(event) => Listed::Cached(Box::new(self.read(&mut owners, *event, viewer).await?)),
                Unread::Elsewhere(mut foreign) => {
                    foreign.owner = user.clone();
                    Listed::Elsewhere(foreign)
                }
            });
        }
        let events = listed;
        let mut pending = Vec::new();
        if let (Some(user), true) = (&user, is_owner) {
            for write in self.store.pending_writes_for_owner(user.id).await? {
                // An answer names the event it answers.
                let answered = match write.event_id {
                    Some(id) if write.is_rsvp() => self.store.event_by_id(id).await?.map(|e| e.name),
                    _ => None,
                };
                pending.push((write, answered));
            }
        }
        let going = match &user {
            Some(user) => self
                .store
                .events_answered(user.id, RsvpStatus::Going)
                .await?
                .into_iter()
                .filter(|event| is_owner || !event.visibility.is_hidden())
                .collect(),
            None => Vec::new(),
        };
        Ok(Some(UserRead {
            handle: handle.clone(),
            did,
            user,
            is_owner,
            events,
            upcoming,
            page,
            has_next,
            going,
            cached,
            pending,
        }))
    }

    /// The answers to `event`, and the viewer's own.
    pub async fn attendance(&self, event: &Event, viewer: Option<&User>) -> Result<AttendanceRead, StoreError> {
        let answers = self.store.answerers(event).await?;
        let counts = self.store.answer_tally(event).await?;
        let subject = event.source.at_uri.as_deref();
        let mine = match viewer {
            Some(viewer) => {
                let stored = match (viewer.did.is_some(), subject) {
                    (true, Some(subject)) => self.store.rsvp_of(viewer.id, subject).await?,
                    _ => None,
                };
                let queued = self
                    .store
                    .pending_write_for_event(viewer.id, Collection::Rsvp, event.id)
                    .await?;
                let record_url = match stored.as_ref().map(|r| AtUri::parse(&r.at_uri)) {
                    Some(Ok(uri)) => self.link(&uri).await,
                    _ => None,
                };
                Some(AnswerRead {
                    stored,
                    queued,
                    record_url,
                    here: self.store.local_rsvp_of(viewer.id, event.id).await?,
                })
            }
            None => None,
        };
        Ok(AttendanceRead {
            answers,
            counts,
            organiser: viewer.is_some_and(|v| event.owner_id == Some(v.id)),
            event_cid: event.source.cid.clone(),
            mine,
        })
    }

    /// A link to a record on its owner's PDS; none when the PDS cannot be found just now.
    async fn link(&self, uri: &AtUri) -> Option<String> {
        let identity = self.identity.as_ref()?;
        match identity.pds_endpoint(uri.did()).await {
            Ok(pds) => record_url(&pds, uri),
            Err(e) => {
                tracing::debug!(error = %e, "no record link: the PDS is unknown");
                None
            }
        }
    }

    pub(super) fn store(&self) -> &Store {
        &self.store
    }

    pub(super) fn identity(&self) -> Option<&Arc<Identity>> {
        self.identity.as_ref()
    }

    /// `event` with its owner (read once per page through `owners`) and what its record says.
    pub(super) async fn read(
        &self,
        owners: &mut Owners,
        event: Event,
        viewer: Option<&User>,
    ) -> Result<EventRead, StoreError> {
        let owner = match event.owner_id {
            Some(id) => owners.get(&self.store, id).await?,
            None => None,
        };
        let Described {
            draft,
            unknown_zone,
            places,
            images,
        } = described(&event);
        Ok(EventRead {
            draft,
            unknown_zone,
            places,
            images,
            can_edit: viewer.is_some_and(|v| event.owner_id == Some(v.id)),
            owner,
            event,
        })
    }
}

/// One of a person's events before it is read for the page: only those on the page are.
enum Unread {
    Cached(Box<Event>),
    Elsewhere(Box<ForeignRead>),
}

impl Unread {
    /// When it starts and ends.
    fn when(&self) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        match self {
            Self::Cached(event) => (event.starts_at, event.ends_at),
            Self::Elsewhere(foreign) => (foreign.draft.starts_at, foreign.draft.ends_at),
        }
    }
}

/// Page `page` (from 1) of a person's events: those to come first (soonest first, then those
/// without a date), then those over (latest first). Returns the page, how many of it are to come,
/// the page number it is, and whether another page follows.
fn one_page(events: Vec<Unread>, now: DateTime<Utc>, page: u32) -> (Vec<Unread>, usize, u32, bool) {
    let (mut upcoming, mut past): (Vec<Unread>, Vec<Unread>) = events.into_iter().partition(|unread| {
        let (starts_at, ends_at) = unread.when();
        ends_at.or(starts_at).is_none_or(|at| at >= now)
    });
    // Undated (`None`) sorts last among those to come.
    upcoming.sort_by_key(|unread| (unread.when().0.is_none(), unread.when().0));
    past.sort_by_key(|unread| std::cmp::Reverse(unread.when().0));
    let upcoming_total = upcoming.len();
    let total = upcoming_total + past.len();
    let pages = total.div_ceil(USER_PAGE_EVENTS).max(1);
    let page = (page.max(1) as usize).min(pages);
    let skip = (page - 1) * USER_PAGE_EVENTS;
    let listed: Vec<Unread> = upcoming
        .into_iter()
        .chain(past)
        .skip(skip)
        .take(USER_PAGE_EVENTS)
        .collect();
    let upcoming_here = upcoming_total.saturating_sub(skip).min(listed.len());
    (listed, upcoming_here, page as u32, page < pages)
}

/// Owners met while reading one page, so each is read once.
#[derive(Default)]
pub(super) struct Owners(HashMap<i64, Option<User>>);

impl Owners {
    /// Reads the owners of `events` not read yet, all in one query.
    pub(super) async fn prefetch(&mut self, store: &Store, events: &[&Event]) -> Result<(), StoreError> {
        let mut wanted: Vec<i64> = events
            .iter()
            .filter_map(|event| event.owner_id)
            .filter(|id| !self.0.contains_key(id))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let found = store.users_by_ids(&wanted).await?;
        for id in wanted {
            let user = found.iter().find(|user| user.id == id).cloned();
            self.0.insert(id, user);
        }
        Ok(())
    }

    async fn get(&mut self, store: &Store, id: i64) -> Result<Option<User>, StoreError> {
        if let Some(user) = self.0.get(&id) {
            return Ok(user.clone());
        }
        let user = store.user_by_id(id).await?;
        self.0.insert(id, user.clone());
        Ok(user)
    }
}

/// The form fields of a cached event: from its record when there is one.
pub fn draft(event: &Event) -> EventDraft {
    described(event).draft
}

/// What a page shows of a cached event, read from its record when there is one.
pub struct Described {
    pub draft: EventDraft,
    /// A zone the record names that we do not know.
    pub unknown_zone: Option<UnknownZone>,
    pub places: Vec<Place>,
    pub images: Vec<EventImage>,
}

pub fn described(event: &Event) -> Described {
    let record = event
        .record
        .clone()
        .and_then(|value| CalendarEvent::from_value(value).ok());
    if let Some(record) = record {
        return Described {
            draft: record.draft(event.time_zone.clone()),
            unknown_zone: record.time_zone().unknown,
            places: record.places(),
            images: record.images(),
        };
    }
    let draft = EventDraft {
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
    };
    Described {
        places: Place::of_draft(&draft),
        draft,
        unknown_zone: None,
        images: Vec::new(),
    }
}
