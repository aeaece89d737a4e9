//! The plan's JSON API (F26) against the real local PDS: `POST /api/events/{slug}/sync`,
//! `GET /api/events/{slug}/conflicts`, `POST /api/events/{slug}/resolve` and
//! `POST /api/auth/bluesky/claim-account`, each with its success, 401, 403 and 400 answers.

use crate::helpers::{visitor, AppOptions, TestApp};
use crate::network::{
    create_account, delete_record_directly, firehose_url, frame_carrying, get_record, only_event_of,
    put_record_directly, sign_in_headless, spawn_local_network_app, switch_to, user_of, Account, TEST_KEYS,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use skymeet::domain::SyncStatus;
use skymeet::server::{firehose::Ingest, store::Event};
use std::sync::Arc;

const EVENTS: &str = "community.lexicon.calendar.event";

async fn app_with_admin(admin: &Account) -> TestApp {
    spawn_local_network_app(
        AppOptions::production()
            .with("CREDENTIALS_KEYS", TEST_KEYS)
            .with("ADMIN_DIDS", admin.did.clone())
            .with("RECONCILE_INTERVAL_SECONDS", "0"),
    )
    .await
}

async fn sync(app: &TestApp, id: &str) -> (StatusCode, Value) {
    app.sync_event(id).await
}

async fn conflicts(app: &TestApp, id: &str) -> (StatusCode, Value) {
    app.event_conflicts(id).await
}

async fn resolve(app: &TestApp, id: &str, body: &str) -> (StatusCode, Value) {
    app.resolve_conflict(id, body).await
}

/// What the three paths of one event answer: sync, its conflicts, and a resolve with `resolution`.
async fn all_three(app: &TestApp, id: &str, resolution: &str) -> [(StatusCode, Value); 3] {
    let body = json!({ "resolution": resolution }).to_string();
    [
        sync(app, id).await,
        conflicts(app, id).await,
        resolve(app, id, &body).await,
    ]
}

/// Creates an event through Skymeet, then edits it in another app and, through Skymeet, over the
/// version it knew: a conflict. Returns the event and the other app's name for it.
async fn conflicted_event(app: &TestApp, organiser: &Account, name: &str) -> (Event, String) {
    let (status, body) = app.create_event(&[("name", name)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let event = only_event_of(app, organiser).await;
    let rkey = event.source.rkey.clone().expect("rkey");
    let (_, mut record) = get_record(&organiser.did, EVENTS, &rkey).await.expect("on the PDS");
    let theirs = format!("{name} (edited elsewhere)");
    record["name"] = json!(theirs);
    put_record_directly(organiser, EVENTS, &rkey, record).await;
    let id = event.id.to_string();
    let ours = format!("{name} (ours)");
    let (status, body) = app.update_event(&id, &[("name", ours.as_str())]).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::CONFLICT, json!("error-pds-2"))
    );
    (event, theirs)
}

#[tokio::test]
async fn the_organiser_syncs_lists_and_resolves_through_the_event_paths() {
    let organiser = create_account().await;
    let mut app = app_with_admin(&create_account().await).await;
    sign_in_headless(&app, &organiser).await;
    let (status, body) = app.create_event(&[("name", "Picnic")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let event = only_event_of(&app, &organiser).await;
    let id = event.id.to_string();
    let rkey = event.source.rkey.clone().expect("rkey");

    // Changed in another app, unheard of here (no firehose): "sync" reads it again.
    let (_, mut record) = get_record(&organiser.did, EVENTS, &rkey).await.expect("on the PDS");
    record["name"] = json!("Picnic in the park");
    let cid = put_record_directly(&organiser, EVENTS, &rkey, record).await;
    let (status, body) = sync(&app, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "refreshed");
    assert_eq!(body["sync"]["status"], "in_sync");
    let cached = only_event_of(&app, &organiser).await;
    assert_eq!(
        (cached.name.as_str(), cached.source.cid.as_deref()),
        ("Picnic in the park", Some(cid.as_str()))
    );

    // Bad slugs: not a number is a 400, an unknown event a 404.
    let (status, body) = sync(&app, "picnic").await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("error-request-1"))
    );
    let (status, body) = conflicts(&app, "424242").await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::NOT_FOUND, json!("error-event-3"))
    );

    // Deleted in another app: "sync" finds it gone, and it is gone here too.
    delete_record_directly(&organiser, EVENTS, &rkey).await;
    let (status, body) = sync(&app, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["outcome"].clone(), body["sync"].clone()),
        (json!("gone"), Value::Null)
    );
    assert_eq!(app.state.store.event_by_id(event.id).await.expect("query"), None);

    // A conflict: sync will not send a write that needs a decision.
    let (event, _) = conflicted_event(&app, &organiser, "Quiz").await;
    let id = event.id.to_string();
    let (status, body) = sync(&app, &id).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::CONFLICT, json!("error-pds-2"))
    );
    let (status, listed) = conflicts(&app, &id).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(
        (listed[0]["ours"].clone(), listed[0]["decision"].clone()),
        (json!("Quiz (ours)"), Value::Null)
    );

    // Bad input to resolve: 400 with a stable code, and nothing changes.
    for body in ["", "{", r#"{"resolution": "merge"}"#, r#"{"choice": "keep_bluesky"}"#] {
        let (status, answer) = resolve(&app, &id, body).await;
        assert_eq!(
            (status, answer["code"].clone()),
            (StatusCode::BAD_REQUEST, json!("error-request-1")),
            "{body:?}: {answer}"
        );
    }

    // Someone else: 403 on all three; a guest: 401.
    let organiser_client = switch_to(&mut app, &create_account().await).await;
    for (status, body) in all_three(&app, &id, "keep_bluesky").await {
        assert_eq!(
            (status, body["code"].clone()),
            (StatusCode::FORBIDDEN, json!("error-event-1"))
        );
    }
    app.client = visitor();
    for (status, body) in all_three(&app, &id, "reapply_mine").await {
        assert_eq!(
            (status, body["code"].clone()),
            (StatusCode::UNAUTHORIZED, json!("error-auth-6"))
        );
    }

    // The organiser re-applies theirs: it goes over the other version, on purpose.
    app.client = organiser_client;
    let (status, body) = resolve(&app, &id, r#"{"resolution": "reapply_mine"}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rkey = event.source.rkey.clone().expect("rkey");
    let (cid, record) = get_record(&organiser.did, EVENTS, &rkey).await.expect("on the PDS");
    assert_eq!(record["name"], "Quiz (ours)");
    let cached = only_event_of(&app, &organiser).await;
    assert_eq!(
        (cached.source.sync_status, cached.source.cid.as_deref()),
        (SyncStatus::InSync, Some(cid.as_str()))
    );
    let (_, listed) = conflicts(&app, &id).await;
    assert_eq!(listed[0]["decision"], "reapplied_ours", "{listed}");
    // Nothing left to resolve.
    let (status, body) = resolve(&app, &id, r#"{"resolution": "keep_bluesky"}"#).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::CONFLICT, json!("error-event-5"))
    );
}

#[tokio::test]
async fn an_admin_keeps_blueskys_version_but_cannot_reapply_the_organisers() {
    let (admin, organiser) = (create_account().await, create_account().await);
    let mut app = app_with_admin(&admin).await;
    sign_in_headless(&app, &organiser).await;
    let (event, theirs) = conflicted_event(&app, &organiser, "Choir").await;
    let id = event.id.to_string();

    switch_to(&mut app, &admin).await;
    // The dashboard offers it.
    let (status, html) = app.get_html("/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Keep Bluesky&#x27;s") || html.contains("Keep Bluesky's"),
        "{html}"
    );
    // Re-applying needs the organiser.
    let (status, body) = resolve(&app, &id, r#"{"resolution": "reapply_mine"}"#).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::FORBIDDEN, json!("error-event-1"))
    );
    // Keeping Bluesky's does not, and the cache follows the PDS.
    let (status, body) = app.resolve_conflict_by_form(&id, "keep_bluesky").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cached = only_event_of(&app, &organiser).await;
    assert_eq!(
        (cached.name.as_str(), cached.source.sync_status),
        (theirs.as_str(), SyncStatus::InSync)
    );
    let decided = app.state.store.conflicts_of_event(event.id).await.expect("query");
    assert_eq!(decided[0].decision.map(|d| d.as_str()), Some("kept_theirs"));
    let (_, report) = app.sync_status().await;
    assert_eq!(report["conflicts"][0]["decision"], "kept_theirs", "{report}");
}

async fn claim(app: &TestApp, did: Option<&str>) -> (StatusCode, Value) {
    app.claim_account(did).await
}

#[tokio::test]
async fn signing_in_claims_what_the_firehose_saw_and_claim_account_reports_it() {
    let mut app = spawn_local_network_app(AppOptions::production().with("CREDENTIALS_KEYS", TEST_KEYS)).await;
    let identity = app.state.identity().expect("identity");
    let ingest = Arc::new(Ingest::new(app.state.store.clone(), identity, firehose_url()));
    let person = create_account().await;

    // Written in another app before this person ever used Skymeet: the firehose brings it, for a
    // shadow user.
    let record = json!({"$type": EVENTS, "name": "Seen first", "createdAt": "2026-11-24T00:00:00.000Z"});
    put_record_directly(&person, EVENTS, "3mclaimclaim2", record).await;
    let uri = format!("at://{}/{EVENTS}/3mclaimclaim2", person.did);
    ingest.handle(&frame_carrying(&uri).await).await.expect("applied");
    let shadow = user_of(&app, &person).await;
    assert!(shadow.shadow && shadow.claimed_at.is_none(), "{shadow:?}");

    // A guest claims nothing.
    let (status, body) = claim(&app, None).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("error-auth-6"))
    );

    sign_in_headless(&app, &person).await;
    let (status, body) = claim(&app, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["user_id"].clone(),
            body["did"].clone(),
            body["events"].clone(),
            body["rsvps"].clone()
        ),
        (json!(shadow.id), json!(person.did), json!(1), json!(0)),
        "the same user, with the event the firehose brought"
    );
    assert!(body["claimed_at"].is_string(), "{body}");
    let (status, again) = claim(&app, Some(&person.did)).await;
    assert_eq!(
        (status, again["claimed_at"].clone()),
        (StatusCode::OK, body["claimed_at"].clone())
    );
    let (_, me) = app.get_html("/me").await;
    assert!(me.contains(r#"data-testid="claimed""#), "{me}");

    // Someone else's DID is forbidden; something that is not a DID is bad input.
    let other = create_account().await;
    let (status, body) = claim(&app, Some(&other.did)).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::FORBIDDEN, json!("error-auth-10"))
    );
    let (status, body) = claim(&app, Some("not a did")).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("error-input-1"))
    );

    // Someone the firehose never saw has nothing to claim: no claim time.
    switch_to(&mut app, &other).await;
    let (status, body) = claim(&app, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["claimed_at"].clone(), body["events"].clone()),
        (Value::Null, json!(0))
    );
    let (_, me) = app.get_html("/me").await;
    assert!(!me.contains(r#"data-testid="claimed""#));
}
