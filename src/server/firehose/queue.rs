//! The backfills the consumer asks for — a `#sync` frame, a commit too big to carry its records,
//! the repair after a sequence gap — run here, in the background, never inline: one slow or
//! hostile PDS must not hold up the firehose for everybody.
//!
//! Bounded in every way a stranger could push: at most [`CAPACITY`] repos wait (a request beyond
//! that is dropped, counted and logged: the next `#sync` or reconciliation catches up), a repo is
//! queued at most once at a time (asking again while it waits or runs changes nothing), and
//! [`WORKERS`] backfills run at once.

use super::backfill::Repos;
use crate::domain::Did;
use crate::server::{error::Chain, metrics};
use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

/// Repos that may wait for a backfill.
pub const CAPACITY: usize = 1_000;
/// Backfills running at once.
pub const WORKERS: usize = 2;

/// Requests for backfills, and the repos waiting or running.
pub struct BackfillQueue {
    sender: mpsc::Sender<Did>,
    receiver: Mutex<Option<mpsc::Receiver<Did>>>,
    /// Queued or running: a repo is in here from its request until its backfill ends.
    pending: Arc<Mutex<HashSet<Did>>>,
}

/// What became of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    Queued,
    /// The repo waits or runs already.
    AlreadyPending,
    /// The queue is full: dropped.
    Dropped,
}

impl Default for BackfillQueue {
    fn default() -> Self {
        let (sender, receiver) = mpsc::channel(CAPACITY);
        Self {
            sender,
            receiver: Mutex::new(Some(receiver)),
            pending: Arc::default(),
        }
    }
}

impl BackfillQueue {
    /// Asks for `did`'s repo to be read again; returns at once.
    pub fn request(&self, did: Did) -> Requested {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.contains(&did) {
            return Requested::AlreadyPending;
        }
        match self.sender.try_send(did.clone()) {
            Ok(()) => {
                pending.insert(did);
                ::metrics::gauge!(metrics::BACKFILLS_QUEUED).set(pending.len() as f64);
                Requested::Queued
            }
            Err(_) => {
                tracing::warn!(%did, "the backfill queue is full; the request is dropped");
                ::metrics::counter!(metrics::BACKFILLS_DROPPED_TOTAL).increment(1);
                Requested::Dropped
            }
        }
    }

    /// How many repos wait or run.
    pub fn pending(&self) -> usize {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Runs the queued backfills until `stop`; the first call gets the work, a second returns at
    /// once (there is one queue per consumer).
    pub async fn run(&self, repos: Arc<Repos>, stop: CancellationToken) {
        let Some(mut receiver) = self.receiver.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        let running = Arc::new(Semaphore::new(WORKERS));
        loop {
            let did = tokio::select! {
                () = stop.cancelled() => return,
                did = receiver.recv() => match did {
                    Some(did) => did,
                    None => return,
                },
            };
            let Ok(permit) = Arc::clone(&running).acquire_owned().await else {
                return;
            };
            let (repos, pending) = (Arc::clone(&repos), Arc::clone(&self.pending));
            tokio::spawn(async move {
                if let Err(e) = repos.backfill(&did, None).await {
                    tracing::warn!(%did, error = %Chain(&e), "a requested backfill failed; the next #sync or reconciliation retries it");
                }
                let mut pending = pending.lock().unwrap_or_else(|p| p.into_inner());
                pending.remove(&did);
                ::metrics::gauge!(metrics::BACKFILLS_QUEUED).set(pending.len() as f64);
                drop(permit);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn did(n: usize) -> Did {
        Did::parse(&format!("did:plc:{n:0>24}")).expect("DID")
    }

    #[test]
    fn a_repo_is_queued_once_and_the_queue_is_bounded() {
        let queue = BackfillQueue::default();
        assert_eq!(queue.request(did(1)), Requested::Queued);
        assert_eq!(queue.request(did(1)), Requested::AlreadyPending);
        for n in 2..=CAPACITY {
            assert_eq!(queue.request(did(n)), Requested::Queued);
        }
        assert_eq!(queue.request(did(CAPACITY + 1)), Requested::Dropped);
        assert_eq!(queue.pending(), CAPACITY);
    }
}
