//! Reading whole repos into the cache: a backfill makes the cache hold exactly the calendar
//! records a repo holds (at sign-in, on request, after a sequence gap, for reconciliation), and a
//! replay reads one dead-lettered record again. Both go through the one record mapping
//! ([`crate::server::records`]) the consumer uses.

use crate::domain::{AtUri, Collection, Did};
use crate::server::{
    identity::Identity,
    pds::PdsError,
    records::{self, RecordOwner, RecordState},
    store::{Applied, DeadLetter, RecordChange, Store, StoreError},
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// The most records one backfill reads from a repo, per collection.
const BACKFILL_MAX_RECORDS: usize = 10_000;
/// How long the consumer waits to learn a new DID's handle and PDS before going on without them.
pub const IDENTIFY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);
/// How long listing one repo may take in all, however its PDS pages the answer.
const LISTING_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);
/// How many repos' owner and PDS are remembered.
const REPO_CACHE: usize = 10_000;
/// What a dead letter names as its source when no consumer found it (a backfill of its own).
const BACKFILL_SOURCE: &str = "backfill";

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

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("reading the repo failed")]
    Pds(#[source] PdsError),
    #[error("the store failed")]
    Store(#[source] StoreError),
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

/// Repos as the cache sees them: who owns each here and where it lives, and reading them whole.
/// Whether [`Repos::locate`] learned all it wanted about a DID in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Located {
    Fully,
    /// The DID's server was too slow: no handle or PDS yet.
    Partly,
}

pub struct Repos {
    store: Store,
    identity: Arc<Identity>,
    /// Per DID: its user id and its PDS (for record links), so a busy repo costs one lookup.
    known: Mutex<HashMap<Did, (i64, String)>>,
}

impl Repos {
    pub fn new(store: Store, identity: Arc<Identity>) -> Self {
        Self {
            store,
            identity,
            known: Mutex::default(),
        }
    }

    /// The owner's user id and PDS for a DID, remembered (at most `REPO_CACHE` DIDs). Learning
    /// who a new DID is asks its DID document's host (anyone's server, for a `did:web`): that
    /// gets [`IDENTIFY_DEADLINE`], after which the owner is a user without a handle and the PDS is
    /// unknown (`""`, so no record links); `Located::Partly` tells the caller to have the repo
    /// read again in the background, which fills both in.
    pub async fn locate(&self, did: &Did) -> Result<(i64, String, Located), StoreError> {
        if let Some((owner, pds)) = self.known.lock().unwrap_or_else(|p| p.into_inner()).get(did) {
            return Ok((*owner, pds.clone(), Located::Fully));
        }
        let identified = async {
            let owner = self.owner(did).await?;
            Ok::<_, StoreError>((owner, self.identity.pds_endpoint(did).await.unwrap_or_default()))
        };
        let (owner, pds, located) = match tokio::time::timeout(IDENTIFY_DEADLINE, identified).await {
            Ok(identified) => {
                let (owner, pds) = identified?;
                (owner, pds, Located::Fully)
            }
            Err(_) => {
                tracing::info!(%did, "the DID's server is slow; going on without its handle and PDS for now");
                (self.store.shadow_user(did, None).await?, String::new(), Located::Partly)
            }
        };
        self.remember(did, owner, &pds);
        Ok((owner, pds, located))
    }

    /// Whether a DID's owner and PDS are remembered ([`Repos::locate`] answers at once).
    pub fn knows(&self, did: &Did) -> bool {
        self.known.lock().unwrap_or_else(|p| p.into_inner()).contains_key(did)
    }

    /// Remembers a DID's owner and PDS (forgetting all at once beyond `REPO_CACHE` DIDs).
    fn remember(&self, did: &Did, owner: i64, pds: &str) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= REPO_CACHE {
            known.clear();
        }
        known.insert(did.clone(), (owner, pds.to_owned()));
    }

    /// Forgets what is remembered of a DID: after an `#identity` frame its PDS may have moved.
    pub fn forget(&self, did: &Did) {
        self.known.lock().unwrap_or_else(|p| p.into_inner()).remove(did);
    }

    /// The user for a DID: the existing one, or a new shadow user, with the handle its DID
    /// document names if that handle resolves back to the DID (a user without a handle gets it
    /// checked again here).
    pub async fn owner(&self, did: &Did) -> Result<i64, StoreError> {
        let existing = self.store.user_by_did(did).await?;
        if let Some(user) = existing.as_ref().filter(|user| user.handle.is_some()) {
            return Ok(user.id);
        }
        let handle = match self.identity.verified_handle(did).await {
            Ok(handle) => handle,
            Err(e) => {
                tracing::debug!(%did, error = %e, "no verified handle yet");
                None
            }
        };
        match existing {
            Some(user) => {
                if let Some(handle) = &handle {
                    self.store.set_handle(did, Some(handle)).await?;
                }
                Ok(user.id)
            }
            None => self.store.shadow_user(did, handle.as_ref()).await,
        }
    }

    /// Makes the cache hold exactly the calendar events and RSVPs in `did`'s repo: reads them with
    /// `listRecords`, upserts each, removes the cached ones the repo no longer has. Says what
    /// differed (for reconciliation). `cursor` is the consumer's `(endpoint, seq)` when a frame
    /// asked for this; it moves with the changes. A backfill of its own (sign-in, repair,
    /// reconciliation) leaves the cursor alone: moving it could only move it back.
    #[tracing::instrument(skip_all, fields(did = %did), err)]
    pub async fn backfill(&self, did: &Did, cursor: Option<(&str, i64)>) -> Result<Differences, BackfillError> {
        let owner = self.owner(did).await.map_err(BackfillError::Store)?;
        // What the cache holds, at-uri -> CID, read *before* the repo is listed: a record that
        // arrives (from the firehose or a publish here) while the listing runs is not in this
        // snapshot, so it can never be taken for one the repo no longer has and deleted.
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

        let (repo, pds) = self.identity.public_repo(did).await.map_err(BackfillError::Pds)?;
        // A PDS answering one record per page, slowly, must not hold a backfill for hours.
        let listing = async {
            let mut entries = Vec::new();
            for collection in Collection::ALL {
                let listed = repo.list_all_records(collection.nsid(), BACKFILL_MAX_RECORDS).await?;
                entries.extend(listed.into_iter().map(|entry| (collection, entry)));
            }
            Ok(entries)
        };
        let entries = tokio::time::timeout(LISTING_DEADLINE, listing)
            .await
            .unwrap_or_else(|_| {
                Err(PdsError::Unreachable(format!(
                    "listing the repo took longer than {} s",
                    LISTING_DEADLINE.as_secs()
                )))
            })
            .map_err(BackfillError::Pds)?;

        let whose = RecordOwner {
            did,
            user_id: owner,
            pds: &pds,
        };
        let (source, seq) = cursor.unzip();
        let mut differences = Differences::default();
        let mut changes = Vec::with_capacity(entries.len());
        for (collection, entry) in entries {
            let (Ok(uri), Some(cid)) = (AtUri::parse(&entry.uri), entry.cid) else {
                continue;
            };
            match cached.remove(&entry.uri) {
                None => differences.missing += 1,
                Some(held) if held.as_deref() != Some(cid.as_str()) => differences.stale += 1,
                Some(_) => {}
            }
            let state = RecordState::Present {
                value: entry.value.clone(),
                cid,
            };
            match records::change(whose, collection, uri.rkey(), state, None) {
                Ok(change) => changes.push(change),
                Err(error) => self
                    .store
                    .add_dead_letter(
                        source.unwrap_or(BACKFILL_SOURCE),
                        seq,
                        &error,
                        None,
                        Some(&entry.value),
                        Some(&entry.uri),
                    )
                    .await
                    .map_err(BackfillError::Store)?,
            }
        }
        // Whatever is left is cached but gone from the repo.
        for at_uri in cached.into_keys() {
            differences.deleted += 1;
            let rev = None;
            changes.push(match AtUri::parse(&at_uri) {
                Ok(uri) if uri.collection() == Collection::Rsvp.nsid() => RecordChange::DeleteRsvp { at_uri, rev },
                _ => RecordChange::Delete { at_uri, rev },
            });
        }
        let applied = self
            .store
            .apply_firehose_changes(cursor, &changes)
            .await
            .map_err(BackfillError::Store)?;
        for (change, outcome) in changes.iter().zip(applied) {
            if let Applied::Refused(reason) = outcome {
                self.store
                    .add_dead_letter(
                        source.unwrap_or(BACKFILL_SOURCE),
                        seq,
                        &reason,
                        None,
                        change.record(),
                        Some(change.at_uri()),
                    )
                    .await
                    .map_err(BackfillError::Store)?;
            }
        }
        // What this read learned of the repo replaces whatever the consumer had to go on.
        self.remember(did, owner, &pds);
        Ok(differences)
    }

    /// Replays a dead letter once its cause is fixed: reads its record again from its owner's PDS
    /// (the source of truth) and applies it, or its deletion when it is gone. The dead letter is
    /// removed when that worked; otherwise it stays, and the error says why.
    pub async fn replay(&self, letter: &DeadLetter) -> Result<(), ReplayError> {
        let uri = letter
            .uri
            .as_deref()
            .and_then(|uri| AtUri::parse(uri).ok())
            .ok_or(ReplayError::NoRecord)?;
        let Some(collection) = Collection::from_nsid(uri.collection()) else {
            return Err(ReplayError::StillBad(format!(
                "{} is no calendar collection",
                uri.collection()
            )));
        };
        let did = uri.did().clone();
        let (repo, pds) = self.identity.public_repo(&did).await.map_err(ReplayError::Pds)?;
        let entry = repo
            .get_record(uri.collection(), uri.rkey())
            .await
            .map_err(ReplayError::Pds)?;
        let state = match entry {
            None => RecordState::Gone,
            Some(entry) => RecordState::Present {
                cid: entry
                    .cid
                    .ok_or_else(|| ReplayError::StillBad("the PDS sent no CID".to_owned()))?,
                value: entry.value,
            },
        };
        let whose = RecordOwner {
            did: &did,
            user_id: self.owner(&did).await?,
            pds: &pds,
        };
        let change = records::change(whose, collection, uri.rkey(), state, None).map_err(ReplayError::StillBad)?;
        let applied = self.store.apply_firehose_changes(None, &[change]).await?;
        if let Some(Applied::Refused(reason)) = applied.into_iter().next() {
            return Err(ReplayError::StillBad(reason));
        }
        self.store.delete_dead_letter(letter.id).await?;
        Ok(())
    }
}
