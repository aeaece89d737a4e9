//! The firehose consumer (F15-F22): reads `com.atproto.sync.subscribeRepos` from a relay (or, on
//! the local network, the PDS), keeps every calendar event from anyone in the cache, and never
//! loses or duplicates one.
//!
//! - **Connection** ([`run`]): a websocket reader feeds a bounded channel; a read that takes
//!   longer than the liveliness timeout drops the connection; reconnects back off exponentially
//!   (capped, with jitter) and the backoff resets after a healthy period.
//! - **Decoding** ([`frame`]): header and body are DAG-CBOR; a commit's CAR is opened only when
//!   one of its operations touches a calendar collection, which almost none do.
//! - **Applying** ([`Ingest`]): creates and updates upsert by at-uri and keep the newest repo
//!   revision; deletes remove; our own writes coming back (same CID) only confirm "in sync".
//!   Each frame's changes and the cursor commit in one transaction, so replaying frames after a
//!   crash changes nothing. Frames without calendar records move the cursor at most once a second.
//! - **Never fatal**: a frame or record that does not decode or apply goes to the dead-letter table
//!   with its raw bytes and the error, and the consumer goes on.

pub mod frame;

use crate::domain::{AtUri, Did, Handle, Rkey, TimeZoneName};
use crate::server::{
    auth::oauth::BlueskyAuth,
    calendar::{cached_event, cached_rsvp},
    error::Chain,
    metrics,
    pds::{calendar_event::COLLECTION as EVENT_COLLECTION, calendar_rsvp::COLLECTION as RSVP_COLLECTION, PdsError},
    store::{Applied, RecordChange, Store, StoreError},
};
use frame::{Action, Frame};
use futures_util::StreamExt;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// Frames waiting between the socket reader and the applier.
const CHANNEL_CAPACITY: usize = 1024;
/// A connection that says nothing for this long is dropped (the PDS and relays send frames or
/// pings far more often).
const LIVELINESS_TIMEOUT: Duration = Duration::from_secs(60);
const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A connection that lasted this long resets the backoff.
const HEALTHY_PERIOD: Duration = Duration::from_secs(30);
/// How often the cursor moves for frames with nothing to apply.
const IDLE_CURSOR_INTERVAL: Duration = Duration::from_secs(1);
/// The most repos one repair re-reads.
const REPAIR_MAX_REPOS: u32 = 1_000;
/// How many repos' owner and PDS are remembered.
const REPO_CACHE: usize = 10_000;
/// How often the consumer checks that it still holds the lock.
const LOCK_CHECK: Duration = Duration::from_secs(1);
/// How often an instance without the consumer lock asks for it again.
const LOCK_RETRY: Duration = Duration::from_secs(2);
/// The most records one backfill reads from a repo.
const BACKFILL_MAX_RECORDS: usize = 10_000;

/// Whether a collection is one the consumer keeps.
pub fn is_calendar(collection: &str) -> bool {
    collection == EVENT_COLLECTION || collection == RSVP_COLLECTION
}

#[derive(Debug, thiserror::Error)]
pub enum FirehoseError {
    #[error("connecting to the firehose failed")]
    Connect(#[source] tokio_tungstenite::tungstenite::Error),
    #[error("reading the firehose failed")]
    Read(#[source] tokio_tungstenite::tungstenite::Error),
    #[error("no frame for {} s: the connection is dead", LIVELINESS_TIMEOUT.as_secs())]
    Silent,
    #[error("the server closed the connection")]
    Closed,
    #[error("the endpoint is not a URL: {0}")]
    Endpoint(String),
    #[error("the store failed")]
    Store(#[from] StoreError),
    #[error("the cursor belongs to another endpoint ({0}); set FIREHOSE_RESET_CURSOR=true to start over")]
    OtherEndpoint(String),
}

/// What the endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `com.atproto.sync.subscribeRepos`: DAG-CBOR frames with consecutive sequence numbers.
    SubscribeRepos,
    /// Jetstream (F16): JSON events, filtered by collection at the server; the cursor is `time_us`.
    Jetstream,
}

impl Source {
    /// Jetstream serves `/subscribe`; anything else is taken as subscribeRepos.
    pub fn of(endpoint: &str) -> Self {
        let path = endpoint.split('?').next().unwrap_or(endpoint);
        if path.ends_with("/subscribe") {
            Self::Jetstream
        } else {
            Self::SubscribeRepos
        }
    }
}

/// Applies frames (and backfills) to the cache.
pub struct Ingest {
    source: Source,
    store: Store,
    auth: Arc<BlueskyAuth>,
    /// The subscribeRepos URL, which also names the cursor.
    endpoint: String,
    /// The newest sequence number seen but not yet persisted, when one last was, and whether the
    /// next frame is the first of a connection.
    idle: Mutex<(Option<i64>, Instant, bool)>,
    connected: std::sync::atomic::AtomicBool,
    /// Per DID: its user id and its PDS (for record links), so a busy repo costs one lookup.
    repos: Mutex<std::collections::HashMap<Did, (i64, String)>>,
    /// The last sequence number handled, to notice gaps, and how many there were.
    last_seq: Mutex<Option<i64>>,
    gaps: std::sync::atomic::AtomicU64,
    /// How often this consumer stopped because its lock was lost.
    lock_losses: std::sync::atomic::AtomicU64,
    /// How often a connection ended and the consumer connected again.
    reconnects: std::sync::atomic::AtomicU64,
    /// Now minus the last commit's time when it was applied, in milliseconds; `u64::MAX` before one.
    lag_millis: std::sync::atomic::AtomicU64,
}

impl Ingest {
    pub fn new(store: Store, auth: Arc<BlueskyAuth>, endpoint: String) -> Self {
        Self {
            source: Source::of(&endpoint),
            store,
            auth,
            endpoint,
            idle: Mutex::new((None, Instant::now(), true)),
            connected: Default::default(),
            repos: Mutex::default(),
            last_seq: Mutex::default(),
            gaps: Default::default(),
            lock_losses: Default::default(),
            reconnects: Default::default(),
            lag_millis: std::sync::atomic::AtomicU64::new(u64::MAX),
        }
    }

    /// How often this consumer stopped because its lock was lost.
    pub fn lock_losses(&self) -> u64 {
        self.lock_losses.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How often a connection ended and the consumer connected again.
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How far behind the network the last applied commit was, in seconds.
    pub fn lag_seconds(&self) -> Option<f64> {
        let millis = self.lag_millis.load(std::sync::atomic::Ordering::Relaxed);
        (millis != u64::MAX).then(|| millis as f64 / 1000.0)
    }

    fn record_lag(&self, time: &str) {
        if let Some(lag) = since(time) {
            ::metrics::gauge!(metrics::FIREHOSE_LAG_SECONDS).set(lag);
            let millis = (lag * 1000.0) as u64;
            self.lag_millis
                .store(millis.min(u64::MAX - 1), std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// How many sequence gaps this consumer has seen.
    pub fn gaps(&self) -> u64 {
        self.gaps.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether a connection to the firehose is open now.
    pub fn connected(&self) -> bool {
        self.connected.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn set_connected(&self, connected: bool) {
        self.connected.store(connected, std::sync::atomic::Ordering::Relaxed);
        ::metrics::gauge!(metrics::FIREHOSE_CONNECTED).set(if connected { 1.0 } else { 0.0 });
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Decodes and applies one frame. `Err` only when the store fails (then the frame is not
    /// acknowledged by the cursor and comes again after a reconnect).
    pub async fn handle(self: &Arc<Self>, bytes: &[u8]) -> Result<(), StoreError> {
        ::metrics::counter!(metrics::FIREHOSE_FRAMES_TOTAL).increment(1);
        let decoded = match self.source {
            Source::SubscribeRepos => frame::decode(bytes, is_calendar),
            Source::Jetstream => frame::decode_jetstream(bytes, is_calendar),
        };
        let frame = match decoded {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!(error = %e, "a frame does not decode; dead-lettered");
                ::metrics::counter!(metrics::FIREHOSE_DEAD_LETTERS_TOTAL).increment(1);
                return self
                    .store
                    .add_dead_letter(&self.endpoint, None, &e.to_string(), Some(bytes), None, None)
                    .await;
            }
        };
        // Jetstream's cursor is a time, not a sequence: it has no gaps to notice.
        if let (Some(seq), Source::SubscribeRepos) = (frame.seq(), self.source) {
            self.notice_gap(seq);
        }
        match frame {
            Frame::Commit {
                seq,
                repo,
                rev,
                time,
                ops,
                too_big,
            } => {
                self.record_lag(&time);
                if too_big {
                    self.backfill_logged(&repo, seq).await?;
                }
                if ops.is_empty() {
                    return self.idle(seq).await;
                }
                self.apply_commit(seq, &repo, &rev, ops).await?;
                if let Some(latency) = since(&time) {
                    ::metrics::histogram!(metrics::SYNC_LATENCY_SECONDS).record(latency);
                }
                Ok(())
            }
            Frame::Identity { seq, did, handle } => {
                if let (Ok(did), Some(Ok(handle))) = (Did::parse(&did), handle.as_deref().map(Handle::parse)) {
                    self.store.set_handle(&did, &handle).await?;
                }
                self.idle(seq).await
            }
            Frame::Account {
                seq,
                did,
                active,
                status,
            } => {
                let gone = !active && matches!(status.as_deref(), Some("deleted" | "takendown"));
                if let (true, Ok(did)) = (gone, Did::parse(&did)) {
                    let removed = self.store.delete_events_of(&did).await?;
                    tracing::info!(%did, removed, ?status, "account gone: its events are removed");
                }
                self.idle(seq).await
            }
            Frame::Sync { seq, did } => {
                self.backfill_logged(&did, seq).await?;
                self.idle(seq).await
            }
            Frame::Info { name, message } => {
                tracing::warn!(name, ?message, "firehose info");
                if name == "OutdatedCursor" {
                    // Frames were dropped before our cursor: re-read what we know.
                    self.repair();
                }
                ::metrics::counter!(metrics::FIREHOSE_INFO_TOTAL, "name" => name).increment(1);
                Ok(())
            }
            Frame::Other { kind } => {
                tracing::debug!(kind, "skipping a frame of an unknown kind");
                Ok(())
            }
        }
    }

    /// Counts a jump in sequence numbers and repairs after it. (Going back is a replay after a
    /// reconnect, which applying idempotently makes harmless.)
    fn notice_gap(self: &Arc<Self>, seq: i64) {
        let previous = self.last_seq.lock().unwrap_or_else(|p| p.into_inner()).replace(seq);
        if let Some(previous) = previous.filter(|previous| seq > previous + 1) {
            tracing::warn!(
                previous,
                seq,
                missing = seq - previous - 1,
                "sequence gap on the firehose"
            );
            ::metrics::counter!(metrics::FIREHOSE_GAPS_TOTAL).increment(1);
            self.gaps.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.repair();
        }
    }

    /// Re-reads, in the background, the repos of everyone whose events we hold: the frames we
    /// missed could have touched any of them.
    fn repair(self: &Arc<Self>) {
        let ingest = Arc::clone(self);
        tokio::spawn(async move {
            let dids = match ingest.store.calendar_owners(REPAIR_MAX_REPOS).await {
                Ok(dids) => dids,
                Err(e) => {
                    tracing::warn!(error = %Chain(&e), "listing repos to repair failed");
                    return;
                }
            };
            for did in dids {
                if let Err(e) = ingest.backfill(&did, None).await {
                    tracing::warn!(error = %Chain(&e), %did, "repairing a repo failed");
                }
            }
        });
    }

    /// Moves the cursor for a frame with nothing to apply, at most once per interval.
    async fn idle(&self, seq: i64) -> Result<(), StoreError> {
        let due = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.0 = Some(seq);
            // The first frame of a connection is persisted at once: a consumer that starts without
            // a cursor (live) must have one before it can be restarted without a gap.
            let first = idle.2;
            if first || idle.1.elapsed() >= IDLE_CURSOR_INTERVAL {
                idle.1 = Instant::now();
                idle.2 = false;
                idle.0.take()
            } else {
                None
            }
        };
        match due {
            Some(seq) => self.store.set_firehose_cursor(&self.endpoint, seq).await,
            None => Ok(()),
        }
    }

    /// Persists the newest sequence number seen (at disconnect and shutdown).
    pub async fn flush_cursor(&self) -> Result<(), StoreError> {
        let pending = self.idle.lock().unwrap_or_else(|p| p.into_inner()).0.take();
        match pending {
            Some(seq) => self.store.set_firehose_cursor(&self.endpoint, seq).await,
            None => Ok(()),
        }
    }

    async fn apply_commit(&self, seq: i64, repo: &str, rev: &str, ops: Vec<frame::RecordOp>) -> Result<(), StoreError> {
        let Ok(did) = Did::parse(repo) else {
            return self
                .store
                .add_dead_letter(
                    &self.endpoint,
                    Some(seq),
                    &format!("{repo:?} is not a DID"),
                    None,
                    None,
                    None,
                )
                .await;
        };
        let (owner, pds) = self.repo(&did).await?;
        let mut changes = Vec::with_capacity(ops.len());
        for op in ops {
            // Where the record lives, for a replay to read it again.
            let uri = format!("at://{did}/{}/{}", op.collection, op.rkey);
            if op.collection == RSVP_COLLECTION {
                match rsvp_change(&did, owner, rev, op) {
                    Ok(change) => changes.push(change),
                    Err((error, record)) => self.dead_letter(seq, &error, record.as_ref(), &uri).await?,
                }
                continue;
            }
            let Ok(rkey) = Rkey::parse(&op.rkey) else {
                let error = format!("invalid record key {:?}", op.rkey);
                self.dead_letter(seq, &error, op.record.as_ref(), &uri).await?;
                continue;
            };
            let at_uri = AtUri::new(did.clone(), EVENT_COLLECTION, rkey.clone()).to_string();
            match (op.action, op.record, op.cid) {
                (Action::Delete, _, _) => changes.push(RecordChange::Delete {
                    at_uri,
                    rev: rev.to_owned(),
                }),
                (_, Some(record), Some(cid)) => {
                    match cached_event(&did, owner, &rkey, record.clone(), &cid, TimeZoneName::utc(), &pds) {
                        Ok(event) => changes.push(RecordChange::Upsert {
                            event: Box::new(event),
                            rev: rev.to_owned(),
                        }),
                        Err(e) => {
                            let error = Chain(&e).to_string();
                            self.dead_letter(seq, &error, Some(&record), &uri).await?
                        }
                    }
                }
                _ => {
                    self.dead_letter(seq, "a create or update without a record", None, &uri)
                        .await?
                }
            }
        }
        let applied = self
            .store
            .apply_firehose_changes(Some((&self.endpoint, seq)), &changes)
            .await?;
        for (change, outcome) in changes.iter().zip(applied) {
            let collection = match change {
                RecordChange::Upsert { .. } | RecordChange::Delete { .. } => "event",
                RecordChange::UpsertRsvp { .. } | RecordChange::DeleteRsvp { .. } => "rsvp",
            };
            let label = match outcome {
                Applied::Inserted => "inserted",
                Applied::Updated => "updated",
                Applied::Unchanged => "unchanged",
                Applied::Deleted => "deleted",
                Applied::Absent => "absent",
            };
            ::metrics::counter!(metrics::FIREHOSE_RECORDS_TOTAL, "collection" => collection, "outcome" => label)
                .increment(1);
        }
        ::metrics::gauge!(metrics::FIREHOSE_CURSOR).set(seq as f64);
        Ok(())
    }

    async fn dead_letter(
        &self,
        seq: i64,
        error: &str,
        record: Option<&serde_json::Value>,
        uri: &str,
    ) -> Result<(), StoreError> {
        tracing::warn!(seq, error, uri, "a record does not apply; dead-lettered");
        ::metrics::counter!(metrics::FIREHOSE_DEAD_LETTERS_TOTAL).increment(1);
        self.store
            .add_dead_letter(&self.endpoint, Some(seq), error, None, record, Some(uri))
            .await
    }

    /// The owner's user id and PDS for a DID, remembered (at most `REPO_CACHE` DIDs).
    async fn repo(&self, did: &Did) -> Result<(i64, String), StoreError> {
        if let Some(known) = self.repos.lock().unwrap_or_else(|p| p.into_inner()).get(did) {
            return Ok(known.clone());
        }
        let owner = self.owner(did).await?;
        let pds = self.auth.pds_endpoint(did).await.unwrap_or_default();
        let mut repos = self.repos.lock().unwrap_or_else(|p| p.into_inner());
        if repos.len() >= REPO_CACHE {
            repos.clear();
        }
        repos.insert(did.clone(), (owner, pds.clone()));
        Ok((owner, pds))
    }

    /// The user for a DID: the existing one, or a new shadow user with the handle its DID document
    /// names (F7).
    async fn owner(&self, did: &Did) -> Result<i64, StoreError> {
        if let Some(user) = self.store.user_by_did(did).await? {
            return Ok(user.id);
        }
        let handle = match self.auth.handle_of(did).await {
            Ok(handle) => handle,
            Err(e) => {
                tracing::debug!(%did, error = %e, "no handle for a new shadow user yet");
                None
            }
        };
        self.store.shadow_user(did, handle.as_ref()).await
    }

    async fn backfill_logged(&self, repo: &str, seq: i64) -> Result<(), StoreError> {
        let Ok(did) = Did::parse(repo) else {
            return Ok(());
        };
        match self.backfill(&did, Some(seq)).await {
            Ok(_) => Ok(()),
            Err(BackfillError::Store(e)) => Err(e),
            Err(BackfillError::Pds(e)) => {
                tracing::warn!(%did, error = %e, "backfill failed; the next #sync or sign-in retries it");
                Ok(())
            }
        }
    }

    /// Makes the cache hold exactly the calendar events and RSVPs in `did`'s repo (F22): reads them
    /// with `listRecords`, upserts each, removes the cached ones the repo no longer has. Says what
    /// differed (for reconciliation).
    #[tracing::instrument(skip_all, fields(did = %did), err)]
    pub async fn backfill(&self, did: &Did, seq: Option<i64>) -> Result<Differences, BackfillError> {
        let (repo, pds) = self.auth.public_repo(did).await.map_err(BackfillError::Pds)?;
        let events = repo
            .list_all_records(EVENT_COLLECTION, BACKFILL_MAX_RECORDS)
            .await
            .map_err(BackfillError::Pds)?;
        let answers = repo
            .list_all_records(RSVP_COLLECTION, BACKFILL_MAX_RECORDS)
            .await
            .map_err(BackfillError::Pds)?;
        let owner = self.owner(did).await.map_err(BackfillError::Store)?;
        // What the cache holds now, at-uri -> CID.
        let mut cached: HashMap<String, Option<String>> = self
            .store
            .events_of(did)
            .await
            .map_err(BackfillError::Store)?
            .into_iter()
            .filter_map(|event| event.source.at_uri.map(|uri| (uri, event.source.cid)))
            .collect();
        let cached_answers = self.store.rsvp_records_of(owner).await.map_err(BackfillError::Store)?;
        cached.extend(cached_answers.into_iter().map(|(uri, cid)| (uri, Some(cid))));

        let mut differences = Differences::default();
        let mut changes = Vec::with_capacity(events.len() + answers.len());
        for entry in events.into_iter().chain(answers) {
            let (Ok(uri), Some(cid)) = (AtUri::parse(&entry.uri), entry.cid) else {
                continue;
            };
            match cached.remove(&entry.uri) {
                None => differences.missing += 1,
                Some(held) if held.as_deref() != Some(cid.as_str()) => differences.stale += 1,
                Some(_) => {}
            }
            let change = if uri.collection() == RSVP_COLLECTION {
                cached_rsvp(owner, entry.uri.clone(), entry.value.clone(), cid)
                    .map(|rsvp| RecordChange::UpsertRsvp {
                        rsvp: Box::new(rsvp),
                        rev: String::new(),
                    })
                    .map_err(|e| e.to_string())
            } else {
                cached_event(
                    did,
                    owner,
                    uri.rkey(),
                    entry.value.clone(),
                    &cid,
                    TimeZoneName::utc(),
                    &pds,
                )
                .map(|event| RecordChange::Upsert {
                    event: Box::new(event),
                    rev: String::new(),
                })
                .map_err(|e| Chain(&e).to_string())
            };
            match change {
                Ok(change) => changes.push(change),
                Err(error) => self
                    .store
                    .add_dead_letter(&self.endpoint, seq, &error, None, Some(&entry.value), Some(&entry.uri))
                    .await
                    .map_err(BackfillError::Store)?,
            }
        }
        // Whatever is left is cached but gone from the repo.
        for at_uri in cached.into_keys() {
            differences.deleted += 1;
            changes.push(match AtUri::parse(&at_uri) {
                Ok(uri) if uri.collection() == RSVP_COLLECTION => RecordChange::DeleteRsvp {
                    at_uri,
                    rev: String::new(),
                },
                _ => RecordChange::Delete {
                    at_uri,
                    rev: String::new(),
                },
            });
        }
        // A backfill of its own (sign-in, repair, reconcile) leaves the cursor alone: moving it
        // could only move it back.
        let cursor = seq.map(|seq| (self.endpoint.as_str(), seq));
        self.store
            .apply_firehose_changes(cursor, &changes)
            .await
            .map_err(BackfillError::Store)?;
        Ok(differences)
    }
}

/// Why a dead letter could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("it names no record that can be read again (a frame that did not decode, or an invalid record key); discard it: reconciliation re-reads the repos")]
    NoRecord,
    #[error("its record's PDS could not be read: {0}")]
    Pds(#[source] PdsError),
    #[error("the record still does not apply: {0}")]
    StillBad(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Ingest {
    /// Replays a dead letter once its cause is fixed: reads its record again from its owner's PDS
    /// (the source of truth) and applies it, or its deletion when it is gone. The dead letter is
    /// removed when that worked; otherwise it stays, and the error says why.
    pub async fn replay(&self, letter: &crate::server::store::DeadLetter) -> Result<(), ReplayError> {
        let uri = letter
            .uri
            .as_deref()
            .and_then(|uri| AtUri::parse(uri).ok())
            .ok_or(ReplayError::NoRecord)?;
        let did = uri.did().clone();
        let (repo, pds) = self.auth.public_repo(&did).await.map_err(ReplayError::Pds)?;
        let entry = repo
            .get_record(uri.collection(), uri.rkey())
            .await
            .map_err(ReplayError::Pds)?;
        let owner = self.owner(&did).await?;
        let at_uri = uri.to_string();
        let change = match entry {
            None if uri.collection() == RSVP_COLLECTION => RecordChange::DeleteRsvp {
                at_uri,
                rev: String::new(),
            },
            None => RecordChange::Delete {
                at_uri,
                rev: String::new(),
            },
            Some(entry) => {
                let cid = entry
                    .cid
                    .ok_or_else(|| ReplayError::StillBad("the PDS sent no CID".to_owned()))?;
                if uri.collection() == RSVP_COLLECTION {
                    let rsvp = cached_rsvp(owner, at_uri, entry.value, cid)
                        .map_err(|e| ReplayError::StillBad(e.to_string()))?;
                    RecordChange::UpsertRsvp {
                        rsvp: Box::new(rsvp),
                        rev: String::new(),
                    }
                } else if uri.collection() == EVENT_COLLECTION {
                    let event = cached_event(&did, owner, uri.rkey(), entry.value, &cid, TimeZoneName::utc(), &pds)
                        .map_err(|e| ReplayError::StillBad(Chain(&e).to_string()))?;
                    RecordChange::Upsert {
                        event: Box::new(event),
                        rev: String::new(),
                    }
                } else {
                    return Err(ReplayError::StillBad(format!(
                        "{} is no calendar collection",
                        uri.collection()
                    )));
                }
            }
        };
        self.store.apply_firehose_changes(None, &[change]).await?;
        self.store.delete_dead_letter(letter.id).await?;
        Ok(())
    }
}

/// How a repo differed from the cache before a backfill made them equal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Differences {
    /// Records the cache did not have.
    pub missing: usize,
    /// Records the cache had in another version.
    pub stale: usize,
    /// Records the cache had and the repo no longer has.
    pub deleted: usize,
}

/// An RSVP operation as a change to the cache; `Err` with the reason (and the record) when the
/// record is not a usable RSVP.
fn rsvp_change(
    did: &Did,
    owner: i64,
    rev: &str,
    op: frame::RecordOp,
) -> Result<RecordChange, (String, Option<serde_json::Value>)> {
    let Ok(rkey) = Rkey::parse(&op.rkey) else {
        return Err((format!("invalid record key {:?}", op.rkey), op.record));
    };
    let at_uri = AtUri::new(did.clone(), RSVP_COLLECTION, rkey).to_string();
    let (record, cid) = match (op.action, op.record, op.cid) {
        (Action::Delete, _, _) => {
            return Ok(RecordChange::DeleteRsvp {
                at_uri,
                rev: rev.to_owned(),
            })
        }
        (_, Some(record), Some(cid)) => (record, cid),
        (_, record, _) => return Err(("a create or update without a record".to_owned(), record)),
    };
    match cached_rsvp(owner, at_uri, record.clone(), cid) {
        Ok(rsvp) => Ok(RecordChange::UpsertRsvp {
            rsvp: Box::new(rsvp),
            rev: rev.to_owned(),
        }),
        Err(e) => Err((e.to_string(), Some(record))),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("reading the repo failed")]
    Pds(#[source] PdsError),
    #[error("the store failed")]
    Store(#[source] StoreError),
}

/// Seconds from an RFC 3339 time until now (0 for a time ahead of our clock).
fn since(time: &str) -> Option<f64> {
    let at = chrono::DateTime::parse_from_rfc3339(time).ok()?;
    Some(((chrono::Utc::now() - at.to_utc()).num_milliseconds() as f64 / 1000.0).max(0.0))
}

/// Reads the firehose until shutdown, reconnecting as needed (see the module docs).
pub async fn run(ingest: Arc<Ingest>, reset_cursor: bool, shutdown: CancellationToken) {
    if let Err(e) = check_endpoint(&ingest, reset_cursor).await {
        tracing::error!(error = %Chain(&e), "the firehose consumer does not start");
        shutdown.cancelled().await;
        return;
    }
    loop {
        // One consumer per database: wait for the lock (another instance may hold it until it dies).
        let Some(mut lock) = take_lock(&ingest, &shutdown).await else {
            return;
        };
        // If the lock's connection dies, another instance may take over: stop consuming then (a
        // dropped consumer is safe at any point: each frame commits whole or not at all).
        let watch = async {
            loop {
                tokio::time::sleep(LOCK_CHECK).await;
                if !lock.alive().await {
                    return;
                }
            }
        };
        tokio::select! {
            () = consume(&ingest, &shutdown) => return,
            () = watch => tracing::warn!("lost the consumer lock; consuming again once it is retaken"),
        }
        ingest.set_connected(false);
        ingest.lock_losses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

async fn take_lock(ingest: &Ingest, shutdown: &CancellationToken) -> Option<crate::server::store::ConsumerLock> {
    loop {
        match ingest.store.try_consumer_lock().await {
            Ok(Some(lock)) => return Some(lock),
            Ok(None) => tracing::debug!("another instance runs the firehose consumer"),
            Err(e) => tracing::warn!(error = %Chain(&e), "taking the consumer lock failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(LOCK_RETRY) => {}
        }
    }
}

/// Connects, applies, reconnects with backoff; returns at shutdown.
async fn consume(ingest: &Arc<Ingest>, shutdown: &CancellationToken) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let started = Instant::now();
        let result = connection(ingest, shutdown).await;
        if let Err(e) = ingest.flush_cursor().await {
            tracing::warn!(error = %Chain(&e), "persisting the cursor failed");
        }
        if shutdown.is_cancelled() {
            return;
        }
        if let Err(e) = result {
            tracing::warn!(error = %Chain(&e), "firehose connection ended");
        }
        if started.elapsed() >= HEALTHY_PERIOD {
            backoff = MIN_BACKOFF;
        }
        ::metrics::counter!(metrics::FIREHOSE_RECONNECTS_TOTAL).increment(1);
        ingest.reconnects.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let wait = jitter(backoff);
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn check_endpoint(ingest: &Ingest, reset: bool) -> Result<(), FirehoseError> {
    let endpoints = ingest.store.firehose_endpoints().await?;
    let foreign = endpoints.iter().find(|endpoint| *endpoint != ingest.endpoint());
    match (foreign, reset) {
        (Some(_), true) => {
            tracing::warn!(?endpoints, "FIREHOSE_RESET_CURSOR: forgetting the cursors");
            ingest.store.reset_firehose_cursors().await?;
            Ok(())
        }
        (Some(other), false) => Err(FirehoseError::OtherEndpoint(other.clone())),
        (None, _) => Ok(()),
    }
}

/// One connection: a reader task feeding a bounded channel, and this task applying frames.
async fn connection(ingest: &Arc<Ingest>, shutdown: &CancellationToken) -> Result<(), FirehoseError> {
    let mut url = url::Url::parse(ingest.endpoint()).map_err(|e| FirehoseError::Endpoint(e.to_string()))?;
    if ingest.source == Source::Jetstream {
        for collection in [EVENT_COLLECTION, RSVP_COLLECTION] {
            url.query_pairs_mut().append_pair("wantedCollections", collection);
        }
    }
    if let Some(cursor) = ingest.store.firehose_cursor(ingest.endpoint()).await? {
        url.query_pairs_mut().append_pair("cursor", &cursor.to_string());
    }
    let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .map_err(FirehoseError::Connect)?;
    tracing::info!(endpoint = ingest.endpoint(), "firehose connected");
    ingest.idle.lock().unwrap_or_else(|p| p.into_inner()).2 = true;
    ingest.set_connected(true);
    let (_, mut read) = socket.split();
    let (frames, mut incoming) = mpsc::channel::<Vec<u8>>(CHANNEL_CAPACITY);
    let reading = shutdown.child_token();
    let reader = {
        let reading = reading.clone();
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    () = reading.cancelled() => return Ok(()),
                    next = tokio::time::timeout(LIVELINESS_TIMEOUT, read.next()) => next,
                };
                match next {
                    Err(_) => return Err(FirehoseError::Silent),
                    Ok(None) => return Err(FirehoseError::Closed),
                    Ok(Some(Err(e))) => return Err(FirehoseError::Read(e)),
                    Ok(Some(Ok(Message::Binary(bytes)))) => {
                        if frames.send(bytes.to_vec()).await.is_err() {
                            return Ok(());
                        }
                    }
                    // Jetstream speaks JSON text.
                    Ok(Some(Ok(Message::Text(text)))) => {
                        if frames.send(text.as_bytes().to_vec()).await.is_err() {
                            return Ok(());
                        }
                    }
                    Ok(Some(Ok(Message::Close(_)))) => return Err(FirehoseError::Closed),
                    Ok(Some(Ok(_))) => {}
                }
            }
        })
    };
    let applied = async {
        while let Some(bytes) = incoming.recv().await {
            ingest.handle(&bytes).await?;
        }
        Ok::<(), FirehoseError>(())
    }
    .await;
    reading.cancel();
    ingest.set_connected(false);
    let read = reader.await.unwrap_or(Err(FirehoseError::Closed));
    applied.and(read)
}

/// ±25% around `base`.
fn jitter(base: Duration) -> Duration {
    use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
    base.mul_f64(0.75 + f64::from(OsRng.next_u32() % 1000) / 2000.0)
}
