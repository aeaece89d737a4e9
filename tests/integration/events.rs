//! Events, PDS first, against the real local PDS: what the PDS holds after each step, what the
//! cache holds, and who may do what. (The outage test, which needs a proxy in front of the PDS for
//! the whole process, is its own test binary: `tests/pds_outage.rs`.)

use crate::helpers::{AppOptions, TestApp};
use crate::network::{
    create_account, event_at, firehose_url, frames_carrying, get_record, list_records, only_event_of,
    put_record_directly, sign_in_granting, sign_in_headless, spawn_local_network_app, user_of, Account, TEST_KEYS,
};
use chrono::Utc;
use reqwest::StatusCode;
use serde_json::json;
use skymeet::domain::{Collection, EventDraft, EventInput, Rkey, SyncStatus, WriteOperation};
use skymeet::server::firehose::Ingest;
use skymeet::server::store::{Event, NewEvent, NewPendingWrite, SourceTracking, SourceType, WriteState};
use std::sync::Arc;

const COLLECTION: &str = "community.lexicon.calendar.event";

async fn signed_in_app() -> (TestApp, Account) {
    let app = spawn_local_network_app(AppOptions::production().with("CREDENTIALS_KEYS", TEST_KEYS)).await;
    let account = create_account().await;
    sign_in_headless(&app, &account).await;
    (app, account)
}

/// [`signed_in_app`] whose account published one event named `name`: that event and its record key.
async fn app_with_event(name: &str) -> (TestApp, Account, Event, String) {
    let (app, account) = signed_in_app().await;
    let (status, body) = app.create_event(&[("name", name)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let event = only_event_of(&app, &account).await;
    let rkey = event.source.rkey.clone().expect("rkey");
    (app, account, event, rkey)
}

#[tokio::test]
async fn an_event_goes_to_the_pds_first_then_the_cache_and_edits_and_deletes_follow() {
    let (app, account) = signed_in_app().await;
    let (status, body) = app
        .create_event(&[
            ("name", "Rust & ATProto night"),
            ("description", "Talks and pizza."),
            ("starts_at", "2026-12-10T18:30"),
            ("ends_at", "2026-12-10T21:00"),
            ("time_zone", "Europe/Berlin"),
            ("mode", "hybrid"),
            ("venue", "c-base"),
            ("locality", "Berlin"),
            ("country", "DE"),
            ("online_url", "https://meet.example/rust"),
            ("links", "https://example.com/tickets Tickets"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let event = only_event_of(&app, &account).await;
    let rkey = event.source.rkey.clone().expect("rkey");
    let (cid, record) = get_record(&account.did, COLLECTION, &rkey).await.expect("on the PDS");

    // The PDS holds exactly what we sent, and the cache knows its address and CID (F11).
    assert_eq!(
        record,
        json!({
            "$type": COLLECTION,
            "name": "Rust & ATProto night",
            "description": "Talks and pizza.",
            "createdAt": record["createdAt"],
            "startsAt": "2026-12-10T17:30:00.000Z",
            "endsAt": "2026-12-10T20:00:00.000Z",
            "mode": "community.lexicon.calendar.event#hybrid",
            "status": "community.lexicon.calendar.event#scheduled",
            "locations": [
                {"$type": "community.lexicon.location.address", "name": "c-base", "locality": "Berlin", "country": "DE"},
                {"$type": "community.lexicon.calendar.event#uri", "uri": "https://meet.example/rust"}
            ],
            "uris": [{"uri": "https://example.com/tickets", "name": "Tickets"}],
            // The zone, in the field atmo.rsvp writes it, so other apps keep it too.
            "timezone": "Europe/Berlin"
        })
    );
    assert_eq!(event.source.cid.as_deref(), Some(cid.as_str()));
    assert_eq!(event.source.source_type, SourceType::Bluesky);
    assert_eq!(event.source.source_id.as_deref(), Some(account.did.as_str()));
    assert_eq!(
        event.source.at_uri.as_deref(),
        Some(format!("at://{}/{COLLECTION}/{rkey}", account.did).as_str())
    );
    assert_eq!(event.source.sync_status, SyncStatus::InSync);
    assert_eq!(
        event.source.source_data.get("cid"),
        None,
        "the CID has one home: its column"
    );
    assert!(event.source.last_synced_at.is_some());
    assert_eq!(event.time_zone.as_str(), "Europe/Berlin");

    let (status, page) = app.get_html(&format!("/events/{}", event.slug)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Rust &amp; ATProto night"), "{page}");
    assert!(page.contains(r#"data-sync-status="in_sync""#));

    // Another app adds its own field to the record; we learn of it (as the firehose will tell us).
    let mut foreign = record.clone();
    foreign["theme"] = json!({"accent": "#ff6600", "opacity": 80});
    let foreign_cid = put_record_directly(&account, COLLECTION, &rkey, foreign.clone()).await;
    let mut seen = event.clone();
    seen.record = Some(foreign);
    seen.source.cid = Some(foreign_cid.clone());
    app.state
        .store
        .update_event_record(event.id, &new_event(&seen), None)
        .await
        .expect("cached");

    // Our edit keeps the other app's field and replaces exactly the version we hold.
    let id = event.id.to_string();
    let (status, body) = app
        .update_event(
            &id,
            &[
                ("name", "Rust & ATProto night (moved)"),
                ("starts_at", "2026-12-11T18:30"),
                ("time_zone", "Europe/Berlin"),
                ("online_url", "https://meet.example/rust"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (edited_cid, edited) = get_record(&account.did, COLLECTION, &rkey).await.expect("on the PDS");
    assert_ne!(edited_cid, foreign_cid);
    assert_eq!(edited["name"], "Rust & ATProto night (moved)");
    assert_eq!(edited["theme"], json!({"accent": "#ff6600", "opacity": 80}));
    assert_eq!(edited["createdAt"], record["createdAt"]);
    assert_eq!(edited.get("description"), None, "cleared in the form, so gone");
    let cached = only_event_of(&app, &account).await;
    assert_eq!(cached.source.cid.as_deref(), Some(edited_cid.as_str()));
    assert_eq!(cached.name, "Rust & ATProto night (moved)");

    let (status, body) = app.delete_event(&id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        get_record(&account.did, COLLECTION, &rkey).await,
        None,
        "gone from the PDS"
    );
    assert_eq!(app.state.store.event_by_id(event.id).await.expect("query"), None);
    assert!(list_records(&account.did, COLLECTION).await.is_empty());
}

fn new_event(event: &Event) -> NewEvent {
    NewEvent {
        owner_id: event.owner_id,
        name: event.name.clone(),
        description: event.description.clone(),
        starts_at: event.starts_at,
        ends_at: event.ends_at,
        time_zone: event.time_zone.clone(),
        source: SourceTracking { ..event.source.clone() },
        record: event.record.clone(),
        findable: Default::default(),
        visibility: Default::default(),
    }
}

/// The firehose reports our own writes some time after the PDS accepted them. News of an earlier
/// version neither undoes an edit nor brings back a deleted event; a newer change does apply.
#[tokio::test]
async fn late_firehose_news_of_an_earlier_version_neither_undoes_an_edit_nor_brings_an_event_back() {
    let (app, account) = signed_in_app().await;
    let identity = app.state.identity().expect("identity");
    let ingest = Arc::new(Ingest::new(app.state.store.clone(), identity, firehose_url()));
    let (status, body) = app.create_event(&[("name", "First name")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let event = only_event_of(&app, &account).await;
    let id = event.id.to_string();
    let (status, body) = app.update_event(&id, &[("name", "Second name")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let uri = event.source.at_uri.clone().expect("published");
    let frames = frames_carrying(&uri, 2).await;
    let (created, edited) = (&frames[0], &frames[1]);

    ingest.handle(created).await.expect("applied");
    assert_eq!(
        only_event_of(&app, &account).await.name,
        "Second name",
        "the edit stands"
    );

    let (status, body) = app.delete_event(&id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for frame in [edited, created] {
        ingest.handle(frame).await.expect("applied");
        let cached = event_at(&app, &uri).await;
        assert!(cached.is_none(), "deleted after that: {cached:?}");
    }

    // Another app makes the record again under the same key: that is news, and it applies.
    let rkey = uri.rsplit('/').next().expect("rkey");
    let again = json!({"$type": COLLECTION, "name": "Made again", "createdAt": "2026-11-24T00:00:00.000Z"});
    put_record_directly(&account, COLLECTION, rkey, again).await;
    let made_again = frames_carrying(&uri, 4).await.remove(3);
    ingest.handle(&made_again).await.expect("applied");
    let event = event_at(&app, &uri).await.expect("back");
    assert_eq!(event.name, "Made again");
}

/// Publishing a new record under a key the cache already has a row for (the firehose brought the
/// record back first, or a series occurrence is made again) writes that row over, never a second.
#[tokio::test]
async fn a_create_under_a_key_the_cache_already_holds_updates_that_row() {
    let (app, account, first, rkey) = app_with_event("First made").await;

    let calendar = app.state.calendar().expect("Bluesky is on");
    let user = user_of(&app, &account).await;
    let draft = EventDraft::parse(&EventInput {
        name: "Made again".to_owned(),
        starts_at: "2031-03-04T19:00".to_owned(),
        time_zone: "Europe/Berlin".to_owned(),
        ..EventInput::default()
    })
    .expect("a valid draft");
    let made = calendar
        .create_keyed(&user, Rkey::parse(&rkey).expect("a record key"), &draft)
        .await
        .expect("published");

    assert_eq!(made.id, first.id, "the same row");
    let event = only_event_of(&app, &account).await;
    assert_eq!(event.name, "Made again");
    let (_, record) = get_record(&account.did, COLLECTION, &rkey).await.expect("on the PDS");
    assert_eq!(record["name"], "Made again");
    let writes = app.state.store.pending_writes_for_owner(user.id).await.expect("query");
    assert!(writes.is_empty(), "settled: {writes:?}");
}

#[tokio::test]
async fn an_edit_over_a_version_changed_elsewhere_is_a_conflict_not_an_overwrite() {
    let (app, account, event, rkey) = app_with_event("Book club").await;
    let (_, record) = get_record(&account.did, COLLECTION, &rkey).await.expect("on the PDS");

    // Edited in another app; we have not heard of it.
    let mut elsewhere = record.clone();
    elsewhere["name"] = json!("Book club (edited elsewhere)");
    let elsewhere_cid = put_record_directly(&account, COLLECTION, &rkey, elsewhere.clone()).await;

    let (status, body) = app.update_event(event.id, &[("name", "Book club (ours)")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "error-pds-2");
    assert_eq!(
        get_record(&account.did, COLLECTION, &rkey).await,
        Some((elsewhere_cid.clone(), elsewhere)),
        "the other edit stands"
    );
    let cached = only_event_of(&app, &account).await;
    assert_eq!(cached.source.sync_status, SyncStatus::Conflict);
    let writes = app
        .state
        .store
        .pending_writes_for_owner(cached.owner_id.expect("owner"))
        .await
        .expect("query");
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].state, WriteState::Conflict);
    assert_eq!(
        writes[0].record.as_ref().map(|r| r["name"].clone()),
        Some(json!("Book club (ours)")),
        "kept"
    );
    // The page says so.
    let (_, page) = app.get_html(&format!("/events/{}", event.slug)).await;
    assert!(page.contains(r#"data-sync-status="conflict""#), "{page}");
    assert!(page.contains(r#"data-state="conflict""#));

    // Discarding our version takes the PDS's: the cache follows it and is in sync again.
    let (status, body) = app.discard_write(writes[0].id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cached = only_event_of(&app, &account).await;
    assert_eq!(cached.name, "Book club (edited elsewhere)");
    assert_eq!(cached.source.sync_status, SyncStatus::InSync);
    assert_eq!(cached.source.cid.as_deref(), Some(elsewhere_cid.as_str()));
    assert!(app
        .state
        .store
        .pending_writes_for_owner(cached.owner_id.expect("owner"))
        .await
        .expect("query")
        .is_empty());

    // The conflict is on record: both versions and the decision (F24).
    let response = app.get(&format!("/api/event_conflicts?id={}", event.id)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let conflicts: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(conflicts.as_array().map(Vec::len), Some(1), "{conflicts}");
    assert_eq!(conflicts[0]["ours"], "Book club (ours)");
    assert_eq!(conflicts[0]["theirs"], "Book club (edited elsewhere)");
    assert_eq!(conflicts[0]["decision"], "kept_theirs");
    assert!(!conflicts[0]["decided_at"].is_null());
}

/// A write sent again after its first attempt landed (its answer was lost, or the database lost
/// its settling) is settled, not a conflict: the PDS takes a put of the record it holds as done,
/// before it checks the swapRecord CID. Why a settling commit may skip waiting for the disk
/// (`Store::settling`) rests on this.
#[tokio::test]
async fn an_update_sent_again_after_it_landed_is_settled_not_a_conflict() {
    let (app, account, event, rkey) = app_with_event("Quiz night").await;
    let (status, body) = app
        .update_event(&event.id.to_string(), &[("name", "Quiz night (moved)")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (cid, landed) = get_record(&account.did, COLLECTION, &rkey).await.expect("on the PDS");

    // The same update, still queued over the version before it.
    let owner = event.owner_id.expect("owner");
    let again = NewPendingWrite {
        owner_id: owner,
        event_id: Some(event.id),
        operation: WriteOperation::Update,
        collection: Collection::Event,
        rkey: Rkey::parse(&rkey).expect("a record key"),
        record: Some(landed),
        swap_cid: event.source.cid.clone(),
        time_zone: event.time_zone.clone(),
    };
    let queued = app
        .state
        .store
        .save_pending_write(&again, Utc::now())
        .await
        .expect("queued");
    let (status, body) = app.call("retry_write", &[("id", queued.id.to_string())]).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let cached = only_event_of(&app, &account).await;
    assert_eq!(
        (cached.name.as_str(), cached.source.sync_status, cached.source.cid),
        ("Quiz night (moved)", SyncStatus::InSync, Some(cid))
    );
    let writes = app.state.store.pending_writes_for_owner(owner).await.expect("query");
    assert!(writes.is_empty(), "settled: {writes:?}");
    let conflicts = app.state.store.conflicts_of_event(event.id).await.expect("query");
    assert!(conflicts.is_empty(), "no conflict: {conflicts:?}");
}

#[tokio::test]
async fn re_applying_our_version_writes_it_over_the_one_changed_elsewhere() {
    let (app, account, event, rkey) = app_with_event("Chess").await;
    let (_, record) = get_record(&account.did, COLLECTION, &rkey).await.expect("on the PDS");
    let mut elsewhere = record.clone();
    elsewhere["name"] = json!("Chess (edited elsewhere)");
    put_record_directly(&account, COLLECTION, &rkey, elsewhere).await;
    let id = event.id.to_string();
    let (status, _) = app.update_event(&id, &[("name", "Chess (ours)")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let owner = event.owner_id.expect("owner");
    let writes = app.state.store.pending_writes_for_owner(owner).await.expect("query");

    // "Re-apply mine": ours goes over theirs, on purpose, and the cache follows.
    let (status, body) = app.reapply_write(writes[0].id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (cid, record) = get_record(&account.did, COLLECTION, &rkey).await.expect("on the PDS");
    assert_eq!(record["name"], "Chess (ours)");
    let cached = only_event_of(&app, &account).await;
    assert_eq!(
        (cached.name.as_str(), cached.source.sync_status),
        ("Chess (ours)", SyncStatus::InSync)
    );
    assert_eq!(cached.source.cid, Some(cid));
    assert!(app
        .state
        .store
        .pending_writes_for_owner(owner)
        .await
        .expect("query")
        .is_empty());
    let conflicts: serde_json::Value = app
        .get(&format!("/api/event_conflicts?id={id}"))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(conflicts[0]["decision"], "reapplied_ours", "{conflicts}");
    assert_eq!(conflicts[0]["theirs"], "Chess (edited elsewhere)");

    // Someone else may not see them.
    let other = app.state.store.conflicts_of_event(event.id).await.expect("query");
    assert_eq!(other.len(), 1);
    app.client
        .post(format!("{}/api/logout", app.address))
        .send()
        .await
        .expect("signed out");
    sign_in_headless(&app, &create_account().await).await;
    let response = app
        .client
        .get(format!("{}/api/event_conflicts?id={id}", app.address))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn only_the_owner_may_edit_or_delete() {
    let (app, owner) = signed_in_app().await;
    let (status, body) = app.create_event(&[("name", "Owner's party")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let event = only_event_of(&app, &owner).await;
    let id = event.id.to_string();

    // A guest is asked to sign in.
    let guest = reqwest::Client::new();
    let response = guest
        .post(format!("{}/api/delete_event", app.address))
        .form(&[("id", &id)])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // Someone else, signed in, is refused.
    let intruder = create_account().await;
    app.client
        .post(format!("{}/api/logout", app.address))
        .send()
        .await
        .expect("signed out");
    sign_in_headless(&app, &intruder).await;
    let (status, body) = app.update_event(&id, &[("name", "Taken over")]).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::FORBIDDEN, json!("error-event-1"))
    );
    let (status, body) = app.delete_event(&id).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::FORBIDDEN, json!("error-event-1"))
    );
    let rkey = event.source.rkey.expect("rkey");
    let (_, record) = get_record(&owner.did, COLLECTION, &rkey).await.expect("still there");
    assert_eq!(record["name"], "Owner's party");
    assert!(app.state.store.event_by_id(event.id).await.expect("query").is_some());
}

#[tokio::test]
async fn bad_input_gets_a_message_per_field_and_nothing_is_published() {
    let (app, account) = signed_in_app().await;
    let (status, body) = app
        .create_event(&[
            ("name", " "),
            ("starts_at", "2026-12-10T18:30"),
            ("ends_at", "2026-12-10T17:00"),
            ("online_url", "javascript:alert(1)"),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "error-input-1");
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect();
    assert_eq!(fields, ["name", "ends_at", "online_url"]);
    assert!(list_records(&account.did, COLLECTION).await.is_empty());
}

#[tokio::test]
async fn the_user_page_lists_what_the_pds_holds_including_other_apps_events() {
    let (app, account) = signed_in_app().await;
    let (status, body) = app.create_event(&[("name", "Made here")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    put_record_directly(
        &account,
        COLLECTION,
        "3lzzzzzzzzzz2",
        json!({"$type": COLLECTION, "name": "Made elsewhere", "createdAt": "2026-11-01T00:00:00Z", "extra": 15}),
    )
    .await;
    let (status, page) = app.get_html(&format!("/u/{}", account.handle)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Made here") && page.contains("Made elsewhere"), "{page}");
    assert!(!page.contains("cached-notice"));
    let (status, _) = app.get_html("/u/nobody-here.test").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_account_that_granted_fewer_scopes_is_told_to_allow_writing() {
    let app = spawn_local_network_app(AppOptions::production().with("CREDENTIALS_KEYS", TEST_KEYS)).await;
    let account = create_account().await;
    sign_in_granting(&app, &account, "atproto").await;
    let (status, body) = app.create_event(&[("name", "Not allowed")]).await;
    assert_eq!(body["code"], "error-pds-6", "{status} {body}");
    assert!(list_records(&account.did, COLLECTION).await.is_empty());
}
