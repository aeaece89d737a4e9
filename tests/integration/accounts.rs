//! Local accounts through the real mail path: a real SMTP server (`aiosmtpd` from PyPI, started
//! per test by [`MailServer`]) receives what Skymeet sends, and the tests follow the links in it.

use crate::helpers::{local_person, spawn_app, visitor, AppOptions, TestApp, NO_ARGUMENTS};
use reqwest::StatusCode;
use serde_json::Value;
use skymeet::domain::{ShownZone, TimeZoneName};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

const STRONG: &str = "quokka lantern orbit 47";
const STRONGER: &str = "marble tundra violin 93";

/// `aiosmtpd` on a free port, keeping every message in a Maildir.
struct MailServer {
    child: Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl MailServer {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let maildir = tempfile::tempdir().expect("maildir");
        let python = std::env::var("SKYMEET_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        // Maildir makes tmp/new/cur only for a directory it creates itself.
        let boxes = maildir.path().join("box");
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&boxes)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd runs (scripts/test.sh installs it; SKYMEET_PYTHON names it)");
        let server = Self { child, port, maildir };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("aiosmtpd did not start");
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn inbox(&self) -> PathBuf {
        self.maildir.path().join("box").join("new")
    }

    /// Every message received for `to` so far, oldest first, as text.
    fn messages_to(&self, to: &str) -> Vec<String> {
        read_messages(&self.inbox())
            .into_iter()
            .filter(|message| {
                message
                    .lines()
                    .any(|line| line.eq_ignore_ascii_case(&format!("To: {to}")))
            })
            .collect()
    }

    /// Waits for the `n`th message to `to` (from 1).
    async fn wait_for(&self, to: &str, n: usize) -> String {
        for _ in 0..100 {
            if let Some(message) = self.messages_to(to).get(n - 1) {
                return message.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no message {n} to {to}: {:?}", self.messages_to(to));
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The messages in a Maildir's `new/` (or in an outbox of `.eml` files), by time of arrival.
fn read_messages(dir: &Path) -> Vec<String> {
    let mut files: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| {
                    let modified = entry.metadata().ok()?.modified().ok()?;
                    Some((modified, std::fs::read_to_string(entry.path()).ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort_by_key(|(modified, _)| *modified);
    files
        .into_iter()
        // Long lines travel quoted-printable: soft line breaks out, `=3D` back to `=`.
        .map(|(_, text)| text.replace("=\r\n", "").replace("=\n", "").replace("=3D", "="))
        .collect()
}

/// The token of the link to `path` in `message`.
fn link_token(message: &str, path: &str) -> String {
    let start = message
        .find(&format!("/{path}?token="))
        .unwrap_or_else(|| panic!("no /{path} link in {message}"))
        + path.len()
        + 8;
    message[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

fn unique_email() -> String {
    format!("p{}@example.org", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

async fn mail_app(options: AppOptions, mail: &MailServer) -> TestApp {
    spawn_app(options.with("SMTP_URL", mail.url())).await
}

/// Who the browser is signed in as: the display name, or `None`.
async fn signed_in_as(app: &TestApp, client: &reqwest::Client) -> Option<String> {
    let response = client
        .post(format!("{}/api/current_user", app.address))
        .form(&NO_ARGUMENTS)
        .send()
        .await
        .expect("sent");
    let body: Value = response.json().await.expect("json");
    body["display_name"].as_str().map(str::to_owned)
}

async fn post(app: &TestApp, client: &reqwest::Client, function: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = client
        .post(format!("{}/api/{function}", app.address))
        .form(form)
        .send()
        .await
        .expect("sent");
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    match location {
        Some(location) => (status, serde_json::json!({ "location": location })),
        None => (status, body),
    }
}

async fn sign_up_confirm_sign_in_and_reset(options: AppOptions) {
    let mail = MailServer::start();
    let app = mail_app(options, &mail).await;
    let email = unique_email();
    let browser = visitor();

    // A weak password is refused, and nothing is mailed.
    for weak in ["short", "password1234", "qwertyuiop123"] {
        let (status, body) = post(
            &app,
            &browser,
            "accounts/sign-up",
            &[("name", "Ada"), ("email", &email), ("password", weak)],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{weak}: {body}");
        assert_eq!(body["field"], "password", "{body}");
    }
    let (status, body) = post(
        &app,
        &browser,
        "accounts/sign-up",
        &[("name", "Ada"), ("email", "not an address"), ("password", STRONG)],
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("email")),
        "{body}"
    );
    assert!(mail.messages_to(&email).is_empty());

    // Signing up mails a link; the account cannot sign in before it is opened.
    let (status, body) = post(
        &app,
        &browser,
        "accounts/sign-up",
        &[
            ("name", "  Ada   Lovelace "),
            ("email", &email.to_uppercase()),
            ("password", STRONG),
        ],
    )
    .await;
    assert!(body["location"].is_string(), "{status} {body}");
    assert_eq!(body["location"], "/check-inbox?for=confirm");
    let first = mail.wait_for(&email, 1).await;
    assert!(first.contains("Subject: Confirm your address for Skymeet"), "{first}");
    let (status, body) = post(
        &app,
        &browser,
        "accounts/sign-in",
        &[("email", &email), ("password", STRONG)],
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("error-account-2")),
        "{body}"
    );
    // ... and that sign-in sent a fresh link.
    let second = mail.wait_for(&email, 2).await;

    // A forged link changes nothing; a real one confirms and signs in, once.
    let (status, body) = post(
        &app,
        &browser,
        "accounts/confirm-email",
        &[("token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")],
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("error-account-5")),
        "{body}"
    );
    assert_eq!(signed_in_as(&app, &browser).await, None);
    let token = link_token(&first, "confirm-email");
    let (status, body) = post(&app, &browser, "accounts/confirm-email", &[("token", &token)]).await;
    assert!(body["location"].is_string(), "{status} {body}");
    assert_eq!(signed_in_as(&app, &browser).await.as_deref(), Some("Ada Lovelace"));
    let (status, body) = post(&app, &browser, "accounts/confirm-email", &[("token", &token)]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::GONE, Some("error-account-6")),
        "{body}"
    );
    // The other link still confirms (the address is confirmed already: nothing changes).
    let (status, body) = post(
        &app,
        &visitor(),
        "accounts/confirm-email",
        &[("token", &link_token(&second, "confirm-email"))],
    )
    .await;
    assert!(body["location"].is_string(), "{status} {body}");

    // Wrong password and unknown address: the same answer.
    let stranger = visitor();
    let wrong = post(
        &app,
        &stranger,
        "accounts/sign-in",
        &[("email", &email), ("password", STRONGER)],
    )
    .await;
    let unknown = post(
        &app,
        &stranger,
        "accounts/sign-in",
        &[("email", &unique_email()), ("password", STRONG)],
    )
    .await;
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong, unknown);

    // Signing up again with the address: the same answer, and its owner is told.
    let (status, body) = post(
        &app,
        &stranger,
        "accounts/sign-up",
        &[("name", "Mallory"), ("email", &email), ("password", STRONGER)],
    )
    .await;
    assert_eq!(body["location"], "/check-inbox?for=confirm", "{status} {body}");
    let note = mail.wait_for(&email, 3).await;
    assert!(note.contains("Subject: You already have a Skymeet account"), "{note}");
    assert!(!note.contains("token="));

    // A second browser signs in; "forgot my password" for an unknown address looks the same.
    let laptop = visitor();
    let (status, body) = post(
        &app,
        &laptop,
        "accounts/sign-in",
        &[("email", &email), ("password", STRONG)],
    )
    .await;
    assert!(body["location"].is_string(), "{status} {body}");
    assert_eq!(signed_in_as(&app, &laptop).await.as_deref(), Some("Ada Lovelace"));
    let nobody = post(
        &app,
        &stranger,
        "accounts/forgot-password",
        &[("email", &unique_email())],
    )
    .await;
    let somebody = post(&app, &stranger, "accounts/forgot-password", &[("email", &email)]).await;
    assert_eq!(nobody, somebody);
    assert_eq!(somebody.1["location"], "/check-inbox?for=reset");
    let reset_mail = mail.wait_for(&email, 4).await;
    let token = link_token(&reset_mail, "reset-password/new");

    // A weak new password does not spend the link; a strong one ends every other session.
    let (status, body) = post(
        &app,
        &stranger,
        "accounts/reset-password",
        &[("token", &token), ("password", "password")],
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("password")),
        "{body}"
    );
    let (status, body) = post(
        &app,
        &stranger,
        "accounts/reset-password",
        &[("token", &token), ("password", STRONGER)],
    )
    .await;
    assert!(body["location"].is_string(), "{status} {body}");
    assert_eq!(signed_in_as(&app, &stranger).await.as_deref(), Some("Ada Lovelace"));
    assert_eq!(signed_in_as(&app, &laptop).await, None, "the other session ended");
    assert_eq!(signed_in_as(&app, &browser).await, None, "the other session ended");
    let (status, body) = post(
        &app,
        &visitor(),
        "accounts/reset-password",
        &[("token", &token), ("password", STRONGER)],
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::GONE, Some("error-account-6")),
        "{body}"
    );
    let (status, _) = post(
        &app,
        &browser,
        "accounts/sign-in",
        &[("email", &email), ("password", STRONG)],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old password no longer works");
    let (status, body) = post(
        &app,
        &browser,
        "accounts/sign-in",
        &[("email", &email), ("password", STRONGER)],
    )
    .await;
    assert!(body["location"].is_string(), "{status} {body}");

    // Signing out everywhere ends this session and the others.
    let (status, body) = post(
        &app,
        &laptop,
        "accounts/sign-in",
        &[("email", &email), ("password", STRONGER)],
    )
    .await;
    assert!(body["location"].is_string(), "{status} {body}");
    let (status, body) = post(&app, &browser, "accounts/sign-out-everywhere", &[]).await;
    assert!(body["location"].is_string(), "{status} {body}");
    assert_eq!(signed_in_as(&app, &browser).await, None);
    assert_eq!(signed_in_as(&app, &laptop).await, None);

    // Nothing secret is in what the API shows of the account.
    let (_, _) = post(
        &app,
        &browser,
        "accounts/sign-in",
        &[("email", &email), ("password", STRONGER)],
    )
    .await;
    let (_, me) = post(&app, &browser, "current_user", &[]).await;
    let shown = me.to_string();
    assert!(!shown.contains("argon2") && !shown.contains(STRONGER), "{shown}");
    assert_eq!(me["email"], email);
}

on_both_engines!(sign_up_confirm_sign_in_and_reset);

async fn sign_in_attempts_are_throttled_per_address_and_per_client(options: AppOptions) {
    let mail = MailServer::start();
    let app = mail_app(options, &mail).await;
    let email = unique_email();
    let browser = visitor();
    post(
        &app,
        &browser,
        "accounts/sign-up",
        &[("name", "Grace"), ("email", &email), ("password", STRONG)],
    )
    .await;
    let link = mail.wait_for(&email, 1).await;
    post(
        &app,
        &browser,
        "accounts/confirm-email",
        &[("token", &link_token(&link, "confirm-email"))],
    )
    .await;

    let mut codes = Vec::new();
    for _ in 0..11 {
        let (_, body) = post(
            &app,
            &visitor(),
            "accounts/sign-in",
            &[("email", &email), ("password", STRONGER)],
        )
        .await;
        codes.push(body["code"].as_str().unwrap_or_default().to_owned());
    }
    assert!(codes[..10].iter().all(|code| code == "error-account-1"), "{codes:?}");
    assert_eq!(codes[10], "error-account-3");
    // Now even the right password waits: whoever guesses cannot tell it was right.
    let (status, body) = post(
        &app,
        &visitor(),
        "accounts/sign-in",
        &[("email", &email), ("password", STRONG)],
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("error-account-3"))
    );
}

on_both_engines!(sign_in_attempts_are_throttled_per_address_and_per_client);

#[tokio::test]
async fn without_a_mail_server_the_mail_goes_to_the_outbox() {
    let outbox = tempfile::tempdir().expect("outbox");
    let dir = outbox.path().join("outbox");
    let app = spawn_app(AppOptions::embedded().with("MAIL_OUTBOX_DIR", dir.to_str().expect("path"))).await;
    let email = unique_email();
    let browser = visitor();
    let (status, body) = post(
        &app,
        &browser,
        "accounts/sign-up",
        &[("name", "Lin"), ("email", &email), ("password", STRONG)],
    )
    .await;
    assert!(body["location"].is_string(), "{status} {body}");
    let messages = read_messages(&dir);
    assert_eq!(messages.len(), 1);
    let token = link_token(&messages[0], "confirm-email");
    let (status, body) = post(&app, &browser, "accounts/confirm-email", &[("token", &token)]).await;
    assert!(body["location"].is_string(), "{status} {body}");
    assert_eq!(signed_in_as(&app, &browser).await.as_deref(), Some("Lin"));
}

/// A session lasts while it is used: visits keep it long after its idle time has passed since the
/// sign-in (or since a guest chose a time zone), and only that long without a visit ends it (its
/// cookie and its stored copy alike).
async fn a_session_in_use_outlives_its_idle_time_and_an_unused_one_ends(options: AppOptions) {
    let app = spawn_app(options.with("SESSION_IDLE_SECONDS", "3")).await;
    let (browser, _, _) = local_person(&app, "Ada").await;
    // A guest's session holds only the time zone they chose.
    app.post_time_zone_form("Europe/Berlin").await;
    let berlin = ShownZone::Viewer(TimeZoneName::parse("Europe/Berlin").expect("zone"));
    // A visit every half second for twice the idle time.
    for visit in 0..12 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            signed_in_as(&app, &browser).await.as_deref(),
            Some("Ada"),
            "still signed in at visit {visit}"
        );
        assert_eq!(
            guest_zone(&app).await,
            berlin,
            "the guest's zone is kept at visit {visit}"
        );
    }
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(
        signed_in_as(&app, &browser).await,
        None,
        "signed out after the idle time"
    );
    assert_eq!(guest_zone(&app).await, ShownZone::EventsOwn, "the guest's zone is gone");
}

/// The time zone the app's own browser (a guest) sees pages in.
async fn guest_zone(app: &TestApp) -> ShownZone {
    app.client
        .post(format!("{}/api/viewer_time_zone", app.address))
        .form(&NO_ARGUMENTS)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON")
}

on_both_engines!(a_session_in_use_outlives_its_idle_time_and_an_unused_one_ends);
