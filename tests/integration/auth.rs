//! Login with Bluesky: the credential store against Redis and the embedded store, and the start
//! of the OAuth flow against the local PDS. (The whole flow, through the PDS's own pages, is the
//! Playwright spec `end2end/tests/login.spec.ts`.)

use crate::helpers::{redis_pool, spawn_app, AppOptions, TestApp};
use atrium_api::types::string::Did as AtDid;
use atrium_common::store::Store as _;
use atrium_oauth::store::session::Session;
use reqwest::StatusCode;
use serde_json::{json, Value};
use skymeet::domain::Did;
use skymeet::server::{auth::credentials::credentials_key, kv::KvStore};
use tower_sessions_redis_store::fred::prelude::KeysInterface;

fn pds_url() -> String {
    std::env::var("LOCAL_PDS_URL").expect("LOCAL_PDS_URL is not set: start the local PDS (scripts/local-pds.sh start)")
}

fn plc_url() -> String {
    std::env::var("LOCAL_PLC_URL").unwrap_or_else(|_| "http://localhost:2582".to_owned())
}

async fn spawn_local_network_app(options: AppOptions) -> TestApp {
    spawn_app(
        options
            .with("ATPROTO_PLC_URL", plc_url())
            .with("ATPROTO_HANDLE_RESOLVER", pds_url()),
    )
    .await
}

/// A token set as atrium-oauth stores it, with recognisable secrets.
fn session(did: &str) -> Session {
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    serde_json::from_value(json!({
        "dpop_key": {"kty": "EC", "crv": "P-256", "x": key, "y": key, "d": key},
        "token_set": {
            "iss": "http://localhost:2583",
            "sub": did,
            "aud": "http://localhost:2583",
            "scope": "atproto repo:community.lexicon.calendar.event",
            "refresh_token": "refresh-token-secret",
            "access_token": "access-token-secret",
            "token_type": "DPoP",
            "expires_at": "2026-11-24T12:00:00.000Z"
        }
    }))
    .expect("a valid session")
}

async fn credentials_are_sealed_under_the_user_id_with_a_ttl(app: TestApp) {
    let did_text = format!("did:plc:{}", crate::helpers::unique("cred"));
    let did: AtDid = did_text.parse().expect("valid DID");
    let credentials = app.state.auth.as_ref().expect("sign-in is on over http").credentials();
    credentials.set(did.clone(), session(&did_text)).await.expect("stored");

    let user = app
        .state
        .store
        .user_by_did(&Did::parse(&did_text).expect("DID"))
        .await
        .expect("query")
        .expect("user");
    let key = credentials_key(user.id);
    assert_eq!(key, format!("bluesky:credentials:{}", user.id));
    let raw = app
        .state
        .kv
        .get(&key)
        .await
        .expect("get")
        .expect("stored under the user id");
    for secret in [
        "refresh-token-secret",
        "access-token-secret",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    ] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is stored in clear"
        );
    }
    let ttl = app.state.kv.ttl(&key).await.expect("ttl").expect("has a TTL");
    assert!(ttl > std::time::Duration::from_secs(13 * 24 * 3600), "{ttl:?}");
    if let KvStore::Redis(_) = app.state.kv {
        let redis_ttl: i64 = redis_pool().await.ttl(&key).await.expect("TTL");
        assert!(redis_ttl > 0, "the Redis key expires: {redis_ttl}");
    }

    let loaded = credentials.get(&did).await.expect("get").expect("found");
    assert_eq!(loaded.token_set.refresh_token.as_deref(), Some("refresh-token-secret"));
    assert_eq!(loaded.token_set.access_token, "access-token-secret");

    // A value that does not open (tampered, or sealed with a retired key) is dropped, not an error.
    app.state
        .kv
        .set(&key, b"\x03bad-sealed-value", std::time::Duration::from_secs(60))
        .await
        .expect("set");
    assert!(credentials.get(&did).await.expect("get").is_none());
    assert!(app.state.kv.get(&key).await.expect("get").is_none());

    credentials
        .set(did.clone(), session(&did_text))
        .await
        .expect("stored again");
    credentials.del(&did).await.expect("deleted");
    assert!(app.state.kv.get(&key).await.expect("get").is_none());
}

#[tokio::test]
async fn credentials_are_sealed_under_the_user_id_with_a_ttl_in_redis() {
    credentials_are_sealed_under_the_user_id_with_a_ttl(spawn_app(AppOptions::production()).await).await;
}

#[tokio::test]
async fn credentials_are_sealed_under_the_user_id_with_a_ttl_embedded() {
    credentials_are_sealed_under_the_user_id_with_a_ttl(spawn_app(AppOptions::embedded()).await).await;
}

async fn post_login(app: &TestApp, identifier: &str, html: bool) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/api/login", app.address))
        .form(&[("identifier", identifier)]);
    if html {
        request = request
            .header("accept", "text/html")
            .header("referer", format!("{}/login", app.address));
    }
    request.send().await.expect("sent")
}

#[tokio::test]
async fn signing_in_sends_the_browser_to_the_accounts_authorization_server() {
    let app = spawn_local_network_app(AppOptions::production()).await;
    let account: Value = reqwest::Client::new()
        .post(format!("{}/xrpc/com.atproto.server.createAccount", pds_url()))
        .json(&json!({
            "handle": format!("{}.test", &crate::helpers::unique("l")[..12]),
            "password": crate::helpers::unique("pw"),
            "email": format!("{}@example.com", crate::helpers::unique("l")),
        }))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    let handle = account["handle"].as_str().expect("handle");

    let response = post_login(&app, &format!("@{handle}"), true).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().expect("ASCII").to_owned();
    assert!(
        location.starts_with(&format!("{}/oauth/authorize?", pds_url())),
        "{location}"
    );
    assert!(
        location.contains("request_uri="),
        "pushed authorization request: {location}"
    );
    assert!(
        location.contains("client_id=http%3A%2F%2Flocalhost"),
        "loopback client: {location}"
    );
}

#[tokio::test]
async fn an_unknown_handle_is_a_clear_error() {
    let app = spawn_local_network_app(AppOptions::embedded()).await;
    let response = post_login(&app, "nobody-here.test", false).await;
    assert!(!response.status().is_success());
    let body: Value = response.json().await.expect("JSON error");
    assert_eq!(body["code"], "error-auth-1");
    assert_eq!(body["field"], "identifier");
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains("nobody-here.test")),
        "{body}"
    );
}

#[tokio::test]
async fn a_malformed_identifier_is_refused_before_any_lookup() {
    let app = spawn_local_network_app(AppOptions::embedded()).await;
    let body: Value = post_login(&app, "not a handle", false)
        .await
        .json()
        .await
        .expect("JSON error");
    assert_eq!(body["code"], "error-input-1");
    assert_eq!(body["field"], "identifier");
}

#[tokio::test]
async fn an_unreachable_pds_is_a_clear_error() {
    // A handle resolver on a port where nothing listens stands in for a dead server.
    let app = spawn_app(
        AppOptions::embedded()
            .with("ATPROTO_PLC_URL", plc_url())
            .with("ATPROTO_HANDLE_RESOLVER", "http://127.0.0.1:9"),
    )
    .await;
    let body: Value = post_login(&app, "alice.test", false)
        .await
        .json()
        .await
        .expect("JSON error");
    assert_eq!(body["code"], "error-auth-2", "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("could not be reached")),
        "{body}"
    );
}

#[tokio::test]
async fn a_denied_consent_comes_back_to_the_login_page_with_a_message() {
    let app = spawn_app(AppOptions::embedded()).await;
    let response = app.get("/oauth/callback?error=access_denied&state=x").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login?error=denied");
    let (_, html) = app.get_html("/login?error=denied").await;
    assert!(html.contains("You declined the sign-in"), "{html}");
    let response = app
        .get("/oauth/callback?code=forged&state=unknown&iss=http%3A%2F%2Flocalhost%3A2583")
        .await;
    assert_eq!(response.headers()["location"], "/login?error=failed");
}
