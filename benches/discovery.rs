//! How fast finding events is at scale: seeds 100,000 events by 1,000 organisers (BENCH_EVENTS,
//! BENCH_ENGINE=sqlite|postgres), then measures with `wrk -c64` against the same process: a static
//! file of the same bytes as the first page of `/events` (the baseline), `/events` (first and a
//! deep page), the home page, an event page, a user page (100 events on the real local PDS), a
//! search by words and a "near me" search. Prints requests per second and p99 latency for each,
//! rendered every time (a new address each request) and kept by the page cache (the same address),
//! the share of the static rate the kept page reaches, and the query plans of the listing and
//! the search.
//!
//! Run with `scripts/bench.sh` (it installs wrk and starts the local PDS), or `cargo bench
//! --features ssr --bench discovery` with `LOCAL_PDS_URL` set and `wrk` on the path.

#[allow(dead_code)]
#[path = "../tests/integration/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../tests/integration/network.rs"]
mod network;
#[path = "shared/report.rs"]
mod report;

use chrono::{Duration, Utc};
use helpers::{AppOptions, TestApp};
use network::{create_account, pds_url, spawn_local_network_app};
use serde_json::json;
use sqlx::{Connection, PgConnection, QueryBuilder, SqliteConnection};
use std::process::Command;

const ORGANISERS: usize = 1_000;
/// Words for names and descriptions; one event in a hundred is a "harpsichord" recital.
const WORDS: [&str; 16] = [
    "meetup",
    "workshop",
    "talk",
    "concert",
    "walk",
    "dinner",
    "party",
    "lecture",
    "run",
    "market",
    "festival",
    "club",
    "night",
    "morning",
    "session",
    "gathering",
];
const CITIES: [(&str, f64, f64); 8] = [
    ("Berlin", 52.52, 13.405),
    ("Paris", 48.8566, 2.3522),
    ("Lagos", 6.5244, 3.3792),
    ("Tokyo", 35.6762, 139.6503),
    ("Chicago", 41.8781, -87.6298),
    ("Sydney", -33.8688, 151.2093),
    ("Lima", -12.0464, -77.0428),
    ("Delhi", 28.7041, 77.1025),
];

/// Inserts `count` events by `ORGANISERS` organisers, a thousand rows per statement.
macro_rules! seed {
    ($connection:expr, $count:expr) => {{
        let connection = $connection;
        let mut users = QueryBuilder::new("insert into app_user (did, handle, provider, shadow) ");
        users.push_values(0..ORGANISERS, |mut row, n| {
            row.push_bind(format!("did:plc:bench{n:019}"))
                .push_bind(format!("organiser{n}.bench.test"))
                .push_bind("bluesky")
                .push_bind(true);
        });
        users.build().execute(&mut *connection).await.expect("users");
        let first_user: i64 = sqlx::query_scalar("select min(id) from app_user where did like 'did:plc:bench%'")
            .fetch_one(&mut *connection)
            .await
            .expect("first user");
        let now = Utc::now();
        let mut done = 0;
        while done < $count {
            let batch = (done..($count).min(done + 1000)).collect::<Vec<usize>>();
            let mut events = QueryBuilder::new(
                "insert into event (owner_id, name, description, starts_at, ends_at, time_zone, source_type, sync_status,
                 slug, mode, status, place, latitude, longitude) ",
            );
            events.push_values(batch.iter(), |mut row, &n| {
                let word = WORDS[n % WORDS.len()];
                let other = WORDS[(n / 16) % WORDS.len()];
                let (city, lat, lon) = CITIES[n % CITIES.len()];
                let special = if n % 100 == 7 { " harpsichord recital" } else { "" };
                // Spread from a year ago to two years ahead, an hour apart on average.
                let starts_at = now - Duration::days(365) + Duration::minutes((n as i64 * 947) % (3 * 365 * 24 * 60));
                let jitter = ((n * 37) % 200) as f64 / 1000.0;
                row.push_bind(first_user + (n % ORGANISERS) as i64)
                    .push_bind(format!("{city} {word} {other} {n}{special}"))
                    .push_bind(format!("A {word} with a {other} afterwards, number {n}.{special}"))
                    .push_bind(starts_at)
                    .push_bind(starts_at + Duration::hours(2))
                    .push_bind("UTC")
                    .push_bind("local")
                    .push_bind("local")
                    .push_bind(format!("{}-{word}-{n}", city.to_lowercase()))
                    .push_bind(["inperson", "virtual", "hybrid"][n % 3])
                    .push_bind(if n % 50 == 0 { "cancelled" } else { "scheduled" })
                    .push_bind(format!("{city} hall"))
                    .push_bind(lat + jitter)
                    .push_bind(lon - jitter);
            });
            events.build().execute(&mut *connection).await.expect("events");
            done += batch.len();
        }
    }};
}

/// A wrk script that asks for a new address each time (`_r=` and a number appended), so that
/// every request is rendered: nothing kept by the page cache matches it.
const EVERY_TIME_NEW: &str = r#"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
local n = 0
function request()
  n = n + 1
  local sep = string.find(wrk.path, "?", 1, true) and "&" or "?"
  return wrk.format(nil, wrk.path .. sep .. "_r=" .. id .. "-" .. n)
end
"#;

/// `wrk -c64` for 8 s against `url`: requests per second, p99 in milliseconds and the count of
/// answers that were not 2xx or 3xx. With `script`, each request's address is what it makes.
fn wrk(url: &str, script: Option<&std::path::Path>, header: Option<&str>) -> (f64, f64, u64) {
    let mut args = vec!["-t2", "-c64", "-d8s", "--latency"];
    if let Some(header) = header {
        args.extend(["-H", header]);
    }
    if let Some(script) = script {
        args.extend(["-s", script.to_str().expect("a UTF-8 path")]);
    }
    args.push(url);
    let output = Command::new("wrk")
        .args(args)
        .output()
        .expect("wrk runs (install it: apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout);
    let rate = text
        .lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|rate| rate.trim().parse().ok())
        .unwrap_or(0.0);
    let p99 = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("99%"))
        .map(|value| milliseconds(value.trim()))
        .unwrap_or(f64::NAN);
    let failed = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or(0);
    (rate, p99, failed)
}

/// `1.23ms`, `456.00us` or `1.20s` in milliseconds.
fn milliseconds(value: &str) -> f64 {
    let (number, factor) = if let Some(us) = value.strip_suffix("us") {
        (us, 0.001)
    } else if let Some(ms) = value.strip_suffix("ms") {
        (ms, 1.0)
    } else if let Some(s) = value.strip_suffix('s') {
        (s, 1000.0)
    } else {
        (value, f64::NAN)
    };
    number.parse::<f64>().map_or(f64::NAN, |n| n * factor)
}

async fn explain(app: &TestApp, sql: &str) -> Vec<String> {
    match (app.database_url(), app.sqlite_path()) {
        (Some(url), _) => {
            let mut connection = PgConnection::connect(&url).await.expect("connect");
            sqlx::query_scalar::<_, String>(&format!("explain {sql}"))
                .fetch_all(&mut connection)
                .await
                .expect("explain")
        }
        (None, Some(path)) => {
            let mut connection = SqliteConnection::connect(&format!("sqlite://{path}"))
                .await
                .expect("connect");
            let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!("explain query plan {sql}"))
                .fetch_all(&mut connection)
                .await
                .expect("explain");
            rows.into_iter().map(|(_, _, _, detail)| detail).collect()
        }
        _ => Vec::new(),
    }
}

#[tokio::main]
async fn main() {
    let engine = std::env::var("BENCH_ENGINE").unwrap_or_else(|_| "sqlite".to_owned());
    let count: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let options = match engine.as_str() {
        "postgres" => AppOptions::production(),
        _ => AppOptions::embedded(),
    };
    // The static baseline is served from a folder of its own.
    let site = tempfile::tempdir().expect("site folder");
    let app = spawn_local_network_app(
        options
            .with("RATE_LIMIT_PER_SECOND", "0")
            .with("RATE_LIMIT_BURST", "1000000")
            .with("LEPTOS_SITE_ROOT", site.path().to_string_lossy().to_string()),
    )
    .await;
    let seeded = std::time::Instant::now();
    match (app.database_url(), app.sqlite_path()) {
        (Some(url), _) => {
            let mut connection = PgConnection::connect(&url).await.expect("connect");
            seed!(&mut connection, count);
            sqlx::query("analyze").execute(&mut connection).await.expect("analyze");
        }
        (None, Some(path)) => {
            let mut connection = SqliteConnection::connect(&format!("sqlite://{path}"))
                .await
                .expect("connect");
            let mut tx = connection.begin().await.expect("begin");
            seed!(&mut *tx, count);
            tx.commit().await.expect("commit");
            sqlx::query("analyze").execute(&mut connection).await.expect("analyze");
        }
        _ => unreachable!("a test database is PostgreSQL or SQLite"),
    }
    println!(
        "discovery ({engine}): {count} events by {ORGANISERS} organisers seeded in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );

    // A real organiser with 100 events on the local PDS, cached here too.
    let account = create_account().await;
    let writes: Vec<_> = (0..100)
        .map(|n| {
            json!({"$type": "com.atproto.repo.applyWrites#create", "collection": "community.lexicon.calendar.event",
                   "rkey": format!("bench{n:03}"),
                   "value": {"$type": "community.lexicon.calendar.event", "name": format!("Organiser's event {n}"),
                             "createdAt": "2026-11-24T00:00:00.000Z",
                             "startsAt": (Utc::now() + Duration::days(n - 50)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)}})
        })
        .collect();
    reqwest::Client::new()
        .post(format!("{}/xrpc/com.atproto.repo.applyWrites", pds_url()))
        .bearer_auth(&account.access_jwt)
        .json(&json!({"repo": account.did, "writes": writes}))
        .send()
        .await
        .expect("sent")
        .error_for_status()
        .expect("applyWrites");
    let bluesky = app.state.bluesky.as_ref().expect("Bluesky is on");
    bluesky
        .repos
        .backfill(&skymeet::domain::Did::parse(&account.did).expect("DID"), None)
        .await
        .expect("backfill");

    // The baseline: the first page's bytes, as a file.
    let first_page = app.get("/events").await.text().await.expect("page");
    std::fs::write(site.path().join("static.html"), &first_page).expect("static file");
    // A deep page: after the event in the middle of what is to come.
    let middle = app
        .state
        .store
        .upcoming_events(Utc::now() + Duration::days(365), 1)
        .await
        .expect("middle")
        .pop()
        .expect("an event a year ahead");
    let deep = skymeet::domain::Cursor::Dated {
        starts_at: middle.starts_at.expect("dated"),
        id: middle.id,
    };
    let event_page = format!("/events/{}", middle.slug);
    let paths = [
        ("static file (same bytes as /events)", "/static.html".to_owned()),
        ("/events, first page", "/events".to_owned()),
        ("/events, deep page (a year ahead)", format!("/events?after={deep}")),
        ("home", "/".to_owned()),
        ("an event page", event_page),
        ("a user page (100 events)", format!("/u/{}", account.handle)),
        (
            "search \"harpsichord recital\"",
            "/events?q=harpsichord+recital".to_owned(),
        ),
        ("near me (Berlin, 25 km)", "/events?near=52.52,13.405&km=25".to_owned()),
    ];
    let script = site.path().join("every-time-new.lua");
    std::fs::write(&script, EVERY_TIME_NEW).expect("wrk script");
    // "rendered": every request at a new address, so the page is rendered each time (what a
    // signed-in visitor, or the first visitor after a change, gets). "kept": the same address,
    // served by the page cache while nothing changes (what most visitors get).
    println!(
        "{:<38} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "path", "render ms", "kept ms", "rendr r/s", "rendr p99", "kept r/s", "kept p99", "of static", "non-2xx"
    );
    let mut baseline = None;
    for (label, path) in paths {
        // One request at a time first: the median of 20, rendered and kept.
        let mut alone = [Vec::with_capacity(20), Vec::with_capacity(20)];
        for n in 0..20 {
            let separator = if path.contains('?') { '&' } else { '?' };
            for (times, address) in alone
                .iter_mut()
                .zip([format!("{path}{separator}_r=alone-{n}"), path.clone()])
            {
                let started = std::time::Instant::now();
                let response = app.get(&address).await;
                assert!(response.status().is_success(), "{address}: {}", response.status());
                response.bytes().await.expect("body");
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        for times in &mut alone {
            times.sort_by(f64::total_cmp);
        }
        let url = format!("{}{path}", app.address);
        let is_static = baseline.is_none();
        let (rendered_rate, rendered_p99, rendered_failed) = match is_static {
            true => (f64::NAN, f64::NAN, 0),
            false => wrk(&url, Some(&script), None),
        };
        let (rate, p99, failed) = wrk(&url, None, None);
        let base = *baseline.get_or_insert(rate);
        if is_static {
            report::row(
                &format!("static file from memory ({engine}, wrk -c64, p99)"),
                format!("{rate:.0} req/s, {p99:.1} ms"),
                ">= 18,000 req/s (10x 1,800)",
            );
        } else {
            report::row(
                &format!("page {label} ({engine}): kept r/s, p99 / rendered r/s, p99"),
                format!("{rate:.0}, {p99:.1} ms / {rendered_rate:.0}, {rendered_p99:.1} ms"),
                "kept >= half the static rate, p99 < 20 ms",
            );
        }
        println!(
            "{label:<38} {:>9.2} {:>9.2} {rendered_rate:>9.0} {rendered_p99:>9.2} {rate:>9.0} {p99:>9.2} {:>8.0}% {:>7}",
            alone[0][10],
            alone[1][10],
            100.0 * rate / base.max(f64::MIN_POSITIVE),
            failed + rendered_failed,
        );
    }

    // What a browser gets: the same, compressed (the file from its compressed copies in memory,
    // the kept page compressed for each response).
    println!(
        "\n{:<38} {:>9} {:>9} {:>9}",
        "compressed (wrk -c64)", "r/s", "p99 ms", "bytes"
    );
    for (label, path) in [
        ("static file", "/static.html"),
        ("/events, first page (kept)", "/events"),
    ] {
        for encoding in ["br", "gzip"] {
            let header = format!("Accept-Encoding: {encoding}");
            let url = format!("{}{path}", app.address);
            let bytes = reqwest::Client::builder()
                .no_gzip()
                .no_brotli()
                .build()
                .expect("client")
                .get(&url)
                .header("accept-encoding", encoding)
                .send()
                .await
                .expect("sent")
                .bytes()
                .await
                .expect("body")
                .len();
            let (rate, p99, _) = wrk(&url, None, Some(&header));
            println!(
                "{:<38} {rate:>9.0} {p99:>9.2} {bytes:>9}",
                format!("{label}, {encoding}")
            );
        }
    }

    // The store's part of the search and of "near me", alone.
    let store = &app.state.store;
    let filter = skymeet::server::store::EventFilter::upcoming(Utc::now());
    let text = skymeet::domain::SearchText::parse("harpsichord recital")
        .expect("text")
        .expect("words");
    let near = skymeet::server::store::EventFilter {
        near: Some(skymeet::domain::Near {
            latitude: 52.52,
            longitude: 13.405,
            km: 25.0,
        }),
        ..filter.clone()
    };
    for (label, run) in [("store: search", 0), ("store: near", 1), ("store: listing", 2)] {
        let mut times = Vec::new();
        for _ in 0..20 {
            let started = std::time::Instant::now();
            match run {
                0 => drop(store.events_by_words(&filter, &text, 0, 21).await.expect("search")),
                1 => drop(store.events_by_date(&near, None, 21).await.expect("near")),
                _ => drop(store.events_by_date(&filter, None, 21).await.expect("listing")),
            }
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!("{label:<40} {:>10.2} ms alone", times[10]);
    }

    // The plans of the listing and the search (the SQL the store writes, with its values).
    let now = Utc::now();
    let at = |t: chrono::DateTime<Utc>| match app.database_url() {
        Some(_) => format!("'{}'", t.to_rfc3339()),
        None => format!("'{}'", t.format("%Y-%m-%d %H:%M:%S%.f%:z")),
    };
    let listing = format!(
        "select id from event where event.starts_at is not null and event.starts_at >= {} \
         and coalesce(event.ends_at, event.starts_at) >= {} order by event.starts_at, event.id limit 21",
        at(now - Duration::days(31)),
        at(now)
    );
    println!("\nplan of the listing:");
    for line in explain(&app, &listing).await {
        println!("  {line}");
    }
    let search = match app.database_url() {
        Some(_) => "select event.id from event, to_tsquery('english', 'harpsichord & recital:*') as query \
                    where event.search @@ query order by ts_rank_cd(event.search, query) desc, event.id limit 21"
            .to_owned(),
        None => "select event.id from event_fts join event on event.id = event_fts.rowid \
                 where event_fts match '\"harpsichord\" \"recital\"*' order by event_fts.rank, event.id limit 21"
            .to_owned(),
    };
    println!("plan of the search:");
    for line in explain(&app, &search).await {
        println!("  {line}");
    }
}
