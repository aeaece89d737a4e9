//! A calendar record from the network as a change to the cache: one mapping, used by the firehose
//! consumer, backfills, dead-letter replays and reconciliation alike.
//!
//! Records come from strangers and the PDS does not check them against the lexicon, so the
//! mapping checks what the cache needs (a name, a subject, a valid key, a CID) and says why a
//! record does not fit; the caller dead-letters it with that reason and goes on.

use crate::domain::{AtUri, Collection, Did, Rev, Rkey, TimeZoneName};
use crate::server::{
    calendar::{cached_event, cached_rsvp},
    error::Chain,
    store::RecordChange,
};
use serde_json::Value;

/// A record as its repo holds it now (or held it at `rev`).
#[derive(Debug, Clone)]
pub enum RecordState {
    /// Created or updated: the record and its CID.
    Present { value: Value, cid: String },
    /// Deleted (or never there).
    Gone,
}

/// Where the record lives and who owns it here.
#[derive(Debug, Clone, Copy)]
pub struct RecordOwner<'a> {
    pub did: &'a Did,
    /// Skymeet's user for the DID.
    pub user_id: i64,
    /// The PDS the repo lives on (for links to the record); empty when unknown.
    pub pds: &'a str,
}

/// Why a record cannot be stored at all, if it cannot: PostgreSQL refuses the NUL character in
/// `text` and `jsonb`, anywhere in the record (unknown fields too, since the record is kept whole).
pub fn unstorable(value: &Value) -> Option<String> {
    // Iterative, so a deeply nested record cannot exhaust the stack.
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::String(text) if text.contains('\0') => return Some("a string holds a NUL character".to_owned()),
            Value::Array(items) => pending.extend(items),
            Value::Object(fields) => {
                if fields.keys().any(|key| key.contains('\0')) {
                    return Some("a field name holds a NUL character".to_owned());
                }
                pending.extend(fields.values());
            }
            _ => {}
        }
    }
    None
}

/// The change `state` makes to the cache for the record `collection/rkey` of `owner`'s repo, at
/// repo revision `rev` (none: as the repo is now, read by a backfill). `Err` says why the record
/// does not fit the cache.
pub fn change(
    owner: RecordOwner<'_>,
    collection: Collection,
    rkey: &Rkey,
    state: RecordState,
    rev: Option<&Rev>,
) -> Result<RecordChange, String> {
    let at_uri = AtUri::new(owner.did.clone(), collection.nsid(), rkey.clone()).to_string();
    let rev = rev.cloned();
    if let RecordState::Present { value, .. } = &state {
        if let Some(reason) = unstorable(value) {
            return Err(reason);
        }
    }
    match (collection, state) {
        (Collection::Event, RecordState::Gone) => Ok(RecordChange::Delete { at_uri, rev }),
        (Collection::Rsvp, RecordState::Gone) => Ok(RecordChange::DeleteRsvp { at_uri, rev }),
        (Collection::Event, RecordState::Present { value, cid }) => cached_event(
            owner.did,
            owner.user_id,
            rkey,
            value,
            &cid,
            TimeZoneName::utc(),
            owner.pds,
        )
        .map(|event| RecordChange::Upsert {
            event: Box::new(event),
            rev,
        })
        .map_err(|e| Chain(&e).to_string()),
        (Collection::Rsvp, RecordState::Present { value, cid }) => cached_rsvp(owner.user_id, at_uri, value, cid)
            .map(|rsvp| RecordChange::UpsertRsvp {
                rsvp: Box::new(rsvp),
                rev,
            })
            .map_err(|e| e.to_string()),
    }
}
