//! Reconciliation: compares every known repo's calendar records with the cache, repairs
//! what differs (the PDS wins: missing records are added, stale ones updated, deleted ones
//! removed) and writes a report. It runs periodically and on an admin's request, one run at a
//! time, and is safe beside the firehose consumer: it applies the same idempotent changes and
//! never moves the cursor.

use crate::server::{
    error::Chain,
    firehose::{BackfillError, Repos},
    metrics,
    store::{ReconcileCounts, ReconcileTrigger, Store, StoreError},
};
use chrono::Utc;
use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tokio_util::sync::CancellationToken;

/// The most repos one run compares.
const MAX_REPOS: u32 = 10_000;

pub struct Reconciler {
    store: Store,
    repos: Arc<Repos>,
    running: AtomicBool,
    /// The running run's repos compared so far, and how many it compares.
    checked: AtomicU64,
    total: AtomicU64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("a reconciliation is already running")]
    AlreadyRunning,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Reconciler {
    pub fn new(store: Store, repos: Arc<Repos>) -> Self {
        Self {
            store,
            repos,
            running: AtomicBool::new(false),
            checked: AtomicU64::new(0),
            total: AtomicU64::new(0),
        }
    }

    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// While a run goes on here: the repos it has compared, and how many it compares.
    pub fn progress(&self) -> Option<(u64, u64)> {
        self.is_running()
            .then(|| (self.checked.load(Ordering::Relaxed), self.total.load(Ordering::Relaxed)))
    }

    /// Starts a run in the background and returns its report's id at once; the report fills in
    /// when the run ends.
    pub async fn start(self: &Arc<Self>, trigger: ReconcileTrigger) -> Result<i64, ReconcileError> {
        let running = self.claim()?;
        let id = self.store.start_reconcile_report(trigger, Utc::now()).await?;
        let reconciler = Arc::clone(self);
        tokio::spawn(async move {
            let _running = running;
            if let Err(e) = reconciler.finish(id).await {
                tracing::error!(error = %Chain(&e), report = id, "reconciliation failed");
            }
        });
        Ok(id)
    }

    /// Runs to the end and returns its report's id.
    pub async fn run(self: &Arc<Self>, trigger: ReconcileTrigger) -> Result<i64, ReconcileError> {
        let _running = self.claim()?;
        let id = self.store.start_reconcile_report(trigger, Utc::now()).await?;
        self.finish(id).await?;
        Ok(id)
    }

    /// Takes the right to run (one run at a time), released when the guard drops.
    fn claim(self: &Arc<Self>) -> Result<Running, ReconcileError> {
        self.running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| Running(Arc::clone(self)))
            .map_err(|_| ReconcileError::AlreadyRunning)
    }

    async fn finish(&self, id: i64) -> Result<(), StoreError> {
        let started = Instant::now();
        let mut counts = ReconcileCounts {
            unpublished: self.store.unpublished_count().await?,
            ..Default::default()
        };
        let dids = self.store.known_calendar_dids(MAX_REPOS).await?;
        self.checked.store(0, Ordering::Relaxed);
        self.total.store(dids.len() as u64, Ordering::Relaxed);
        for did in dids {
            counts.repos += 1;
            let compared = self.repos.backfill(&did, None).await;
            self.checked.fetch_add(1, Ordering::Relaxed);
            match compared {
                Ok(found) => {
                    counts.missing += found.missing as i64;
                    counts.stale += found.stale as i64;
                    counts.deleted += found.deleted as i64;
                }
                Err(BackfillError::Store(e)) => return Err(e),
                Err(BackfillError::Pds(e)) => {
                    ::metrics::counter!(metrics::RECONCILIATION_ERRORS_TOTAL).increment(1);
                    counts.errors.push(format!("{did}: {e}"));
                }
            }
        }
        self.store.finish_reconcile_report(id, &counts, Utc::now()).await?;
        let repaired = counts.missing + counts.stale + counts.deleted;
        ::metrics::counter!(metrics::RECONCILIATION_REPAIRS_TOTAL).increment(repaired.max(0) as u64);
        tracing::info!(
            report = id,
            repos = counts.repos,
            missing = counts.missing,
            stale = counts.stale,
            deleted = counts.deleted,
            errors = counts.errors.len(),
            took_ms = started.elapsed().as_millis() as u64,
            "reconciliation done"
        );
        Ok(())
    }

    /// Runs every `interval` until shutdown (the first run one interval after start).
    pub async fn run_periodically(self: Arc<Self>, interval: Duration, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
            match self.run(ReconcileTrigger::Periodic).await {
                Ok(_) | Err(ReconcileError::AlreadyRunning) => {}
                Err(e) => tracing::error!(error = %Chain(&e), "periodic reconciliation failed"),
            }
        }
    }
}

/// The running flag, cleared however a run ends.
struct Running(Arc<Reconciler>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Release);
    }
}
