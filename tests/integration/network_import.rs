//! Importing what the network holds (issue 17), on both engines: a stand-in relay serves
//! `com.atproto.sync.listReposByCollection` (the one thing the local network has no server for),
//! and every repo it lists is read from the real local PDS. Every record arrives once; a restart
//! in the middle resumes the listing where it stood; a repo whose PDS fails is reported and
//! retried; the admin page shows the progress.

use crate::helpers::{AppOptions, TestApp};
use crate::network::{
    create_account, pds_url, put_record_directly, sign_in_headless, spawn_local_network_app, Account, TEST_KEYS,
};
use axum::{extract::Query, routing::get, Json, Router};
use scraper::{Html, Selector};
use serde_json::{json, Value};
use skymeet::server::network_import::Importer;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};
use tokio_util::sync::CancellationToken;

const EVENTS: &str = "community.lexicon.calendar.event";
const RSVPS: &str = "community.lexicon.calendar.rsvp";

/// The pages asked for: the collection and the cursor.
type Asked = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// The stand-in relay: per collection, pages of DIDs (the cursor is the next page's index). It
/// writes down each page asked for, and cancels `stop_at` (when set) as it serves that page.
#[derive(Clone)]
struct Relay {
    pages: Arc<HashMap<String, Vec<Vec<String>>>>,
    asked: Asked,
    stop_at: Arc<Mutex<Option<(String, CancellationToken)>>>,
}

impl Relay {
    async fn serve(pages: HashMap<String, Vec<Vec<String>>>) -> (Self, url::Url) {
        let relay = Self {
            pages: Arc::new(pages),
            asked: Arc::default(),
            stop_at: Arc::default(),
        };
        let state = relay.clone();
        let app = Router::new().route(
            "/xrpc/com.atproto.sync.listReposByCollection",
            get(move |Query(query): Query<HashMap<String, String>>| {
                let relay = state.clone();
                async move {
                    let collection = query.get("collection").cloned().unwrap_or_default();
                    let cursor = query.get("cursor").cloned();
                    relay
                        .asked
                        .lock()
                        .expect("lock")
                        .push((collection.clone(), cursor.clone()));
                    if let Some((at, stop)) = relay.stop_at.lock().expect("lock").as_ref() {
                        if cursor.as_deref() == Some(at.as_str()) {
                            stop.cancel();
                        }
                    }
                    let index: usize = cursor.as_deref().and_then(|c| c.parse().ok()).unwrap_or(0);
                    let pages = relay.pages.get(&collection).cloned().unwrap_or_default();
                    let repos: Vec<Value> = pages
                        .get(index)
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .map(|did| json!({"did": did}))
                        .collect();
                    let mut body = json!({"repos": repos});
                    if index + 1 < pages.len() {
                        body["cursor"] = json!((index + 1).to_string());
                    }
                    Json(body)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (relay, url::Url::parse(&format!("http://{address}/")).expect("URL"))
    }

    fn asked(&self, collection: &str) -> Vec<Option<String>> {
        let asked = self.asked.lock().expect("lock");
        asked
            .iter()
            .filter(|(c, _)| c == collection)
            .map(|(_, cursor)| cursor.clone())
            .collect()
    }
}

fn importer(app: &TestApp, relay: &url::Url) -> Importer {
    let bluesky = app.state.bluesky.as_ref().expect("Bluesky is on");
    let http = Arc::new(skymeet::server::identity::outbound(&app.state.config.atproto));
    Importer::new(app.state.store.clone(), Arc::clone(&bluesky.repos), http, relay.clone())
}

async fn event_record(account: &Account, rkey: &str, name: &str) -> String {
    put_record_directly(
        account,
        EVENTS,
        rkey,
        json!({"$type": EVENTS, "name": name, "createdAt": "2026-11-24T00:00:00.000Z", "startsAt": "2031-05-01T18:00:00.000Z"}),
    )
    .await;
    format!("at://{}/{EVENTS}/{rkey}", account.did)
}

/// Turns the account's repo off (`false`) or on again on its PDS: while off, the PDS refuses to
/// list its records.
async fn set_active(account: &Account, active: bool) {
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let server = format!("{}/xrpc/com.atproto.server", pds_url());
    let (method, request) = match active {
        // This one takes no body at all.
        true => ("activateAccount", client.post(format!("{server}.activateAccount"))),
        false => (
            "deactivateAccount",
            client.post(format!("{server}.deactivateAccount")).json(&json!({})),
        ),
    };
    request
        .bearer_auth(&account.access_jwt)
        .send()
        .await
        .expect("sent")
        .error_for_status()
        .unwrap_or_else(|e| panic!("{method}: {e}"));
}

async fn every_record_arrives_once_and_an_import_resumes(options: AppOptions) {
    let app = spawn_local_network_app(options).await;
    let (a, b, c) = (create_account().await, create_account().await, create_account().await);
    let a_first = event_record(&a, "first", "Imported one").await;
    let a_second = event_record(&a, "second", "Imported two").await;
    let b_event = event_record(&b, "only", "Imported three").await;
    put_record_directly(
        &b,
        RSVPS,
        "answer",
        json!({"$type": RSVPS, "subject": {"uri": a_first, "cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"},
               "status": "community.lexicon.calendar.rsvp#going", "createdAt": "2026-11-24T00:00:00.000Z"}),
    )
    .await;
    let c_event = event_record(&c, "later", "Imported after a retry").await;
    set_active(&c, false).await;
    // A DID no directory knows: its PDS cannot even be found.
    let nowhere = format!("did:plc:{}", "z".repeat(24));
    let (relay, url) = Relay::serve(HashMap::from([
        (
            EVENTS.to_owned(),
            vec![
                vec![a.did.clone(), "not a DID".to_owned()],
                vec![b.did.clone(), nowhere.clone()],
                vec![c.did.clone()],
            ],
        ),
        (RSVPS.to_owned(), vec![vec![b.did.clone()]]),
    ]))
    .await;
    let store = &app.state.store;

    // The first run stops (a restart) while the relay serves the second page.
    let stop = CancellationToken::new();
    *relay.stop_at.lock().expect("lock") = Some(("1".to_owned(), stop.clone()));
    importer(&app, &url).run(stop).await.expect("first run");
    let progress = store.import_progress().await.expect("progress").expect("an import");
    assert!(progress.import.finished_at.is_none(), "stopped before the end");
    assert_eq!((progress.found, progress.done), (3, 0), "{progress:?}");
    assert_eq!(progress.import.cursor.as_deref(), Some("2"));

    // The next one resumes: the listing goes on at its cursor, and every repo is read.
    *relay.stop_at.lock().expect("lock") = None;
    let second = importer(&app, &url);
    second.run(CancellationToken::new()).await.expect("second run");
    assert_eq!(relay.asked(EVENTS), [None, Some("1".to_owned()), Some("2".to_owned())]);
    assert_eq!(relay.asked(RSVPS), [None]);
    let progress = store.import_progress().await.expect("progress").expect("an import");
    assert!(progress.import.finished_at.is_some());
    // a, b, nowhere and c; b was listed twice and is read once.
    assert_eq!(
        (progress.found, progress.done, progress.failed),
        (4, 2, 2),
        "{progress:?}"
    );
    assert_eq!(progress.records, 4, "three events and one answer");
    for uri in [&a_first, &a_second, &b_event] {
        assert!(crate::network::event_at(&app, uri).await.is_some(), "{uri} arrived");
    }
    assert!(crate::network::event_at(&app, &c_event).await.is_none());
    let failures: HashMap<String, Option<String>> = progress.failures.into_iter().collect();
    assert_eq!(failures.len(), 2);
    assert!(
        failures[&nowhere].is_some() && failures[&c.did].is_some(),
        "{failures:?}"
    );
    assert_eq!(store.queued_repos(progress.import.id, 10).await.expect("queued"), []);

    // The failed repos are retried on request; c's PDS answers now.
    set_active(&c, true).await;
    assert_eq!(store.retry_failed_repos(progress.import.id).await.expect("retry"), 2);
    second.run(CancellationToken::new()).await.expect("retry run");
    let progress = store.import_progress().await.expect("progress").expect("an import");
    assert_eq!(
        (progress.found, progress.done, progress.failed),
        (4, 3, 1),
        "{progress:?}"
    );
    assert!(crate::network::event_at(&app, &c_event).await.is_some());
    // Nothing arrived twice: reading the same repos again changes nothing.
    assert_eq!(progress.records, 5);
}

on_both_engines!(every_record_arrives_once_and_an_import_resumes);

/// With `RELAY_URL` set, the first start imports on its own, and the admin page shows how it went.
#[tokio::test]
async fn the_first_start_imports_and_the_admin_page_shows_it() {
    let admin = create_account().await;
    let organiser = create_account().await;
    event_record(&organiser, "shown", "Imported on the first start").await;
    let (_, url) = Relay::serve(HashMap::from([(EVENTS.to_owned(), vec![vec![organiser.did.clone()]])])).await;
    let app = spawn_local_network_app(
        AppOptions::embedded()
            .with("CREDENTIALS_KEYS", TEST_KEYS)
            .with("ADMIN_DIDS", admin.did.clone())
            .with("RECONCILE_INTERVAL_SECONDS", "0")
            .with("RELAY_URL", url.to_string()),
    )
    .await;
    let mut finished = false;
    for _ in 0..100 {
        let import = app.state.store.latest_import().await.expect("import");
        if import.is_some_and(|import| import.finished_at.is_some()) {
            finished = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(finished, "the first start imported the network");
    sign_in_headless(&app, &admin).await;
    let (status, html) = app.get_html("/admin").await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let page = Html::parse_document(&html);
    let text = |testid: &str| {
        page.select(&Selector::parse(&format!("[data-testid={testid}]")).expect("selector"))
            .map(|e| e.text().collect::<String>().trim().to_owned())
            .next()
            .unwrap_or_default()
    };
    assert_eq!(text("import-found"), "1");
    assert_eq!(text("import-done"), "1");
    assert_eq!(text("import-records"), "1");
    assert!(text("import-state").starts_with("Done"), "{}", text("import-state"));
    let progress = page
        .select(&Selector::parse("[data-testid=import-progress]").expect("selector"))
        .next()
        .and_then(|e| e.value().attr("value").map(str::to_owned));
    assert_eq!(progress.as_deref(), Some("100"));
}
