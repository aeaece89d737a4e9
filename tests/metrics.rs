//! `/metrics` (F31) against the real local PDS: it parses as the Prometheus text format, and the
//! counters move when the actions happen. A test binary of its own: the recorder is process-wide,
//! so here no other test moves the counters meanwhile.

// Shared with the integration tests, of which this binary uses only a part.
#[allow(dead_code)]
#[path = "integration/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "integration/network.rs"]
mod network;

use helpers::{AppOptions, TestApp};
use network::{create_account, put_record_directly, sign_in_headless, spawn_local_network_app, TEST_KEYS};
use prometheus_parse::{Scrape, Value};
use reqwest::StatusCode;
use serde_json::json;
use skymeet::server::{metrics, store::ReconcileTrigger};

async fn scrape(app: &TestApp) -> Scrape {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("body");
    Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).expect("the Prometheus text format")
}

/// The sum of a counter's samples whose labels include `labels` (0 when it has none yet).
fn counter(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == name)
        .filter(|sample| labels.iter().all(|(k, v)| sample.labels.get(k) == Some(*v)))
        .map(|sample| match sample.value {
            Value::Counter(value) | Value::Untyped(value) | Value::Gauge(value) => value,
            _ => 0.0,
        })
        .sum()
}

/// How many observations a histogram holds (its `+Inf` bucket).
fn observations(scrape: &Scrape, name: &str) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == name)
        .filter_map(|sample| match &sample.value {
            Value::Histogram(buckets) => buckets.iter().find(|b| b.less_than.is_infinite()).map(|b| b.count),
            _ => None,
        })
        .sum()
}

#[tokio::test]
async fn metrics_parse_and_count_publishing_answering_and_reconciling() {
    let admin = create_account().await;
    let mut app = spawn_local_network_app(
        AppOptions::embedded()
            .with("CREDENTIALS_KEYS", TEST_KEYS)
            .with("ADMIN_DIDS", admin.did.clone())
            .with("RECONCILE_INTERVAL_SECONDS", "0"),
    )
    .await;
    sign_in_headless(&app, &admin).await;
    let before = scrape(&app).await;
    assert!(!before.samples.is_empty());

    // Someone signs in, and the admin resets their session.
    let member = create_account().await;
    app.client = network::switch_to(&mut app, &member).await;
    let member_id = network::user_of(&app, &member).await.id.to_string();
    let (status, body) = app
        .call("admin/sessions/reset", &[("user_id", member_id.as_str())])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = app.call("create_event", &[("input[name]", "Counted")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let did = skymeet::domain::Did::parse(&admin.did).expect("DID");
    let event = app.state.store.events_of(&did).await.expect("query").remove(0);
    let id = event.id.to_string();
    let (status, body) = app
        .call("answer_event", &[("id", id.as_str()), ("status", "going")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A record only the PDS has: reconciliation repairs it.
    let record = json!({"$type": "community.lexicon.calendar.event", "name": "Elsewhere", "createdAt": "2026-11-24T00:00:00.000Z"});
    put_record_directly(&admin, "community.lexicon.calendar.event", "elsewhere", record).await;
    let reconciler = app.state.reconciler().expect("reconciler");
    reconciler.run(ReconcileTrigger::Admin).await.expect("reconciled");

    let after = scrape(&app).await;
    let moved = |name: &str, labels: &[(&str, &str)]| counter(&after, name, labels) - counter(&before, name, labels);
    assert_eq!(moved(metrics::EVENTS_PUBLISHED_TOTAL, &[("status", "ok")]), 1.0);
    assert_eq!(moved(metrics::RSVPS_PUBLISHED_TOTAL, &[("status", "ok")]), 1.0);
    assert_eq!(moved(metrics::RECONCILIATION_REPAIRS_TOTAL, &[]), 1.0);
    assert_eq!(moved(metrics::RECONCILIATION_ERRORS_TOTAL, &[]), 0.0);
    assert_eq!(
        observations(&after, metrics::PUBLISH_DURATION_SECONDS)
            - observations(&before, metrics::PUBLISH_DURATION_SECONDS),
        1.0
    );
    assert!(
        observations(&after, metrics::OUTBOUND_REQUEST_DURATION_SECONDS)
            - observations(&before, metrics::OUTBOUND_REQUEST_DURATION_SECONDS)
            >= 2.0,
        "the event's and the answer's writes went to the PDS"
    );
    assert!(moved(metrics::HTTP_REQUESTS_TOTAL, &[("method", "POST")]) >= 2.0);
    assert_eq!(moved(metrics::SIGN_INS_TOTAL, &[("outcome", "ok")]), 1.0);
    assert_eq!(moved(metrics::SESSION_RESETS_TOTAL, &[]), 1.0);
    assert!(
        moved(metrics::CREDENTIAL_WRITES_TOTAL, &[]) >= 1.0,
        "the member's tokens were stored"
    );
    // Series detection's accuracy on the labelled histories, measured when the process started.
    let accuracy = counter(&after, metrics::SERIES_DETECTION_ACCURACY, &[]);
    assert!((0.9..=1.0).contains(&accuracy), "accuracy {accuracy}");
}
