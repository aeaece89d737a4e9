//! What a person's PDS holds, remembered briefly. A user page lists someone's events as their PDS
//! holds them; reading the whole collection from their PDS on every view would make each view
//! wait on someone else's server (and let anyone make us hammer it). So a listing is kept for
//! [`LISTING_TTL`], and read again sooner as soon as Skymeet's own copy of that person's events
//! changes (an edit made here, or one the firehose brought), so a change always shows at once.

use super::reads::ForeignRead;
use crate::domain::{AtUri, Did, TimeZoneName};
use crate::server::{
    identity::Identity,
    pds::{
        calendar_event::{CalendarEvent, COLLECTION},
        record_url, PdsError,
    },
    store::Event,
};
use chrono::{DateTime, Utc};
use quick_cache::{sync::Cache, Weighter};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// How long a listing is believed while Skymeet's copy does not change.
pub const LISTING_TTL: Duration = Duration::from_secs(30);
/// The most records read from one PDS for a user page.
const LISTING_MAX_RECORDS: usize = 500;
/// The most records remembered over all listings (a few MiB).
const REMEMBERED_MAX_RECORDS: u64 = 50_000;

/// What Skymeet's copy of one person's events looked like when a listing was read: any create,
/// edit or delete in the copy gives another version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyVersion {
    count: usize,
    last_change: Option<DateTime<Utc>>,
    last_id: Option<i64>,
}

impl CopyVersion {
    pub fn of(events: &[Event]) -> Self {
        Self {
            count: events.len(),
            last_change: events.iter().map(|e| e.updated_at).max(),
            last_id: events.iter().map(|e| e.id).max(),
        }
    }
}

/// One read of a person's events collection.
#[derive(Debug)]
pub struct Listing {
    read: Instant,
    version: CopyVersion,
    /// Every record's URI, in the order the PDS lists them, with how it reads when Skymeet has no
    /// copy of it: `None` for a record that is no showable event (the checks the cache applies).
    pub records: Vec<(String, Option<ForeignRead>)>,
}

impl Listing {
    fn is_current(&self, version: CopyVersion) -> bool {
        self.version == version && self.read.elapsed() < LISTING_TTL
    }

    fn parse(records: Vec<crate::server::pds::RecordEntry>, pds: &str, version: CopyVersion) -> Self {
        let records = records
            .into_iter()
            .map(|entry| {
                let foreign = match CalendarEvent::from_value(entry.value) {
                    Ok(record) if record.check().is_ok() => Some(ForeignRead {
                        draft: record.draft(record.time_zone().zone_or(TimeZoneName::utc())),
                        unknown_zone: record.time_zone().unknown,
                        places: record.places(),
                        owner: None,
                        record_url: AtUri::parse(&entry.uri).ok().and_then(|uri| record_url(pds, &uri)),
                        at_uri: entry.uri.clone(),
                        read_at: Utc::now(),
                    }),
                    _ => {
                        tracing::debug!(uri = entry.uri, "skipping a record that is not a showable event");
                        None
                    }
                };
                (entry.uri, foreign)
            })
            .collect();
        Self {
            read: Instant::now(),
            version,
            records,
        }
    }
}

#[derive(Clone)]
struct ByRecords;

impl Weighter<Did, Arc<Listing>> for ByRecords {
    fn weight(&self, _did: &Did, listing: &Arc<Listing>) -> u64 {
        listing.records.len().max(1) as u64
    }
}

/// The listings read lately, bounded by how many records they hold together.
pub struct Listings {
    cache: Cache<Did, Arc<Listing>, ByRecords>,
}

impl Default for Listings {
    fn default() -> Self {
        Self {
            cache: Cache::with_weighter(1_000, REMEMBERED_MAX_RECORDS, ByRecords),
        }
    }
}

impl Listings {
    /// `did`'s events collection as their PDS holds it, while Skymeet's copy is at `version`.
    /// Views at the same moment share one read.
    pub async fn of(&self, identity: &Identity, did: &Did, version: CopyVersion) -> Result<Arc<Listing>, PdsError> {
        // Twice at most: a stale listing is dropped and the next look either finds a listing
        // someone else just read or takes the turn to read it.
        for _ in 0..2 {
            match self.cache.get_value_or_guard_async(did).await {
                Ok(listing) if listing.is_current(version) => return Ok(listing),
                Ok(_) => {
                    self.cache.remove(did);
                }
                Err(guard) => {
                    let listing = Arc::new(read(identity, did, version).await?);
                    // Refused only when the entry changed meanwhile: this read is still good.
                    let _ = guard.insert(Arc::clone(&listing));
                    return Ok(listing);
                }
            }
        }
        Ok(Arc::new(read(identity, did, version).await?))
    }
}

async fn read(identity: &Identity, did: &Did, version: CopyVersion) -> Result<Listing, PdsError> {
    let (repo, pds) = identity.public_repo(did).await?;
    let records = repo.list_all_records(COLLECTION, LISTING_MAX_RECORDS).await?;
    Ok(Listing::parse(records, &pds, version))
}
