//! Importing what the network already holds, so a new instance is not empty until records happen
//! to pass the firehose: a relay lists every repo holding calendar records
//! (`com.atproto.sync.listReposByCollection`, one collection after the other), then each repo is
//! read through its own PDS by the same backfill the consumer uses. Every step is written down as
//! it goes (see [`crate::server::store::NetworkImport`]): a restart resumes the listing at its
//! cursor and reads only the repos not read yet.
//!
//! Bounded: at most [`MAX_REPOS`] repos per import, [`WORKERS`] read at once, each tried
//! [`ATTEMPTS`] times. A repo that cannot be read is reported on `/admin` and can be retried; a
//! relay that does not answer stops the run (it resumes on the next start or request).

use crate::domain::{Collection, Did};
use crate::server::{
    error::Chain,
    firehose::{BackfillError, Repos},
    outbound::Outbound,
    store::{NetworkImport, Store, StoreError},
};
use chrono::Utc;
use serde::Deserialize;
use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio_util::sync::CancellationToken;

/// The most repos one import reads.
pub const MAX_REPOS: usize = 100_000;
/// Repos read at once.
pub const WORKERS: usize = 2;
/// How many times a repo is tried before it is reported as failed.
pub const ATTEMPTS: i32 = 3;
/// How many repos one page of the relay's listing asks for.
const PAGE_SIZE: u32 = 500;
/// The most bytes of one page of the listing.
const PAGE_MAX_BYTES: usize = 2 * 1024 * 1024;
/// How long to wait before trying a repo that failed again, per attempt it had.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("an import is already running")]
    AlreadyRunning,
    #[error("the relay did not answer the listing: {0}")]
    Relay(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One page of `com.atproto.sync.listReposByCollection`.
#[derive(Debug, Deserialize)]
struct ListedPage {
    #[serde(default)]
    repos: Vec<ListedRepo>,
    cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ListedRepo {
    did: String,
}

pub struct Importer {
    store: Store,
    repos: Arc<Repos>,
    http: Arc<Outbound>,
    relay: url::Url,
    running: AtomicBool,
}

/// Releases the claim on running when a run ends, however it ends.
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Importer {
    pub fn new(store: Store, repos: Arc<Repos>, http: Arc<Outbound>, relay: url::Url) -> Self {
        Self {
            store,
            repos,
            http,
            relay,
            running: AtomicBool::new(false),
        }
    }

    pub fn relay(&self) -> &url::Url {
        &self.relay
    }

    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// Starts (or resumes) an import in the background and returns at once; `false` when one
    /// runs already.
    pub fn start(self: &Arc<Self>, stop: CancellationToken) -> bool {
        if self.is_running() {
            return false;
        }
        let importer = Arc::clone(self);
        tokio::spawn(async move {
            match importer.run(stop).await {
                Ok(()) | Err(ImportError::AlreadyRunning) => {}
                Err(e) => {
                    tracing::warn!(error = %Chain(&e), "the network import stopped; it resumes on the next start")
                }
            }
        });
        true
    }

    /// At start-up: the first import, or the rest of one a restart interrupted.
    pub async fn resume_or_begin(self: &Arc<Self>, stop: CancellationToken) -> Result<(), ImportError> {
        match self.store.latest_import().await? {
            Some(import) if import.finished_at.is_some() => {}
            _ => {
                self.start(stop);
            }
        }
        Ok(())
    }

    /// Runs the unfinished import (or a new one) until it is done or `stop`.
    pub async fn run(&self, stop: CancellationToken) -> Result<(), ImportError> {
        if self.running.swap(true, Ordering::AcqRel) {
            return Err(ImportError::AlreadyRunning);
        }
        let _running = Running(&self.running);
        let import = match self.store.latest_import().await? {
            Some(import) if import.finished_at.is_none() => import,
            _ => {
                self.store
                    .start_import(self.relay.as_str(), Collection::Event.nsid(), Utc::now())
                    .await?
            }
        };
        tracing::info!(import = import.id, relay = %self.relay, "importing the network's calendar records");
        self.list(&import, &stop).await?;
        self.read_repos(import.id, &stop).await?;
        if !stop.is_cancelled() {
            self.store.finish_import(import.id, Utc::now()).await?;
            tracing::info!(import = import.id, "the network import is done");
        }
        Ok(())
    }

    /// Lists the repos of each calendar collection from where the listing stands.
    async fn list(&self, import: &NetworkImport, stop: &CancellationToken) -> Result<(), ImportError> {
        let mut listing = import.listing.clone();
        let mut cursor = import.cursor.clone();
        let mut listed = 0;
        while let Some(collection) = listing {
            if stop.is_cancelled() {
                return Ok(());
            }
            let page = self.page(&collection, cursor.as_deref()).await?;
            let dids: Vec<Did> = page
                .repos
                .iter()
                .filter_map(|repo| match Did::parse(&repo.did) {
                    Ok(did) => Some(did),
                    Err(e) => {
                        tracing::debug!(error = %e, "the relay listed something that is not a DID");
                        None
                    }
                })
                .collect();
            listed += dids.len();
            // The listing of a collection ends with a page that has no cursor (or no repos).
            let (next_listing, next_cursor) = match page.cursor {
                Some(next) if !page.repos.is_empty() && listed < MAX_REPOS => (Some(collection), Some(next)),
                _ => (next_collection(&collection), None),
            };
            if listed >= MAX_REPOS {
                tracing::warn!(
                    listed,
                    "the network import reached its bound of repos; the rest is not listed"
                );
            }
            let next_listing = next_listing.filter(|_| listed < MAX_REPOS);
            self.store
                .import_listed(import.id, &dids, next_listing.as_deref(), next_cursor.as_deref())
                .await?;
            listing = next_listing;
            cursor = next_cursor;
        }
        Ok(())
    }

    /// One page of the relay's listing of `collection`.
    async fn page(&self, collection: &str, cursor: Option<&str>) -> Result<ListedPage, ImportError> {
        let mut url = self
            .relay
            .join("xrpc/com.atproto.sync.listReposByCollection")
            .map_err(|e| ImportError::Relay(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("collection", collection)
            .append_pair("limit", &PAGE_SIZE.to_string());
        if let Some(cursor) = cursor {
            url.query_pairs_mut().append_pair("cursor", cursor);
        }
        let response = self
            .http
            .get(&url, PAGE_MAX_BYTES)
            .await
            .map_err(|e| ImportError::Relay(Chain(&e).to_string()))?;
        if !response.status().is_success() {
            return Err(ImportError::Relay(format!("HTTP {}", response.status().as_u16())));
        }
        serde_json::from_slice(response.body()).map_err(|e| ImportError::Relay(format!("not a listing: {e}")))
    }

    /// Reads the queued repos, [`WORKERS`] at a time, until none is left or `stop`.
    async fn read_repos(&self, id: i64, stop: &CancellationToken) -> Result<(), ImportError> {
        loop {
            if stop.is_cancelled() {
                return Ok(());
            }
            let batch = self.store.queued_repos(id, WORKERS as i64).await?;
            if batch.is_empty() {
                return Ok(());
            }
            // Only repos that failed before are left: give their PDSes a moment.
            if let Some(fewest) = batch.iter().map(|(_, attempts)| *attempts).min().filter(|n| *n > 0) {
                tokio::select! {
                    () = stop.cancelled() => return Ok(()),
                    () = tokio::time::sleep(RETRY_PAUSE * fewest.unsigned_abs()) => {}
                }
            }
            let reads = batch.iter().map(|(did, attempts)| self.read_repo(id, did, *attempts));
            for result in futures_util::future::join_all(reads).await {
                result?;
            }
        }
    }

    /// Reads one repo into the cache and writes down how it went. `Err` only when the store
    /// fails: a repo that cannot be read is that repo's failure, not the import's.
    async fn read_repo(&self, id: i64, did: &str, attempts: i32) -> Result<(), ImportError> {
        let read = match Did::parse(did) {
            Ok(did) => self.repos.backfill(&did, None).await,
            Err(e) => {
                self.store.repo_failed(id, did, &e.to_string(), true).await?;
                return Ok(());
            }
        };
        match read {
            Ok(differences) => {
                let records = (differences.missing + differences.stale) as i64;
                self.store.repo_imported(id, did, records).await?;
            }
            Err(BackfillError::Store(e)) => return Err(e.into()),
            Err(e @ BackfillError::Pds(_)) => {
                let last = attempts + 1 >= ATTEMPTS;
                let reason = Chain(&e).to_string();
                tracing::info!(
                    did,
                    error = reason,
                    last,
                    "a repo of the network import could not be read"
                );
                self.store.repo_failed(id, did, &reason, last).await?;
            }
        }
        Ok(())
    }
}

/// The collection listed after `collection`; `None` after the last.
fn next_collection(collection: &str) -> Option<String> {
    let all = Collection::ALL.map(Collection::nsid);
    let at = all.iter().position(|nsid| *nsid == collection)?;
    all.get(at + 1).map(|nsid| (*nsid).to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn events_are_listed_then_answers() {
        assert_eq!(
            super::next_collection("community.lexicon.calendar.event").as_deref(),
            Some("community.lexicon.calendar.rsvp")
        );
        assert_eq!(super::next_collection("community.lexicon.calendar.rsvp"), None);
        assert_eq!(super::next_collection("app.bsky.feed.post"), None);
    }
}
