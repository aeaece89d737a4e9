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

async fn consuming_app() -> TestApp {
    let app = spawn_local_network_app(
        AppOptions::production()
            .with("CREDENTIALS_KEYS", TEST_KEYS)
            .with("FIREHOSE_URL", firehose_url()),
    )
    .await;
    let ingest = app.state.ingest.clone().expect("a consumer");
    for _ in 0..100 {
        if ingest.connected() {
            return app;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the consumer did not connect");
}

/// Waits (up to 10 s) until the cached events of `did` satisfy `done`.
async fn eventually(app: &TestApp, did: &str, done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
    let did = Did::parse(did).expect("DID");
    let mut events = Vec::new();
    for _ in 0..200 {
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
    let claimed = app
        .state
        .store
        .user_by_did(&Did::parse(&account.did).expect("DID"))
        .await
        .expect("query")
        .expect("user");
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
        events.len() == 1 && events[0].source.source_data.get("rev").is_some()
    })
    .await;
    assert_eq!(events[0].source.sync_status, SyncStatus::InSync);
}

#[tokio::test]
async fn garbage_and_truncated_frames_go_to_the_dead_letter_table() {
    let app = consuming_app().await;
    let ingest = app.state.ingest.clone().expect("consumer");
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
