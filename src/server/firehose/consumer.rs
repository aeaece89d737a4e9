//! Applying the firehose: each frame is decoded, its calendar records become changes to the cache
//! (through the one record mapping), and the changes commit with the cursor that covers them.

use super::{
    backfill::{Located, Repos},
    frame::{self, Action, Frame},
    pipeline::{Batches, Decoded},
    queue::BackfillQueue,
    telemetry::Telemetry,
    Source,
};
use crate::domain::{Did, Rev};
use crate::server::{
    error::Chain,
    identity::Identity,
    metrics,
    records::{self, RecordOwner, RecordState},
    store::{Applied, RecordChange, Store, StoreError},
};
use futures_util::{StreamExt, TryStreamExt};
use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// How often the cursor moves for frames with nothing to apply.
const IDLE_CURSOR_INTERVAL: Duration = Duration::from_secs(1);
/// The most repos one repair re-reads.
const REPAIR_MAX_REPOS: u32 = 1_000;
/// How many new owners of one batch are looked up at the same time.
const LOCATE_AT_ONCE: usize = 16;

/// The cursor of frames with nothing to apply, written at most once per [`IDLE_CURSOR_INTERVAL`].
#[derive(Debug)]
struct IdleCursor {
    /// The newest sequence number seen and not yet written.
    unwritten: Option<i64>,
    /// When it was last written.
    written_at: Instant,
    /// The next frame is the first of a connection (written at once).
    first_of_connection: bool,
}

/// The changes of the commits in one batch, applied together with the cursor that passes them.
#[derive(Default)]
struct Pending {
    changes: Vec<RecordChange>,
    /// The sequence number of each change's frame (for a dead letter, should it be refused).
    seqs: Vec<i64>,
    /// The last frame of the batch so far; `None` while no change waits.
    cursor: Option<i64>,
    /// The commit times, for the sync latency measured once they are applied.
    times: Vec<String>,
}

/// The firehose consumer of one endpoint: applies its frames to the cache.
pub struct Ingest {
    pub(super) source: Source,
    pub(super) store: Store,
    repos: Arc<Repos>,
    /// The subscribeRepos (or Jetstream) URL, which also names the cursor.
    endpoint: String,
    idle: Mutex<IdleCursor>,
    pub(super) telemetry: Telemetry,
    /// Backfills frames asked for, run in the background.
    pub(super) backfills: BackfillQueue,
}

impl Ingest {
    /// A consumer of `endpoint` that reads repos on its own.
    pub fn new(store: Store, identity: Arc<Identity>, endpoint: String) -> Self {
        let repos = Arc::new(Repos::new(store.clone(), identity));
        Self::with_repos(store, repos, endpoint)
    }

    /// A consumer of `endpoint` sharing `repos` (and what it remembers) with backfills.
    pub fn with_repos(store: Store, repos: Arc<Repos>, endpoint: String) -> Self {
        Self {
            source: Source::of(&endpoint),
            store,
            repos,
            endpoint,
            idle: Mutex::new(IdleCursor {
                unwritten: None,
                written_at: Instant::now(),
                first_of_connection: true,
            }),
            telemetry: Telemetry::default(),
            backfills: BackfillQueue::default(),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The reader of whole repos this consumer backfills with.
    pub fn repos(&self) -> &Arc<Repos> {
        &self.repos
    }

    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// The backfills frames asked for, waiting or running.
    pub fn backfills(&self) -> &BackfillQueue {
        &self.backfills
    }

    /// Whether a connection to the firehose is open now.
    pub fn connected(&self) -> bool {
        self.telemetry.connected()
    }

    /// How many sequence gaps this consumer has seen.
    pub fn gaps(&self) -> u64 {
        self.telemetry.gaps()
    }

    /// How often this consumer stopped because its lock was lost.
    pub fn lock_losses(&self) -> u64 {
        self.telemetry.lock_losses()
    }

    /// The next frame starts a connection: its cursor is written at once.
    pub(super) fn connection_started(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).first_of_connection = true;
    }

    /// Decodes and applies one frame. `Err` only when the store fails (then the frame is not
    /// acknowledged by the cursor and comes again after a reconnect).
    pub async fn handle(self: &Arc<Self>, bytes: &[u8]) -> Result<(), StoreError> {
        self.handle_batch(&[bytes]).await
    }

    /// Decodes and applies frames in their order (see [`Ingest::apply`]).
    pub async fn handle_batch(self: &Arc<Self>, frames: &[impl AsRef<[u8]> + Sync]) -> Result<(), StoreError> {
        let decoded = frames
            .iter()
            .map(|bytes| Decoded::of(self.source, bytes.as_ref()))
            .collect();
        self.apply(decoded).await
    }

    /// Applies the batches a socket reader hands over (see [`super::pipeline`]) until it is gone.
    /// `Err` when the store fails: what was not applied comes again after a reconnect.
    pub async fn apply_batches(self: &Arc<Self>, mut batches: Batches) -> Result<(), StoreError> {
        while let Some(batch) = batches.next().await {
            match self.apply(batch.frames).await {
                Ok(()) => self.telemetry.applied(),
                Err(e) => {
                    self.telemetry.failed(&Chain(&e).to_string());
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Applies decoded frames in their order, their commits' records in one transaction with the
    /// cursor that passes the last of them (group commit: a replay of a backlog writes once per
    /// batch, not once per record). Nothing is acknowledged before it is applied, so a crash at
    /// any point loses nothing: the frames after the stored cursor come again, and applying them
    /// again changes nothing. `Err` only when the store fails.
    pub async fn apply(self: &Arc<Self>, frames: Vec<Decoded>) -> Result<(), StoreError> {
        let count = frames.len() as u64;
        self.locate_owners(&frames).await?;
        let mut pending = Pending::default();
        for frame in frames {
            self.handle_one(frame, &mut pending).await?;
        }
        self.flush(pending).await?;
        ::metrics::counter!(metrics::FIREHOSE_FRAMES_TOTAL).increment(count);
        Ok(())
    }

    /// Learns who owns the calendar records of a batch, for every owner not known yet at once (at
    /// most [`LOCATE_AT_ONCE`] at a time): a batch from many new accounts waits about as long as
    /// its slowest DID document, not as long as all of them one after another.
    async fn locate_owners(&self, frames: &[Decoded]) -> Result<(), StoreError> {
        let owners: HashSet<Did> = frames
            .iter()
            .filter_map(|frame| match frame {
                Decoded::Frame(Frame::Commit { repo, ops, .. }) if !ops.is_empty() && !self.repos.knows(repo) => {
                    Some(repo.clone())
                }
                _ => None,
            })
            .collect();
        futures_util::stream::iter(owners)
            .map(|did: Did| async move {
                let (_, _, located) = self.repos.locate(&did).await?;
                if located == Located::Partly {
                    self.backfills.request(did);
                }
                Ok::<_, StoreError>(())
            })
            .buffer_unordered(LOCATE_AT_ONCE)
            .try_collect()
            .await
    }

    async fn handle_one(self: &Arc<Self>, decoded: Decoded, pending: &mut Pending) -> Result<(), StoreError> {
        let frame = match decoded {
            Decoded::Frame(frame) => frame,
            Decoded::Undecodable { error, bytes } => {
                tracing::warn!(%error, "a frame does not decode; dead-lettered");
                ::metrics::counter!(metrics::FIREHOSE_DEAD_LETTERS_TOTAL).increment(1);
                return self
                    .store
                    .add_dead_letter(&self.endpoint, None, &error.to_string(), Some(&bytes), None, None)
                    .await;
            }
        };
        // Jetstream's cursor is a time, not a sequence: it has no gaps to notice.
        if let (Some(seq), Source::SubscribeRepos) = (frame.seq(), self.source) {
            if self.telemetry.gap_before(seq) {
                self.repair().await?;
            }
        }
        match frame {
            Frame::Commit {
                seq,
                repo,
                rev,
                time,
                ops,
                rejected,
                too_big,
            } => {
                if let Some(lag) = since(&time) {
                    self.telemetry.record_lag(lag);
                }
                if too_big {
                    self.backfills.request(repo.clone());
                }
                for op in &rejected {
                    let uri = format!("at://{repo}/{}", op.path);
                    self.dead_letter(seq, &op.reason, op.record.as_ref(), &uri).await?;
                }
                if ops.is_empty() {
                    // With records waiting, the cursor passes this frame when they commit.
                    if pending.cursor.is_some() {
                        pending.cursor = Some(seq);
                        return Ok(());
                    }
                    return self.idle(seq).await;
                }
                self.prepare_commit(seq, &repo, rev.as_ref(), ops, pending).await?;
                pending.times.push(time);
                Ok(())
            }
            other => {
                // What the other frames change must follow the records before them.
                self.flush(std::mem::take(pending)).await?;
                self.handle_other(other).await
            }
        }
    }

    /// A frame other than a commit, with no records waiting before it.
    async fn handle_other(&self, frame: Frame) -> Result<(), StoreError> {
        match frame {
            // Commits are `handle_one`'s.
            Frame::Commit { .. } => Ok(()),
            Frame::Identity { seq, did, handle: _ } => {
                // The frame says what the account claims now; a claim is not proof. Until its
                // handle is checked again (in the background, with its repo) the DID is shown.
                if self.store.set_handle(&did, None).await? {
                    self.repos.forget(&did);
                    self.backfills.request(did);
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
                if gone {
                    let removed = self.store.delete_events_of(&did).await?;
                    tracing::info!(%did, removed, ?status, "account gone: its events are removed");
                }
                self.idle(seq).await
            }
            Frame::Sync { seq, did } => {
                self.backfills.request(did);
                self.idle(seq).await
            }
            Frame::Info { name, message } => {
                tracing::warn!(name, ?message, "firehose info");
                if name == "OutdatedCursor" {
                    // Frames were dropped before our cursor: re-read what we know.
                    self.repair().await?;
                }
                ::metrics::counter!(metrics::FIREHOSE_INFO_TOTAL, "name" => metrics::info_label(&name)).increment(1);
                Ok(())
            }
            Frame::Other { kind } => {
                tracing::debug!(kind, "skipping a frame of an unknown kind");
                Ok(())
            }
        }
    }

    /// Queues the repos of everyone whose events we hold to be read again (in the background):
    /// the frames we missed could have touched any of them. Repos already queued stay queued once.
    async fn repair(&self) -> Result<(), StoreError> {
        for did in self.store.calendar_owners(REPAIR_MAX_REPOS).await? {
            self.backfills.request(did);
        }
        Ok(())
    }

    /// Moves the cursor for a frame with nothing to apply, at most once per interval.
    async fn idle(&self, seq: i64) -> Result<(), StoreError> {
        let due = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.unwritten = Some(seq);
            // The first frame of a connection is written at once: a consumer that starts without
            // a cursor (live) must have one before it can be restarted without a gap.
            if idle.first_of_connection || idle.written_at.elapsed() >= IDLE_CURSOR_INTERVAL {
                idle.written_at = Instant::now();
                idle.first_of_connection = false;
                idle.unwritten.take()
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
        let unwritten = self.idle.lock().unwrap_or_else(|p| p.into_inner()).unwritten.take();
        match unwritten {
            Some(seq) => self.store.set_firehose_cursor(&self.endpoint, seq).await,
            None => Ok(()),
        }
    }

    /// Turns a commit's operations into changes waiting in `pending` (what cannot become one is
    /// dead-lettered now).
    async fn prepare_commit(
        &self,
        seq: i64,
        did: &Did,
        rev: Option<&Rev>,
        ops: Vec<frame::RecordOp>,
        pending: &mut Pending,
    ) -> Result<(), StoreError> {
        let (user_id, pds, located) = self.repos.locate(did).await?;
        if located == Located::Partly {
            self.backfills.request(did.clone());
        }
        let owner = RecordOwner {
            did,
            user_id,
            pds: &pds,
        };
        for op in ops {
            // Where the record lives, for a replay to read it again.
            let uri = format!("at://{did}/{}/{}", op.collection, op.rkey);
            let state = match (op.action, op.record, op.cid) {
                (Action::Delete, _, _) => RecordState::Gone,
                (_, Some(value), Some(cid)) => RecordState::Present { value, cid },
                (_, record, _) => {
                    self.dead_letter(seq, "a create or update without a record", record.as_ref(), &uri)
                        .await?;
                    continue;
                }
            };
            let record = match &state {
                RecordState::Present { value, .. } => Some(value.clone()),
                RecordState::Gone => None,
            };
            match records::change(owner, op.collection, &op.rkey, state, rev) {
                Ok(change) => {
                    pending.changes.push(change);
                    pending.seqs.push(seq);
                }
                Err(error) => self.dead_letter(seq, &error, record.as_ref(), &uri).await?,
            }
        }
        pending.cursor = Some(seq);
        Ok(())
    }

    /// Applies the waiting changes in one transaction with the cursor that passes them.
    async fn flush(&self, pending: Pending) -> Result<(), StoreError> {
        let Some(cursor) = pending.cursor else {
            return Ok(());
        };
        let applied = self
            .store
            .apply_firehose_changes(Some((&self.endpoint, cursor)), &pending.changes)
            .await?;
        for ((change, outcome), seq) in pending.changes.iter().zip(applied).zip(&pending.seqs) {
            let outcome = match outcome {
                Applied::Inserted => "inserted",
                Applied::Updated => "updated",
                Applied::Unchanged => "unchanged",
                Applied::Deleted => "deleted",
                Applied::Absent => "absent",
                Applied::Refused(reason) => {
                    self.dead_letter(*seq, &reason, change.record(), change.at_uri())
                        .await?;
                    "refused"
                }
            };
            ::metrics::counter!(
                metrics::FIREHOSE_RECORDS_TOTAL,
                "collection" => change.collection().label(),
                "outcome" => outcome
            )
            .increment(1);
        }
        for time in &pending.times {
            if let Some(latency) = since(time) {
                ::metrics::histogram!(metrics::SYNC_LATENCY_SECONDS).record(latency);
            }
        }
        // The cursor is written: an idle frame after these has nothing older to wait for.
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).unwritten = None;
        ::metrics::gauge!(metrics::FIREHOSE_CURSOR).set(cursor as f64);
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
}

/// Seconds from an RFC 3339 time until now (0 for a time ahead of our clock).
fn since(time: &str) -> Option<f64> {
    let at = chrono::DateTime::parse_from_rfc3339(time).ok()?;
    Some(((chrono::Utc::now() - at.to_utc()).num_milliseconds() as f64 / 1000.0).max(0.0))
}
