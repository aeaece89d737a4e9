//! Events, PDS first: every create, update and delete goes to the owner's PDS;
//! the cache changes only once the PDS has accepted. A write the PDS could not take yet waits as a
//! pending write, under the record key chosen before the first attempt, and a background worker
//! retries it with backoff, so a retry can never make a second record. RSVPs go the same way
//! (see [`attendance`]).

mod attendance;
pub mod discovery;
pub mod listings;
mod local;
pub mod reads;
pub use attendance::cached_rsvp;
pub use local::invite_code;

use crate::domain::{AtUri, Collection, Did, EventDraft, Rkey, SyncStatus, Visibility};
use crate::server::{
    auth::oauth::{BlueskyAuth, Session},
    identity::Identity,
    metrics,
    pds::{
        calendar_event::{CalendarEvent, COLLECTION},
        record_url, CommitMeta, PdsError, Repo, StrongRef,
    },
    store::{
        Conflict, Decision, Event, Findable, NewEvent, NewPendingWrite, PendingWrite, Rsvp, SourceTracking, SourceType,
        Store, StoreError, User, WriteOperation, WriteState,
    },
};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::{
    sync::{
        atomic::{AtomicU16, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tokio_util::sync::CancellationToken;

/// How often the worker looks for due pending writes.
const WORKER_INTERVAL: Duration = Duration::from_secs(1);
/// How long a worker holds a claimed write before another instance may try it.
const CLAIM_LEASE: Duration = Duration::from_secs(60);
const WORKER_BATCH: u32 = 20;
const MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("only the event's owner may change it")]
    Forbidden,
    #[error("the account is not a Bluesky account")]
    NotBluesky,
    #[error("the event is not on Bluesky, so it cannot be answered")]
    NotPublished,
    #[error("an event on Bluesky is public, so it cannot be made unlisted or private")]
    PublishedIsPublic,
    #[error("only a public event is published")]
    NotPublic,
    #[error("the event has no open conflict to resolve")]
    NoConflict,
    #[error("the PDS has not accepted the write yet; it is queued for retry")]
    Queued { write: Box<PendingWrite>, cause: PdsError },
    #[error("the record changed on the PDS since it was read")]
    Conflict { write: Box<PendingWrite> },
    #[error("the PDS refused the write")]
    Rejected { write: Box<PendingWrite>, cause: PdsError },
    #[error("the PDS could not be read")]
    Unreachable(#[source] PdsError),
    #[error("the stored record cannot be read")]
    BadRecord(#[source] crate::server::pds::calendar_event::RecordError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What reading a cached event again from its owner's PDS found.
#[derive(Debug)]
pub enum Refreshed {
    /// The cache now holds the PDS's version.
    Current,
    /// The record is gone from the PDS, so the event is gone here too.
    Gone,
    /// The PDS could not be read; the event keeps its copy and says why.
    Unreachable(PdsError),
}

/// What syncing one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synced {
    /// A queued write reached the PDS.
    Sent,
    /// A queued delete reached the PDS; the event is gone.
    Deleted,
    /// Nothing was queued; the event was read again from the PDS.
    Refreshed,
    /// Nothing was queued, and the record is gone from the PDS; so is the event.
    Gone,
}

/// What goes to the PDS of a write, whether it is stored here yet ([`NewPendingWrite`]) or
/// queued from before ([`PendingWrite`]).
#[derive(Clone, Copy)]
struct Outgoing<'a> {
    operation: WriteOperation,
    collection: Collection,
    rkey: &'a Rkey,
    record: Option<&'a Value>,
    swap_cid: Option<&'a str>,
}

impl<'a> Outgoing<'a> {
    fn of_new(write: &'a NewPendingWrite) -> Self {
        Self {
            operation: write.operation,
            collection: write.collection,
            rkey: &write.rkey,
            record: write.record.as_ref(),
            swap_cid: write.swap_cid.as_deref(),
        }
    }

    fn of_queued(write: &'a PendingWrite) -> Self {
        Self {
            operation: write.operation,
            collection: write.collection,
            rkey: &write.rkey,
            record: write.record.as_ref(),
            swap_cid: write.swap_cid.as_deref(),
        }
    }
}

/// What the PDS did with a pending write.
enum Sent {
    /// It holds the record now.
    Written(StrongRef),
    /// It deleted the record, in the commit it names (if it says).
    Deleted(Option<CommitMeta>),
}

/// What a write that reached the PDS did here.
#[derive(Debug)]
pub enum Published {
    Saved(Box<Event>),
    Answered(Box<Rsvp>),
    Deleted,
}

pub struct Calendar {
    store: Store,
    /// Writes go through the owner's OAuth session.
    auth: Arc<BlueskyAuth>,
    /// Reads of what a PDS holds need no session.
    identity: Arc<Identity>,
    backoff: Duration,
    clock_id: AtomicU16,
}

impl Calendar {
    pub fn new(store: Store, auth: Arc<BlueskyAuth>, identity: Arc<Identity>, backoff: Duration) -> Self {
        Self {
            store,
            auth,
            identity,
            backoff,
            clock_id: AtomicU16::new(random_clock_id()),
        }
    }

    /// A fresh record key. The clock id differs per process and per call, so two instances (or
    /// two calls in one microsecond) never pick the same key.
    pub fn next_rkey(&self) -> Rkey {
        let micros = Utc::now().timestamp_micros().max(0) as u64;
        Rkey::tid(micros, self.clock_id.fetch_add(1, Ordering::Relaxed) & 0x3ff)
    }

    /// Publishes a new event: the record goes to the owner's PDS, and the event row appears once
    /// the PDS accepted it. An unlisted or private event, or one of a person without Bluesky, is
    /// kept here only (see [`local`]).
    #[tracing::instrument(skip_all, fields(owner = owner.id, visibility = visibility.name()), err)]
    pub async fn create(
        &self,
        owner: &User,
        draft: &EventDraft,
        visibility: Visibility,
    ) -> Result<Event, PublishError> {
        if owner.did.is_none() || visibility.is_hidden() {
            return self.create_here(owner, draft, visibility, None).await;
        }
        self.create_keyed(owner, self.next_rkey(), draft).await
    }

    /// [`Self::create`] under a record key chosen earlier (a series occurrence's): creating the
    /// same key again writes the same record again, never a second one.
    #[tracing::instrument(skip_all, fields(owner = owner.id, rkey = %rkey), err)]
    /// Someone without Bluesky keeps it here, under that key.
    pub async fn create_keyed(&self, owner: &User, rkey: Rkey, draft: &EventDraft) -> Result<Event, PublishError> {
        if owner.did.is_none() {
            return self.create_here(owner, draft, Visibility::Public, Some(rkey)).await;
        }
        let record = CalendarEvent::new(draft, Utc::now());
        let write = NewPendingWrite {
            owner_id: owner.id,
            event_id: None,
            operation: WriteOperation::Create,
            collection: Collection::Event,
            rkey,
            record: Some(record.to_value()),
            swap_cid: None,
            time_zone: draft.time_zone.clone(),
        };
        match self.queue_and_send(owner, &write).await? {
            Published::Saved(event) => Ok(*event),
            _ => unexpected_outcome(),
        }
    }

    /// Changes an event: the owner's PDS takes the new record only if it still holds the version
    /// we have (swapRecord); fields of other apps are written back unchanged.
    /// An event kept here changes here (its visibility too); a published one stays public.
    #[tracing::instrument(skip_all, fields(owner = owner.id, event = event.id), err)]
    pub async fn update(
        &self,
        owner: &User,
        event: &Event,
        draft: &EventDraft,
        visibility: Visibility,
    ) -> Result<Event, PublishError> {
        if event.source.source_type == SourceType::Local {
            return self.update_here(owner, event, draft, visibility).await;
        }
        let rkey = self.owned_rkey(owner, event)?;
        if visibility.is_hidden() {
            return Err(PublishError::PublishedIsPublic);
        }
        let record = edited_record(event, draft)?;
        self.save_record(owner, event, rkey, &record, draft.time_zone.clone())
            .await
    }

    /// Makes an uploaded image the event's header: the image goes to the owner's PDS as a blob
    /// (`bytes` already checked to be an image of `content_type`), then the record names it in
    /// `media[]`, the shape other apps read, through the same swapRecord write as an edit.
    #[tracing::instrument(skip_all, fields(owner = owner.id, event = event.id, bytes = bytes.len()), err)]
    pub async fn set_header_image(
        &self,
        owner: &User,
        event: &Event,
        bytes: Vec<u8>,
        content_type: &str,
        alt: &str,
    ) -> Result<Event, PublishError> {
        let rkey = self.owned_rkey(owner, event)?;
        bluesky_did(owner)?;
        let value = event.record.clone().ok_or_else(|| {
            PublishError::BadRecord(crate::server::pds::calendar_event::RecordError::missing("record"))
        })?;
        let mut record = CalendarEvent::from_value(value).map_err(PublishError::BadRecord)?;
        let aspect_ratio = imagesize::blob_size(&bytes)
            .ok()
            .and_then(|size| Some((u32::try_from(size.width).ok()?, u32::try_from(size.height).ok()?)))
            .filter(|(width, height)| *width > 0 && *height > 0);
        // Nothing is written while the image has not reached the PDS: the event keeps its copy.
        let repo = self.auth.repo(owner).await.map_err(PublishError::Unreachable)?;
        let blob = repo
            .upload_blob(bytes, content_type)
            .await
            .map_err(PublishError::Unreachable)?;
        record.set_header_image(blob, alt, aspect_ratio);
        self.save_record(owner, event, rkey, &record, event.time_zone.clone())
            .await
    }

    /// Writes `record` over the event's, PDS first (swapRecord: only over the version we have).
    async fn save_record(
        &self,
        owner: &User,
        event: &Event,
        rkey: Rkey,
        record: &CalendarEvent,
        time_zone: crate::domain::TimeZoneName,
    ) -> Result<Event, PublishError> {
        let operation = self.queued_operation(owner, &rkey, WriteOperation::Update).await?;
        let write = NewPendingWrite {
            owner_id: owner.id,
            event_id: Some(event.id),
            operation,
            collection: Collection::Event,
            rkey,
            record: Some(record.to_value()),
            swap_cid: event.source.cid.clone(),
            time_zone,
        };
        match self.queue_and_send(owner, &write).await? {
            Published::Saved(event) => Ok(*event),
            _ => unexpected_outcome(),
        }
    }

    /// Deletes an event from the owner's PDS (only the version we have), then here.
    #[tracing::instrument(skip_all, fields(owner = owner.id, event = event.id), err)]
    pub async fn delete(&self, owner: &User, event: &Event) -> Result<(), PublishError> {
        if event.source.source_type == SourceType::Local {
            return self.delete_here(owner, event).await;
        }
        let rkey = self.owned_rkey(owner, event)?;
        let write = NewPendingWrite {
            owner_id: owner.id,
            event_id: Some(event.id),
            operation: WriteOperation::Delete,
            collection: Collection::Event,
            rkey,
            record: None,
            swap_cid: event.source.cid.clone(),
            time_zone: event.time_zone.clone(),
        };
        self.queue_and_send(owner, &write).await.map(|_| ())
    }

    /// Tries a pending write again now ("retry now").
    pub async fn retry(&self, owner: &User, write_id: i64) -> Result<Published, PublishError> {
        let write = self.owned_write(owner, write_id).await?;
        self.attempt(owner, write).await
    }

    /// Settles a conflict by writing our version over the one the PDS holds now ("re-apply mine"):
    /// the write's swapRecord moves to the PDS's current CID, and it is sent again.
    pub async fn reapply(&self, owner: &User, write_id: i64) -> Result<Published, PublishError> {
        let write = self.owned_write(owner, write_id).await?;
        if write.state != WriteState::Conflict {
            return self.attempt(owner, write).await;
        }
        let did = bluesky_did(owner)?;
        let current = match self.identity.public_repo(did).await {
            Ok((repo, _)) => repo.get_record(write.collection.nsid(), &write.rkey).await,
            Err(e) => Err(e),
        };
        let current = match current {
            Ok(current) => current,
            Err(cause) => {
                return Err(PublishError::Queued {
                    write: Box::new(write),
                    cause,
                })
            }
        };
        // Gone from the PDS: an update writes it again, a delete has nothing left to do.
        let swap = current.and_then(|entry| entry.cid);
        self.store.set_pending_write_swap(write.id, swap.as_deref()).await?;
        let write = self
            .store
            .pending_write_by_id(write.id)
            .await?
            .ok_or(StoreError::Corrupt(format!("pending_write {write_id} vanished")))?;
        let published = self.attempt(owner, write.clone()).await?;
        self.store
            .decide_conflicts(&write, Decision::ReappliedOurs, Utc::now())
            .await?;
        Ok(published)
    }

    /// Forgets a pending write without sending it ("discard"). The event, if any, shows what the
    /// PDS holds again.
    pub async fn discard(&self, owner: &User, write_id: i64) -> Result<(), PublishError> {
        let write = self.owned_write(owner, write_id).await?;
        self.store.delete_pending_write(write.id).await?;
        if write.state == WriteState::Conflict {
            self.store
                .decide_conflicts(&write, Decision::KeptTheirs, Utc::now())
                .await?;
        }
        if write.collection == Collection::Rsvp {
            return self.refresh_rsvp(owner, &write.rkey).await;
        }
        if let Some(event) = self.event_of(&write).await? {
            self.refresh(owner, &event).await?;
        }
        Ok(())
    }

    /// Makes the cached event what its owner's PDS holds now (the PDS wins): the new version, or
    /// no event when the record is gone. When the PDS cannot be reached, the event keeps its status
    /// and says why.
    pub async fn refresh(&self, owner: &User, event: &Event) -> Result<Refreshed, PublishError> {
        let rkey = self.owned_rkey(owner, event)?;
        let did = bluesky_did(owner)?;
        let fetched = match self.identity.public_repo(did).await {
            Ok((repo, pds)) => repo.get_record(COLLECTION, &rkey).await.map(|entry| (entry, pds)),
            Err(e) => Err(e),
        };
        match fetched {
            Ok((Some(entry), pds)) => {
                let Some(cid) = entry.cid else {
                    return Err(PublishError::BadRecord(
                        crate::server::pds::calendar_event::RecordError::missing("cid"),
                    ));
                };
                let new = cached_event(did, owner.id, &rkey, entry.value, &cid, event.time_zone.clone(), &pds)?;
                self.store.update_event_record(event.id, &new, None).await?;
                Ok(Refreshed::Current)
            }
            Ok((None, _)) => {
                self.store.delete_event(event.id, None).await?;
                Ok(Refreshed::Gone)
            }
            Err(cause) => {
                let message = format!("could not refresh from the PDS: {cause}");
                self.store
                    .set_event_sync_status(event.id, event.source.sync_status, Some(&message))
                    .await?;
                Ok(Refreshed::Unreachable(cause))
            }
        }
    }

    /// Brings one event and its owner's PDS together now ("sync now", `POST /api/events/{id}/sync`):
    /// a write still queued for it is sent, and otherwise the event is read again from the PDS,
    /// which wins. A write in conflict is not sent: that needs the owner's decision.
    pub async fn sync(&self, owner: &User, event: &Event) -> Result<Synced, PublishError> {
        self.owned_rkey(owner, event)?;
        let queued = self
            .store
            .pending_write_for_event(owner.id, Collection::Event, event.id)
            .await?;
        match queued {
            Some(write) if write.state == WriteState::Conflict => {
                Err(PublishError::Conflict { write: Box::new(write) })
            }
            Some(write) => match self.attempt(owner, write).await? {
                Published::Deleted => Ok(Synced::Deleted),
                Published::Saved(_) | Published::Answered(_) => Ok(Synced::Sent),
            },
            None => match self.refresh(owner, event).await? {
                Refreshed::Current => Ok(Synced::Refreshed),
                Refreshed::Gone => Ok(Synced::Gone),
                Refreshed::Unreachable(cause) => Err(PublishError::Unreachable(cause)),
            },
        }
    }

    /// [`Self::sync`], and the event as it is afterwards (`None` once it is gone).
    pub async fn sync_now(&self, owner: &User, event: &Event) -> Result<(Synced, Option<Event>), PublishError> {
        let synced = self.sync(owner, event).await?;
        Ok((synced, self.store.event_by_id(event.id).await?))
    }

    /// An event's conflicts, newest first; only its organiser sees them.
    pub async fn conflicts(&self, viewer: &User, event: &Event) -> Result<Vec<Conflict>, PublishError> {
        if event.owner_id != Some(viewer.id) {
            return Err(PublishError::Forbidden);
        }
        Ok(self.store.conflicts_of_event(event.id).await?)
    }

    /// Settles an event's open conflict: the organiser's queued write that met another version is
    /// dropped (`KeptTheirs`) or written over it (`ReappliedOurs`). An admin may keep Bluesky's
    /// version, which needs no one's credentials; only the organiser may re-apply theirs.
    pub async fn resolve(
        &self,
        user: &User,
        is_admin: bool,
        event: &Event,
        decision: Decision,
    ) -> Result<(), PublishError> {
        let owner = match event.owner_id {
            Some(owner_id) if owner_id == user.id => user.clone(),
            Some(owner_id) if decision == Decision::KeptTheirs && is_admin => self
                .store
                .user_by_id(owner_id)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("event {} has no owner row", event.id)))?,
            _ => return Err(PublishError::Forbidden),
        };
        let write = self
            .store
            .pending_write_for_event(owner.id, Collection::Event, event.id)
            .await?
            .filter(|write| write.state == WriteState::Conflict)
            .ok_or(PublishError::NoConflict)?;
        match decision {
            Decision::KeptTheirs => self.discard(&owner, write.id).await,
            Decision::ReappliedOurs => self.reapply(&owner, write.id).await.map(|_| ()),
        }
    }

    /// One of `owner`'s pending writes; someone else's is forbidden.
    async fn owned_write(&self, owner: &User, write_id: i64) -> Result<PendingWrite, PublishError> {
        self.store
            .pending_write_by_id(write_id)
            .await?
            .filter(|write| write.owner_id == owner.id)
            .ok_or(PublishError::Forbidden)
    }

    fn owned_rkey(&self, owner: &User, event: &Event) -> Result<Rkey, PublishError> {
        if event.owner_id != Some(owner.id) || event.source.source_type != SourceType::Bluesky {
            return Err(PublishError::Forbidden);
        }
        let rkey = event.source.rkey.as_deref().ok_or(PublishError::Forbidden)?;
        Rkey::parse(rkey).map_err(|_| PublishError::Forbidden)
    }

    /// An edit of a record whose create never reached the PDS is still a create.
    async fn queued_operation(
        &self,
        owner: &User,
        rkey: &Rkey,
        operation: WriteOperation,
    ) -> Result<WriteOperation, StoreError> {
        let queued = self
            .store
            .pending_write_for_record(owner.id, Collection::Event, rkey)
            .await?;
        Ok(match queued {
            Some(write) if write.operation == WriteOperation::Create => WriteOperation::Create,
            _ => operation,
        })
    }

    async fn event_of(&self, write: &PendingWrite) -> Result<Option<Event>, StoreError> {
        match write.event_id {
            Some(id) => self.store.event_by_id(id).await,
            None => Ok(None),
        }
    }

    /// Queues a new write and sends it to the PDS at the same time, then settles it as
    /// [`Self::attempt`] does. The queued copy is what a retry sends after a failure, so the PDS
    /// need not wait for it: if the process stops before it is stored, either the PDS has the
    /// record (the firehose and reconciliation bring it here, as they bring any record) or nothing
    /// has it, and in both cases the person was not told it was saved. Its record key was chosen
    /// before either, so sending it again can never make a second record.
    async fn queue_and_send(&self, owner: &User, write: &NewPendingWrite) -> Result<Published, PublishError> {
        let did = bluesky_did(owner)?;
        let started = Instant::now();
        let sending = async {
            let repo = self.auth.repo(owner).await?;
            self.send(&repo, Outgoing::of_new(write)).await
        };
        let (queued, outcome) = tokio::join!(self.store.save_pending_write(write, claimed_now()), sending);
        // Could not be stored: the store's error is the answer. Had the PDS taken the write, it
        // arrives here like any other record; otherwise nothing was kept anywhere.
        self.settle_outcome(did, queued?, outcome, started).await
    }

    /// Sends one pending write to the PDS and settles it: on success the cache follows in the same
    /// transaction that deletes the write; on failure the write records why and when to try again.
    async fn attempt(&self, owner: &User, write: PendingWrite) -> Result<Published, PublishError> {
        let did = bluesky_did(owner)?;
        let session = self.auth.repo(owner).await;
        self.send_and_settle(did, write, session).await
    }

    /// [`Self::attempt`] through the owner's `session` (or what finding it failed with).
    async fn send_and_settle(
        &self,
        did: &Did,
        write: PendingWrite,
        session: Result<Repo<Session>, PdsError>,
    ) -> Result<Published, PublishError> {
        let started = Instant::now();
        let outcome = match session {
            Ok(repo) => self.send(&repo, Outgoing::of_queued(&write)).await,
            Err(cause) => Err(cause),
        };
        self.settle_outcome(did, write, outcome, started).await
    }

    /// The cache follows a write the PDS took; one it did not take records why.
    async fn settle_outcome(
        &self,
        did: &Did,
        write: PendingWrite,
        outcome: Result<(Sent, String), PdsError>,
        started: Instant,
    ) -> Result<Published, PublishError> {
        let write_collection = write.collection;
        let result = match outcome {
            Ok((sent, pds)) => self.settle(did, &write, sent, &pds).await,
            Err(cause) => Err(self.failed(did, write, cause).await?),
        };
        let status = if result.is_ok() { "ok" } else { "error" };
        if write_collection == Collection::Rsvp {
            ::metrics::counter!(metrics::RSVPS_PUBLISHED_TOTAL, "status" => status).increment(1);
        } else {
            ::metrics::counter!(metrics::EVENTS_PUBLISHED_TOTAL, "status" => status).increment(1);
            ::metrics::histogram!(metrics::PUBLISH_DURATION_SECONDS).record(started.elapsed().as_secs_f64());
        }
        result
    }

    async fn send(&self, repo: &Repo<Session>, write: Outgoing<'_>) -> Result<(Sent, String), PdsError> {
        let pds = repo.base_uri();
        match write.operation {
            WriteOperation::Create | WriteOperation::Update => {
                let record = write
                    .record
                    .ok_or_else(|| PdsError::Rejected("the pending write has no record".to_owned()))?;
                // A create is sent without swapRecord: repeating it (after a lost answer) writes
                // the same record under the same key again, which is harmless.
                let swap = (write.operation == WriteOperation::Update)
                    .then_some(write.swap_cid)
                    .flatten();
                let written = repo
                    .put_record(write.collection.nsid(), write.rkey, record, swap)
                    .await?;
                Ok((Sent::Written(written), pds))
            }
            WriteOperation::Delete => {
                let commit = repo
                    .delete_record(write.collection.nsid(), write.rkey, write.swap_cid)
                    .await?;
                Ok((Sent::Deleted(commit), pds))
            }
        }
    }

    async fn settle(&self, did: &Did, write: &PendingWrite, sent: Sent, pds: &str) -> Result<Published, PublishError> {
        if write.collection == Collection::Rsvp {
            return self.settle_rsvp(did, write, sent).await;
        }
        let written = match sent {
            Sent::Written(written) => written,
            Sent::Deleted(commit) => {
                if let Some(id) = write.event_id {
                    let rev = commit.and_then(|commit| commit.rev);
                    self.store.delete_event(id, rev.as_ref()).await?;
                }
                self.store.delete_pending_write(write.id).await?;
                return Ok(Published::Deleted);
            }
        };
        let value = write.record.clone().unwrap_or(Value::Null);
        let mut new = cached_event(
            did,
            write.owner_id,
            &write.rkey,
            value,
            &written.cid,
            write.time_zone.clone(),
            pds,
        )?;
        // The firehose's later news of changes before this one must not undo it.
        new.source.rev = written.commit.and_then(|commit| commit.rev);
        let uri = AtUri::new(did.clone(), write.collection.nsid(), write.rkey.clone());
        let event = match write.event_id {
            Some(id) => self
                .store
                .update_event_record(id, &new, Some(write.id))
                .await?
                .ok_or(StoreError::Corrupt(format!("event {id} vanished while publishing")))?,
            // A new record has no row yet, nearly always: the insert is tried without looking first.
            None => match self.store.insert_published_event(&new, Some(write.id)).await {
                // The firehose brought the record back before this answer did (or the key was
                // written before, as a series occurrence's is when made again): the row exists.
                Err(StoreError::Duplicate(_)) => {
                    let id = self
                        .store
                        .event_by_at_uri(&uri.to_string())
                        .await?
                        .map(|event| event.id)
                        .ok_or(StoreError::Corrupt(format!("{uri} is there and is not")))?;
                    self.store
                        .update_event_record(id, &new, Some(write.id))
                        .await?
                        .ok_or(StoreError::Corrupt(format!("event {id} vanished while publishing")))?
                }
                other => other?,
            },
        };
        Ok(Published::Saved(Box::new(event)))
    }

    /// Records a failed attempt and returns the error to show.
    async fn failed(&self, did: &Did, write: PendingWrite, cause: PdsError) -> Result<PublishError, StoreError> {
        let now = Utc::now();
        let (state, next, status) = match &cause {
            PdsError::Conflict => (WriteState::Conflict, far_future(now), SyncStatus::Conflict),
            cause if cause.is_transient() => (
                WriteState::Pending,
                now + backoff(self.backoff, write.attempts),
                SyncStatus::Pending,
            ),
            _ => (WriteState::Failed, far_future(now), SyncStatus::Failed),
        };
        if state == WriteState::Conflict {
            ::metrics::counter!(metrics::SYNC_CONFLICTS_TOTAL).increment(1);
            // Both versions are kept; theirs only when the PDS can be read just now.
            let theirs = match self.identity.public_repo(did).await {
                Ok((repo, _)) => repo
                    .get_record(write.collection.nsid(), &write.rkey)
                    .await
                    .ok()
                    .flatten(),
                Err(_) => None,
            };
            let (value, cid) = theirs.map(|entry| (entry.value, entry.cid)).unzip();
            self.store
                .add_conflict(&write, value.as_ref(), cid.flatten().as_deref())
                .await?;
        }
        let message = cause.to_string();
        tracing::warn!(write = write.id, operation = %write.operation, error = %message, ?state, "PDS write failed");
        self.store.pending_write_failed(write.id, state, &message, next).await?;
        // An RSVP write's event is the one it answers, whose own status is not at stake.
        let event = match write.collection {
            Collection::Event => self.event_of(&write).await?,
            Collection::Rsvp => None,
        };
        if let Some(event) = event {
            self.store
                .set_event_sync_status(event.id, status, Some(&message))
                .await?;
        }
        let write = Box::new(self.store.pending_write_by_id(write.id).await?.unwrap_or(write));
        Ok(match state {
            WriteState::Conflict => PublishError::Conflict { write },
            WriteState::Pending => PublishError::Queued { write, cause },
            WriteState::Failed => PublishError::Rejected { write, cause },
        })
    }

    /// The background worker: sends due pending writes until shutdown.
    pub async fn run_worker(self: Arc<Self>, shutdown: CancellationToken) {
        let mut interval = tokio::time::interval(WORKER_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = interval.tick() => {}
            }
            if let Err(e) = self.work_once().await {
                tracing::error!(error = %crate::server::error::Chain(&e), "the pending-write worker failed; trying again");
            }
        }
    }

    /// Sends every due pending write once; returns how many were tried.
    pub async fn work_once(&self) -> Result<usize, StoreError> {
        let now = Utc::now();
        let lease = now + CLAIM_LEASE;
        let due = self.store.claim_due_pending_writes(now, lease, WORKER_BATCH).await?;
        let tried = due.len();
        for write in due {
            let Some(owner) = self.store.user_by_id(write.owner_id).await? else {
                self.store.delete_pending_write(write.id).await?;
                continue;
            };
            match self.attempt(&owner, write).await {
                Ok(_) => {}
                Err(PublishError::Store(e)) => return Err(e),
                Err(e) => tracing::debug!(error = %e, "pending write still not accepted"),
            }
        }
        Ok(tried)
    }
}

/// The cached form of a record the owner's PDS holds: in sync as of now. Its zone is the one the
/// record gives, else `default_zone`.
pub fn cached_event(
    did: &Did,
    owner_id: i64,
    rkey: &Rkey,
    value: Value,
    cid: &str,
    default_zone: crate::domain::TimeZoneName,
    pds: &str,
) -> Result<NewEvent, PublishError> {
    let record = CalendarEvent::from_value(value.clone()).map_err(PublishError::BadRecord)?;
    // The cache holds no event without a name (the database checks it too), nor one it could not
    // show within bounds.
    record.check().map_err(PublishError::BadRecord)?;
    let uri = AtUri::new(did.clone(), COLLECTION, rkey.clone());
    let source = SourceTracking {
        source_type: SourceType::Bluesky,
        source_id: Some(did.to_string()),
        source_url: record_url(pds, &uri),
        source_data: json!({ "pds": pds }),
        last_synced_at: Some(Utc::now()),
        at_uri: Some(uri.to_string()),
        rkey: Some(rkey.to_string()),
        cid: Some(cid.to_owned()),
        rev: None,
        sync_status: SyncStatus::InSync,
        last_sync_error: None,
    };
    let time_zone = record.time_zone().zone_or(default_zone);
    let findable = Findable::of(&record.draft(time_zone.clone()), &record.places());
    Ok(NewEvent {
        owner_id: Some(owner_id),
        // Searches mark their matches with characters no stored text may hold.
        name: crate::domain::unmarked(record.name.trim()),
        description: record.description().map(crate::domain::unmarked),
        starts_at: record.starts_at(),
        ends_at: record.ends_at(),
        time_zone,
        source,
        record: Some(value),
        findable,
        // A record on a PDS is public to the whole network.
        visibility: Visibility::Public,
    })
}

/// `event`'s record with the form's fields in it: fields of other apps stay as they were.
fn edited_record(event: &Event, draft: &EventDraft) -> Result<CalendarEvent, PublishError> {
    let mut record = match &event.record {
        Some(value) => CalendarEvent::from_value(value.clone()).map_err(PublishError::BadRecord)?,
        None => CalendarEvent::new(draft, event.created_at),
    };
    record.apply(draft);
    Ok(record)
}

/// The DID of someone who publishes: only a Bluesky account has a PDS to write to.
fn bluesky_did(user: &User) -> Result<&Did, PublishError> {
    user.did.as_ref().ok_or(PublishError::NotBluesky)
}

/// `base * 2^attempts`, capped at an hour, with ±20% jitter so writes queued together spread out.
fn backoff(base: Duration, attempts: i32) -> chrono::Duration {
    let exponent = attempts.clamp(0, 20) as u32;
    let wait = base.saturating_mul(2u32.saturating_pow(exponent)).min(MAX_BACKOFF);
    let jitter = 0.8 + 0.4 * (f64::from(random_clock_id()) / 1023.0);
    chrono::Duration::from_std(wait.mul_f64(jitter)).unwrap_or(chrono::Duration::hours(1))
}

/// When a write queued for an attempt made right away falls due for the worker: only once that
/// attempt's lease ran out without settling it (the process died), so the two never send it both.
fn claimed_now() -> DateTime<Utc> {
    Utc::now() + CLAIM_LEASE
}

fn far_future(now: DateTime<Utc>) -> DateTime<Utc> {
    now + chrono::Duration::days(365 * 100)
}

fn random_clock_id() -> u16 {
    use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
    (OsRng.next_u32() & 0x3ff) as u16
}

/// A write settled as something else than it asked for (an event write as a delete, say).
fn unexpected_outcome<T>() -> Result<T, PublishError> {
    Err(PublishError::Store(StoreError::Corrupt(
        "a pending write settled as something else than it asked for".to_owned(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let base = Duration::from_secs(5);
        let first = backoff(base, 0).num_milliseconds();
        assert!((4_000..=6_000).contains(&first), "{first}");
        let fourth = backoff(base, 3).num_milliseconds();
        assert!((32_000..=48_000).contains(&fourth), "{fourth}");
        let capped = backoff(base, 40).num_seconds();
        assert!(capped <= 3600 * 6 / 5, "{capped}");
    }
}
