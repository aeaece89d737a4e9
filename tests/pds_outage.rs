//! F9 against the real PDS: while the PDS cannot be reached, creating an event (or answering one)
//! shows an error, stores no event (or answer) and keeps a pending write; once it can be reached
//! again, the worker publishes exactly one record each and they appear. The same holds for a
//! series' first occurrence, with the series scheduler running during the outage. Reads fall back to the cached copy meanwhile (F13).
//!
//! The app's outgoing HTTP goes through a forward proxy this test runs and cuts (`HTTP_PROXY`, which
//! reqwest reads once per process: hence a test binary of its own). A forward proxy keeps each
//! request's URL as it is, so DPoP proofs, which are bound to the PDS's URL, stay valid.

// Shared with the integration tests, of which this binary uses only a part.
#[allow(dead_code)]
#[path = "integration/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "integration/network.rs"]
mod network;

use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Router,
};
use helpers::AppOptions;
use network::{create_account, list_records, sign_in_headless, spawn_local_network_app, TEST_KEYS};
use skymeet::server::store::WriteState;
use std::{net::SocketAddr, time::Duration};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

const COLLECTION: &str = "community.lexicon.calendar.event";

/// A forward HTTP proxy on a fixed port that can be cut (connections refused, open ones closed)
/// and restored.
struct Proxy {
    address: SocketAddr,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Proxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy port");
        let address = listener.local_addr().expect("address");
        let mut proxy = Self { address, running: None };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let app = Router::new().fallback(forward).with_state(client);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        self.running = Some((stop, task));
    }

    /// Closes every connection and refuses new ones.
    async fn cut(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            let _ = stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }

    async fn restore(&mut self) {
        let listener = TcpListener::bind(self.address).await.expect("the same port again");
        self.serve(listener);
    }
}

/// Sends the request to the absolute URL it names and hands the answer back.
async fn forward(State(client): State<reqwest::Client>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut headers = parts.headers.clone();
    for hop in [
        header::HOST,
        header::CONNECTION,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
    ] {
        headers.remove(hop);
    }
    headers.remove("proxy-connection");
    let upstream = client
        .request(parts.method, parts.uri.to_string())
        .headers(headers)
        .body(body)
        .send()
        .await;
    let Ok(upstream) = upstream else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = upstream.status();
    let mut headers: HeaderMap = upstream.headers().clone();
    for hop in [header::CONNECTION, header::CONTENT_LENGTH, header::TRANSFER_ENCODING] {
        headers.remove(hop);
    }
    let bytes = upstream.bytes().await.unwrap_or_default();
    (status, headers, Body::from(bytes)).into_response()
}

#[tokio::test]
async fn a_write_made_while_the_pds_is_unreachable_is_published_once_when_it_is_back() {
    let mut proxy = Proxy::start().await;
    // Before any HTTP client exists in this process.
    let proxy_url = format!("http://{}", proxy.address);
    for name in ["HTTP_PROXY", "http_proxy"] {
        std::env::set_var(name, &proxy_url);
    }
    for name in ["ALL_PROXY", "all_proxy"] {
        std::env::remove_var(name);
    }
    // The test talks to the app (127.0.0.1) directly; the app reaches the PDS and PLC (localhost)
    // through the proxy.
    for name in ["NO_PROXY", "no_proxy"] {
        std::env::set_var(name, "127.0.0.1");
    }

    let mut app = spawn_local_network_app(
        AppOptions::production()
            .with("CREDENTIALS_KEYS", TEST_KEYS)
            .with("PENDING_WRITE_BACKOFF_SECONDS", "0.3")
            // The outage opens the PDS's circuit; keep it open only briefly.
            .with("ATPROTO_CIRCUIT_COOLDOWN_SECONDS", "1"),
    )
    .await;
    let account = create_account().await;
    sign_in_headless(&app, &account).await;
    let (status, body) = app
        .call("create_event", &[("input[name]", "Published before the outage")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user = network::user_of(&app, &account).await;

    proxy.cut().await;
    let (status, body) = app
        .call("create_event", &[("input[name]", "Made during the outage")])
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "error-pds-1");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("could not be reached"),
        "{body}"
    );
    let events = app.state.store.events_by_owner(user.id).await.expect("query");
    assert_eq!(events.len(), 1, "no event for the unpublished write");
    let writes = app.state.store.pending_writes_for_owner(user.id).await.expect("query");
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].state, WriteState::Pending);
    let rkey = writes[0].rkey.to_string();

    // An answer (RSVP) fails the same way: a clear message, and a pending write, not an answer.
    let first = &events[0];
    let (status, body) = app
        .call(
            "answer_event",
            &[("id", first.id.to_string().as_str()), ("status", "going")],
        )
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::SERVICE_UNAVAILABLE, "error-pds-1".into())
    );
    let subject = first.source.at_uri.clone().expect("published");
    assert!(app.state.store.attendees(&subject).await.expect("query").is_empty());
    assert_eq!(
        list_records(&account.did, COLLECTION).await.len(),
        1,
        "the PDS has only the first"
    );

    // Reads fall back to the cached copy and show what is pending (F13).
    let (status, page) = app.get_html(&format!("/u/{}", account.handle)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("cached-notice"), "{page}");
    assert!(page.contains("Published before the outage"));
    assert!(page.contains(r#"data-state="pending""#));

    // A few retries fail while it is down...
    tokio::time::sleep(Duration::from_secs(2)).await;
    let attempts = app.state.store.pending_writes_for_owner(user.id).await.expect("query")[0].attempts;
    assert_eq!(
        app.state
            .store
            .pending_writes_for_owner(user.id)
            .await
            .expect("query")
            .len(),
        2
    );
    assert!(attempts >= 2, "retried with backoff: {attempts} attempts");

    // ...and once it is back, the worker publishes the write under its pre-chosen key, once.
    proxy.restore().await;
    let mut published = None;
    for _ in 0..100 {
        let events = app.state.store.events_by_owner(user.id).await.expect("query");
        if let Some(event) = events.into_iter().find(|e| e.name == "Made during the outage") {
            published = Some(event);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let published = published.expect("the worker published the pending write");
    assert_eq!(published.source.rkey.as_deref(), Some(rkey.as_str()));
    let records = list_records(&account.did, COLLECTION).await;
    let names: Vec<&str> = records.iter().filter_map(|r| r["value"]["name"].as_str()).collect();
    assert_eq!(records.len(), 2, "exactly one record more: {names:?}");
    let ours = records
        .iter()
        .find(|r| r["uri"].as_str().is_some_and(|uri| uri.ends_with(&rkey)))
        .expect("the record under the pre-chosen key");
    assert_eq!(ours["cid"].as_str(), published.source.cid.as_deref());
    // The answer went out once too, and counts.
    for _ in 0..100 {
        if !app.state.store.attendees(&subject).await.expect("query").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let answers = app.state.store.attendees(&subject).await.expect("query");
    assert_eq!(answers.len(), 1, "the worker published the answer");
    let rsvps = list_records(&account.did, "community.lexicon.calendar.rsvp").await;
    assert_eq!(rsvps.len(), 1, "{rsvps:?}");
    assert_eq!(rsvps[0]["uri"].as_str(), Some(answers[0].rsvp.at_uri.as_str()));
    assert!(app
        .state
        .store
        .pending_writes_for_owner(user.id)
        .await
        .expect("query")
        .is_empty());

    // A series started while the PDS is down is kept, its first occurrence waits as a pending
    // write, and the scheduler running meanwhile adds no second write; once the PDS is back, the
    // occurrence is published once.
    proxy.cut().await;
    let start = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%dT19:00")
        .to_string();
    let (status, body) = app
        .call(
            "create_event",
            &[
                ("input[name]", "Weekly during the outage"),
                ("input[starts_at]", start.as_str()),
                ("repeat[frequency]", "weekly"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the series is kept: {body}");
    let series = app.state.store.series_of_owner(user.id).await.expect("query");
    assert_eq!(series.len(), 1);
    // "Sync now" on the series, twice: its occurrence is queued already, so nothing is added.
    for _ in 0..2 {
        let (status, body) = app
            .send_json(
                reqwest::Method::POST,
                &format!("/api/events/series/{}/sync", series[0].id),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["current"]["state"], "queued", "{body}");
    }
    let writes = app.state.store.pending_writes_for_owner(user.id).await.expect("query");
    assert_eq!(
        writes.len(),
        1,
        "one pending write for the first occurrence: {writes:?}"
    );
    let (status, page) = app.get_html(&format!("/series/{}", series[0].slug)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"data-state="queued""#), "{page}");

    proxy.restore().await;
    for _ in 0..100 {
        if app
            .state
            .store
            .pending_writes_for_owner(user.id)
            .await
            .expect("query")
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let schedule = app.state.schedule().expect("bluesky is on");
    schedule.work_once(chrono::Utc::now()).await.expect("scheduler");
    let weekly: Vec<_> = list_records(&account.did, COLLECTION)
        .await
        .into_iter()
        .filter(|r| r["value"]["name"] == "Weekly during the outage")
        .collect();
    assert_eq!(weekly.len(), 1, "the first occurrence, once: {weekly:?}");

    // Someone who made an event on Skymeet before connecting Bluesky publishes it while the PDS
    // cannot be reached: the event stays (pending, under its record key), and once the PDS is
    // back the worker publishes it once, as the same event.
    let (browser, person, _) = helpers::local_person(&app, "Lin").await;
    app.client = browser;
    let (status, body) = app.call("create_event", &[("input[name]", "Kept here first")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let later = create_account().await;
    assert_eq!(network::connect_headless(&app, &later).await, "/me");
    let kept = app.state.store.events_by_owner(person).await.expect("query").remove(0);
    proxy.cut().await;
    let (status, body) = app
        .call("publish_local_event", &[("id", kept.id.to_string().as_str())])
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::SERVICE_UNAVAILABLE, "error-pds-1".into()),
        "{body}"
    );
    let waiting = app
        .state
        .store
        .event_by_id(kept.id)
        .await
        .expect("query")
        .expect("kept");
    assert_eq!(waiting.source.sync_status, skymeet::domain::SyncStatus::Pending);
    let uri = waiting
        .source
        .at_uri
        .clone()
        .expect("its record key, chosen before the first try");
    proxy.restore().await;
    let mut settled = None;
    for _ in 0..100 {
        let event = app
            .state
            .store
            .event_by_id(kept.id)
            .await
            .expect("query")
            .expect("kept");
        if event.source.sync_status == skymeet::domain::SyncStatus::InSync {
            settled = Some(event);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let settled = settled.expect("the worker published it");
    assert_eq!(settled.source.at_uri.as_deref(), Some(uri.as_str()));
    let records = list_records(&later.did, COLLECTION).await;
    assert_eq!(records.len(), 1, "published once: {records:?}");
    assert_eq!(records[0]["uri"].as_str(), Some(uri.as_str()));
    assert_eq!(records[0]["cid"].as_str(), settled.source.cid.as_deref());
    assert_eq!(app.state.store.events_by_owner(person).await.expect("query").len(), 1);
    app.shutdown.cancel();
}
