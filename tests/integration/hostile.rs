//! The network is hostile: records anyone could write, requests from other sites, clients that ask
//! too much. Records go to the real local PDS and come back through the firehose, on PostgreSQL
//! and on SQLite.

use crate::firehose::consuming_app_on;
use crate::helpers::{spawn_app, AppOptions, TestApp};
use crate::network::{create_account, pds_url, put_record_directly, Account};
use reqwest::{header, StatusCode};
use scraper::{Html, Selector};
use serde_json::{json, Value};
use skymeet::domain::Did;
use skymeet::server::store::{Applied, NewEvent, RecordChange, SourceTracking, SourceType};
use std::time::Duration;

const EVENTS: &str = "community.lexicon.calendar.event";
const RSVPS: &str = "community.lexicon.calendar.rsvp";

/// `tests/fixtures/hostile-records.json`: each record, where it goes and what must become of it.
#[derive(serde::Deserialize)]
struct Corpus {
    records: Vec<HostileRecord>,
}

#[derive(serde::Deserialize, Clone)]
struct HostileRecord {
    rkey: String,
    collection: String,
    /// `dead-letter`, `shown` or `any`.
    expect: String,
    /// Part of the dead letter's reason, when it must be one.
    reason: Option<String>,
    record: Value,
}

fn corpus() -> Vec<HostileRecord> {
    let corpus: Corpus =
        serde_json::from_str(include_str!("../fixtures/hostile-records.json")).expect("the corpus is JSON");
    let mut records = corpus.records;
    // Too big for the file: 100 kB of text in the description, and 500 kB (which the PDS may refuse).
    for (rkey, size) in [("huge-description", 100_000), ("huger-description", 500_000)] {
        records.push(HostileRecord {
            rkey: rkey.to_owned(),
            collection: "event".to_owned(),
            expect: "dead-letter".to_owned(),
            reason: Some("kB of text".to_owned()),
            record: json!({"$type": EVENTS, "name": "Huge", "createdAt": "2026-11-24T00:00:00Z", "description": "d".repeat(size)}),
        });
    }
    records
}

/// Writes a record as another app would; `false` when the PDS itself refuses it (too big for it).
async fn try_put(account: &Account, collection: &str, rkey: &str, record: &Value) -> bool {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!("{}/xrpc/com.atproto.repo.putRecord", pds_url()))
        .bearer_auth(&account.access_jwt)
        .json(
            &json!({"repo": account.did, "collection": collection, "rkey": rkey, "record": record, "validate": false}),
        )
        .send()
        .await
        .expect("putRecord sent");
    let status = response.status();
    if status.is_success() {
        return true;
    }
    let body = response.text().await.unwrap_or_default();
    assert!(
        status == StatusCode::PAYLOAD_TOO_LARGE || status == StatusCode::BAD_REQUEST,
        "the PDS failed on {rkey}: {status} {body}"
    );
    println!("the PDS itself refuses {rkey}: {status} {body}");
    false
}

/// The page's script nonce, from its policy header.
fn nonce_of(policy: &str) -> String {
    let start = policy
        .find("'nonce-")
        .unwrap_or_else(|| panic!("no nonce in the policy {policy:?}"))
        + "'nonce-".len();
    policy[start..].split('\'').next().expect("nonce").to_owned()
}

/// Everything a page must hold to be safe whatever its records say: a policy with a nonce, that
/// nonce on every script, no script of a record's making, and no live link other than http(s) or
/// our own paths.
pub async fn assert_safe_page(app: &TestApp, path: &str) -> Html {
    let response = app
        .client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .expect("page");
    if response.status() != StatusCode::OK {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        panic!("{path}: {status}\n{body}");
    }
    let policy = response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{path} has no Content-Security-Policy"))
        .to_owned();
    assert!(
        policy.contains("'strict-dynamic'") && !policy.contains("unsafe-inline"),
        "{policy}"
    );
    let nonce = nonce_of(&policy);
    let html = response.text().await.expect("body");
    assert!(
        !html.contains("<script>window.__pwned"),
        "{path}: a record's script is in the page"
    );
    assert!(!html.contains("<img src=x"), "{path}: a record's markup is in the page");
    let page = Html::parse_document(&html);
    for script in page.select(&Selector::parse("script").expect("selector")) {
        assert_eq!(
            script.value().attr("nonce"),
            Some(nonce.as_str()),
            "{path}: a script without the page's nonce: {}",
            script.html()
        );
        assert!(
            !script.inner_html().contains("__pwned=") || !script.inner_html().contains('<'),
            "{path}"
        );
    }
    for link in page.select(&Selector::parse("[href]").expect("selector")) {
        let href = link.value().attr("href").unwrap_or_default();
        assert!(
            href.starts_with('/')
                || href.starts_with('#')
                || href.starts_with("https://")
                || href.starts_with("http://"),
            "{path}: a live link to {href:?}"
        );
    }
    for element in page.select(&Selector::parse("*").expect("selector")) {
        for (name, _) in element.value().attrs() {
            assert!(!name.starts_with("on"), "{path}: an event handler attribute {name}");
        }
    }
    page
}

#[tokio::test]
async fn the_hostile_corpus_is_dead_lettered_or_shown_safely_and_a_canary_written_after_it_arrives() {
    let corpus = corpus();
    for options in [AppOptions::production(), AppOptions::embedded()] {
        let app = consuming_app_on(options).await;
        let account = create_account().await;
        let mut written = Vec::new();
        for item in &corpus {
            let collection = if item.collection == "rsvp" { RSVPS } else { EVENTS };
            if try_put(&account, collection, &item.rkey, &item.record).await {
                written.push(item.clone());
            }
        }
        assert!(written.len() >= corpus.len() - 2, "the PDS took the corpus");
        // Written after all of them: it must arrive.
        let canary = json!({"$type": EVENTS, "name": "Canary", "createdAt": "2026-11-24T00:00:00Z"});
        put_record_directly(&account, EVENTS, "canary", canary).await;

        let did = Did::parse(&account.did).expect("DID");
        let mut events = Vec::new();
        for _ in 0..600 {
            events = app.state.store.events_of(&did).await.expect("events");
            if events.iter().any(|e| e.name == "Canary") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let canary = events.iter().find(|e| e.name == "Canary").expect("the canary arrived");

        let letters = app.state.store.dead_letters(500).await.expect("dead letters");
        for item in &written {
            let collection = if item.collection == "rsvp" { RSVPS } else { EVENTS };
            let uri = format!("at://{}/{collection}/{}", account.did, item.rkey);
            let letter = letters.iter().find(|l| l.uri.as_deref() == Some(uri.as_str()));
            let cached = events.iter().find(|e| e.source.at_uri.as_deref() == Some(uri.as_str()));
            match item.expect.as_str() {
                "dead-letter" => {
                    let letter = letter.unwrap_or_else(|| panic!("{} is not dead-lettered", item.rkey));
                    if let Some(reason) = &item.reason {
                        assert!(
                            letter.error.contains(reason.as_str()),
                            "{}: {}",
                            item.rkey,
                            letter.error
                        );
                    }
                    assert!(cached.is_none(), "{} is cached as well", item.rkey);
                }
                "shown" => {
                    assert!(
                        letter.is_none(),
                        "{} was dead-lettered: {:?}",
                        item.rkey,
                        letter.map(|l| &l.error)
                    );
                    let event = cached.unwrap_or_else(|| panic!("{} is not cached", item.rkey));
                    assert_safe_page(&app, &format!("/events/{}", event.slug)).await;
                }
                _ => assert!(
                    letter.is_some() || cached.is_some() || collection == RSVPS,
                    "{}",
                    item.rkey
                ),
            }
        }
        // The lists that show these names are safe too.
        assert_safe_page(&app, &format!("/events/{}", canary.slug)).await;
        assert_safe_page(&app, "/events").await;
        assert_safe_page(&app, "/").await;

        // The title breakout is text in the title, not an element after it.
        let named = events
            .iter()
            .find(|e| e.name.contains("</title>"))
            .expect("the markup name is cached");
        let page = assert_safe_page(&app, &format!("/events/{}", named.slug)).await;
        let title = page
            .select(&Selector::parse("title").expect("selector"))
            .next()
            .expect("a title")
            .text()
            .collect::<String>();
        assert_eq!(title, format!("{} · Skymeet", named.name));
        // A javascript: link is shown as text, not as a link.
        let inert = events
            .iter()
            .find(|e| e.source.at_uri.as_deref().is_some_and(|u| u.ends_with("/link-0")));
        let page = assert_safe_page(&app, &format!("/events/{}", inert.expect("link-0 cached").slug)).await;
        let shown: Vec<String> = page
            .select(&Selector::parse("[data-testid=inert-link]").expect("selector"))
            .map(|e| e.text().collect())
            .collect();
        assert_eq!(shown, ["click me"]);
    }
}

#[tokio::test]
async fn a_change_the_database_refuses_is_refused_alone_and_the_rest_of_the_frame_applies() {
    for options in [AppOptions::production(), AppOptions::embedded()] {
        let app = spawn_app(options).await;
        let did = Did::parse("did:plc:hostilehostilehostile12").expect("DID");
        let owner = app.state.store.shadow_user(&did, None).await.expect("a shadow user");
        let event = |rkey: &str, name: &str| RecordChange::Upsert {
            event: Box::new(NewEvent {
                owner_id: Some(owner),
                name: name.to_owned(),
                description: None,
                starts_at: None,
                ends_at: None,
                time_zone: skymeet::domain::TimeZoneName::utc(),
                source: SourceTracking {
                    source_type: SourceType::Bluesky,
                    source_id: Some(did.to_string()),
                    at_uri: Some(format!("at://{did}/{EVENTS}/{rkey}")),
                    rkey: Some(rkey.to_owned()),
                    cid: Some(format!("cid-{rkey}")),
                    sync_status: skymeet::domain::SyncStatus::InSync,
                    ..SourceTracking::local()
                },
                record: Some(json!({"name": name})),
                findable: Default::default(),
                visibility: Default::default(),
            }),
            rev: None,
        };
        // A blank name gets past no check at the edge, but here it is handed straight to the store:
        // the database's own check refuses it.
        let changes = [
            event("before", "Before"),
            event("blank", "   "),
            event("after", "After"),
        ];
        let applied = app
            .state
            .store
            .apply_firehose_changes(Some(("wss://refusal.test", 7)), &changes)
            .await
            .expect("the frame applies");
        assert_eq!(applied[0], Applied::Inserted);
        assert!(
            matches!(&applied[1], Applied::Refused(reason) if reason.contains("refused")),
            "{applied:?}"
        );
        assert_eq!(applied[2], Applied::Inserted);
        let names: Vec<String> = app
            .state
            .store
            .events_of(&did)
            .await
            .expect("events")
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["Before", "After"]);
        let cursor = app
            .state
            .store
            .firehose_cursor("wss://refusal.test")
            .await
            .expect("cursor");
        assert_eq!(cursor, Some(7), "the frame's cursor moved");
    }
}

#[tokio::test]
async fn state_changing_requests_from_other_sites_are_refused() {
    let app = spawn_app(AppOptions::embedded()).await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let post = |headers: Vec<(&'static str, String)>| {
        let mut request = app
            .client
            .post(format!("{}/api/login", app.address))
            .form(&[("handle", "someone.test")]);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    for refused in [
        vec![("sec-fetch-site", "cross-site".to_owned())],
        vec![("sec-fetch-site", "same-site".to_owned())],
        vec![("origin", "http://evil.test".to_owned())],
        vec![("origin", "null".to_owned())],
        // Another port of the same host is the same site, not the same origin.
        vec![("origin", format!("http://{}", host.replace(':', ":1")))],
    ] {
        let response = post(refused.clone()).await.expect("sent");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{refused:?}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["code"], "error-request-2", "{refused:?}");
    }
    for allowed in [
        vec![("sec-fetch-site", "same-origin".to_owned())],
        vec![("origin", app.address.clone())],
        vec![],
    ] {
        let response = post(allowed.clone()).await.expect("sent");
        assert_ne!(response.status(), StatusCode::FORBIDDEN, "{allowed:?}");
    }
    // A REST path and a server function, refused the same way; reading is never refused.
    let response = app
        .client
        .post(format!("{}/api/events/1/sync", app.address))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .client
        .get(format!("{}/events", app.address))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_pages_a_fresh_nonce() {
    let app = spawn_app(AppOptions::embedded()).await;
    let policy = |response: &reqwest::Response| {
        response
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let first = app
        .client
        .get(format!("{}/events", app.address))
        .send()
        .await
        .expect("page");
    let second = app
        .client
        .get(format!("{}/events", app.address))
        .send()
        .await
        .expect("page");
    assert_ne!(
        nonce_of(&policy(&first)),
        nonce_of(&policy(&second)),
        "a nonce per response"
    );
    for response in [&first, &second] {
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        assert!(policy(response).contains("frame-ancestors 'none'"));
    }
    let json = app
        .client
        .get(format!("{}/api/openapi.json", app.address))
        .send()
        .await
        .expect("json");
    assert!(policy(&json).starts_with("default-src 'none'"), "{}", policy(&json));
    let missing = app
        .client
        .get(format!("{}/no/such/page", app.address))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(
        policy(&missing).contains("'nonce-"),
        "the error page runs its scripts by nonce too"
    );
}

/// Many pages rendered at once each go out with their own page policy, and their scripts carry its
/// nonce: a page that once went out with the strict policy for non-pages could not hydrate.
#[tokio::test]
async fn pages_rendered_side_by_side_each_carry_their_own_page_policy() {
    let app = spawn_app(AppOptions::embedded()).await;
    let pages = (0..32).map(|i| {
        let app = &app;
        async move {
            let path = if i % 2 == 0 { "/" } else { "/events" };
            assert_safe_page(app, path).await;
        }
    });
    futures_util::future::join_all(pages).await;
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after_and_others_are_not_slowed() {
    let app = spawn_app(
        AppOptions::embedded()
            .with("RATE_LIMIT_PER_SECOND", "1")
            .with("RATE_LIMIT_BURST", "3"),
    )
    .await;
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..6 {
        let response = app
            .client
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .expect("sent");
        statuses.push(response.status());
        if response.status() == StatusCode::TOO_MANY_REQUESTS && limited.is_none() {
            limited = Some(response);
        }
    }
    assert_eq!(&statuses[..3], [StatusCode::OK; 3], "the burst passes: {statuses:?}");
    let limited = limited.unwrap_or_else(|| panic!("never limited: {statuses:?}"));
    let retry: u64 = limited.headers()[header::RETRY_AFTER]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    let body: Value = limited.json().await.expect("JSON");
    assert_eq!(body["code"], "error-request-3");
    // After waiting as told, the client may ask again.
    tokio::time::sleep(Duration::from_secs(retry)).await;
    let again = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("sent");
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_set_and_labels_come_from_a_closed_set() {
    let app = spawn_app(AppOptions::embedded().with("METRICS_TOKEN", "s3cret-token")).await;
    let metrics = |token: Option<&str>| {
        let request = app.client.get(format!("{}/metrics", app.address));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
        .send()
    };
    let refused = metrics(None).await.expect("sent");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refused.headers()[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(refused.json::<Value>().await.expect("JSON")["code"], "error-request-6");
    assert_eq!(
        metrics(Some("s3cret-tokem")).await.expect("sent").status(),
        StatusCode::UNAUTHORIZED
    );

    // A made-up method is counted as `other`, never under its own name.
    let method = reqwest::Method::from_bytes(b"BREWCOFFEE").expect("method");
    app.client
        .request(method, format!("{}/healthz", app.address))
        .send()
        .await
        .expect("sent");
    let text = metrics(Some("s3cret-token"))
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert!(text.contains("skymeet_http_requests_total"), "{text}");
    assert!(!text.contains("BREWCOFFEE"));
    assert!(text.contains(r#"method="other""#));
}

#[tokio::test]
async fn expired_sessions_are_freed_from_the_embedded_store() {
    let app = spawn_app(AppOptions::embedded().with("SESSION_IDLE_SECONDS", "1")).await;
    let skymeet::server::kv::KvStore::Memory(memory) = &app.state.kv else {
        panic!("the embedded store");
    };
    let before = memory.len();
    // An anonymous visitor choosing a time zone: a session with one value.
    let response = app
        .client
        .post(format!("{}/api/set_time_zone", app.address))
        .form(&[("time_zone", "Europe/Berlin")])
        .send()
        .await
        .expect("sent");
    assert!(
        response.status().is_success() || response.status().is_redirection(),
        "{}",
        response.status()
    );
    assert_eq!(memory.len(), before + 1, "the session is kept");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(memory.purge_expired() >= 1, "the expired session is freed");
    assert_eq!(memory.len(), before);
}

#[tokio::test]
async fn a_handle_page_shows_only_the_account_the_handle_resolves_to() {
    use crate::network::spawn_local_network_app;
    let app = spawn_local_network_app(AppOptions::embedded()).await;
    let (owner, impostor) = (create_account().await, create_account().await);
    let event = |name: &str| json!({"$type": EVENTS, "name": name, "createdAt": "2026-11-24T00:00:00Z"});
    put_record_directly(&owner, EVENTS, "real", event("The real owner's event")).await;
    put_record_directly(&impostor, EVENTS, "fake", event("The impostor's event")).await;
    let repos = &app.state.bluesky.as_ref().expect("bluesky").repos;
    for account in [&owner, &impostor] {
        let did = Did::parse(&account.did).expect("DID");
        repos.backfill(&did, None).await.expect("backfill");
        // A handle is kept once it resolves back to the DID.
        let user = app.state.store.user_by_did(&did).await.expect("query").expect("a user");
        assert_eq!(user.handle.map(|h| h.to_string()), Some(account.handle.clone()));
    }
    // The impostor's row now claims the owner's handle (an old holder, or a forged claim) and is
    // the most recently updated: the page still belongs to whom the handle resolves to.
    let impostor_did = Did::parse(&impostor.did).expect("DID");
    let claimed = skymeet::domain::Handle::parse(&owner.handle).expect("handle");
    assert!(app
        .state
        .store
        .set_handle(&impostor_did, Some(&claimed))
        .await
        .expect("update"));
    let page = app
        .client
        .get(format!("{}/u/{}", app.address, owner.handle))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    assert!(
        page.contains("The real owner&#x27;s event") || page.contains("The real owner's event"),
        "{page}"
    );
    assert!(!page.contains("impostor"), "another account's events under the handle");
}

#[tokio::test]
async fn dead_letters_are_pruned_by_age_and_by_count() {
    for options in [AppOptions::production(), AppOptions::embedded()] {
        let app = spawn_app(options).await;
        let store = &app.state.store;
        for n in 0..5 {
            let uri = format!("at://did:plc:prune/{EVENTS}/{n}");
            store
                .add_dead_letter("wss://prune.test", Some(n), "a blank name", None, None, Some(&uri))
                .await
                .expect("dead letter");
        }
        let month = chrono::Duration::days(30);
        assert_eq!(
            store.prune_dead_letters(month, 3).await.expect("prune"),
            2,
            "beyond the newest 3"
        );
        let kept: Vec<Option<i64>> = store
            .dead_letters(10)
            .await
            .expect("list")
            .into_iter()
            .map(|l| l.seq)
            .collect();
        assert_eq!(kept.len(), 3);
        assert!(
            kept.iter().all(|seq| seq.is_some_and(|seq| seq >= 2)),
            "the newest stay: {kept:?}"
        );
        // Everything is older than "from a minute in the future".
        assert_eq!(
            store
                .prune_dead_letters(chrono::Duration::minutes(-1), 100)
                .await
                .expect("prune"),
            3
        );
        assert_eq!(store.dead_letter_count().await.expect("count"), 0);
    }
}

#[tokio::test]
async fn an_event_lists_a_bounded_number_of_answers_and_counts_them_all_once_per_person() {
    use skymeet::domain::RsvpStatus;
    use skymeet::server::store::{NewRsvp, ATTENDEES_LISTED};
    for options in [AppOptions::production(), AppOptions::embedded()] {
        let app = spawn_app(options).await;
        let store = &app.state.store;
        let subject = format!("at://did:plc:crowded/{EVENTS}/party");
        let people = ATTENDEES_LISTED as usize + 100;
        let mut changes = Vec::new();
        for n in 0..people {
            let did = Did::parse(&format!("did:plc:guest{n}")).expect("DID");
            let owner_id = store.shadow_user(&did, None).await.expect("user");
            // The first guest's app wrote three answers; the latest (not going) is the one.
            let answers: &[&str] = if n == 0 {
                &["going", "interested", "notgoing"]
            } else {
                &["going"]
            };
            for (k, status) in answers.iter().enumerate() {
                changes.push(RecordChange::UpsertRsvp {
                    rsvp: Box::new(NewRsvp {
                        owner_id,
                        at_uri: format!("at://{did}/{RSVPS}/{k}"),
                        subject_uri: subject.clone(),
                        subject_cid: None,
                        status: RsvpStatus::from_token(status).expect("status"),
                        cid: format!("cid-{n}-{k}"),
                        record: json!({}),
                    }),
                    rev: None,
                });
            }
        }
        for frame in changes.chunks(200) {
            store.apply_firehose_changes(None, frame).await.expect("applied");
        }
        let listed = store.attendees(&subject).await.expect("attendees");
        assert_eq!(listed.len(), ATTENDEES_LISTED as usize, "a bounded list");
        let counts = store.answer_counts(&subject).await.expect("counts");
        let count = |status| counts.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
        assert_eq!(count(RsvpStatus::Going), people as i64 - 1, "everyone counted, once");
        assert_eq!(count(RsvpStatus::NotGoing), 1, "by their latest answer");
        assert_eq!(count(RsvpStatus::Interested), 0);
    }
}

async fn a_did_whose_server_never_answers_holds_up_the_consumer_for_seconds_not_minutes(options: AppOptions) {
    use crate::network::spawn_local_network_app;
    use skymeet::server::firehose::{backfill::IDENTIFY_DEADLINE, Ingest};
    use std::sync::Arc;

    let did = silent_did_web(&format!("127.0.0.{}", silent_hosts(&options))).await;

    let app = spawn_local_network_app(options).await;
    let identity = app.state.identity().expect("identity");
    // A Jetstream endpoint: its frames are JSON, so the test can write one for any DID.
    let ingest = Arc::new(Ingest::new(
        app.state.store.clone(),
        identity,
        "ws://127.0.0.1:1/subscribe".to_owned(),
    ));
    let frame = json!({
        "did": did, "time_us": 1_732_440_000_000_000_i64, "kind": "commit",
        "commit": {"rev": "3lbq2aaaaaaa2", "operation": "create", "collection": EVENTS, "rkey": "3lbq2aaaaaaa2",
                   "cid": "bafyreiabc", "record": {"$type": EVENTS, "name": "From a slow server", "createdAt": "2026-11-24T00:00:00Z"}}
    });
    let started = std::time::Instant::now();
    ingest.handle(frame.to_string().as_bytes()).await.expect("handled");
    let took = started.elapsed();
    assert!(
        took < IDENTIFY_DEADLINE + Duration::from_secs(2),
        "the consumer waited {took:?}"
    );
    let events = app
        .state
        .store
        .events_of(&Did::parse(&did).expect("DID"))
        .await
        .expect("events");
    assert_eq!(
        events.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["From a slow server"]
    );
    assert_eq!(ingest.backfills().pending(), 1, "the rest is learned in the background");
}

on_both_engines!(a_did_whose_server_never_answers_holds_up_the_consumer_for_seconds_not_minutes);

/// The first of the loopback addresses (127.0.0.N) a test of the silent servers below may listen
/// on, one range per engine: both engines' tests run at once, and each host's port 443 is taken.
fn silent_hosts(options: &AppOptions) -> u8 {
    match options.engine {
        crate::helpers::Engine::Sqlite => 70,
        crate::helpers::Engine::Postgres => 90,
    }
}

/// A did:web whose host accepts connections and never answers. (A did:web names no port: its
/// document is at https://{host}/.well-known/did.json, so the host listens on 443, on a loopback
/// address of its own.)
async fn silent_did_web(host: &str) -> String {
    let listener = tokio::net::TcpListener::bind((host, 443))
        .await
        .unwrap_or_else(|e| panic!("port 443 on {host}: {e}"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("did:web:{host}")
}

async fn new_owners_in_one_batch_are_looked_up_at_once_not_one_after_another(options: AppOptions) {
    use crate::network::spawn_local_network_app;
    use skymeet::server::firehose::{backfill::IDENTIFY_DEADLINE, Ingest};
    use std::sync::Arc;

    let mut dids = Vec::new();
    for n in 1..=4 {
        dids.push(silent_did_web(&format!("127.0.0.{}", silent_hosts(&options) + n)).await);
    }
    let app = spawn_local_network_app(options).await;
    let ingest = Arc::new(Ingest::new(
        app.state.store.clone(),
        app.state.identity().expect("identity"),
        "ws://127.0.0.1:1/subscribe".to_owned(),
    ));
    let frames: Vec<String> = dids
        .iter()
        .zip(1_i64..)
        .map(|(did, i)| {
            json!({
                "did": did, "time_us": 1_732_440_000_000_000_i64 + i, "kind": "commit",
                "commit": {"rev": "3lbq2aaaaaaa2", "operation": "create", "collection": EVENTS, "rkey": "3lbq2aaaaaaa2",
                           "cid": "bafyreiabc", "record": {"$type": EVENTS, "name": format!("Slow {i}"), "createdAt": "2026-11-24T00:00:00Z"}}
            })
            .to_string()
        })
        .collect();
    let started = std::time::Instant::now();
    ingest.handle_batch(&frames).await.expect("handled");
    let took = started.elapsed();
    // One after another, four silent servers would hold the batch for four deadlines.
    assert!(
        took < IDENTIFY_DEADLINE * 2,
        "the batch waited {took:?} for {} new owners",
        dids.len()
    );
    for (did, i) in dids.iter().zip(1..) {
        let events = app
            .state
            .store
            .events_of(&Did::parse(did).expect("DID"))
            .await
            .expect("events");
        assert_eq!(
            events.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
            [format!("Slow {i}")]
        );
    }
    assert_eq!(
        ingest.backfills().pending(),
        dids.len(),
        "each learned in the background once"
    );
}

on_both_engines!(new_owners_in_one_batch_are_looked_up_at_once_not_one_after_another);

/// Records made up by proptest (any field, any type, any text), the same way on every run.
fn generated_records(count: usize) -> Vec<Value> {
    use proptest::{
        prelude::*,
        strategy::ValueTree,
        test_runner::{Config, TestRunner},
    };
    const FIELDS: &[&str] = &[
        "$type",
        "name",
        "description",
        "startsAt",
        "endsAt",
        "mode",
        "status",
        "locations",
        "uris",
        "uri",
        "subject",
        "latitude",
        "longitude",
        "createdAt",
    ];
    let text = prop_oneof![
        "\\PC{0,40}",
        any::<String>(),
        Just("2031-05-01T18:00:00Z".to_owned()),
        Just("at://did:plc:abc/community.lexicon.calendar.event/3k".to_owned()),
        Just("community.lexicon.calendar.rsvp#going".to_owned()),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        text.prop_map(Value::from),
    ];
    let value = leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("\\PC{0,8}", inner), 0..4).prop_map(|f| Value::Object(f.into_iter().collect())),
        ]
    });
    let name = prop_oneof!["\\PC{1,60}", any::<String>()];
    let record =
        (prop::collection::vec((prop::sample::select(FIELDS), value), 0..6), name).prop_map(|(fields, name)| {
            let mut record: serde_json::Map<String, Value> =
                fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            record.entry("name").or_insert(Value::from(name));
            Value::Object(record)
        });
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    (0..count)
        .map(|_| record.new_tree(&mut runner).expect("a record").current())
        .collect()
}

#[tokio::test]
async fn generated_records_never_halt_the_apply_path_on_either_engine() {
    use skymeet::domain::{Collection, Rkey};
    use skymeet::server::records::{self, RecordOwner, RecordState};
    const RECORDS: usize = 4_000;
    let records = generated_records(RECORDS);
    for options in [AppOptions::production(), AppOptions::embedded()] {
        let app = spawn_app(options).await;
        let store = &app.state.store;
        let did = Did::parse("did:plc:generatedgenerated123").expect("DID");
        let owner = RecordOwner {
            did: &did,
            user_id: store.shadow_user(&did, None).await.expect("user"),
            pds: "https://pds.example",
        };
        let mut changes = Vec::new();
        let mut unfit = 0;
        for (n, record) in records.iter().enumerate() {
            let collection = if n % 4 == 0 {
                Collection::Rsvp
            } else {
                Collection::Event
            };
            let rkey = Rkey::parse(&format!("r{n}")).expect("rkey");
            let state = RecordState::Present {
                value: record.clone(),
                cid: format!("cid-{n}"),
            };
            match records::change(owner, collection, &rkey, state, None) {
                Ok(change) => changes.push(change),
                Err(_) => unfit += 1,
            }
        }
        let mut refused = 0;
        for (frame, changes) in changes.chunks(50).enumerate() {
            let applied = store
                .apply_firehose_changes(Some(("wss://generated.test", frame as i64)), changes)
                .await
                .unwrap_or_else(|e| panic!("frame {frame} halted the consumer: {e:?}"));
            refused += applied.iter().filter(|a| matches!(a, Applied::Refused(_))).count();
        }
        let cached = store.events_of(&did).await.expect("events").len();
        println!("{RECORDS} generated records: {unfit} unfit (dead letters), {refused} refused by the database, {cached} events cached");
        assert_eq!(
            store.firehose_cursor("wss://generated.test").await.expect("cursor"),
            Some((changes.len() as i64 - 1) / 50)
        );
        assert!(cached > 0 && unfit > 0, "the generator makes both kinds");
    }
}
