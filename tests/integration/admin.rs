//! The admin dashboard's data and actions against the real local PDS: who may use them,
//! reconciliation repairing what the cache missed, and dead letters replayed once fixed.

use crate::helpers::{visitor, AppOptions, TestApp};
use crate::network::{
    create_account, delete_record_directly, event_at, frame_carrying, put_record_directly, sign_in_headless,
    spawn_local_network_app, switch_to, user_of, Account, TEST_KEYS,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use skymeet::domain::Did;
use std::time::Duration;

const EVENTS: &str = "community.lexicon.calendar.event";

/// An app whose only admin is a fresh account, signed in as the app's client.
async fn admin_app(options: AppOptions) -> (TestApp, Account) {
    let admin = create_account().await;
    let app = spawn_local_network_app(
        options
            .with("CREDENTIALS_KEYS", TEST_KEYS)
            .with("ADMIN_DIDS", admin.did.clone())
            .with("RECONCILE_INTERVAL_SECONDS", "0"),
    )
    .await;
    sign_in_headless(&app, &admin).await;
    (app, admin)
}

async fn sync_status(app: &TestApp) -> (StatusCode, Value) {
    app.sync_status().await
}

#[tokio::test]
async fn only_admins_get_the_sync_report_and_its_actions() {
    let (mut app, _admin) = admin_app(AppOptions::production()).await;
    let (status, report) = sync_status(&app).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["events_total"], 0);
    assert_eq!(report["in_sync_percent"], 100.0);
    let (status, html) = app.get_html("/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-testid=\"sync-report\""));

    // Someone else, signed in: 403, as JSON and as a page.
    switch_to(&mut app, &create_account().await).await;
    let (status, body) = sync_status(&app).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::FORBIDDEN, json!("error-admin-1"))
    );
    let (status, body) = app.reconcile().await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::FORBIDDEN, json!("error-admin-1"))
    );
    let (status, _) = app.discard_dead_letter(1).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, html) = app.get_html("/admin").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("error-admin-1"));

    // A guest: 401.
    app.client = visitor();
    let (status, body) = sync_status(&app).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("error-auth-6"))
    );
    let (status, _) = app.replay_dead_letter(1).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_input_to_an_admin_action_is_a_400_and_an_unknown_dead_letter_a_404() {
    let (app, _admin) = admin_app(AppOptions::embedded()).await;
    let (status, body) = app.replay_dead_letter("not a number").await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("error-request-1"))
    );
    let (status, body) = app.discard_dead_letter(424242).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::NOT_FOUND, json!("error-admin-5"))
    );
}

/// Starts a reconciliation and waits for its report.
async fn reconcile(app: &TestApp) -> Value {
    let (status, body) = app.reconcile().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body.as_i64().expect("the report's id");
    for _ in 0..200 {
        let (_, report) = sync_status(app).await;
        let run = report["reconciliations"]
            .as_array()
            .and_then(|runs| runs.iter().find(|run| run["id"] == id).cloned())
            .expect("the report is listed");
        if !run["finished_at"].is_null() {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the reconciliation did not finish");
}

#[tokio::test]
async fn reconciliation_repairs_records_added_changed_and_deleted_while_nobody_listened() {
    // No firehose: whatever happens on the PDS goes unnoticed until reconciliation.
    let (app, admin) = admin_app(AppOptions::production()).await;
    let event = json!({"$type": EVENTS, "name": "Kept", "createdAt": "2026-11-24T00:00:00.000Z"});
    for rkey in ["kept", "changed", "gone"] {
        put_record_directly(&admin, EVENTS, rkey, event.clone()).await;
    }
    let first = reconcile(&app).await;
    assert_eq!(
        (first["missing"].clone(), first["stale"].clone()),
        (json!(3), json!(0)),
        "{first}"
    );
    let did = Did::parse(&admin.did).expect("DID");
    assert_eq!(app.state.store.events_of(&did).await.expect("query").len(), 3);

    let mut changed = event.clone();
    changed["name"] = json!("Changed elsewhere");
    put_record_directly(&admin, EVENTS, "changed", changed).await;
    delete_record_directly(&admin, EVENTS, "gone").await;
    let second = reconcile(&app).await;
    assert_eq!(
        (
            second["missing"].clone(),
            second["stale"].clone(),
            second["deleted"].clone()
        ),
        (json!(0), json!(1), json!(1)),
        "{second}"
    );
    let names: Vec<String> = app
        .state
        .store
        .events_of(&did)
        .await
        .expect("query")
        .into_iter()
        .map(|event| event.name)
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"Changed elsewhere".to_owned()), "{names:?}");

    // A run with nothing to repair finds nothing; the dashboard lists the runs.
    let third = reconcile(&app).await;
    assert_eq!(
        (
            third["missing"].clone(),
            third["stale"].clone(),
            third["deleted"].clone()
        ),
        (json!(0), json!(0), json!(0))
    );
    let (_, report) = sync_status(&app).await;
    assert_eq!(report["reconciliations"].as_array().map(Vec::len), Some(3));
    assert_eq!(report["events_total"], 2);
}

#[tokio::test]
async fn a_dead_letter_is_replayed_once_its_record_is_fixed_and_others_are_discarded() {
    use skymeet::server::firehose::Ingest;
    let (app, admin) = admin_app(AppOptions::embedded()).await;
    let ingest = std::sync::Arc::new(Ingest::new(
        app.state.store.clone(),
        app.state.identity().expect("identity"),
        crate::network::firehose_url(),
    ));

    // An event without a name does not apply: it goes to the dead letters with its address.
    let broken = json!({"$type": EVENTS, "createdAt": "2026-11-24T00:00:00.000Z"});
    put_record_directly(&admin, EVENTS, "nameless", broken).await;
    let uri = format!("at://{}/{EVENTS}/nameless", admin.did);
    // Delivered twice (at least once): still one dead letter for the record.
    let frame = frame_carrying(&uri).await;
    Ingest::handle(&ingest, &frame).await.expect("handled");
    Ingest::handle(&ingest, &frame).await.expect("handled again");
    ingest.handle(b"garbage, not a frame").await.expect("handled");
    let (_, report) = sync_status(&app).await;
    assert_eq!(report["dead_letters_total"], 2, "{report}");
    let letters = report["dead_letters"].as_array().cloned().unwrap_or_default();
    let record_letter = letters
        .iter()
        .find(|l| l["uri"] == json!(uri))
        .expect("the record's dead letter");
    let frame_letter = letters
        .iter()
        .find(|l| l["uri"].is_null())
        .expect("the frame's dead letter");
    let (record_id, frame_id) = (record_letter["id"].to_string(), frame_letter["id"].to_string());

    // Replaying before the cause is fixed changes nothing and says why.
    let (status, body) = app.replay_dead_letter(&record_id).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("error-admin-4"))
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("still does not apply"),
        "{body}"
    );

    // Once the record is fixed on its PDS, the replay applies it and the dead letter is gone.
    let fixed = json!({"$type": EVENTS, "name": "Named now", "createdAt": "2026-11-24T00:00:00.000Z"});
    put_record_directly(&admin, EVENTS, "nameless", fixed).await;
    let (status, body) = app.replay_dead_letter(&record_id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let event = event_at(&app, &uri).await.expect("applied");
    assert_eq!(event.name, "Named now");

    // A frame that never decoded cannot be replayed; it can be discarded.
    let (status, body) = app.replay_dead_letter(&frame_id).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("error-admin-4"))
    );
    let (status, body) = app.discard_dead_letter(&frame_id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, report) = sync_status(&app).await;
    assert_eq!(report["dead_letters_total"], 0, "{report}");
}

#[tokio::test]
async fn an_admin_backfills_any_account_by_handle_or_did() {
    let (app, _admin) = admin_app(AppOptions::embedded()).await;
    let stranger = create_account().await;
    let event = json!({"$type": EVENTS, "name": "Never seen here", "createdAt": "2026-11-24T00:00:00.000Z"});
    put_record_directly(&stranger, EVENTS, "unseen", event).await;

    let (status, body) = app.backfill(&format!("@{}", stranger.handle)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["did"].clone(), body["missing"].clone()),
        (json!(stranger.did), json!(1))
    );
    let user = user_of(&app, &stranger).await;
    assert!(user.shadow);
    assert_eq!(
        app.state
            .store
            .events_of(user.did.as_ref().expect("DID"))
            .await
            .expect("query")
            .len(),
        1
    );

    // Again, by DID: nothing left to repair.
    let (status, body) = app.backfill(&stranger.did).await;
    assert_eq!((status, body["missing"].clone()), (StatusCode::OK, json!(0)), "{body}");
    let (status, body) = app.backfill("not an account").await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("error-input-1"))
    );
}

#[tokio::test]
async fn an_admin_sees_who_is_connected_refreshes_everyone_and_resets_one() {
    let (mut app, admin) = admin_app(AppOptions::production()).await;
    let member = create_account().await;
    let admin_client = switch_to(&mut app, &member).await;
    let member_client = std::mem::replace(&mut app.client, admin_client);

    let sessions: Value = app.get("/api/admin/sessions").await.json().await.expect("JSON");
    let of = |sessions: &Value, did: &str| {
        sessions
            .as_array()
            .and_then(|all| all.iter().find(|s| s["did"] == did).cloned())
            .expect("listed")
    };
    let member_session = of(&sessions, &member.did);
    assert_eq!(member_session["connected"], true, "{sessions}");
    assert!(member_session["expires_in_seconds"].as_u64().is_some_and(|s| s > 0));
    // Written at sign-in, moments ago.
    assert!(
        member_session["refreshed_seconds_ago"].as_u64().is_some_and(|s| s < 60),
        "{member_session}"
    );
    assert_eq!(of(&sessions, &admin.did)["connected"], true);

    let (status, outcome) = app.refresh_sessions().await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    // The access token the refresh stored is valid, and the panel reads its expiry.
    let sessions: Value = app.get("/api/admin/sessions").await.json().await.expect("JSON");
    let access = &of(&sessions, &member.did)["access_token_expires_in_seconds"];
    assert!(access.as_i64().is_some_and(|seconds| seconds > 0), "{sessions}");
    assert_eq!(
        (outcome["refreshed"].clone(), outcome["failed"].clone()),
        (json!(2), json!([]))
    );

    let user_id = member_session["user_id"].to_string();
    let (status, body) = app.reset_session(&user_id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sessions: Value = app.get("/api/admin/sessions").await.json().await.expect("JSON");
    assert_eq!(of(&sessions, &member.did)["connected"], false);

    // The member has to sign in again; and may not use these.
    app.client = member_client;
    let (status, body) = app.create_event(&[("name", "After the reset")]).await;
    assert_ne!(status, StatusCode::OK, "{body}");
    let response = app.get("/api/admin/sessions").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

/// The chart called `title` in a sync report: its points.
fn chart(report: &Value, title: &str) -> Vec<Option<f64>> {
    report["charts"]["charts"]
        .as_array()
        .and_then(|charts| charts.iter().find(|chart| chart["title"] == title))
        .and_then(|chart| chart["points"].as_array())
        .map(|points| points.iter().map(Value::as_f64).collect())
        .unwrap_or_else(|| panic!("no chart {title:?}: {report}"))
}

#[tokio::test]
async fn the_charts_over_time_follow_what_happened_between_samples() {
    let (app, _admin) = admin_app(AppOptions::production().with("METRICS_SAMPLE_SECONDS", "1")).await;
    let (status, body) = app.create_event(&[("name", "Charted")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Two more samples at least: one with the publish counted, and one after it.
    tokio::time::sleep(Duration::from_millis(2_500)).await;

    let (status, report) = sync_status(&app).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["charts"]["sample_seconds"], 1);
    let publish = chart(&report, "Publish duration");
    assert_eq!(publish.len(), 60);
    assert!(
        publish.iter().flatten().any(|ms| *ms > 0.0),
        "the publish shows between two samples: {publish:?}"
    );
    // The one event is in sync: every sample after it says 100 %.
    let in_sync = chart(&report, "In sync");
    assert_eq!(in_sync.iter().flatten().last(), Some(&100.0), "{in_sync:?}");
    // The firehose rate has a point per pair of samples. (Its value is not checked: the recorder is
    // the test process's, and other tests' consumers run in it.)
    assert!(chart(&report, "Firehose rate").iter().flatten().count() >= 1);

    // Rendered on the server: the page has the four charts, drawn.
    let (_, html) = app.get_html("/admin").await;
    assert_eq!(html.matches(r#"data-testid="chart""#).count(), 4, "{html}");
    assert!(html.contains("<polyline") || html.contains("<circle"), "{html}");

    // Samples older than the retention go; the rest stay.
    let samples = app
        .state
        .store
        .metric_samples_since(chrono::Utc::now() - chrono::Duration::hours(1))
        .await
        .expect("query");
    assert!(samples.len() >= 3, "{samples:?}");
    let gone = app
        .state
        .store
        .delete_metric_samples_before(chrono::Utc::now() - chrono::Duration::hours(48))
        .await
        .expect("delete");
    assert_eq!(gone, 0);
}

async fn an_admin_sees_email_accounts_and_disables_one(options: AppOptions) {
    let (mut app, admin) = admin_app(options).await;
    let (browser, person, email) = crate::helpers::local_person(&app, "Lin").await;

    let sessions: Value = app.get("/api/admin/sessions").await.json().await.expect("JSON");
    let listed = sessions
        .as_array()
        .and_then(|all| all.iter().find(|s| s["user_id"] == person).cloned())
        .expect("the email account is listed");
    assert_eq!(
        (
            listed["email"].as_str(),
            listed["did"].clone(),
            listed["disabled"].clone()
        ),
        (Some(email.as_str()), Value::Null, json!(false))
    );
    let own = user_of(&app, &admin).await.id.to_string();
    let (status, body) = app
        .call(
            "admin/accounts/disable",
            &[("user_id", own.as_str()), ("disabled", "true")],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("error-admin-12"))
    );

    // Disabled: signed out everywhere, and the password no longer signs in.
    let id = person.to_string();
    let (status, body) = app
        .call(
            "admin/accounts/disable",
            &[("user_id", id.as_str()), ("disabled", "true")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let admin_client = std::mem::replace(&mut app.client, browser);
    let (status, body) = app.call("current_user", &crate::helpers::NO_ARGUMENTS).await;
    assert_eq!((status, body), (StatusCode::OK, Value::Null), "signed out");
    let sign_in = [("email", email.as_str()), ("password", crate::helpers::LOCAL_PASSWORD)];
    let (status, body) = app.call("accounts/sign-in", &sign_in).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("error-account-4")),
        "{body}"
    );

    // Enabled again: the password signs in.
    let browser = std::mem::replace(&mut app.client, admin_client);
    let (status, body) = app
        .call(
            "admin/accounts/disable",
            &[("user_id", id.as_str()), ("disabled", "false")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.client = browser;
    let (status, body) = app.call("accounts/sign-in", &sign_in).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = app.call("current_user", &crate::helpers::NO_ARGUMENTS).await;
    assert_eq!(body["display_name"], "Lin");
}

on_both_engines!(an_admin_sees_email_accounts_and_disables_one);
