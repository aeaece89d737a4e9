use skymeet::server::{config::Config, http::startup::Application, kv::KvStore, state::AppState, store::Store};
use sqlx::{postgres::PgConnectOptions, sqlite::SqliteConnectOptions, Connection, PgConnection};
use std::{collections::HashMap, fmt::Display, str::FromStr};

/// What an endpoint answered: its status and its JSON body (or the body as a string when it is
/// not JSON).
pub type Answer = (reqwest::StatusCode, serde_json::Value);

/// The trimmed text of each element of `page` that `selector` picks.
pub fn texts(page: &scraper::Html, selector: &str) -> Vec<String> {
    page.select(&scraper::Selector::parse(selector).expect("selector"))
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .collect()
}

/// The attribute `name` of each element of `page` that `selector` picks (where it has one).
pub fn attrs(page: &scraper::Html, selector: &str, name: &str) -> Vec<String> {
    page.select(&scraper::Selector::parse(selector).expect("selector"))
        .filter_map(|e| e.value().attr(name).map(str::to_owned))
        .collect()
}

/// A server function called without arguments.
pub const NO_ARGUMENTS: [(&str, &str); 0] = [];

/// The event form as a browser posts it: `id` (for an edit), then `input[field]` for each field.
pub fn event_form(id: Option<String>, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    id.map(|id| ("id".to_owned(), id))
        .into_iter()
        .chain(
            fields
                .iter()
                .map(|(name, value)| (format!("input[{name}]"), (*value).to_owned())),
        )
        .collect()
}
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use tower_sessions_redis_store::fred::prelude::{ClientLike, Config as RedisConfig, Pool};

pub fn postgres_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A unique name for this test's schema, keys, accounts.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

#[derive(Clone, Copy, Debug)]
pub enum Engine {
    Postgres,
    Sqlite,
}

/// A database of its own for one test: a fresh PostgreSQL schema, or a SQLite file in a temporary
/// folder (removed when this is dropped).
pub struct TestDatabase {
    pub database_url: Option<String>,
    pub sqlite_path: Option<String>,
    _dir: Option<TempDir>,
}

impl TestDatabase {
    pub async fn new(engine: Engine) -> Self {
        match engine {
            Engine::Postgres => {
                let schema = unique("test_");
                let mut admin = PgConnection::connect(&postgres_url())
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::query(&format!("create schema {schema}"))
                    .execute(&mut admin)
                    .await
                    .expect("create schema");
                let separator = if postgres_url().contains('?') { '&' } else { '?' };
                let url = format!("{}{separator}options[search_path]={schema}", postgres_url());
                Self {
                    database_url: Some(url),
                    sqlite_path: None,
                    _dir: None,
                }
            }
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let path = dir.path().join("data").join("skymeet.db").display().to_string();
                Self {
                    database_url: None,
                    sqlite_path: Some(path),
                    _dir: Some(dir),
                }
            }
        }
    }

    pub async fn store(&self) -> Store {
        match (&self.database_url, &self.sqlite_path) {
            (Some(url), _) => Store::connect_postgres(PgConnectOptions::from_str(url).expect("valid URL"), 2)
                .await
                .expect("store"),
            (None, Some(path)) => Store::connect_sqlite(SqliteConnectOptions::new().filename(path))
                .await
                .expect("store"),
            (None, None) => unreachable!("a test database is one or the other"),
        }
    }
}

pub async fn redis_pool() -> Pool {
    let config = RedisConfig::from_url(&redis_url()).expect("valid REDIS_URL");
    let pool = Pool::new(config, None, None, None, 2).expect("pool");
    pool.init().await.expect("connect to Redis");
    pool
}

pub async fn kv(redis: bool) -> KvStore {
    if redis {
        KvStore::redis(redis_pool().await, &unique("test:"))
    } else {
        KvStore::memory()
    }
}

/// How to start a test app: which database engine, Redis or not, and any extra variables.
pub struct AppOptions {
    pub engine: Engine,
    pub redis: bool,
    pub extra: Vec<(&'static str, String)>,
}

impl AppOptions {
    /// The embedded default: SQLite and in-process stores.
    pub fn embedded() -> Self {
        Self {
            engine: Engine::Sqlite,
            redis: false,
            extra: Vec::new(),
        }
    }

    /// Production: PostgreSQL and Redis.
    pub fn production() -> Self {
        Self {
            engine: Engine::Postgres,
            redis: true,
            extra: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub shutdown: CancellationToken,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
    _database: TestDatabase,
}

/// A browser of its own: its own cookies (session), redirects not followed.
pub fn visitor() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("HTTP client")
}

/// With `TEST_LOG` set (a filter such as `debug,sqlx=warn`), the apps' logs go to the test's
/// output, which shows them for a failing test.
fn log_when_asked() {
    if let Ok(filter) = std::env::var("TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

pub async fn spawn_app(options: AppOptions) -> TestApp {
    log_when_asked();
    let database = TestDatabase::new(options.engine).await;
    let mut vars: HashMap<&str, String> = HashMap::new();
    vars.insert("LEPTOS_SITE_ADDR", "127.0.0.1:0".to_owned());
    // Every test client is on 127.0.0.1, and some poll quickly; a test of the limit sets its own.
    vars.insert("RATE_LIMIT_PER_SECOND", "1000".to_owned());
    vars.insert("RATE_LIMIT_BURST", "5000".to_owned());
    // Tests never reach out to the public network (the embedded default's Jetstream).
    vars.insert("FIREHOSE_URL", "off".to_owned());
    if let Some(url) = &database.database_url {
        vars.insert("DATABASE_URL", url.clone());
    }
    if let Some(path) = &database.sqlite_path {
        vars.insert("SQLITE_PATH", path.clone());
    }
    if options.redis {
        vars.insert("REDIS_URL", redis_url());
        // Each app its own key space: user ids repeat across test databases.
        vars.insert("REDIS_KEY_PREFIX", format!("{}:", unique("test")));
    }
    vars.extend(options.extra);
    let source: HashMap<&str, &str> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let config = Config::from_source(&source).expect("valid test configuration");

    let app = Application::build(config).await.expect("application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let shutdown = app.shutdown_token();
    let server = tokio::spawn(app.run_until_stopped());
    let client = visitor();
    TestApp {
        address,
        client,
        state,
        shutdown,
        server,
        _database: database,
    }
}

impl TestApp {
    /// The Redis key prefix of this app, for a second instance to share.
    pub fn redis_prefix(&self) -> String {
        self.state
            .config
            .redis
            .as_ref()
            .map(|redis| redis.key_prefix.clone())
            .unwrap_or_default()
    }

    /// The SQLite file this app runs on (the embedded default), for a benchmark to seed.
    #[allow(dead_code)] // Used by benches/discovery.rs, which includes this file.
    pub fn sqlite_path(&self) -> Option<String> {
        self._database.sqlite_path.clone()
    }

    /// The database this app runs on, for a second instance to share.
    pub fn database_url(&self) -> Option<String> {
        self._database.database_url.clone()
    }

    /// Posts a server function the way a script does (no `Accept: text/html`): errors keep their
    /// HTTP status and come back as JSON.
    pub async fn call<T: serde::Serialize + ?Sized>(
        &self,
        function: &str,
        body: &T,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let response = self
            .client
            .post(format!("{}/api/{function}", self.address))
            .form(body)
            .send()
            .await
            .expect("sent");
        let status = response.status();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// Sends `method path` with an optional JSON body, as a script calling the JSON API does.
    pub async fn send_json(&self, method: reqwest::Method, path: &str, body: Option<&str>) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.address));
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_owned());
        }
        let response = request.send().await.expect("sent");
        let status = response.status();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    // One method per endpoint. Ids are anything printable, so tests can send ones that are not.

    /// `create_event` with the event form's fields (`name`, `starts_at`, ...).
    pub async fn create_event(&self, fields: &[(&str, &str)]) -> Answer {
        self.call("create_event", &event_form(None, fields)).await
    }

    pub async fn update_event(&self, id: impl Display, fields: &[(&str, &str)]) -> Answer {
        self.call("update_event", &event_form(Some(id.to_string()), fields))
            .await
    }

    pub async fn delete_event(&self, id: impl Display) -> Answer {
        self.call("delete_event", &[("id", id.to_string())]).await
    }

    pub async fn answer_event(&self, id: impl Display, status: &str) -> Answer {
        self.call("answer_event", &[("id", id.to_string()), ("status", status.to_owned())])
            .await
    }

    pub async fn withdraw_answer(&self, id: impl Display) -> Answer {
        self.call("withdraw_answer", &[("id", id.to_string())]).await
    }

    pub async fn discard_write(&self, id: impl Display) -> Answer {
        self.call("discard_write", &[("id", id.to_string())]).await
    }

    pub async fn reapply_write(&self, id: impl Display) -> Answer {
        self.call("reapply_write", &[("id", id.to_string())]).await
    }

    pub async fn claim_account(&self, did: Option<&str>) -> Answer {
        let form: Vec<(&str, &str)> = did.map(|did| ("did", did)).into_iter().collect();
        self.call("auth/bluesky/claim-account", &form).await
    }

    /// `POST /api/events/{id}/sync`.
    pub async fn sync_event(&self, id: impl Display) -> Answer {
        self.send_json(reqwest::Method::POST, &format!("/api/events/{id}/sync"), None)
            .await
    }

    /// `GET /api/events/{id}/conflicts`.
    pub async fn event_conflicts(&self, id: impl Display) -> Answer {
        self.send_json(reqwest::Method::GET, &format!("/api/events/{id}/conflicts"), None)
            .await
    }

    /// `POST /api/events/{id}/resolve` with `body` as it is (it may be malformed on purpose).
    pub async fn resolve_conflict(&self, id: impl Display, body: &str) -> Answer {
        self.send_json(reqwest::Method::POST, &format!("/api/events/{id}/resolve"), Some(body))
            .await
    }

    /// The `resolve_conflict` server function, posted as the dashboard's form does.
    pub async fn resolve_conflict_by_form(&self, id: impl Display, resolution: &str) -> Answer {
        self.call(
            "resolve_conflict",
            &[("id", id.to_string()), ("resolution", resolution.to_owned())],
        )
        .await
    }

    /// `GET /api/admin/bluesky/sync-status`.
    pub async fn sync_status(&self) -> Answer {
        self.send_json(reqwest::Method::GET, "/api/admin/bluesky/sync-status", None)
            .await
    }

    pub async fn reconcile(&self) -> Answer {
        self.call("admin/bluesky/reconcile", &NO_ARGUMENTS).await
    }

    pub async fn backfill(&self, identifier: &str) -> Answer {
        self.call("admin/bluesky/backfill", &[("identifier", identifier)]).await
    }

    pub async fn refresh_sessions(&self) -> Answer {
        self.call("admin/sessions/refresh", &NO_ARGUMENTS).await
    }

    pub async fn reset_session(&self, user_id: impl Display) -> Answer {
        self.call("admin/sessions/reset", &[("user_id", user_id.to_string())])
            .await
    }

    pub async fn replay_dead_letter(&self, id: impl Display) -> Answer {
        self.call("replay_dead_letter", &[("id", id.to_string())]).await
    }

    pub async fn discard_dead_letter(&self, id: impl Display) -> Answer {
        self.call("discard_dead_letter", &[("id", id.to_string())]).await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_html(&self, path: &str) -> (reqwest::StatusCode, String) {
        let response = self.get(path).await;
        let status = response.status();
        (status, response.text().await.expect("body"))
    }

    /// Submits the time zone form the way a browser without JavaScript does.
    pub async fn post_time_zone_form(&self, zone: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/api/set_time_zone", self.address))
            .header("accept", "text/html")
            .header("referer", format!("{}/", self.address))
            .form(&[("time_zone", zone)])
            .send()
            .await
            .expect("request sent")
    }
}

/// Runs `tests/fixtures/{script}` with the tests' Python (`SKYMEET_PYTHON`; `scripts/test.sh`
/// installs it with the PyPI packages the scripts use), `input` on its standard input; what it
/// printed.
pub fn run_python(script: &str, input: String) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let python = std::env::var("SKYMEET_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let path = format!("{}/tests/fixtures/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(python)
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs (scripts/test.sh installs it; SKYMEET_PYTHON names it)");
    // Written from a thread of its own: python answers while it reads, and a full pipe of answers
    // would otherwise stop both.
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("python finished");
    writer.join().expect("writer").expect("input written");
    assert!(
        output.status.success(),
        "{script} failed (are its packages installed? scripts/test.sh does it): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// A person with a confirmed email account (password [`LOCAL_PASSWORD`]), signed in on a browser
/// of their own; their user id and address.
pub async fn local_person(app: &TestApp, name: &str) -> (reqwest::Client, i64, String) {
    let email = skymeet::domain::EmailAddress::parse(&format!("{}@example.org", unique("p"))).expect("address");
    let hash = password_auth::generate_hash(LOCAL_PASSWORD);
    let user = app
        .state
        .store
        .create_local_account(name, &email, &hash)
        .await
        .expect("query")
        .expect("a new account");
    app.state
        .store
        .mark_email_verified(user.id, chrono::Utc::now())
        .await
        .expect("query");
    let browser = visitor();
    let response = browser
        .post(format!("{}/api/accounts/sign-in", app.address))
        .form(&[("email", email.as_str()), ("password", LOCAL_PASSWORD)])
        .send()
        .await
        .expect("sent");
    assert!(
        response.headers().contains_key("location"),
        "signed in: {}",
        response.status()
    );
    (browser, user.id, email.as_str().to_owned())
}

pub const LOCAL_PASSWORD: &str = "quokka lantern orbit 47";
