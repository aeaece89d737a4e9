//! The firehose consumer against the local PDS's own `subscribeRepos`: records written straight to
//! a PDS by an account that never used Skymeet appear, change and disappear in the cache.

use crate::helpers::{AppOptions, TestApp};
use crate::network::{
    create_account, delete_record_directly, firehose_url, put_record_directly, sign_in_headless,
    spawn_local_network_app, TEST_KEYS,
};
use serde_json::json;
use skymeet::domain::{Did, SyncStatus};
use skymeet::server::store::Event;
use std::time::Duration;

const COLLECTION: &str = "community.lexicon.calendar.event";

pub async fn consuming_app() -> TestApp {
    consuming_app_on(AppOptions::production()).await
}

/// An app on `options`' engine whose consumer reads the local PDS's firehose, once connected.
pub async fn consuming_app_on(options: AppOptions) -> TestApp {
    let app = spawn_local_network_app(
        options
            .with("CREDENTIALS_KEYS", TEST_KEYS)
            .with("FIREHOSE_URL", firehose_url()),
    )
    .await;
    let ingest = app.state.consumer().expect("a consumer");
    // Up to a minute: under the whole suite's load (the kill test keeps the PDS busy) connecting can be slow.
    for _ in 0..1200 {
        if ingest.connected() {
            return app;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the consumer did not connect");
}

/// Waits (up to 30 s: the whole suite shares two cores with the PDS) until the cached events of
/// `did` satisfy `done`.
pub async fn eventually(app: &TestApp, did: &str, done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
    let did = Did::parse(did).expect("DID");
    let mut events = Vec::new();
    for _ in 0..600 {
        events = app.state.store.events_of(&did).await.expect("query");
        if done(&events) {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the cache never got there: {events:?}");
}

#[tokio::test]
async fn records_made_elsewhere_arrive_owned_by_a_shadow_user_who_is_claimed_at_sign_in() {
    let app = consuming_app().await;
    let account = create_account().await;
    let rkey = "3mabcdefghij2";
    let record = json!({
        "$type": COLLECTION,
        "name": "Made in another app",
        "createdAt": "2026-11-24T10:00:00.000Z",
        "startsAt": "2031-03-01T18:00:00.000Z",
        "theme": {"accent": "#123456"}
    });
    let cid = put_record_directly(&account, COLLECTION, rkey, record.clone()).await;

    let events = eventually(&app, &account.did, |events| events.len() == 1).await;
    let event = &events[0];
    assert_eq!(event.name, "Made in another app");
    assert_eq!(event.source.cid.as_deref(), Some(cid.as_str()));
    assert_eq!(event.source.sync_status, SyncStatus::InSync);
    assert_eq!(
        event.record.as_ref().map(|r| r["theme"].clone()),
        Some(json!({"accent": "#123456"}))
    );
    let owner = app
        .state
        .store
        .user_by_id(event.owner_id.expect("owner"))
        .await
        .expect("query")
        .expect("user");
    assert!(owner.shadow, "never signed in");
    assert_eq!(owner.handle.as_ref().map(|h| h.as_str()), Some(account.handle.as_str()));

    let (_, listing) = app.get_html("/events").await;
    assert!(listing.contains("Made in another app"), "{listing}");
    let (_, page) = app.get_html(&format!("/u/{}", account.handle)).await;
    assert!(page.contains("Made in another app"));

    // Edited and deleted on the PDS: the cache follows.
    let mut edited = record.clone();
    edited["name"] = json!("Renamed in another app");
    let edited_cid = put_record_directly(&account, COLLECTION, rkey, edited).await;
    let events = eventually(&app, &account.did, |events| {
        events
            .first()
            .is_some_and(|e| e.source.cid.as_deref() == Some(edited_cid.as_str()))
    })
    .await;
    assert_eq!(events[0].name, "Renamed in another app");
    assert_eq!(events[0].id, event.id, "the same row");

    // Signing in claims the shadow user: the same row, now a full user, the event still theirs.
    sign_in_headless(&app, &account).await;
    let claimed = crate::network::user_of(&app, &account).await;
    assert_eq!(claimed.id, owner.id);
    assert!(!claimed.shadow);

    delete_record_directly(&account, COLLECTION, rkey).await;
    eventually(&app, &account.did, <[Event]>::is_empty).await;
    let cursor = app.state.store.firehose_cursor(&firehose_url()).await.expect("query");
    assert!(cursor.is_some_and(|seq| seq > 0), "the cursor moved with the rows");
}

#[tokio::test]
async fn our_own_writes_coming_back_are_confirmed_not_duplicated() {
    let app = consuming_app().await;
    let account = create_account().await;
    sign_in_headless(&app, &account).await;
    let response = app
        .client
        .post(format!("{}/api/create_event", app.address))
        .form(&[("input[name]", "Published here")])
        .send()
        .await
        .expect("sent");
    assert!(response.status().is_success());
    // The echo arrives; still one row, in sync, with our CID.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = eventually(&app, &account.did, |events| {
        events.len() == 1 && events[0].source.rev.is_some()
    })
    .await;
    assert_eq!(events[0].source.sync_status, SyncStatus::InSync);
}

#[tokio::test]
async fn garbage_and_truncated_frames_go_to_the_dead_letter_table() {
    let app = consuming_app().await;
    let ingest = app.state.consumer().expect("consumer");
    let before = app.state.store.dead_letter_count().await.expect("count");
    ingest.handle(b"not cbor at all").await.expect("not fatal");
    // A valid header ({op: 1, t: "#commit"}) and a body cut short.
    let mut truncated = vec![0xa2, 0x62, b'o', b'p', 0x01, 0x61, b't', 0x67];
    truncated.extend_from_slice(b"#commit");
    truncated.extend_from_slice(&[0xa3, 0x63, b's', b'e']);
    ingest.handle(&truncated).await.expect("not fatal");
    assert_eq!(app.state.store.dead_letter_count().await.expect("count"), before + 2);
    assert!(ingest.connected(), "the consumer goes on");
}

#[tokio::test]
async fn with_several_instances_on_postgres_exactly_one_consumes() {
    let first = consuming_app().await;
    let second = spawn_local_network_app(
        AppOptions::production()
            .with("CREDENTIALS_KEYS", TEST_KEYS)
            .with("FIREHOSE_URL", firehose_url())
            .with("DATABASE_URL", first.database_url().expect("postgres"))
            .with("REDIS_KEY_PREFIX", first.redis_prefix()),
    )
    .await;
    let standby = second.state.consumer().expect("consumer");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!standby.connected(), "the first instance holds the consumer lock");

    first.shutdown.cancel();
    let _ = first.server.await;
    for _ in 0..200 {
        if standby.connected() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the second instance did not take over");
}

/// Every record of a collection in a repo, following the cursor.
async fn all_records(did: &str) -> std::collections::BTreeMap<String, String> {
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let mut records = std::collections::BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![
            ("repo", did.to_owned()),
            ("collection", COLLECTION.to_owned()),
            ("limit", "100".to_owned()),
        ];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let page: serde_json::Value = client
            .get(format!(
                "{}/xrpc/com.atproto.repo.listRecords",
                crate::network::pds_url()
            ))
            .query(&query)
            .send()
            .await
            .expect("listRecords")
            .json()
            .await
            .expect("JSON");
        let batch = page["records"].as_array().cloned().unwrap_or_default();
        for record in &batch {
            records.insert(
                record["uri"].as_str().unwrap_or_default().to_owned(),
                record["cid"].as_str().unwrap_or_default().to_owned(),
            );
        }
        cursor = page["cursor"].as_str().map(str::to_owned);
        if batch.is_empty() || cursor.is_none() {
            return records;
        }
    }
}

/// The cache's view: at-uri -> CID for one owner.
async fn cached(app: &TestApp, did: &str) -> std::collections::BTreeMap<String, String> {
    app.state
        .store
        .events_of(&Did::parse(did).expect("DID"))
        .await
        .expect("query")
        .into_iter()
        .map(|e| (e.source.at_uri.unwrap_or_default(), e.source.cid.unwrap_or_default()))
        .collect()
}

/// A consumer process, killed (SIGKILL, as by a crash or the OOM killer) when dropped.
struct Consumer(std::process::Child);

impl Consumer {
    fn kill(mut self) {
        self.0.kill().expect("killed");
        self.0.wait().expect("reaped");
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The consumer as a process of its own (`skymeet --role ingest`) on `app`'s databases.
fn consumer_process(app: &TestApp) -> Consumer {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_skymeet"))
        .args(["--role", "ingest"])
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", app.database_url().expect("PostgreSQL"))
        .env("REDIS_URL", crate::helpers::redis_url())
        .env("REDIS_KEY_PREFIX", app.redis_prefix())
        .env("CREDENTIALS_KEYS", TEST_KEYS)
        .env("FIREHOSE_URL", firehose_url())
        .env("ATPROTO_PLC_URL", crate::network::plc_url())
        .env("ATPROTO_HANDLE_RESOLVER", crate::network::pds_url())
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the consumer process starts");
    Consumer(child)
}

#[tokio::test]
async fn the_cache_equals_the_pds_after_the_consumer_process_is_killed_again_and_again() {
    use std::sync::Arc;

    const ACCOUNTS: usize = 4;
    const RECORDS_PER_ACCOUNT: usize = 500;
    // No FIREHOSE_URL: the consumer runs in processes this test starts and kills (SIGKILL).
    let app = spawn_local_network_app(AppOptions::production().with("CREDENTIALS_KEYS", TEST_KEYS)).await;
    let mut accounts = Vec::new();
    for _ in 0..ACCOUNTS {
        accounts.push(Arc::new(create_account().await));
    }

    // A first consumer takes its cursor from a first record, so restarts have a place to resume.
    // It must have that record: a cursor alone can come from another test's frame on the shared
    // PDS, before the first record's frame, which the restarts would then never see.
    let consumer = consumer_process(&app);
    let mut tries = 0;
    while app
        .state
        .store
        .firehose_cursor(&firehose_url())
        .await
        .expect("cursor")
        .is_none()
        || cached(&app, &accounts[0].did).await.is_empty()
    {
        // Changed until the consumer, once connected, sees a change (an unchanged record makes no commit).
        if tries % 25 == 0 {
            let first =
                json!({"$type": COLLECTION, "name": format!("First {tries}"), "createdAt": "2026-11-24T00:00:00Z"});
            put_record_directly(&accounts[0], COLLECTION, "first", first).await;
        }
        tries += 1;
        assert!(tries < 1500, "the consumer process never took a cursor");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    consumer.kill();

    // The writer: 2,000 records, every tenth deleted again, eight writes in flight.
    let writer = {
        let accounts = accounts.clone();
        tokio::spawn(async move {
            use futures_util::StreamExt;
            let writes: Vec<(Arc<crate::network::Account>, usize)> = (0..RECORDS_PER_ACCOUNT)
                .flat_map(|i| accounts.iter().map(move |a| (Arc::clone(a), i)))
                .collect();
            futures_util::stream::iter(writes)
                .for_each_concurrent(8, |(account, i)| async move {
                    let rkey = format!("k{i:05}");
                    let record =
                        json!({"$type": COLLECTION, "name": format!("Load {i}"), "createdAt": "2026-11-24T00:00:00Z"});
                    put_record_directly(&account, COLLECTION, &rkey, record).await;
                    if i % 10 == 0 {
                        delete_record_directly(&account, COLLECTION, &rkey).await;
                    }
                })
                .await;
        })
    };

    // Meanwhile the consumer process is started and killed with SIGKILL, mid-whatever, again and
    // again (at least six times).
    let mut kills = 0;
    while !writer.is_finished() || kills < 6 {
        let consumer = consumer_process(&app);
        tokio::time::sleep(Duration::from_millis(700 + 300 * (kills % 4))).await;
        consumer.kill();
        kills += 1;
    }
    writer.await.expect("writer");

    // Then one runs to the end of the stream; the cache must equal the PDS, record for record.
    // After many kills on a loaded machine the last consumer may have a long way to replay: it gets
    // two minutes (a passing run returns as soon as the two agree).
    let consumer = consumer_process(&app);
    let mut last = (0, 0);
    let mut differing = Vec::new();
    for _ in 0..600 {
        let mut equal = true;
        let (mut on_pds, mut in_cache) = (0, 0);
        differing.clear();
        for account in &accounts {
            let (pds, cache) = (all_records(&account.did).await, cached(&app, &account.did).await);
            on_pds += pds.len();
            in_cache += cache.len();
            equal &= pds == cache;
            differing.extend(
                pds.iter()
                    .filter(|(uri, cid)| cache.get(*uri) != Some(*cid))
                    .map(|(uri, _)| format!("{uri} (PDS)")),
            );
            differing.extend(
                cache
                    .keys()
                    .filter(|uri| !pds.contains_key(*uri))
                    .map(|uri| format!("{uri} (cache)")),
            );
        }
        last = (on_pds, in_cache);
        if equal {
            assert_eq!(on_pds, ACCOUNTS * RECORDS_PER_ACCOUNT * 9 / 10 + 1);
            assert!(kills >= 6);
            consumer.kill();
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    differing.truncate(10);
    panic!(
        "the cache never matched the PDS after {kills} kills: {} on the PDS, {} cached; differing: {differing:?}",
        last.0, last.1
    );
}

#[tokio::test]
async fn a_consumer_whose_lock_connection_dies_stops_and_consumes_again_once_it_retakes_the_lock() {
    use skymeet::server::store::CONSUMER_LOCK_KEY;
    use sqlx::Connection;
    let app = consuming_app().await;
    let ingest = app.state.consumer().expect("a consumer");
    let mut admin = sqlx::PgConnection::connect(&app.database_url().expect("PostgreSQL"))
        .await
        .expect("connected");
    // The backend holding this schema's consumer lock: the consumer's lock connection. (Other
    // tests' consumers hold theirs, in their own schemas of the same database.)
    let holder_sql = format!(
        "with key as (select {CONSUMER_LOCK_KEY} as k)
         select pid from pg_locks, key
         where locktype = 'advisory' and granted
           and database = (select oid from pg_database where datname = current_database())
           and classid::bigint = ((k >> 32) & 4294967295) and objid::bigint = (k & 4294967295)"
    );
    let holder: (i32,) = sqlx::query_as(&holder_sql)
        .fetch_one(&mut admin)
        .await
        .expect("the consumer holds the lock");
    let (terminated,): (bool,) = sqlx::query_as("select pg_terminate_backend($1)")
        .bind(holder.0)
        .fetch_one(&mut admin)
        .await
        .expect("terminated");
    assert!(terminated);

    // It notices (the lock is checked every second), stops, and takes the lock again.
    for _ in 0..200 {
        if ingest.lock_losses() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ingest.lock_losses(), 1, "the lost lock was noticed");
    for _ in 0..200 {
        if ingest.connected() {
            let holders: Vec<(i32,)> = sqlx::query_as(&holder_sql).fetch_all(&mut admin).await.expect("query");
            let holders = holders.len();
            assert_eq!(holders, 1, "consuming again, under the lock");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the consumer did not come back");
}

/// An `#identity` frame, as a PDS sends it.
fn identity_frame(seq: i64, did: &str) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Header {
        op: i64,
        t: &'static str,
    }
    #[derive(serde::Serialize)]
    struct Identity<'a> {
        seq: i64,
        did: &'a str,
        time: &'static str,
    }
    let mut bytes = serde_ipld_dagcbor::to_vec(&Header { op: 1, t: "#identity" }).expect("header");
    bytes.extend(
        serde_ipld_dagcbor::to_vec(&Identity {
            seq,
            did,
            time: "2026-11-24T00:00:00.000Z",
        })
        .expect("body"),
    );
    bytes
}

/// Runs the backfills `ingest`'s frames ask for, as the connection does beside a live consumer.
fn run_backfills(ingest: &std::sync::Arc<skymeet::server::firehose::Ingest>) {
    let ingest = std::sync::Arc::clone(ingest);
    tokio::spawn(async move {
        let repos = std::sync::Arc::clone(ingest.repos());
        ingest
            .backfills()
            .run(repos, tokio_util::sync::CancellationToken::new())
            .await
    });
}

fn sync_frame(seq: i64, did: &str) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Header {
        op: i64,
        t: &'static str,
    }
    #[derive(serde::Serialize)]
    struct Sync<'a> {
        seq: i64,
        did: &'a str,
        rev: &'static str,
        time: &'static str,
    }
    let mut bytes = serde_ipld_dagcbor::to_vec(&Header { op: 1, t: "#sync" }).expect("header");
    bytes.extend(
        serde_ipld_dagcbor::to_vec(&Sync {
            seq,
            did,
            rev: "3mabcdefghij2",
            time: "2026-11-24T00:00:00.000Z",
        })
        .expect("body"),
    );
    bytes
}

#[tokio::test]
async fn a_sync_frame_queues_its_backfill_once_and_the_consumer_goes_straight_on() {
    use skymeet::server::firehose::Ingest;
    use std::sync::Arc;

    let app = spawn_local_network_app(AppOptions::embedded()).await;
    let identity = app.state.identity().expect("identity");
    let ingest = Arc::new(Ingest::new(app.state.store.clone(), identity, firehose_url()));
    let account = create_account().await;
    let record = json!({"$type": COLLECTION, "name": "Synced", "createdAt": "2026-11-24T00:00:00Z"});
    put_record_directly(&account, COLLECTION, "synced", record).await;

    // A flood of #sync frames for one repo: handled at once, the repo queued once, nothing read yet.
    for seq in 20..40 {
        ingest.handle(&sync_frame(seq, &account.did)).await.expect("handled");
    }
    assert_eq!(ingest.backfills().pending(), 1, "one repo, queued once");
    assert!(
        cached(&app, &account.did).await.is_empty(),
        "read in the background, not inline"
    );

    // In the background, the repo is read.
    run_backfills(&ingest);
    eventually(&app, &account.did, |events| events.iter().any(|e| e.name == "Synced")).await;
    for _ in 0..100 {
        if ingest.backfills().pending() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ingest.backfills().pending(), 0, "done, and free to be asked again");
}

#[tokio::test]
async fn a_sequence_gap_is_repaired_by_re_reading_the_repos_we_hold() {
    use skymeet::server::firehose::Ingest;
    use std::sync::Arc;

    let app = spawn_local_network_app(AppOptions::embedded()).await;
    let identity = app.state.identity().expect("identity");
    let ingest = Arc::new(Ingest::new(app.state.store.clone(), identity, firehose_url()));
    run_backfills(&ingest);
    let account = create_account().await;
    let record = json!({"$type": COLLECTION, "name": "Soon gone", "createdAt": "2026-11-24T00:00:00Z"});
    put_record_directly(&account, COLLECTION, "gone", record).await;
    ingest
        .repos()
        .backfill(&Did::parse(&account.did).expect("DID"), None)
        .await
        .expect("backfill");
    assert_eq!(cached(&app, &account.did).await.len(), 1);

    // Deleted while we were not listening; then the stream jumps from 10 to 15.
    delete_record_directly(&account, COLLECTION, "gone").await;
    ingest.handle(&identity_frame(10, &account.did)).await.expect("handled");
    ingest.handle(&identity_frame(15, &account.did)).await.expect("handled");
    assert_eq!(ingest.gaps(), 1);
    eventually(&app, &account.did, <[Event]>::is_empty).await;
}

#[tokio::test]
async fn an_rsvp_that_arrives_before_its_event_is_kept_and_counts_once() {
    let app = consuming_app().await;
    let (organiser, guest) = (create_account().await, create_account().await);
    let event_uri = format!("at://{}/{COLLECTION}/later", organiser.did);
    let rsvp = json!({
        "$type": "community.lexicon.calendar.rsvp",
        "subject": {"uri": event_uri},
        "status": "community.lexicon.calendar.rsvp#going",
        "createdAt": "2026-11-24T00:00:00Z"
    });
    put_record_directly(&guest, "community.lexicon.calendar.rsvp", "answer", rsvp.clone()).await;
    let store = app.state.store.clone();
    let mut kept = Vec::new();
    for _ in 0..200 {
        kept = store.attendees(&event_uri).await.expect("query");
        if !kept.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(kept.len(), 1, "kept although its event is unknown");
    assert_eq!(kept[0].rsvp.status, skymeet::domain::RsvpStatus::Going);

    // The event arrives; the RSVP is linked by its uri. Changing the answer updates the same RSVP.
    let event = json!({"$type": COLLECTION, "name": "Later", "createdAt": "2026-11-24T00:00:00Z"});
    put_record_directly(&organiser, COLLECTION, "later", event).await;
    eventually(&app, &organiser.did, |events| events.len() == 1).await;
    let mut changed = rsvp.clone();
    changed["status"] = json!("community.lexicon.calendar.rsvp#interested");
    put_record_directly(&guest, "community.lexicon.calendar.rsvp", "answer", changed).await;
    for _ in 0..200 {
        let rsvps = store.attendees(&event_uri).await.expect("query");
        if rsvps
            .first()
            .is_some_and(|r| r.rsvp.status == skymeet::domain::RsvpStatus::Interested)
        {
            assert_eq!(rsvps.len(), 1, "one RSVP per record");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the changed answer never arrived");
}

/// Stands in for a Jetstream server (a Go service the local network does not run): serves the
/// given JSON events to each connection and reports the URL each connection asked for.
async fn stand_in_jetstream(events: Vec<String>) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::{handshake::server, Message};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
    let address = listener.local_addr().expect("address");
    let (asked, requests) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (asked, events) = (asked.clone(), events.clone());
            tokio::spawn(async move {
                // The error type is tungstenite's, which this test cannot make smaller.
                #[allow(clippy::result_large_err)]
                let callback = |request: &server::Request, response: server::Response| {
                    let _ = asked.send(request.uri().to_string());
                    Ok(response)
                };
                let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
                    return;
                };
                for event in events {
                    if socket.send(Message::Text(event.into())).await.is_err() {
                        return;
                    }
                }
                // Stay open, like a quiet stream.
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    (format!("ws://{address}/subscribe"), requests)
}

#[tokio::test]
async fn jetstream_is_a_second_source_behind_the_same_applier() {
    let account = create_account().await;
    let rkey = "3mjetjetjet22";
    let time_us: i64 = 1_732_440_000_000_000;
    let event = json!({
        "did": account.did,
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": "3mjetjetjet22",
            "operation": "create",
            "collection": COLLECTION,
            "rkey": rkey,
            "record": {"$type": COLLECTION, "name": "Via Jetstream", "createdAt": "2026-11-24T00:00:00Z"},
            "cid": "bafyreidjetstreamcidfortestsonly"
        }
    });
    let (url, mut requests) = stand_in_jetstream(vec![event.to_string()]).await;
    let app = spawn_local_network_app(AppOptions::embedded().with("FIREHOSE_URL", url.clone())).await;
    let events = eventually(&app, &account.did, |events| events.len() == 1).await;
    assert_eq!(events[0].name, "Via Jetstream");
    let first = requests.recv().await.expect("a connection");
    assert!(
        first.contains("wantedCollections=community.lexicon.calendar.event")
            && first.contains("wantedCollections=community.lexicon.calendar.rsvp"),
        "filtered at the server: {first}"
    );
    assert_eq!(
        app.state.store.firehose_cursor(&url).await.expect("query"),
        Some(time_us),
        "the cursor is the event's time"
    );
}

#[tokio::test]
async fn records_the_cache_cannot_hold_are_dead_lettered_and_the_records_after_them_still_arrive() {
    const RSVPS: &str = "community.lexicon.calendar.rsvp";
    for options in [AppOptions::production(), AppOptions::embedded()] {
        let app = consuming_app_on(options).await;
        let account = create_account().await;
        let event = |name: &str| json!({"$type": COLLECTION, "name": name, "createdAt": "2026-11-24T00:00:00Z"});
        // Each was accepted by the PDS, which does not check calendar records.
        let mut nul_deep = event("Fine name");
        nul_deep["extra"] = json!({"deeper": [{"note": "before\u{0}after"}]});
        let hostile = [
            ("blank", event("")),
            ("whitespace", event(" \t \n ")),
            ("nul-name", event("a\u{0}b")),
            ("nul-deep", nul_deep),
        ];
        for (rkey, record) in &hostile {
            put_record_directly(&account, COLLECTION, rkey, record.clone()).await;
        }
        let answer = json!({
            "$type": RSVPS,
            "subject": {"uri": format!("at://{}/{COLLECTION}/canary", account.did)},
            "status": "community.lexicon.calendar.rsvp#going",
            "note\u{0}": "a NUL in a field name",
        });
        put_record_directly(&account, RSVPS, "nul-rsvp", answer).await;
        // Written after all of them: it must arrive.
        put_record_directly(&account, COLLECTION, "canary", event("Canary")).await;

        let events = eventually(&app, &account.did, |events| events.iter().any(|e| e.name == "Canary")).await;
        assert_eq!(events.len(), 1, "only the canary is cached: {events:?}");
        let letters = app.state.store.dead_letters(100).await.expect("dead letters");
        let reason = |collection: &str, rkey: &str| {
            let uri = format!("at://{}/{collection}/{rkey}", account.did);
            letters
                .iter()
                .find(|letter| letter.uri.as_deref() == Some(uri.as_str()))
                .map(|letter| letter.error.clone())
                .unwrap_or_else(|| panic!("no dead letter for {uri}: {letters:?}"))
        };
        assert!(reason(COLLECTION, "blank").contains("blank name"));
        assert!(reason(COLLECTION, "whitespace").contains("blank name"));
        assert!(reason(COLLECTION, "nul-name").contains("NUL"));
        assert!(reason(COLLECTION, "nul-deep").contains("NUL"));
        assert!(reason(RSVPS, "nul-rsvp").contains("NUL"));
        // The dead letter keeps the record, with the NUL replaced so the database takes it.
        let kept = letters
            .iter()
            .find(|letter| letter.uri.as_deref().is_some_and(|uri| uri.ends_with("/nul-name")))
            .and_then(|letter| letter.record.clone())
            .expect("the record is kept");
        assert_eq!(kept["name"], "a\u{FFFD}b");
    }
}

#[tokio::test]
async fn an_identity_frame_hides_the_handle_until_it_is_verified_again() {
    use skymeet::server::firehose::Ingest;
    use std::sync::Arc;

    let app = spawn_local_network_app(AppOptions::embedded()).await;
    let identity = app.state.identity().expect("identity");
    let ingest = Arc::new(Ingest::new(app.state.store.clone(), identity, firehose_url()));
    let account = create_account().await;
    let did = Did::parse(&account.did).expect("DID");
    put_record_directly(
        &account,
        COLLECTION,
        "known",
        json!({"$type": COLLECTION, "name": "Known", "createdAt": "2026-11-24T00:00:00Z"}),
    )
    .await;
    ingest.repos().backfill(&did, None).await.expect("backfill");
    let handle = |app: &TestApp| {
        let (store, did) = (app.state.store.clone(), did.clone());
        async move {
            store
                .user_by_did(&did)
                .await
                .expect("query")
                .and_then(|u| u.handle)
                .map(|h| h.to_string())
        }
    };
    assert_eq!(
        handle(&app).await,
        Some(account.handle.clone()),
        "verified at first sight"
    );

    // The frame claims a handle; a claim is not proof: until the check, the DID is shown.
    ingest.handle(&identity_frame(50, &account.did)).await.expect("handled");
    assert_eq!(handle(&app).await, None);
    assert_eq!(ingest.backfills().pending(), 1, "queued to be checked");
    run_backfills(&ingest);
    for _ in 0..200 {
        if handle(&app).await.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(handle(&app).await, Some(account.handle.clone()), "verified again");
}

/// With no firehose to reach (no network, a relay down), the app runs on: the consumer keeps
/// trying with backoff, and the dashboard says why it is not connected.
#[tokio::test]
async fn an_unreachable_firehose_is_shown_on_the_dashboard_and_the_app_runs_on() {
    // A port nothing listens on: bound, then let go.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!(
        "ws://{}/xrpc/com.atproto.sync.subscribeRepos",
        closed.local_addr().expect("address")
    );
    drop(closed);
    let admin = create_account().await;
    let app = spawn_local_network_app(
        AppOptions::embedded()
            .with("FIREHOSE_URL", url.clone())
            .with("CREDENTIALS_KEYS", TEST_KEYS)
            .with("ADMIN_DIDS", admin.did.clone()),
    )
    .await;
    let mut consumer = None;
    for _ in 0..200 {
        let read = skymeet::server::dashboard::read(&app.state, 5)
            .await
            .expect("dashboard");
        consumer = read.consumer;
        if consumer.as_ref().is_some_and(|c| c.connection_error.is_some()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let consumer = consumer.expect("a consumer");
    assert_eq!(consumer.endpoint, url);
    assert!(!consumer.connected);
    let error = consumer.connection_error.expect("why it is not connected");
    assert!(error.starts_with("connecting to the firehose failed"), "{error}");
    let page = app
        .client
        .get(format!("{}/events", app.address))
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status(), 200, "pages are served all the same");

    // The admin reads why on the dashboard.
    sign_in_headless(&app, &admin).await;
    let (status, html) = app.get_html("/admin").await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let note = html
        .split(r#"data-testid="consumer-unreachable""#)
        .nth(1)
        .unwrap_or_else(|| panic!("the dashboard says the consumer is not connected: {html}"));
    // Leptos marks where text parts meet with empty comments (`<!>`).
    let note = note.split("</p>").next().unwrap_or_default().replace("<!>", "");
    assert!(
        note.contains("Not connected: connecting to the firehose failed"),
        "{note}"
    );
}
