//! Login with Bluesky: the credential store against Redis and the embedded store, and the start
//! of the OAuth flow against the local PDS. (The whole flow, through the PDS's own pages, is the
//! Playwright spec `end2end/tests/login.spec.ts`.)

use crate::helpers::{redis_pool, spawn_app, unique, AppOptions, TestApp};
use crate::network::{
    create_account, pds_url, plc_url, post_login, sign_in_headless, spawn_local_network_app, user_of, Account,
    TEST_KEYS,
};
use atrium_api::types::string::Did as AtDid;
use atrium_common::store::Store as _;
use atrium_oauth::store::session::Session;
use reqwest::StatusCode;
use serde_json::{json, Value};
use skymeet::domain::{Collection, Did, Rkey};
use skymeet::server::{auth::credentials::credentials_key, kv::KvStore};
use tower_sessions_redis_store::fred::prelude::KeysInterface;

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
            "expires_at": "2099-01-01T00:00:00.000Z"
        }
    }))
    .expect("a valid session")
}

async fn credentials_are_sealed_under_the_user_id_with_a_ttl(app: TestApp) {
    let did_text = format!("did:plc:{}", crate::helpers::unique("cred"));
    let did: AtDid = did_text.parse().expect("valid DID");
    let auth = app.state.auth().expect("sign-in is on over http");
    let credentials = auth.credentials();
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
        let redis_ttl: i64 = redis_pool()
            .await
            .ttl(app.state.kv.storage_key(&key))
            .await
            .expect("TTL");
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

/// Two app instances behind one load balancer: one database, one Redis key space, one key set.
async fn two_instances() -> (TestApp, TestApp) {
    let first = spawn_local_network_app(AppOptions::production().with("CREDENTIALS_KEYS", TEST_KEYS)).await;
    let second = spawn_local_network_app(
        AppOptions::production()
            .with("CREDENTIALS_KEYS", TEST_KEYS)
            .with("DATABASE_URL", first.database_url().expect("postgres"))
            .with("REDIS_KEY_PREFIX", first.redis_prefix()),
    )
    .await;
    (first, second)
}

/// An app on the local network, its credentials sealed with the test keys, and an account signed
/// in to it.
async fn signed_in_app() -> (TestApp, Account) {
    let app = spawn_local_network_app(AppOptions::production().with("CREDENTIALS_KEYS", TEST_KEYS)).await;
    let account = create_account().await;
    sign_in_headless(&app, &account).await;
    (app, account)
}

/// Makes `session`'s access token dead and past its time.
fn spend_access_token(session: &mut Session) {
    session.token_set.access_token = "expired-access-token".to_owned();
    session.token_set.expires_at = Some("2020-01-01T00:00:00.000Z".parse().expect("datetime"));
}

#[tokio::test]
async fn a_real_sign_in_stores_sealed_credentials_in_redis_and_the_user() {
    let (app, account) = signed_in_app().await;

    // The user exists once, with the handle the PDS reports.
    let did = Did::parse(&account.did).expect("DID");
    let user = app.state.store.user_by_did(&did).await.expect("query").expect("user");
    assert_eq!(user.handle.as_ref().map(|h| h.as_str()), Some(account.handle.as_str()));
    assert!(user.profile_synced_at.is_some(), "the profile was read at sign-in");

    // The token set is in Redis under the user id, sealed, with a TTL.
    let key = credentials_key(user.id);
    let redis = redis_pool().await;
    let raw: Vec<u8> = redis.get(app.state.kv.storage_key(&key)).await.expect("GET");
    assert!(raw.starts_with(b"\x02k1"), "sealed with key k1");
    assert!(
        !raw.windows(7).any(|w| w == b"refresh"),
        "no token field names in clear"
    );
    let ttl: i64 = redis.ttl(app.state.kv.storage_key(&key)).await.expect("TTL");
    assert!(ttl > 13 * 24 * 3600, "{ttl}");
    let session = app
        .state
        .auth()
        .expect("auth")
        .credentials()
        .get(&account.did.parse().expect("DID"))
        .await;
    let session = session.expect("get").expect("stored");
    assert_eq!(session.token_set.sub.as_str(), account.did);
    assert!(session
        .token_set
        .scope
        .as_deref()
        .is_some_and(|s| s.contains("repo:community.lexicon.calendar.event")));

    // The browser is signed in, and sees its handle.
    let (_, html) = app.get_html("/").await;
    assert!(
        html.contains(&format!("@{}", account.handle)),
        "the header shows the handle"
    );

    // Signing out keeps the credentials; disconnecting deletes them.
    let disconnect = app
        .client
        .post(format!("{}/api/disconnect", app.address))
        .send()
        .await
        .expect("sent");
    assert!(
        disconnect.status().is_success() || disconnect.status().is_redirection(),
        "{}",
        disconnect.status()
    );
    let gone: Option<Vec<u8>> = redis.get(app.state.kv.storage_key(&key)).await.expect("GET");
    assert!(gone.is_none(), "credentials deleted on disconnect");
    let (_, html) = app.get_html("/").await;
    assert!(html.contains("Sign in with Bluesky"));
}

#[tokio::test]
async fn an_expired_token_is_refreshed_exactly_once_across_two_instances() {
    let (first, second) = two_instances().await;
    let account = create_account().await;
    sign_in_headless(&first, &account).await;

    let (auth_a, auth_b) = (first.state.auth().expect("auth"), second.state.auth().expect("auth"));
    let did: AtDid = account.did.parse().expect("DID");
    let mut session = auth_a.credentials().get(&did).await.expect("get").expect("signed in");
    // The access token is dead and past its time: the next authenticated call refreshes.
    spend_access_token(&mut session);
    auth_a
        .credentials()
        .set(did.clone(), session.clone())
        .await
        .expect("set");
    let before = auth_a.credentials().writes() + auth_b.credentials().writes();

    let domain_did = Did::parse(&account.did).expect("DID");
    let calls = (0..20).map(|i| {
        let auth = if i % 2 == 0 { auth_a.clone() } else { auth_b.clone() };
        let did = domain_did.clone();
        tokio::spawn(async move { auth.validate(&did).await })
    });
    let mut failures = Vec::new();
    for call in calls {
        if let Err(e) = call.await.expect("task") {
            failures.push(e.to_string());
        }
    }
    let refreshes = auth_a.credentials().writes() + auth_b.credentials().writes() - before;
    assert_eq!(
        refreshes, 1,
        "exactly one refresh for 20 concurrent calls on two instances"
    );
    assert!(
        failures.is_empty(),
        "every call succeeds with the refreshed token: {failures:?}"
    );
    let fresh = auth_b.credentials().get(&did).await.expect("get").expect("stored");
    assert_ne!(fresh.token_set.access_token, "expired-access-token");
    assert_ne!(
        fresh.token_set.refresh_token, session.token_set.refresh_token,
        "the refresh token rotated"
    );
}

#[tokio::test]
async fn a_second_instance_waits_for_the_first_ones_refresh() {
    let (first, second) = two_instances().await;
    let (a, b) = (
        first.state.auth().expect("auth").credentials().clone(),
        second.state.auth().expect("auth").credentials().clone(),
    );
    let did_text = format!("did:plc:{}", crate::helpers::unique("lock"));
    let did: AtDid = did_text.parse().expect("DID");
    let mut expired = session(&did_text);
    expired.token_set.expires_at = Some("2020-01-01T00:00:00.000Z".parse().expect("datetime"));
    a.set(did.clone(), expired).await.expect("set");

    // The first instance reads the expired tokens: it is the one to refresh them.
    let read = a.get(&did).await.expect("get").expect("stored");
    assert_eq!(read.token_set.access_token, "access-token-secret");
    // The second waits instead of refreshing with the same refresh token.
    let waiting = tokio::spawn({
        let (b, did) = (b.clone(), did.clone());
        async move { b.get(&did).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(!waiting.is_finished(), "the second instance waits for the refresh");

    let mut fresh = session(&did_text);
    fresh.token_set.access_token = "fresh-access-token".to_owned();
    a.set(did.clone(), fresh).await.expect("refreshed tokens written");
    let seen = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
        .await
        .expect("released by the write")
        .expect("task")
        .expect("get")
        .expect("stored");
    assert_eq!(
        seen.token_set.access_token, "fresh-access-token",
        "it reads the fresh tokens"
    );
}

#[tokio::test]
async fn an_ended_session_asks_to_sign_in_again() {
    let (app, account) = signed_in_app().await;
    let auth = app.state.auth().expect("auth");
    let did: AtDid = account.did.parse().expect("DID");

    // The access token expired and the PDS no longer knows the refresh token (revoked).
    let mut session = auth.credentials().get(&did).await.expect("get").expect("signed in");
    spend_access_token(&mut session);
    session.token_set.refresh_token = Some("revoked-refresh-token".to_owned());
    auth.credentials().set(did.clone(), session).await.expect("set");

    let response = app
        .client
        .post(format!("{}/api/refresh_profile", app.address))
        .send()
        .await
        .expect("sent");
    let body: Value = response.json().await.expect("a JSON error");
    assert_eq!(body["code"], "error-auth-7", "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains("sign in again")),
        "{body}"
    );

    // The dead credentials are gone, and the header says so.
    assert!(auth.credentials().get(&did).await.expect("get").is_none());
    let (_, html) = app.get_html("/").await;
    assert!(
        html.contains("Sign in again to reconnect Bluesky"),
        "the status dot says it"
    );
    assert!(
        html.contains(&format!("@{}", account.handle)),
        "still signed in to Skymeet"
    );
}

#[tokio::test]
async fn outside_the_local_network_a_pds_on_a_private_address_is_refused() {
    let account = create_account().await;
    // The PLC directory is configured, so trusted; the PDS its DID document names (on loopback)
    // comes from the network, so it is not.
    let guarded = spawn_app(
        AppOptions::production()
            .with("ATPROTO_PLC_URL", plc_url())
            .with("ATPROTO_ALLOW_PRIVATE_ADDRESSES", "false"),
    )
    .await;
    let response = post_login(&guarded, &account.did, false).await;
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["code"], "error-auth-9", "{body}");

    // The same account on the local network (the PLC directory on loopback) signs in.
    let local = spawn_app(AppOptions::production().with("ATPROTO_PLC_URL", plc_url())).await;
    let response = post_login(&local, &account.did, true).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().expect("ASCII");
    assert!(
        location.starts_with(&format!("{}/oauth/authorize", pds_url())),
        "{location}"
    );
}

#[tokio::test]
async fn a_forced_refresh_rotates_the_tokens_and_the_session_keeps_working() {
    let (app, account) = signed_in_app().await;
    let auth = app.state.auth().expect("auth");
    let did: AtDid = account.did.parse().expect("DID");
    let before = auth.credentials().get(&did).await.expect("get").expect("signed in");

    let domain_did = Did::parse(&account.did).expect("DID");
    auth.force_refresh(&domain_did).await.expect("refreshed");
    let after = auth
        .credentials()
        .get(&did)
        .await
        .expect("get")
        .expect("still signed in");
    assert_ne!(after.token_set.refresh_token, before.token_set.refresh_token, "rotated");
    assert_ne!(after.token_set.access_token, before.token_set.access_token);
    // The new expiry is the refresh's time plus the lifetime the PDS gives in whole seconds
    // (`expires_in`), so it may land up to a second before the old one, never more.
    let expiry = |session: &atrium_oauth::store::session::Session| {
        session
            .token_set
            .expires_at
            .as_ref()
            .map(|at| *at.as_ref())
            .expect("an expiry")
    };
    assert!(
        expiry(&after) >= expiry(&before) - chrono::Duration::seconds(1),
        "{} -> {}",
        expiry(&before),
        expiry(&after)
    );
    auth.validate(&domain_did).await.expect("the fresh tokens work");
}

/// Writes a record to `account`'s repo through its session on `app`, the way every publish does.
async fn write_a_record(app: &TestApp, account: &Account) {
    let user = user_of(app, account).await;
    let repo = app.state.auth().expect("auth").repo(&user).await.expect("a session");
    let rkey = Rkey::parse(&unique("n")).expect("a record key");
    let record = json!({
        "$type": Collection::Event.nsid(),
        "name": "Nonce check",
        "createdAt": "2026-11-29T12:00:00.000Z",
    });
    repo.put_record(Collection::Event.nsid(), &rkey, &record, None)
        .await
        .expect("written to the PDS");
}

#[tokio::test]
async fn a_pds_nonce_is_learned_once_and_then_used_by_every_session_on_every_instance() {
    let (first, second) = two_instances().await;
    let (a, b, c) = (create_account().await, create_account().await, create_account().await);
    sign_in_headless(&first, &a).await;
    sign_in_headless(&first, &b).await;
    sign_in_headless(&second, &c).await;
    let refusals = |app: &TestApp| app.state.auth().expect("auth").nonces().refusals();

    // The first write to the PDS has no nonce to send: the PDS refuses it and gives one.
    write_a_record(&first, &a).await;
    assert_eq!(refusals(&first), 1, "learned from one refusal");
    write_a_record(&first, &a).await;
    // Another account's first write on the same PDS sends that nonce.
    write_a_record(&first, &b).await;
    assert_eq!(refusals(&first), 1, "no refusal for a new session");
    // So does another instance's first write: the nonce is shared through Redis.
    write_a_record(&second, &c).await;
    assert_eq!(refusals(&second), 0, "no refusal on the second instance");
}

#[tokio::test]
async fn a_write_with_a_spent_access_token_refreshes_it_and_goes_through() {
    let (app, account) = signed_in_app().await;
    let auth = app.state.auth().expect("auth");
    write_a_record(&app, &account).await;

    let did: AtDid = account.did.parse().expect("DID");
    let mut session = auth.credentials().get(&did).await.expect("get").expect("signed in");
    spend_access_token(&mut session);
    auth.credentials().set(did.clone(), session).await.expect("set");

    write_a_record(&app, &account).await;
    let fresh = auth
        .credentials()
        .get(&did)
        .await
        .expect("get")
        .expect("still signed in");
    assert_ne!(fresh.token_set.access_token, "expired-access-token", "refreshed");
    // The next write goes out with the fresh tokens.
    write_a_record(&app, &account).await;
}

/// Stands in for the Bluesky AppView, which the local network does not run: answers
/// `app.bsky.actor.getProfile` with fixed counts.
async fn stand_in_appview() -> String {
    use axum::{routing::get, Json, Router};
    let app = Router::new().route(
        "/xrpc/app.bsky.actor.getProfile",
        get(|| async {
            Json(json!({"did": "did:plc:x", "handle": "x.test", "followersCount": 42, "followsCount": 7}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

#[tokio::test]
async fn with_an_appview_configured_the_profile_shows_follower_counts() {
    let appview = stand_in_appview().await;
    let app = spawn_local_network_app(AppOptions::embedded().with("APPVIEW_URL", appview)).await;
    let account = create_account().await;
    sign_in_headless(&app, &account).await;
    let user = crate::network::user_of(&app, &account).await;
    assert_eq!((user.followers_count, user.follows_count), (Some(42), Some(7)));
    let (_, page) = app.get_html("/me").await;
    assert!(page.contains("follow-counts"), "{page}");

    // Without an AppView that answers, the profile is still read, without counts.
    let app = spawn_local_network_app(AppOptions::embedded().with("APPVIEW_URL", "http://127.0.0.1:9")).await;
    sign_in_headless(&app, &account).await;
    let user = crate::network::user_of(&app, &account).await;
    assert_eq!((user.followers_count, user.follows_count), (None, None));
    assert!(user.profile_synced_at.is_some());
}
