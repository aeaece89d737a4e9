//! The storage contract: every test runs against PostgreSQL and against SQLite.

use crate::helpers::{Engine, TestDatabase};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::json;
use skymeet::domain::{Did, Handle, Provider, Rkey, SyncStatus, TimeZoneName};
use skymeet::server::store::{
    NewBlueskyUser, NewEvent, NewPendingWrite, Profile, SourceTracking, SourceType, Store, StoreError, WriteOperation,
    WriteState,
};

macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    let database = crate::helpers::TestDatabase::new(crate::helpers::Engine::Postgres).await;
                    super::$test(database.store().await).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    let database = crate::helpers::TestDatabase::new(crate::helpers::Engine::Sqlite).await;
                    super::$test(database.store().await).await;
                }
            )*
        }
    };
}

contract!(
    migrations_run_and_the_database_answers,
    upserting_a_did_twice_keeps_one_user,
    users_are_found_by_did_and_id,
    an_event_keeps_its_source_tracking,
    a_record_is_stored_at_most_once,
    upcoming_events_are_soonest_first_and_skip_the_past,
    deleting_an_event_removes_only_it,
    a_blank_event_name_is_refused,
    a_did_seen_before_sign_in_becomes_the_same_user,
    the_profile_is_replaced_by_what_the_pds_holds,
    a_pending_write_is_one_per_record_and_the_newest_intent_wins,
    publishing_settles_the_pending_write_in_the_same_transaction,
    a_failed_publish_keeps_the_pending_write,
    publishing_a_deleted_record_again_clears_its_tombstone,
    due_writes_are_claimed_by_one_worker_only,
    a_batch_of_firehose_changes_applies_as_one_by_one_would,
);

fn alice() -> NewBlueskyUser {
    NewBlueskyUser {
        did: Did::parse(&format!("did:plc:{}", crate::helpers::unique("alice"))).expect("valid DID"),
        handle: Some(Handle::parse("alice.test").expect("valid handle")),
        display_name: Some("Alice".to_owned()),
        avatar_url: None,
    }
}

/// Database timestamps keep microseconds.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn event(name: &str, starts_at: Option<DateTime<Utc>>) -> NewEvent {
    NewEvent {
        owner_id: None,
        name: name.to_owned(),
        description: None,
        starts_at,
        ends_at: starts_at.map(|at| at + Duration::hours(2)),
        time_zone: TimeZoneName::utc(),
        source: SourceTracking::local(),
        record: None,
        findable: Default::default(),
        visibility: Default::default(),
    }
}

async fn migrations_run_and_the_database_answers(store: Store) {
    store.ping().await.expect("ping");
    // Running the migrations again (a restart) is a no-op.
    store.ping().await.expect("ping again");
}

async fn upserting_a_did_twice_keeps_one_user(store: Store) {
    let first = store.upsert_bluesky_user(&alice()).await.expect("insert");
    assert_eq!(first.provider, Provider::Bluesky);
    assert_eq!(first.display_name.as_deref(), Some("Alice"));

    let renamed = NewBlueskyUser {
        did: first.did.clone().expect("bluesky users have a DID"),
        handle: Some(Handle::parse("alice2.test").expect("valid")),
        display_name: None,
        avatar_url: Some("https://cdn.example/alice.jpg".to_owned()),
    };
    let second = store.upsert_bluesky_user(&renamed).await.expect("update");
    assert_eq!(second.id, first.id, "one user per DID");
    assert_eq!(second.handle.as_ref().map(Handle::as_str), Some("alice2.test"));
    assert_eq!(
        second.display_name.as_deref(),
        Some("Alice"),
        "a missing display name keeps the old one"
    );
    assert_eq!(second.avatar_url.as_deref(), Some("https://cdn.example/alice.jpg"));
    assert!(second.updated_at >= first.updated_at);
}

async fn users_are_found_by_did_and_id(store: Store) {
    let user = store.upsert_bluesky_user(&alice()).await.expect("insert");
    let did = user.did.clone().expect("DID");
    assert_eq!(store.user_by_did(&did).await.expect("query").as_ref(), Some(&user));
    assert_eq!(store.user_by_id(user.id).await.expect("query").as_ref(), Some(&user));
    let stranger = Did::parse("did:plc:nobodyhere").expect("valid");
    assert_eq!(store.user_by_did(&stranger).await.expect("query"), None);
    assert_eq!(store.user_by_id(user.id + 1000).await.expect("query"), None);
}

async fn an_event_keeps_its_source_tracking(store: Store) {
    let owner = store.upsert_bluesky_user(&alice()).await.expect("user");
    let did = owner.did.clone().expect("DID");
    let at_uri = format!("at://{did}/community.lexicon.calendar.event/3lbq2vxyzab2c");
    let synced = now();
    let new = NewEvent {
        owner_id: Some(owner.id),
        description: Some("Leptos, axum and ATProto".to_owned()),
        time_zone: TimeZoneName::parse("Europe/Berlin").expect("zone"),
        source: SourceTracking {
            source_type: SourceType::Bluesky,
            source_id: Some(did.to_string()),
            source_url: Some(format!("https://bsky.app/profile/{did}")),
            source_data: json!({"rkey": "3lbq2vxyzab2c", "cid": "bafyreib2", "syncStatus": "in_sync", "extra": [1, 2]}),
            last_synced_at: Some(synced),
            at_uri: Some(at_uri.clone()),
            rkey: Some("3lbq2vxyzab2c".to_owned()),
            cid: Some("bafyreib2".to_owned()),
            rev: Some(skymeet::domain::Rev::parse("3lbq2vxyzab2d").expect("a revision")),
            sync_status: SyncStatus::InSync,
            last_sync_error: Some("HTTP 502 from the PDS".to_owned()),
        },
        // Other apps' fields come back exactly.
        record: Some(json!({"name": "Rust meetup", "theme": {"opacity": 50}, "facets": [{"index": 3}]})),
        findable: Default::default(),
        visibility: Default::default(),
        ..event("Rust meetup", Some(now() + Duration::days(3)))
    };
    let stored = store.insert_event(&new).await.expect("insert");
    assert_eq!(stored.name, "Rust meetup");
    assert_eq!(stored.owner_id, Some(owner.id));
    assert_eq!(stored.starts_at, new.starts_at);
    assert_eq!(stored.ends_at, new.ends_at);
    assert_eq!(stored.time_zone.as_str(), "Europe/Berlin");
    assert_eq!(stored.source, new.source);
    assert_eq!(stored.record, new.record);

    assert_eq!(
        store.event_by_id(stored.id).await.expect("query").as_ref(),
        Some(&stored)
    );
    assert_eq!(
        store.event_by_at_uri(&at_uri).await.expect("query").as_ref(),
        Some(&stored)
    );
    assert_eq!(
        store
            .event_by_at_uri("at://did:plc:x/community.lexicon.calendar.event/none")
            .await
            .expect("query"),
        None
    );
}

async fn a_record_is_stored_at_most_once(store: Store) {
    let mut new = event("Twice", Some(now()));
    new.source.at_uri = Some("at://did:plc:abc/community.lexicon.calendar.event/3aaa".to_owned());
    new.source.source_type = SourceType::Bluesky;
    store.insert_event(&new).await.expect("first insert");
    match store.insert_event(&new).await {
        Err(StoreError::Duplicate(_)) => {}
        other => panic!("expected a duplicate error, got {other:?}"),
    }
    // Local events have no at-uri; any number of them may exist.
    store.insert_event(&event("Local one", None)).await.expect("local");
    store.insert_event(&event("Local two", None)).await.expect("local");
}

async fn upcoming_events_are_soonest_first_and_skip_the_past(store: Store) {
    let base = now();
    for (name, offset) in [("later", 48), ("past", -48), ("sooner", 2), ("ongoing", -1)] {
        store
            .insert_event(&event(name, Some(base + Duration::hours(offset))))
            .await
            .expect("insert");
    }
    store.insert_event(&event("undated", None)).await.expect("insert");
    let names: Vec<String> = store
        .upcoming_events(base, 10)
        .await
        .expect("query")
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["ongoing", "sooner", "later"]);
    let limited = store.upcoming_events(base, 1).await.expect("query");
    assert_eq!(limited.len(), 1);
}

async fn deleting_an_event_removes_only_it(store: Store) {
    let keep = store.insert_event(&event("keep", Some(now()))).await.expect("insert");
    let drop = store.insert_event(&event("drop", Some(now()))).await.expect("insert");
    assert!(store.delete_event(drop.id, None).await.expect("delete"));
    assert!(
        !store.delete_event(drop.id, None).await.expect("delete again"),
        "nothing left to delete"
    );
    assert_eq!(store.event_by_id(drop.id).await.expect("query"), None);
    assert!(store.event_by_id(keep.id).await.expect("query").is_some());
}

async fn a_blank_event_name_is_refused(store: Store) {
    let result = store.insert_event(&event("   ", None)).await;
    assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
}

#[tokio::test]
async fn the_embedded_database_is_created_with_its_folder() {
    let database = TestDatabase::new(Engine::Sqlite).await;
    let path = database.sqlite_path.clone().expect("sqlite");
    assert!(!std::path::Path::new(&path).exists());
    database.store().await.ping().await.expect("ping");
    assert!(std::path::Path::new(&path).exists());
}

async fn a_did_seen_before_sign_in_becomes_the_same_user(store: Store) {
    let new = alice();
    let first = store.user_id_for_did(&new.did).await.expect("created without a handle");
    assert_eq!(
        store.user_id_for_did(&new.did).await.expect("found"),
        first,
        "same id again"
    );
    let bare = store.user_by_id(first).await.expect("query").expect("user");
    assert_eq!(bare.handle, None);
    let signed_in = store.upsert_bluesky_user(&new).await.expect("sign-in completes");
    assert_eq!(signed_in.id, first, "one user per DID");
    assert_eq!(signed_in.handle.as_ref().map(Handle::as_str), Some("alice.test"));
}

async fn the_profile_is_replaced_by_what_the_pds_holds(store: Store) {
    let user = store.upsert_bluesky_user(&alice()).await.expect("user");
    let synced = now();
    let profile = Profile {
        display_name: Some("Alice A.".to_owned()),
        description: Some("Organiser".to_owned()),
        avatar_url: Some("http://localhost:2583/xrpc/com.atproto.sync.getBlob?did=x&cid=y".to_owned()),
        followers_count: Some(12),
        follows_count: Some(3),
    };
    store.update_profile(user.id, &profile, synced).await.expect("update");
    let read = store.user_by_id(user.id).await.expect("query").expect("user");
    assert_eq!((read.followers_count, read.follows_count), (Some(12), Some(3)));
    assert_eq!(read.display_name, profile.display_name);
    assert_eq!(read.description, profile.description);
    assert_eq!(read.avatar_url, profile.avatar_url);
    assert_eq!(read.profile_synced_at, Some(synced));
    // A field removed at the PDS is removed here too.
    store
        .update_profile(user.id, &Profile::default(), synced)
        .await
        .expect("update");
    let cleared = store.user_by_id(user.id).await.expect("query").expect("user");
    assert_eq!(
        (cleared.display_name, cleared.description, cleared.avatar_url),
        (None, None, None)
    );
}

/// A pooled connection that died while it sat idle (the server restarted, or closed it) is found
/// out before it is used, and replaced: the query after it succeeds. (The store pings only the
/// connections idle for a second or more, not every one before every query.)
#[tokio::test]
async fn a_connection_that_died_while_idle_is_replaced_before_use() {
    use sqlx::{postgres::PgConnectOptions, Connection, PgConnection};
    use std::str::FromStr;
    let database = TestDatabase::new(Engine::Postgres).await;
    let url = database.database_url.as_deref().expect("PostgreSQL");
    let name = crate::helpers::unique("idle");
    let options = PgConnectOptions::from_str(url)
        .expect("valid URL")
        .application_name(&name);
    let store = Store::connect_postgres(options, 2).await.expect("store");
    store.ping().await.expect("the database answers");
    let mut admin = PgConnection::connect(url).await.expect("connected");
    let (killed,): (i64,) = sqlx::query_as(
        "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity
                               where application_name = $1) as killed",
    )
    .bind(&name)
    .fetch_one(&mut admin)
    .await
    .expect("terminated");
    assert!(killed >= 1, "the store's connections were found");
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    store
        .ping()
        .await
        .expect("the dead connection is replaced, not handed out");
}

async fn pending_create(store: &Store, rkey: &str) -> NewPendingWrite {
    let owner = store.upsert_bluesky_user(&alice()).await.expect("user");
    NewPendingWrite {
        owner_id: owner.id,
        event_id: None,
        operation: WriteOperation::Create,
        collection: skymeet::domain::Collection::Event,
        rkey: Rkey::parse(rkey).expect("rkey"),
        record: Some(json!({"name": "Draft", "createdAt": "2026-11-24T00:00:00.000Z"})),
        swap_cid: None,
        time_zone: TimeZoneName::parse("Europe/Paris").expect("zone"),
    }
}

async fn a_pending_write_is_one_per_record_and_the_newest_intent_wins(store: Store) {
    let new = pending_create(&store, "3lbq2aaaaaaa2").await;
    let first = store.save_pending_write(&new, now()).await.expect("queued");
    assert_eq!((first.state, first.attempts), (WriteState::Pending, 0));
    assert_eq!(first.record, new.record);
    assert_eq!(first.time_zone.as_str(), "Europe/Paris");
    store
        .pending_write_failed(first.id, WriteState::Failed, "HTTP 400", now())
        .await
        .expect("failed");
    let failed = store
        .pending_write_by_id(first.id)
        .await
        .expect("query")
        .expect("write");
    assert_eq!((failed.state, failed.attempts), (WriteState::Failed, 1));
    assert_eq!(failed.last_error.as_deref(), Some("HTTP 400"));

    let newer = NewPendingWrite {
        record: Some(json!({"name": "Renamed"})),
        ..new.clone()
    };
    let second = store.save_pending_write(&newer, now()).await.expect("replaced");
    assert_eq!(second.id, first.id, "still one write for the record");
    assert_eq!(
        (second.state, second.attempts, second.last_error),
        (WriteState::Pending, 0, None)
    );
    assert_eq!(second.record, newer.record);
    assert_eq!(
        store.pending_writes_for_owner(new.owner_id).await.expect("list").len(),
        1
    );
    assert!(store.delete_pending_write(first.id).await.expect("discard"));
    assert!(store
        .pending_writes_for_owner(new.owner_id)
        .await
        .expect("list")
        .is_empty());
}

async fn publishing_settles_the_pending_write_in_the_same_transaction(store: Store) {
    let write = store
        .save_pending_write(&pending_create(&store, "3lbq2bbbbbbb2").await, now())
        .await
        .expect("queued");
    let mut published = event("Draft", Some(now()));
    published.owner_id = Some(write.owner_id);
    published.source.source_type = SourceType::Bluesky;
    published.source.at_uri = Some("at://did:plc:abc/community.lexicon.calendar.event/3lbq2bbbbbbb2".to_owned());
    let stored = store
        .insert_published_event(&published, Some(write.id))
        .await
        .expect("published");
    assert_eq!(store.pending_write_by_id(write.id).await.expect("query"), None);
    assert_eq!(
        store.events_by_owner(write.owner_id).await.expect("list"),
        std::slice::from_ref(&stored)
    );

    let mut renamed = published.clone();
    renamed.name = "Renamed".to_owned();
    let update = store
        .save_pending_write(
            &NewPendingWrite {
                event_id: Some(stored.id),
                operation: WriteOperation::Update,
                ..pending_create(&store, "3lbq2bbbbbbb2").await
            },
            now(),
        )
        .await
        .expect("queued");
    let updated = store
        .update_event_record(stored.id, &renamed, Some(update.id))
        .await
        .expect("updated")
        .expect("event");
    assert_eq!(updated.name, "Renamed");
    assert_eq!(store.pending_write_by_id(update.id).await.expect("query"), None);
}

async fn a_failed_publish_keeps_the_pending_write(store: Store) {
    let mut published = event("Twice", Some(now()));
    published.source.source_type = SourceType::Bluesky;
    published.source.at_uri = Some("at://did:plc:abc/community.lexicon.calendar.event/3lbq2cccccc22".to_owned());
    store.insert_event(&published).await.expect("first");
    let write = store
        .save_pending_write(&pending_create(&store, "3lbq2cccccc22").await, now())
        .await
        .expect("queued");
    let result = store.insert_published_event(&published, Some(write.id)).await;
    assert!(matches!(result, Err(StoreError::Duplicate(_))), "{result:?}");
    assert!(
        store.pending_write_by_id(write.id).await.expect("query").is_some(),
        "the transaction rolled back: the write is still there"
    );
}

/// An account known only from the firehose (a shadow user), under a DID made for the test.
async fn shadow_owner(store: &Store, label: &str) -> (Did, i64) {
    let did = Did::parse(&format!("did:plc:{}", crate::helpers::unique(label))).expect("valid DID");
    let user_id = store.shadow_user(&did, None).await.expect("a user");
    (did, user_id)
}

/// The `n`th revision of a test repo.
fn rev(n: u64) -> skymeet::domain::Rev {
    skymeet::domain::Rev::parse(&Rkey::tid(1_700_000_000_000_000 + n, 0).to_string()).expect("a revision")
}

async fn publishing_a_deleted_record_again_clears_its_tombstone(store: Store) {
    use skymeet::domain::Collection;
    use skymeet::server::records::{self, RecordOwner, RecordState};
    use skymeet::server::store::Applied;
    let (did, user_id) = shadow_owner(&store, "again").await;
    let owner = RecordOwner {
        did: &did,
        user_id,
        pds: "",
    };
    let rkey = Rkey::parse("3lbq2eeeeee22").expect("a record key");
    let upsert = |cid: &str, at: u64| {
        let value =
            json!({"$type": "community.lexicon.calendar.event", "name": "Again", "createdAt": "2026-11-28T00:00:00Z"});
        let state = RecordState::Present {
            value,
            cid: cid.to_owned(),
        };
        records::change(owner, Collection::Event, &rkey, state, Some(&rev(at))).expect("a change")
    };
    let gone = records::change(owner, Collection::Event, &rkey, RecordState::Gone, Some(&rev(5))).expect("a change");
    let applied = store
        .apply_firehose_changes(None, &[upsert("cid-1", 1), gone, upsert("cid-2", 4)])
        .await
        .expect("applied");
    assert_eq!(
        applied,
        [Applied::Inserted, Applied::Deleted, Applied::Unchanged],
        "the delete's tombstone keeps its earlier revisions out"
    );

    // Our own write makes the record again, with a revision the PDS did not tell us.
    let write = store
        .save_pending_write(
            &NewPendingWrite {
                owner_id: user_id,
                ..pending_create(&store, rkey.as_str()).await
            },
            now(),
        )
        .await
        .expect("queued");
    let mut published = event("Again", Some(now()));
    published.owner_id = Some(user_id);
    published.source.source_type = SourceType::Bluesky;
    published.source.at_uri = Some(format!("at://{did}/community.lexicon.calendar.event/{}", rkey.as_str()));
    published.source.rev = None;
    store
        .insert_published_event(&published, Some(write.id))
        .await
        .expect("published");
    assert_eq!(store.pending_write_by_id(write.id).await.expect("query"), None);
    let applied = store
        .apply_firehose_changes(None, &[upsert("cid-3", 4)])
        .await
        .expect("applied");
    assert_eq!(
        applied,
        [Applied::Updated],
        "no tombstone is left to keep the change out"
    );
}

async fn due_writes_are_claimed_by_one_worker_only(store: Store) {
    let start = now();
    let due = store
        .save_pending_write(&pending_create(&store, "3lbq2dddddd22").await, start)
        .await
        .expect("queued");
    let later = store
        .save_pending_write(
            &pending_create(&store, "3lbq2eeeeee22").await,
            start + Duration::hours(1),
        )
        .await
        .expect("queued");
    let lease = start + Duration::minutes(1);
    let (first, second) = tokio::join!(
        store.claim_due_pending_writes(start, lease, 10),
        store.claim_due_pending_writes(start, lease, 10),
    );
    let claimed: Vec<i64> = first
        .expect("claim")
        .into_iter()
        .chain(second.expect("claim"))
        .map(|write| write.id)
        .collect();
    assert_eq!(
        claimed,
        [due.id],
        "the due write, once; not the later one ({})",
        later.id
    );
    assert!(
        store
            .claim_due_pending_writes(start, lease, 10)
            .await
            .expect("claim")
            .is_empty(),
        "leased until {lease}"
    );
    assert_eq!(
        store
            .claim_due_pending_writes(lease, lease + Duration::minutes(1), 10)
            .await
            .expect("claim")
            .len(),
        1,
        "claimable again when the lease runs out"
    );
}

/// A batch of the firehose's changes, where most are new events (inserted together, many to a
/// statement), applies as the same changes one after another would: the records touched twice
/// in the batch, those the cache holds and those deleted before keep their order and their rules.
/// 1,200 new events and 600 new answers pass the most looked up (1,000) and inserted (500) by one
/// statement.
async fn a_batch_of_firehose_changes_applies_as_one_by_one_would(store: Store) {
    use skymeet::domain::{Collection, RsvpStatus};
    use skymeet::server::records::{self, RecordOwner, RecordState};
    use skymeet::server::store::{Applied, RecordChange};
    let (did, user_id) = shadow_owner(&store, "batch").await;
    let owner = RecordOwner {
        did: &did,
        user_id,
        pds: "",
    };
    let rkey = |key: &str| Rkey::parse(key).expect("a record key");
    let upsert = |key: &str, cid: &str, at: u64| -> RecordChange {
        let value = json!({"$type": "community.lexicon.calendar.event", "name": format!("Event {key}"), "createdAt": "2026-11-28T00:00:00Z"});
        let state = RecordState::Present {
            value,
            cid: cid.to_owned(),
        };
        records::change(owner, Collection::Event, &rkey(key), state, Some(&rev(at))).expect("a change")
    };
    let delete = |key: &str, at: u64| -> RecordChange {
        records::change(owner, Collection::Event, &rkey(key), RecordState::Gone, Some(&rev(at))).expect("a change")
    };
    let answer = |key: &str, status: &str, at: u64| -> RecordChange {
        let value = json!({
            "$type": "community.lexicon.calendar.rsvp",
            "subject": {"uri": format!("at://{did}/community.lexicon.calendar.event/{key}")},
            "status": format!("community.lexicon.calendar.rsvp#{status}"),
            "createdAt": "2026-11-28T00:00:00Z"
        });
        let state = RecordState::Present {
            value,
            cid: format!("cid-{key}-{at}"),
        };
        records::change(owner, Collection::Rsvp, &rkey(key), state, Some(&rev(at))).expect("a change")
    };
    let endpoint = "wss://batch.test";
    // Before: "a" and the answer "ra" are held; "b" and the answer "rb" were deleted at revision 5.
    let unanswer =
        records::change(owner, Collection::Rsvp, &rkey("rb"), RecordState::Gone, Some(&rev(5))).expect("a change");
    store
        .apply_firehose_changes(
            Some((endpoint, 1)),
            &[
                upsert("a", "cid-a1", 1),
                upsert("b", "cid-b1", 2),
                delete("b", 5),
                answer("ra", "going", 1),
                answer("rb", "going", 2),
                unanswer,
            ],
        )
        .await
        .expect("applied");

    let mut batch: Vec<RecordChange> = (0..1_200)
        .map(|n| upsert(&format!("n{n}"), &format!("cid-n{n}"), 10))
        .collect();
    batch.extend([
        upsert("a", "cid-a2", 10),
        upsert("b", "cid-b2", 4),
        upsert("c", "cid-c1", 10),
        delete("c", 11),
        upsert("d", "cid-d1", 10),
        upsert("d", "cid-d2", 11),
        answer("ra", "notgoing", 10),
        answer("rb", "going", 4),
    ]);
    // 600 new answers, inserted together too.
    batch.extend((0..600).map(|n| answer(&format!("rn{n}"), "interested", 10)));
    let applied = store
        .apply_firehose_changes(Some((endpoint, 2)), &batch)
        .await
        .expect("applied");
    assert_eq!(applied.len(), batch.len());
    assert!(applied[..1_200].iter().all(|outcome| *outcome == Applied::Inserted));
    assert_eq!(
        applied[1_200..1_208],
        [
            Applied::Updated,
            Applied::Unchanged,
            Applied::Inserted,
            Applied::Deleted,
            Applied::Inserted,
            Applied::Updated,
            Applied::Updated,
            Applied::Unchanged,
        ]
    );
    assert!(applied[1_208..].iter().all(|outcome| *outcome == Applied::Updated));
    let cid = |key: &str| {
        let store = store.clone();
        let at_uri = format!("at://{did}/community.lexicon.calendar.event/{key}");
        async move {
            store
                .event_by_at_uri(&at_uri)
                .await
                .expect("read")
                .map(|event| event.source.cid.unwrap_or_default())
        }
    };
    assert_eq!(cid("n0").await.as_deref(), Some("cid-n0"));
    assert_eq!(cid("n1199").await.as_deref(), Some("cid-n1199"));
    assert_eq!(cid("a").await.as_deref(), Some("cid-a2"));
    assert_eq!(cid("b").await, None, "an older revision than the delete came back");
    assert_eq!(cid("c").await, None);
    assert_eq!(cid("d").await.as_deref(), Some("cid-d2"));
    assert_eq!(store.firehose_cursor(endpoint).await.expect("cursor"), Some(2));
    let answers = |key: &str| {
        let store = store.clone();
        let subject = format!("at://{did}/community.lexicon.calendar.event/{key}");
        async move { store.answer_counts(&subject).await.expect("counts") }
    };
    assert_eq!(answers("ra").await, [(RsvpStatus::NotGoing, 1)]);
    assert_eq!(answers("rb").await, [], "an older revision than the delete came back");
    assert_eq!(answers("rn599").await, [(RsvpStatus::Interested, 1)]);
    assert_eq!(store.rsvp_records_of(user_id).await.expect("answers").len(), 601);
}

/// PostgreSQL only: there a publish and the firehose write at once, on connections of their own
/// (SQLite lets one connection write at a time). The echo of our own publish can look for the
/// record just before the publish commits it, and then meet that row when it inserts: it must
/// confirm the row, not be set aside as a record the database refused.
#[tokio::test]
async fn an_echo_racing_its_own_publish_confirms_the_row_on_postgres() {
    use skymeet::domain::Rev;
    use skymeet::server::store::{Applied, RecordChange};
    use sqlx::{Connection, PgConnection};
    let database = TestDatabase::new(Engine::Postgres).await;
    let store = database.store().await;
    let url = database.database_url.clone().expect("PostgreSQL");
    let did = Did::parse(&format!("did:plc:{}", crate::helpers::unique("race"))).expect("valid DID");
    let owner = store.shadow_user(&did, None).await.expect("a user");
    let rev = Rev::parse(&Rkey::tid(1_700_000_000_000_000, 0).to_string()).expect("a revision");
    let at_uri = |rkey: &str| format!("at://{did}/community.lexicon.calendar.event/{rkey}");
    let upsert = |rkey: &str, name: &str| RecordChange::Upsert {
        event: Box::new(NewEvent {
            owner_id: Some(owner),
            source: SourceTracking {
                source_type: SourceType::Bluesky,
                source_id: Some(did.to_string()),
                at_uri: Some(at_uri(rkey)),
                rkey: Some(rkey.to_owned()),
                cid: Some(format!("cid-{rkey}")),
                sync_status: SyncStatus::InSync,
                ..SourceTracking::local()
            },
            record: Some(json!({"name": name})),
            ..event(name, None)
        }),
        rev: Some(rev.clone()),
    };

    // The publish: its row is written and not yet committed, so the firehose cannot see it.
    let mut publish = PgConnection::connect(&url).await.expect("connect");
    let (publisher,): (i32,) = sqlx::query_as("select pg_backend_pid()")
        .fetch_one(&mut publish)
        .await
        .expect("pid");
    sqlx::query("begin").execute(&mut publish).await.expect("begin");
    sqlx::query(
        "insert into event (owner_id, name, source_type, source_id, at_uri, rkey, cid, sync_status)
         values ($1, 'Ours', 'bluesky', $2, $3, 'ours', 'cid-ours', 'in_sync')",
    )
    .bind(owner)
    .bind(did.as_str())
    .bind(at_uri("ours"))
    .execute(&mut publish)
    .await
    .expect("the publish's row");

    // The frame: a record the database refuses comes first, so its changes apply one by one.
    let applying = tokio::spawn({
        let store = store.clone();
        let changes = [upsert("blank", "   "), upsert("ours", "Ours")];
        async move {
            store
                .apply_firehose_changes(Some(("wss://race.test", 1)), &changes)
                .await
        }
    });
    // The echo has looked (and found nothing) and now waits on the publish's row.
    let mut watcher = PgConnection::connect(&url).await.expect("connect");
    let mut waited = 0;
    loop {
        let (blocked,): (i64,) =
            sqlx::query_as("select count(*) from pg_stat_activity where $1 = any(pg_blocking_pids(pid))")
                .bind(publisher)
                .fetch_one(&mut watcher)
                .await
                .expect("blocked");
        if blocked > 0 {
            break;
        }
        waited += 1;
        assert!(waited < 500, "the firehose never reached the publish's row");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    sqlx::query("commit")
        .execute(&mut publish)
        .await
        .expect("the publish commits");

    let applied = applying.await.expect("the task").expect("the frame applies");
    assert!(matches!(&applied[0], Applied::Refused(_)), "{applied:?}");
    assert_eq!(applied[1], Applied::Unchanged, "the echo confirms our row");
    let events = store.events_of(&did).await.expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].source.rev.as_ref(),
        Some(&rev),
        "confirmed at the echo's revision"
    );
    assert_eq!(events[0].source.sync_status, SyncStatus::InSync);
}
