//! The page cache (`http::page_cache`), on both engines: a page kept for visitors who are not
//! signed in is served again with a fresh nonce, shows a change the app makes at once (also one
//! the firehose brings from the real local PDS), and is never kept for someone signed in.

use crate::firehose::{consuming_app_on, eventually};
use crate::helpers::{local_person, spawn_app, visitor, AppOptions, TestApp};
use crate::network::{create_account, put_record_directly};
use serde_json::json;
use skymeet::domain::TimeZoneName;
use skymeet::server::store::{Findable, NewEvent, SourceTracking};
use sqlx::{Connection, PgConnection, SqliteConnection};
use std::time::Duration;

/// How long a page is kept in these tests.
const KEPT_SECONDS: u64 = 3;

async fn insert(app: &TestApp, name: &str) -> i64 {
    let starts_at = chrono::Utc::now() + chrono::Duration::days(3);
    let event = NewEvent {
        owner_id: None,
        name: name.to_owned(),
        description: None,
        starts_at: Some(starts_at),
        ends_at: None,
        time_zone: TimeZoneName::utc(),
        source: SourceTracking::local(),
        record: None,
        findable: Findable::default(),
        visibility: Default::default(),
    };
    app.state.store.insert_event(&event).await.expect("insert").id
}

/// Renames event `id` in the database behind the app's back (as another instance would): the
/// app's store does not see it happen.
async fn rename_behind_the_back(app: &TestApp, id: i64, name: &str) {
    let sql = "update event set name = $1 where id = $2";
    match (app.database_url(), app.sqlite_path()) {
        (Some(url), _) => {
            let mut connection = PgConnection::connect(&url).await.expect("connect");
            sqlx::query(sql)
                .bind(name)
                .bind(id)
                .execute(&mut connection)
                .await
                .expect("rename");
        }
        (None, Some(path)) => {
            let mut connection = SqliteConnection::connect(&format!("sqlite://{path}"))
                .await
                .expect("connect");
            sqlx::query(sql)
                .bind(name)
                .bind(id)
                .execute(&mut connection)
                .await
                .expect("rename");
        }
        _ => unreachable!("a test database is PostgreSQL or SQLite"),
    }
}

/// The page at `path` for `client`, and the nonce its policy allows.
async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (String, String) {
    let response = client.get(format!("{}{path}", app.address)).send().await.expect("sent");
    assert_eq!(response.status(), 200, "{path}");
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .expect("policy")
        .to_owned();
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a page policy with a nonce")
        .to_owned();
    (response.text().await.expect("body"), nonce)
}

async fn a_kept_page_is_served_again_until_a_change(options: AppOptions) {
    let app = spawn_app(options.with("PAGE_CACHE_SECONDS", KEPT_SECONDS.to_string())).await;
    let id = insert(&app, "Harbour walk").await;
    let anonymous = visitor();
    let (first, first_nonce) = page(&app, &anonymous, "/events").await;
    assert!(first.contains("Harbour walk"));

    // Changed behind the app's back: the kept page is served, each time with a nonce of its own
    // that its scripts carry.
    rename_behind_the_back(&app, id, "Harbour swim").await;
    let (again, again_nonce) = page(&app, &anonymous, "/events").await;
    assert!(
        again.contains("Harbour walk") && !again.contains("Harbour swim"),
        "the page was kept"
    );
    assert_ne!(first_nonce, again_nonce, "every response has its own nonce");
    assert!(again.contains(&format!("nonce=\"{again_nonce}\"")));
    assert!(
        !again.contains(&first_nonce),
        "no trace of the nonce it was rendered with"
    );

    // Someone signed in gets the page rendered for them.
    let (person, _, _) = local_person(&app, "Ines").await;
    let (theirs, _) = page(&app, &person, "/events").await;
    assert!(theirs.contains("Harbour swim"), "a signed-in page is never kept");
    // Another address is another page.
    let (searched, _) = page(&app, &anonymous, "/events?q=harbour").await;
    assert!(searched.contains("Harbour swim"));

    // A change through the app shows at once, with everything else that changed.
    insert(&app, "Lighthouse tour").await;
    let (changed, _) = page(&app, &anonymous, "/events").await;
    assert!(changed.contains("Lighthouse tour") && changed.contains("Harbour swim"));

    // A change the app never saw shows once the page is old enough.
    rename_behind_the_back(&app, id, "Harbour row").await;
    tokio::time::sleep(Duration::from_secs(KEPT_SECONDS) + Duration::from_millis(200)).await;
    let (aged, _) = page(&app, &anonymous, "/events").await;
    assert!(aged.contains("Harbour row"), "a page is kept {KEPT_SECONDS} s at most");

    // Off: every page is rendered.
    let off = spawn_app(AppOptions::embedded().with("PAGE_CACHE_SECONDS", "0")).await;
    let id = insert(&off, "Dune hike").await;
    assert!(page(&off, &anonymous, "/events").await.0.contains("Dune hike"));
    rename_behind_the_back(&off, id, "Dune run").await;
    assert!(page(&off, &anonymous, "/events").await.0.contains("Dune run"));
}
on_both_engines!(a_kept_page_is_served_again_until_a_change);

/// A record written to the real local PDS by another app reaches the cache through the firehose,
/// and the page kept from before shows it at once; so does a change to it.
async fn a_record_from_the_firehose_shows_on_a_kept_page(options: AppOptions) {
    // Kept far longer than the test takes: only the change can make the page new.
    let app = consuming_app_on(options.with("PAGE_CACHE_SECONDS", "600")).await;
    let anonymous = visitor();
    let (before, _) = page(&app, &anonymous, "/events").await;
    assert!(!before.contains("Tide pool evening"));
    let account = create_account().await;
    let record = |name: &str| {
        json!({
            "$type": "community.lexicon.calendar.event",
            "name": name,
            "createdAt": "2026-11-27T10:00:00.000Z",
            "startsAt": "2031-05-01T18:00:00.000Z",
        })
    };
    let collection = "community.lexicon.calendar.event";
    put_record_directly(&account, collection, "3mpagecache22", record("Tide pool evening")).await;
    eventually(&app, &account.did, |events| events.len() == 1).await;
    let (after, _) = page(&app, &anonymous, "/events").await;
    assert!(
        after.contains("Tide pool evening"),
        "the kept page made way for the new record"
    );

    // The account is known now: the change alone moves the store's version.
    put_record_directly(&account, collection, "3mpagecache22", record("Tide pool night")).await;
    eventually(&app, &account.did, |events| {
        events.iter().any(|e| e.name == "Tide pool night")
    })
    .await;
    let (changed, _) = page(&app, &anonymous, "/events").await;
    assert!(
        changed.contains("Tide pool night"),
        "the kept page made way for the change"
    );
}
on_both_engines!(a_record_from_the_firehose_shows_on_a_kept_page);

/// `scripts/run.sh` starts the server before the browser half is built. Pages go out without the
/// scripts that would load it until the build names it in the hash file; from the next page on,
/// they load it, and no page kept from before goes out again without them.
#[tokio::test]
async fn pages_load_the_browser_half_once_the_build_names_it() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let hash_file = dir.path().join("hash.txt");
    // What `scripts/build.sh --only=server` writes: the stylesheet's name only.
    std::fs::write(&hash_file, "css: Sty1e\n").expect("hash file");
    let app = spawn_app(
        AppOptions::embedded()
            .with("LEPTOS_HASH_FILE_NAME", hash_file.to_string_lossy())
            .with("PAGE_CACHE_SECONDS", "600"),
    )
    .await;
    let anonymous = visitor();
    let (before, _) = page(&app, &anonymous, "/").await;
    assert!(before.contains("Upcoming events"));
    assert!(
        !before.contains("modulepreload") && !before.contains(".wasm"),
        "no scripts before the browser half is built"
    );

    // `--only=client` then names the browser half (in one rename, as here).
    let next = dir.path().join("hash.next");
    std::fs::write(&next, "js: Scr1pt\nwasm: W4sm\ncss: Sty1e\n").expect("hash file");
    std::fs::rename(&next, &hash_file).expect("rename");
    let (after, nonce) = page(&app, &anonymous, "/").await;
    assert!(
        after.contains("/pkg/skymeet.Scr1pt.js") && after.contains("/pkg/skymeet.W4sm.wasm"),
        "the page loads the browser half by its names"
    );
    assert!(
        after.contains(&format!("nonce=\"{nonce}\"")),
        "its scripts carry the page's nonce"
    );
}
