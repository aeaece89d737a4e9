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

/// How deeply a record may nest objects and arrays (calendar records need four levels).
pub const MAX_DEPTH: usize = 32;
/// How much text a record may hold, field names included (an event's description is most of it).
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Why a record cannot be kept at all, if it cannot: PostgreSQL refuses the NUL character in
/// `text` and `jsonb`, anywhere in the record (unknown fields too, since the record is kept
/// whole), and the cache keeps no record deeper than [`MAX_DEPTH`] or with more text than
/// [`MAX_TEXT_BYTES`].
pub fn unfit(value: &Value) -> Option<String> {
    // Iterative, so a deeply nested record cannot exhaust the stack.
    let mut pending = vec![(value, 0)];
    let mut text = 0usize;
    while let Some((value, depth)) = pending.pop() {
        if depth > MAX_DEPTH {
            return Some(format!("nested more than {MAX_DEPTH} levels deep"));
        }
        match value {
            Value::String(string) => {
                if string.contains('\0') {
                    return Some("a string holds a NUL character".to_owned());
                }
                text += string.len();
            }
            Value::Array(items) => pending.extend(items.iter().map(|item| (item, depth + 1))),
            Value::Object(fields) => {
                for (key, value) in fields {
                    if key.contains('\0') {
                        return Some("a field name holds a NUL character".to_owned());
                    }
                    text += key.len();
                    pending.push((value, depth + 1));
                }
            }
            _ => {}
        }
        if text > MAX_TEXT_BYTES {
            return Some(format!("more than {} kB of text", MAX_TEXT_BYTES / 1024));
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
        if let Some(reason) = unfit(value) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_the_cache_cannot_keep_are_named() {
        assert_eq!(unfit(&json!({"name": "Meetup", "tags": ["a", {"b": 1}]})), None);
        assert!(unfit(&json!({"name": "a\u{0}b"})).is_some_and(|r| r.contains("NUL")));
        assert!(unfit(&json!({"x": {"a\u{0}": 1}})).is_some_and(|r| r.contains("field name")));
        assert!(unfit(&json!({"description": "x".repeat(MAX_TEXT_BYTES + 1)})).is_some_and(|r| r.contains("kB")));
        let mut deep = json!("bottom");
        for _ in 0..=MAX_DEPTH {
            deep = Value::Array(vec![deep]);
        }
        assert!(unfit(&deep).is_some_and(|r| r.contains("nested")));
        // Deep enough to overflow a recursive walk: still an answer, not a crash.
        let mut deeper = Value::Null;
        for _ in 0..100_000 {
            deeper = Value::Array(vec![deeper]);
        }
        assert!(unfit(&deeper).is_some());
        // Dropping it recursively would overflow the stack too: take it apart by hand.
        let mut value = deeper;
        while let Value::Array(mut items) = value {
            value = items.pop().unwrap_or(Value::Null);
        }
    }

    mod generated {
        //! Records made up by proptest: any shape, any type in any field, any text (NUL, control
        //! characters, markup, huge numbers). The mapping never panics, and whatever it accepts
        //! is something the cache can hold and the page can show.

        use super::super::*;
        use crate::server::pds::calendar_event::CalendarEvent;
        use proptest::prelude::*;
        use serde_json::{Map, Value};

        const FIELDS: &[&str] = &[
            "$type",
            "name",
            "description",
            "text",
            "createdAt",
            "startsAt",
            "endsAt",
            "mode",
            "status",
            "locations",
            "uris",
            "uri",
            "rsvpExpected",
            "latitude",
            "longitude",
            "country",
            "locality",
            "subject",
            "cid",
            "value",
        ];

        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                Just(" \t\n ".to_owned()),
                Just("x </title><script>alert(1)</script>".to_owned()),
                Just("javascript:alert(1)".to_owned()),
                Just("https://example.com/a".to_owned()),
                Just("2031-05-01T18:00:00Z".to_owned()),
                Just("2026-02-30T10:00".to_owned()),
                Just("community.lexicon.calendar.event#virtual".to_owned()),
                Just("community.lexicon.calendar.rsvp#going".to_owned()),
                Just("community.lexicon.location.geo".to_owned()),
                Just("at://did:plc:abc/community.lexicon.calendar.event/3k".to_owned()),
                "[a-z\\x00-\\x1f]{0,12}",
            ]
        }

        fn value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
                text().prop_map(Value::from),
            ];
            leaf.prop_recursive(3, 24, 5, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::vec((key(), inner), 0..6)
                        .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
                ]
            })
        }

        fn key() -> impl Strategy<Value = String> {
            prop_oneof![4 => prop::sample::select(FIELDS).prop_map(str::to_owned), 1 => any::<String>()]
        }

        fn record() -> impl Strategy<Value = Value> {
            prop::collection::vec((key(), value()), 0..8)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>()))
        }

        proptest! {
            // At least 100,000 records per run (PROPTEST_CASES sets more for a long run).
            #![proptest_config(ProptestConfig {
                cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000).max(100_000),
                failure_persistence: None,
                ..ProptestConfig::default()
            })]

            #[test]
            fn any_record_maps_without_panic_and_what_is_accepted_fits(record in record(), rsvp in any::<bool>()) {
                let did = Did::parse("did:plc:generated").expect("DID");
                let rkey = Rkey::parse("3mabcdefghij2").expect("rkey");
                let owner = RecordOwner { did: &did, user_id: 1, pds: "https://pds.example" };
                let collection = if rsvp { Collection::Rsvp } else { Collection::Event };
                let state = RecordState::Present { value: record.clone(), cid: "bafy".to_owned() };
                match change(owner, collection, &rkey, state, None) {
                    Ok(RecordChange::Upsert { event, .. }) => {
                        prop_assert!(!event.name.trim().is_empty());
                        prop_assert!(!event.name.chars().any(char::is_control));
                        prop_assert!(unfit(&record).is_none());
                        // What the page shows is made from it without a panic.
                        let parsed = CalendarEvent::from_value(record).expect("accepted, so it parses");
                        let draft = parsed.draft(crate::domain::TimeZoneName::utc());
                        prop_assert_eq!(draft.name.trim(), event.name.as_str());
                    }
                    Ok(RecordChange::UpsertRsvp { rsvp, .. }) => {
                        prop_assert!(crate::domain::AtUri::parse(&rsvp.subject_uri).is_ok());
                        prop_assert!(unfit(&record).is_none());
                    }
                    Ok(other) => prop_assert!(false, "a present record became {other:?}"),
                    Err(reason) => prop_assert!(!reason.is_empty()),
                }
            }
        }
    }
}
