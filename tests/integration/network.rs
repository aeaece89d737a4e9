//! The local ATProto network (PLC + PDS) as tests use it: apps wired to it, fresh accounts, and a
//! whole OAuth sign-in without a browser.

use crate::helpers::{spawn_app, AppOptions, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub fn pds_url() -> String {
    std::env::var("LOCAL_PDS_URL").expect("LOCAL_PDS_URL is not set: start the local PDS (scripts/local-pds.sh start)")
}

pub fn plc_url() -> String {
    std::env::var("LOCAL_PLC_URL").unwrap_or_else(|_| "http://localhost:2582".to_owned())
}

pub async fn spawn_local_network_app(options: AppOptions) -> TestApp {
    spawn_app(
        options
            .with("ATPROTO_PLC_URL", plc_url())
            .with("ATPROTO_HANDLE_RESOLVER", pds_url()),
    )
    .await
}

pub async fn post_login(app: &TestApp, identifier: &str, html: bool) -> reqwest::Response {
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

/// A P-256 key for the confidential OAuth client in tests only, on one line as in an environment file.
pub const TEST_OAUTH_KEY: &str = "-----BEGIN PRIVATE KEY-----\\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgexEETn4QYQUzSiWq\\nVvRVbz5+bX59r/yfft58StjaTIShRANCAAQqr4zlusKRfWNfnx1LGqR+VCdcs5+C\\nnjzRbYkpjr+xiwCAREd3sPqvlsVIVMNNxlCpGSsdXJ+KksrCma4RIwTX\\n-----END PRIVATE KEY-----\\n";

pub const TEST_KEYS: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub struct Account {
    pub handle: String,
    pub did: String,
    pub password: String,
    /// A session made with the password, for writing to the repo the way another app would.
    pub access_jwt: String,
}

pub async fn create_account() -> Account {
    let handle = format!("{}.test", &crate::helpers::unique("r")[..12]);
    let password = crate::helpers::unique("pw");
    let body: Value = reqwest::Client::new()
        .post(format!("{}/xrpc/com.atproto.server.createAccount", pds_url()))
        .json(&json!({"handle": handle, "password": password, "email": format!("{handle}@example.com")}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    Account {
        handle,
        did: body["did"].as_str().expect("DID").to_owned(),
        password,
        access_jwt: body["accessJwt"].as_str().expect("access token").to_owned(),
    }
}

/// Signs in through the whole OAuth flow without a browser: Skymeet's login, then the PDS's
/// sign-in and consent API as its own page calls it (with the browser's `sec-fetch-*` headers),
/// then Skymeet's callback.
pub async fn sign_in_headless(app: &TestApp, account: &Account) {
    sign_in_granting(app, account, FULL_SCOPE).await;
}

/// Skymeet's user for an account: signed in, or the shadow user the firehose made.
pub async fn user_of(app: &TestApp, account: &Account) -> skymeet::server::store::User {
    let did = skymeet::domain::Did::parse(&account.did).expect("DID");
    app.state
        .store
        .user_by_did(&did)
        .await
        .expect("query")
        .expect("a user for the account")
}

/// The one event an account has here.
pub async fn only_event_of(app: &TestApp, account: &Account) -> skymeet::server::store::Event {
    let user = user_of(app, account).await;
    let mut events = app.state.store.events_by_owner(user.id).await.expect("query");
    assert_eq!(events.len(), 1, "{events:?}");
    events.remove(0)
}

/// The event the cache holds for the record at `uri`, if any.
pub async fn event_at(app: &TestApp, uri: &str) -> Option<skymeet::server::store::Event> {
    app.state.store.event_by_at_uri(uri).await.expect("query")
}

/// Gives `app` a fresh browser, signed in as `account`; returns the browser it had, to switch
/// back to.
pub async fn switch_to(app: &mut TestApp, account: &Account) -> reqwest::Client {
    let previous = std::mem::replace(&mut app.client, crate::helpers::visitor());
    sign_in_headless(app, account).await;
    previous
}

/// The scope Skymeet asks for: calendar records, and images.
const FULL_SCOPE: &str =
    "atproto repo:community.lexicon.calendar.event repo:community.lexicon.calendar.rsvp blob:image/*";

/// As [`sign_in_headless`], the person granting only `scope` at the consent step.
pub async fn sign_in_granting(app: &TestApp, account: &Account, scope: &str) {
    let login = post_login(app, &account.handle, true).await;
    let done = through_the_pds(app, account, scope, login).await;
    assert_eq!(done.headers()["location"], "/", "signed in");
}

/// Connects Bluesky to the local account `app`'s browser is signed in as, through the whole OAuth
/// flow; where Skymeet's callback sent the browser then (`/me`, with `?connect_error=` when it
/// was refused).
pub async fn connect_headless(app: &TestApp, account: &Account) -> String {
    let start = app
        .client
        .post(format!("{}/api/connect_bluesky", app.address))
        .form(&[("identifier", account.handle.as_str())])
        .header("accept", "text/html")
        .header("referer", format!("{}/me", app.address))
        .send()
        .await
        .expect("sent");
    let done = through_the_pds(app, account, FULL_SCOPE, start).await;
    done.headers()["location"].to_str().expect("ASCII").to_owned()
}

/// From Skymeet's answer that starts a sign-in (a redirect to the authorization server), through
/// the PDS's sign-in and consent API as its own page calls it (with the browser's `sec-fetch-*`
/// headers), to Skymeet's callback; the callback's answer.
async fn through_the_pds(app: &TestApp, account: &Account, scope: &str, login: reqwest::Response) -> reqwest::Response {
    use reqwest::cookie::CookieStore;
    let Some(location) = login.headers().get("location").cloned() else {
        panic!(
            "no redirect to the authorization server: {} {:?}",
            login.status(),
            login.text().await
        );
    };
    let authorize_url = location.to_str().expect("ASCII").to_owned();
    let pds = pds_url();
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = browser
        .get(&authorize_url)
        .header("accept", "text/html")
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-dest", "document")
        .send()
        .await
        .expect("authorize page");
    assert_eq!(page.status(), StatusCode::OK);
    let cookies = jar.cookies(&pds.parse().expect("URL")).expect("cookies");
    let csrf = cookies
        .to_str()
        .expect("ASCII")
        .split("; ")
        .find_map(|pair| pair.strip_prefix("csrf-token="))
        .expect("a CSRF cookie")
        .to_owned();
    let api = |endpoint: &str, body: Value| {
        browser
            .post(format!("{pds}/@atproto/oauth-provider/~api{endpoint}"))
            .header("origin", &pds)
            .header("referer", &authorize_url)
            .header("sec-fetch-mode", "same-origin")
            .header("sec-fetch-site", "same-origin")
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    let signed_in = api(
        "/sign-in",
        json!({"locale": "en", "username": account.handle, "password": account.password, "remember": true}),
    )
    .await
    .expect("sign-in");
    assert_eq!(signed_in.status(), StatusCode::OK, "{:?}", signed_in.text().await);
    let consent: Value = api("/consent", json!({"did": account.did, "scope": scope}))
        .await
        .expect("consent")
        .json()
        .await
        .expect("JSON");
    let redirect = browser
        .get(consent["url"].as_str().expect("a redirect URL"))
        .header("referer", &authorize_url)
        .header("sec-fetch-site", "same-origin")
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-dest", "document")
        .send()
        .await
        .expect("redirect");
    let callback = redirect.headers()["location"].to_str().expect("ASCII").to_owned();
    app.client.get(&callback).send().await.expect("callback")
}

/// The PDS's own view of a record: `(cid, value)`, or `None` when it does not exist.
pub async fn get_record(did: &str, collection: &str, rkey: &str) -> Option<(String, Value)> {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("{}/xrpc/com.atproto.repo.getRecord", pds_url()))
        .query(&[("repo", did), ("collection", collection), ("rkey", rkey)])
        .send()
        .await
        .expect("getRecord sent");
    if response.status() == StatusCode::BAD_REQUEST {
        return None;
    }
    let body: Value = response.json().await.expect("JSON");
    Some((body["cid"].as_str().expect("cid").to_owned(), body["value"].clone()))
}

/// Every record of a collection in a repo, as the PDS lists them.
pub async fn list_records(did: &str, collection: &str) -> Vec<Value> {
    let body: Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("{}/xrpc/com.atproto.repo.listRecords", pds_url()))
        .query(&[("repo", did), ("collection", collection), ("limit", "100")])
        .send()
        .await
        .expect("listRecords sent")
        .json()
        .await
        .expect("JSON");
    body["records"].as_array().cloned().unwrap_or_default()
}

/// Writes a record straight to the PDS with the account's password session, as another app would.
pub async fn put_record_directly(account: &Account, collection: &str, rkey: &str, record: Value) -> String {
    // A client per call: each test runs on a runtime of its own, where another's pooled
    // connections would not work.
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    put_record_with(&client, account, collection, rkey, record).await
}

/// [`put_record_directly`] through `client` (many writes share one client's connections).
pub async fn put_record_with(
    client: &reqwest::Client,
    account: &Account,
    collection: &str,
    rkey: &str,
    record: Value,
) -> String {
    let body: Value = client
        .post(format!("{}/xrpc/com.atproto.repo.putRecord", pds_url()))
        .bearer_auth(&account.access_jwt)
        .json(&json!({"repo": account.did, "collection": collection, "rkey": rkey, "record": record}))
        .send()
        .await
        .expect("putRecord sent")
        .error_for_status()
        .expect("putRecord accepted")
        .json()
        .await
        .expect("JSON");
    body["cid"].as_str().expect("cid").to_owned()
}

/// Deletes a record straight on the PDS, as another app would.
pub async fn delete_record_directly(account: &Account, collection: &str, rkey: &str) {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!("{}/xrpc/com.atproto.repo.deleteRecord", pds_url()))
        .bearer_auth(&account.access_jwt)
        .json(&json!({"repo": account.did, "collection": collection, "rkey": rkey}))
        .send()
        .await
        .expect("deleteRecord sent")
        .error_for_status()
        .expect("deleteRecord accepted");
}

/// The local PDS's firehose.
pub fn firehose_url() -> String {
    format!(
        "{}/xrpc/com.atproto.sync.subscribeRepos",
        pds_url().replacen("http", "ws", 1)
    )
}

/// The frame of the local PDS's firehose that carries `uri`, read from the start of the stream.
pub async fn frame_carrying(uri: &str) -> Vec<u8> {
    frames_carrying(uri, 1).await.remove(0)
}

/// The first `count` frames of the local PDS's firehose that carry `uri` (its create, its
/// updates, its delete), in the order the PDS made them.
pub async fn frames_carrying(uri: &str, count: usize) -> Vec<Vec<u8>> {
    use futures_util::StreamExt;
    let mut frames = Vec::with_capacity(count);
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("{}?cursor=0", firehose_url()))
        .await
        .expect("firehose");
    let (_, collection_rkey) = uri.split_once("/community.").expect("calendar uri");
    let path = format!("community.{collection_rkey}");
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("the frame comes")
            .expect("stream open")
            .expect("frame");
        let tokio_tungstenite::tungstenite::Message::Binary(bytes) = message else {
            continue;
        };
        if let Ok(skymeet::server::firehose::frame::Frame::Commit { ops, repo, .. }) =
            skymeet::server::firehose::frame::decode(&bytes)
        {
            if uri.contains(repo.as_str()) && ops.iter().any(|op| format!("{}/{}", op.collection, op.rkey) == path) {
                frames.push(bytes.to_vec());
                if frames.len() == count {
                    return frames;
                }
            }
        }
    }
}
