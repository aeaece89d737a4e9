//! Readable addresses (F45), on both engines: an event lives at its slug, numeric and mangled
//! addresses redirect there (the rest of the path and the query kept), a rename keeps the
//! address, the JSON API takes slugs and ids, any name makes a safe slug, and events stored
//! before slugs existed get one at start-up.

use crate::helpers::{AppOptions, Engine, TestApp, TestDatabase};
use crate::network::{create_account, only_event_of, sign_in_headless, spawn_local_network_app, TEST_KEYS};
use reqwest::{header, StatusCode};
use skymeet::domain::{Slug, TimeZoneName};
use skymeet::server::store::{NewEvent, SourceTracking, Store};
use sqlx::Connection;

/// `path`'s answer when redirects are not followed: its status and `Location`.
pub async fn location(app: &TestApp, path: &str) -> (StatusCode, Option<String>) {
    let response = app.get(path).await;
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    (response.status(), location)
}

async fn an_event_lives_at_its_slug_and_keeps_it(options: AppOptions) {
    let app = spawn_local_network_app(options.with("CREDENTIALS_KEYS", TEST_KEYS)).await;
    let account = create_account().await;
    sign_in_headless(&app, &account).await;
    let form = [
        ("name", "Rust & ATProto night"),
        ("starts_at", "2031-12-10T18:30"),
        ("time_zone", "Europe/Berlin"),
    ];
    let (status, body) = app.create_event(&form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let event = only_event_of(&app, &account).await;
    let slug = event.slug.to_string();
    assert!(slug.starts_with("rust-atproto-night-"), "{slug}");
    assert_eq!(Slug::id_in(&slug), Some(event.id));

    // The page is at the slug, and every list links there.
    let (status, page) = app.get_html(&format!("/events/{slug}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Rust &amp; ATProto night"), "{page}");
    let (_, list) = app.get_html("/events").await;
    assert!(list.contains(&format!(r#"href="/events/{slug}""#)), "{list}");

    // Numeric addresses, and slugs with other words, redirect for good; the rest is kept.
    let id = event.id;
    let expected = [
        (format!("/events/{id}"), format!("/events/{slug}")),
        (
            format!("/events/{id}/edit?from=mail"),
            format!("/events/{slug}/edit?from=mail"),
        ),
        (
            format!("/events/old-words-{}", slug.rsplit('-').next().unwrap_or_default()),
            format!("/events/{slug}"),
        ),
    ];
    for (from, to) in expected {
        assert_eq!(
            location(&app, &from).await,
            (StatusCode::PERMANENT_REDIRECT, Some(to)),
            "{from}"
        );
    }
    // What names no event is the page's to answer, without a redirect.
    for missing in ["/events/999999999", "/events/nothing-zzzzzz", "/events/not%20a%20slug"] {
        assert_eq!(
            location(&app, missing).await,
            (StatusCode::NOT_FOUND, None),
            "{missing}"
        );
    }

    // Renamed, it keeps its address.
    let renamed = [
        ("name", "Rust, ATProto and pizza"),
        ("starts_at", "2031-12-10T18:30"),
        ("time_zone", "Europe/Berlin"),
    ];
    let (status, body) = app.update_event(id, &renamed).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stored = app.state.store.event_by_id(id).await.expect("query").expect("kept");
    assert_eq!(stored.name, "Rust, ATProto and pizza");
    assert_eq!(stored.slug.as_str(), slug);
    let (status, page) = app.get_html(&format!("/events/{slug}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Rust, ATProto and pizza"), "{page}");

    // The JSON API takes the slug and the id alike, and says what it wants otherwise.
    for named in [slug.clone(), id.to_string()] {
        let (status, body) = app
            .send_json(reqwest::Method::GET, &format!("/api/events/{named}/conflicts"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{named}: {body}");
    }
    let (status, body) = app
        .send_json(reqwest::Method::GET, "/api/events/Not-A-Slug!/conflicts", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap_or_default().contains("/events/{slug}"),
        "{body}"
    );

    // A name of any script, markup or length makes a short, safe slug.
    let hostile = format!("Café Zürich \u{202e}<script>alert(1)</script> {}", "long ".repeat(40));
    let (status, body) = app
        .create_event(&[
            ("name", hostile.trim()),
            ("starts_at", "2031-12-11T18:30"),
            ("time_zone", "UTC"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events = app
        .state
        .store
        .events_by_owner(event.owner_id.expect("owner"))
        .await
        .expect("query");
    let other = events.iter().find(|e| e.id != id).expect("the second event");
    let other_slug = other.slug.as_str();
    assert!(
        other_slug.starts_with("cafe-zurich-script-alert-1-script-long-"),
        "{other_slug}"
    );
    assert!(other_slug.len() <= 60 + 14, "{other_slug}");
    assert!(other_slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
    crate::hostile::assert_safe_page(&app, &format!("/events/{other_slug}")).await;
}

on_both_engines!(an_event_lives_at_its_slug_and_keeps_it);

fn draft_event(name: &str) -> NewEvent {
    NewEvent {
        owner_id: None,
        name: name.to_owned(),
        description: None,
        starts_at: None,
        ends_at: None,
        time_zone: TimeZoneName::utc(),
        source: SourceTracking::local(),
        record: None,
        findable: Default::default(),
        visibility: Default::default(),
    }
}

/// Runs `sql` on the test database directly, as a row from before slugs would have been written.
async fn execute(database: &TestDatabase, sql: &str) {
    match (&database.database_url, &database.sqlite_path) {
        (Some(url), _) => {
            let mut connection = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::query(sql).execute(&mut connection).await.expect("sql");
        }
        (None, Some(path)) => {
            let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
                .await
                .expect("connect");
            sqlx::query(sql).execute(&mut connection).await.expect("sql");
        }
        (None, None) => unreachable!("a test database is one or the other"),
    }
}

async fn events_from_before_slugs_get_theirs(engine: Engine) {
    let database = TestDatabase::new(engine).await;
    let store: Store = database.store().await;
    let old = store.insert_event(&draft_event("Café night")).await.expect("insert");
    let new = store.insert_event(&draft_event("Already here")).await.expect("insert");
    execute(
        &database,
        &format!("update event set slug = null where id = {}", old.id),
    )
    .await;

    // Until then, the name stands in; start-up gives the row its words for good.
    let before = store.event_by_id(old.id).await.expect("query").expect("event");
    assert!(before.slug.as_str().starts_with("cafe-night-"), "{}", before.slug);
    assert_eq!(store.fill_missing_slugs().await.expect("fill"), 1);
    assert_eq!(store.fill_missing_slugs().await.expect("fill again"), 0);
    execute(
        &database,
        &format!("update event set name = 'Renamed' where id = {}", old.id),
    )
    .await;
    let after = store.event_by_id(old.id).await.expect("query").expect("event");
    assert_eq!(after.slug, before.slug, "the words stay when the name changes");
    let untouched = store.event_by_id(new.id).await.expect("query").expect("event");
    assert_eq!(untouched.slug, new.slug);
}

#[tokio::test]
async fn events_from_before_slugs_get_theirs_on_postgres() {
    events_from_before_slugs_get_theirs(Engine::Postgres).await;
}

#[tokio::test]
async fn events_from_before_slugs_get_theirs_on_sqlite() {
    events_from_before_slugs_get_theirs(Engine::Sqlite).await;
}
