//! The application over HTTP, in both storage modes: the embedded default (SQLite + in-process
//! stores) and production (PostgreSQL + Redis).

use crate::helpers::{redis_pool, spawn_app, AppOptions, TestApp};
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;
use skymeet::domain::{SyncStatus, TimeZoneName};
use skymeet::server::{
    session::COOKIE_NAME,
    store::{NewEvent, SourceTracking},
};
use tower_sessions_redis_store::fred::prelude::KeysInterface;

macro_rules! both_modes {
    ($($test:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(crate::helpers::spawn_app(crate::helpers::AppOptions::embedded()).await).await;
                }
            )*
        }
        mod production {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(crate::helpers::spawn_app(crate::helpers::AppOptions::production()).await).await;
                }
            )*
        }
    };
}

both_modes!(
    the_home_page_renders_the_layout_and_upcoming_events,
    an_unknown_path_is_a_404_page,
    health_and_readiness_report_the_backends,
    metrics_count_requests_by_route_and_status,
    the_time_zone_form_works_without_javascript,
    an_invalid_time_zone_is_a_clear_error,
    a_broken_database_gives_an_error_page_and_not_ready,
    shutdown_stops_the_server_gracefully,
);

fn document(html: &str) -> scraper::Html {
    scraper::Html::parse_document(html)
}

fn select_text(html: &scraper::Html, selector: &str) -> Vec<String> {
    let selector = scraper::Selector::parse(selector).expect("valid selector");
    html.select(&selector)
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .collect()
}

async fn the_home_page_renders_the_layout_and_upcoming_events(app: TestApp) {
    let starts_at = Utc::now() + Duration::days(2);
    let mut event = NewEvent {
        owner_id: None,
        name: "Bluesky builders meetup".to_owned(),
        description: None,
        starts_at: Some(starts_at),
        ends_at: None,
        time_zone: TimeZoneName::utc(),
        source: SourceTracking::local(),
        record: None,
        findable: Default::default(),
        visibility: Default::default(),
    };
    event.source.sync_status = SyncStatus::InSync;
    app.state.store.insert_event(&event).await.expect("insert");

    let (status, html) = app.get_html("/").await;
    assert_eq!(status, StatusCode::OK);
    let page = document(&html);
    assert_eq!(select_text(&page, "title"), ["Upcoming events · Skymeet"]);
    assert!(select_text(&page, "header a").iter().any(|t| t == "Skymeet"));
    assert_eq!(
        select_text(&page, "[data-testid=sign-in-area] a"),
        ["Sign in with Bluesky"]
    );
    assert_eq!(select_text(&page, "h1"), ["Meet up, on your own terms."]);
    assert!(select_text(&page, "footer").concat().contains("Times shown in"));
    assert_eq!(select_text(&page, "main li a.font-medium"), ["Bluesky builders meetup"]);
    assert_eq!(select_text(&page, "[data-sync-status=in_sync]"), ["In sync"]);
    assert!(html.contains(&TimeZoneName::utc().format(starts_at)));
    // The page loads its stylesheet and the hydration script.
    assert!(html.contains("/pkg/skymeet.css"));
    assert!(html.contains("/pkg/skymeet.js"));
}

async fn an_unknown_path_is_a_404_page(app: TestApp) {
    let (status, html) = app.get_html("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let page = document(&html);
    assert_eq!(select_text(&page, "h1"), ["Page not found"]);
    assert!(
        select_text(&page, "header a").iter().any(|t| t == "Skymeet"),
        "the 404 page keeps the layout"
    );
}

async fn health_and_readiness_report_the_backends(app: TestApp) {
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.expect("body"), "ok");

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    let body: Value = ready.json().await.expect("JSON");
    assert_eq!(body["ready"], Value::Bool(true));
    assert_eq!(body["database"]["ok"], Value::Bool(true));
    assert_eq!(body["database"]["backend"], Value::from(app.state.store.engine()));
    assert_eq!(body["kv"]["backend"], Value::from(app.state.kv.backend()));
}

async fn metrics_count_requests_by_route_and_status(app: TestApp) {
    app.get("/healthz").await;
    app.get("/definitely-missing").await;
    let body = app.get("/metrics").await.text().await.expect("body");
    let has = |needle: &str| body.lines().any(|line| line.starts_with(needle));
    assert!(
        has(r#"skymeet_http_requests_total{method="GET",route="/healthz",status="200"}"#),
        "no request count for /healthz in:\n{body}"
    );
    assert!(
        has(r#"skymeet_http_requests_total{method="GET",route="unmatched",status="404"}"#),
        "{body}"
    );
    assert!(
        has(r#"skymeet_http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="0.005"}"#),
        "{body}"
    );
}

async fn the_time_zone_form_works_without_javascript(app: TestApp) {
    let response = app.post_time_zone_form("Europe/Berlin").await;
    assert_eq!(response.status(), StatusCode::FOUND, "a form post is redirected back");
    let location = response.headers()["location"].to_str().expect("ASCII");
    assert!(
        location.starts_with(&format!("{}/", app.address)),
        "back to the page the form was on: {location}"
    );
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{COOKIE_NAME}=")))
        .expect("a session cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: no Secure flag: {cookie}");

    if let skymeet::server::kv::KvStore::Redis(_) = app.state.kv {
        // The session lives in Redis under its id, with a TTL; the cookie holds only that id.
        let id = cookie
            .split(';')
            .next()
            .and_then(|pair| pair.split_once('='))
            .map(|(_, id)| id)
            .expect("id");
        let redis = redis_pool().await;
        let stored: Option<Vec<u8>> = redis.get(id).await.expect("GET");
        assert!(stored.is_some_and(|bytes| bytes.windows(13).any(|w| w == b"Europe/Berlin")));
        let ttl: i64 = redis.ttl(id).await.expect("TTL");
        assert!(ttl > 0, "session keys expire: {ttl}");
    }

    let (_, html) = app.get_html("/").await;
    let page = document(&html);
    assert_eq!(
        select_text(&page, "[data-testid=viewer-zone]"),
        ["Times are shown in Europe/Berlin."]
    );
    assert_eq!(select_text(&page, "#time_zone option[selected]"), ["Europe/Berlin"]);
}

async fn an_invalid_time_zone_is_a_clear_error(app: TestApp) {
    let response = app
        .client
        .post(format!("{}/api/set_time_zone", app.address))
        .form(&[("time_zone", "Mars/Olympus_Mons")])
        .send()
        .await
        .expect("sent");
    assert!(response.status().is_server_error() || response.status().is_client_error());
    let body: Value = response.json().await.expect("a JSON error");
    assert_eq!(body["code"], "error-input-1");
    assert_eq!(body["field"], "time_zone");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("not a known time zone")),
        "{body}"
    );
    let (_, html) = app.get_html("/").await;
    assert_eq!(
        select_text(&document(&html), "[data-testid=viewer-zone]"),
        ["Times are shown in each event's own time zone."]
    );
}

async fn a_broken_database_gives_an_error_page_and_not_ready(app: TestApp) {
    app.state.store.close().await;
    let (status, html) = app.get_html("/").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let page = document(&html);
    assert!(
        select_text(&page, "h1").contains(&"Something went wrong".to_owned()),
        "{html}"
    );
    assert!(html.contains("error-store-1"), "the stable code is shown");
    let lowered = html.to_lowercase();
    for leak in ["sqlx", "pool", "postgres", "sqlite", "closed"] {
        assert!(
            !lowered.contains(&format!("{leak} ")) && !lowered.contains(&format!("{leak}:")),
            "leaks {leak}: {html}"
        );
    }
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.expect("JSON");
    assert_eq!(body["database"]["ok"], Value::Bool(false));
    assert_eq!(body["database"]["error"], "unreachable");
}

async fn shutdown_stops_the_server_gracefully(app: TestApp) {
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    app.shutdown.cancel();
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(10), app.server).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");
    assert!(
        app.client.get(format!("{}/healthz", app.address)).send().await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn cookies_are_secure_behind_https() {
    let app = spawn_app(
        AppOptions::embedded()
            .with("PUBLIC_URL", "https://skymeet.example")
            .with("CREDENTIALS_KEYS", "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
            .with("OAUTH_PRIVATE_KEY", crate::network::TEST_OAUTH_KEY),
    )
    .await;
    let response = app.post_time_zone_form("Asia/Tokyo").await;
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");

    // The confidential client publishes its metadata at its client id, and its public key.
    let metadata: Value = app.get("/oauth-client-metadata.json").await.json().await.expect("JSON");
    assert_eq!(
        metadata["client_id"],
        "https://skymeet.example/oauth-client-metadata.json"
    );
    assert_eq!(metadata["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(metadata["token_endpoint_auth_signing_alg"], "ES256");
    assert_eq!(metadata["jwks_uri"], "https://skymeet.example/oauth/jwks.json");
    assert_eq!(
        metadata["redirect_uris"],
        serde_json::json!(["https://skymeet.example/oauth/callback"])
    );
    assert_eq!(metadata["dpop_bound_access_tokens"], true);
    let scope = metadata["scope"].as_str().expect("scope");
    assert!(scope.contains("repo:community.lexicon.calendar.event") && scope.contains("transition:generic"));
    let jwks: Value = app.get("/oauth/jwks.json").await.json().await.expect("JSON");
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (keys[0]["kid"].as_str(), keys[0]["crv"].as_str()),
        (Some("k1"), Some("P-256"))
    );
    assert!(keys[0].get("d").is_none(), "never the private part: {jwks}");
}

#[tokio::test]
async fn the_openapi_document_names_only_endpoints_that_exist() {
    let app = spawn_app(AppOptions::embedded()).await;
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let document: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().expect("paths");
    assert!(paths.len() >= 14, "{paths:?}");
    // What a path that does not exist answers, so the check below can tell.
    let missing = app
        .client
        .post(format!("{}/api/no_such_endpoint", app.address))
        .send()
        .await
        .expect("sent");
    assert!(![401, 400].contains(&missing.status().as_u16()), "{}", missing.status());
    for (path, operations) in paths {
        for method in operations.as_object().expect("operations").keys() {
            let request = match method.as_str() {
                "get" => app.client.get(format!("{}{path}", app.address)),
                _ => app.client.post(format!("{}{path}", app.address)),
            };
            let status = request.send().await.expect("sent").status();
            // A guest is turned away (or the arguments are missing), but the endpoint is there.
            assert!([401, 400].contains(&status.as_u16()), "{method} {path}: {status}");
        }
    }
}

/// The site's files come from memory in the form the browser takes, with an `ETag` it can
/// revalidate; a page is compressed as it goes out; hostile paths reach no file.
#[tokio::test]
async fn files_and_pages_go_out_compressed() {
    let site = tempfile::tempdir().expect("site folder");
    let css = ".card { margin: 0 auto; padding: 1rem; }\n".repeat(300);
    std::fs::create_dir(site.path().join("pkg")).expect("pkg");
    std::fs::write(site.path().join("pkg/skymeet.css"), &css).expect("stylesheet");
    let app =
        spawn_app(AppOptions::embedded().with("LEPTOS_SITE_ROOT", site.path().to_string_lossy().to_string())).await;
    // Bytes as they come: no decoding (nor asking for an encoding) behind the test's back.
    let client = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .expect("client");
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut request = client.get(format!("{}{path}", app.address));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };

    let brotli = get("/pkg/skymeet.css", &[("accept-encoding", "gzip, br")])
        .await
        .expect("sent");
    assert_eq!(brotli.status(), StatusCode::OK);
    assert_eq!(brotli.headers()["content-encoding"], "br");
    assert_eq!(brotli.headers()["content-type"], "text/css");
    assert_eq!(brotli.headers()["vary"], "accept-encoding");
    // Not hashed by this build (no hash.txt beside the test binary): checked again each time.
    assert_eq!(brotli.headers()["cache-control"], "no-cache");
    let etag = brotli.headers()["etag"].to_str().expect("etag").to_owned();
    let squeezed = brotli.bytes().await.expect("body");
    let mut plain = Vec::new();
    brotli::BrotliDecompress(&mut &squeezed[..], &mut plain).expect("brotli");
    assert_eq!(plain, css.as_bytes());
    assert!(squeezed.len() * 10 < css.len(), "{} of {}", squeezed.len(), css.len());

    let gzip = get("/pkg/skymeet.css", &[("accept-encoding", "gzip")])
        .await
        .expect("sent");
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    let as_is = get("/pkg/skymeet.css", &[]).await.expect("sent");
    assert!(as_is.headers().get("content-encoding").is_none());
    assert_eq!(as_is.text().await.expect("body"), css);
    let held = get("/pkg/skymeet.css", &[("if-none-match", &etag)])
        .await
        .expect("sent");
    assert_eq!(held.status(), StatusCode::NOT_MODIFIED);

    // A page is compressed on its way out, and says so.
    let page = get("/", &[("accept-encoding", "br")]).await.expect("sent");
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["content-encoding"], "br");
    let squeezed = page.bytes().await.expect("body");
    let mut html = Vec::new();
    brotli::BrotliDecompress(&mut &squeezed[..], &mut html).expect("brotli");
    assert!(String::from_utf8(html).expect("UTF-8").contains("Skymeet"));

    // Nothing outside the folder, nothing hidden; an unknown file is the not-found page.
    std::fs::write(site.path().join(".secret"), "no").expect("hidden file");
    for path in ["/.secret", "/pkg/../.secret", "/pkg/%2e%2e/.secret", "/pkg/missing.css"] {
        let response = get(path, &[]).await.expect("sent");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
