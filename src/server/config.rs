//! One typed configuration, read from the environment (and an optional `.env` file) at start-up.
//!
//! Every variable is documented in `.env.example`. A missing or malformed value stops start-up with a
//! message naming the variable; secrets are wrapped in [`SecretString`] so they never print.

use secrecy::{ExposeSecret, SecretBox, SecretString};
use std::{collections::HashMap, net::SocketAddr, path::PathBuf, sync::Arc};
use url::Url;

#[derive(Debug, Clone)]
pub struct Config {
    /// Address the HTTP server binds (`LEPTOS_SITE_ADDR`, shared with cargo-leptos).
    pub listen_addr: SocketAddr,
    /// The URL people reach the site at (`PUBLIC_URL`); decides whether cookies are `Secure`.
    pub public_url: Url,
    /// Where the built site (wasm, js, css, assets) lives (`LEPTOS_SITE_ROOT`).
    pub site_root: String,
    pub database: DatabaseConfig,
    pub redis: Option<RedisConfig>,
    pub log_format: LogFormat,
    pub atproto: AtprotoConfig,
    /// Keys that encrypt OAuth credentials at rest (`CREDENTIALS_KEYS`); `None` in development
    /// means a random key for this process only.
    pub credentials_keys: Option<CredentialKeys>,
    /// The confidential OAuth client's signing key (`OAUTH_PRIVATE_KEY`, `OAUTH_KEY_ID`): required
    /// on https, where Skymeet authenticates to authorization servers with `private_key_jwt`.
    pub oauth_signing_key: Option<OAuthSigningKey>,
    /// The firehose to consume (`FIREHOSE_URL`: a relay, or the PDS on the local network); the
    /// subscribeRepos path is added when missing. A Jetstream `/subscribe` URL is used as it is.
    /// Unset on the embedded default with the public PLC: [`DEFAULT_JETSTREAM`]. `None` (`off`,
    /// or unset otherwise): no consumer.
    pub firehose_url: Option<Url>,
    /// Which background work this process does (`SKYMEET_ROLE`, or `--role`).
    pub role: Role,
    /// Forget the cursor of another endpoint and start over (`FIREHOSE_RESET_CURSOR`).
    pub firehose_reset_cursor: bool,
    /// The first wait before a failed PDS write is retried (`PENDING_WRITE_BACKOFF_SECONDS`,
    /// default 5); each further failure doubles it, up to an hour.
    pub pending_write_backoff: std::time::Duration,
    /// The DIDs of the people who may open `/admin` (`ADMIN_DIDS`, separated by commas or spaces).
    pub admin_dids: Vec<crate::domain::Did>,
    /// How often reconciliation compares every known repo with the cache
    /// (`RECONCILE_INTERVAL_SECONDS`, default 3600; 0 turns the periodic run off).
    pub reconcile_interval: Option<std::time::Duration>,
    /// How often each instance samples its counters for the dashboard's charts
    /// (`METRICS_SAMPLE_SECONDS`, default 60; 0 turns sampling off).
    pub metrics_sample_interval: Option<std::time::Duration>,
    /// How long a page rendered for a visitor who is not signed in is served again while nothing
    /// it shows has changed in this process (`PAGE_CACHE_SECONDS`, default 10; 0 turns the page
    /// cache off). Another instance's changes show after at most this long.
    pub page_cache: Option<std::time::Duration>,
    /// Whether `cargo leptos watch` rewrites the site's files under the running server
    /// (`LEPTOS_WATCH`, which it sets): then they are read from disk on every request.
    pub site_watched: bool,
    /// The file in which the build names the client's files by their content's hash
    /// (`LEPTOS_HASH_FILE_NAME`, default `hash.txt`, as Leptos reads it): beside the server
    /// binary, or where an absolute path says.
    pub hash_file: String,
    /// What one client (or all of them together) may ask of the server.
    pub limits: Limits,
    /// How mail to people with a local account goes out.
    pub mail: MailConfig,
}

/// Where mail goes (see `server::mail`).
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// The mail server (`SMTP_URL`: `smtp://host:port`, `smtp://user:pass@host?tls=required`,
    /// `smtps://…`); `None`: messages go to the outbox.
    pub smtp_url: Option<SecretString>,
    /// The sender (`MAIL_FROM`, default `Skymeet <no-reply@{the public host}>`).
    pub from: lettre::message::Mailbox,
    /// Where messages go without a mail server (`MAIL_OUTBOX_DIR`, default `data/outbox`).
    pub outbox_dir: std::path::PathBuf,
}

/// Bounds on what clients may ask of the server, and who may read its metrics.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A session ends after this long without a visit (`SESSION_IDLE_SECONDS`, default a week).
    pub session_idle: std::time::Duration,
    /// A request still unanswered after this long gets 503 (`REQUEST_TIMEOUT_SECONDS`, default 30).
    pub request_timeout: std::time::Duration,
    /// Requests handled at once; more get 503 at once (`MAX_CONCURRENT_REQUESTS`, default 256).
    pub max_concurrent_requests: usize,
    /// Requests per client address (`RATE_LIMIT_PER_SECOND`, default 20, and `RATE_LIMIT_BURST`,
    /// default 100); `None` (a rate of 0) turns the limit off.
    pub rate_limit: Option<RateLimit>,
    /// The bearer token `/metrics` asks for (`METRICS_TOKEN`); `None`: metrics are public.
    pub metrics_token: Option<SecretString>,
}

/// A token bucket per client: `per_second` refill, room for `burst` requests at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

/// Where identities are resolved.
#[derive(Debug, Clone)]
pub struct AtprotoConfig {
    /// The PLC directory that resolves `did:plc` (`ATPROTO_PLC_URL`).
    pub plc_url: Url,
    /// How handles become DIDs (`ATPROTO_HANDLE_RESOLVER`).
    pub handle_resolution: HandleResolution,
    /// Whether addresses from user input and DID documents may be private, loopback or link-local
    /// (`ATPROTO_ALLOW_PRIVATE_ADDRESSES`; by default only when the PLC directory itself is on
    /// loopback, i.e. on the local development network).
    pub allow_private_addresses: bool,
    /// The AppView asked for follower counts (`APPVIEW_URL`, e.g. `https://public.api.bsky.app`);
    /// none by default.
    pub appview_url: Option<Url>,
    /// The relay asked which repos hold calendar records (`RELAY_URL`, e.g. `https://bsky.network`),
    /// to import what the network holds on the first start and on an admin's request; none by
    /// default.
    pub relay_url: Option<Url>,
    /// How long a server that keeps failing is skipped before it is tried again
    /// (`ATPROTO_CIRCUIT_COOLDOWN_SECONDS`, default 30).
    pub circuit_cooldown: std::time::Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandleResolution {
    /// DNS TXT `_atproto.{handle}`, then `https://{handle}/.well-known/atproto-did` (production).
    Dns,
    /// `com.atproto.identity.resolveHandle` on this service: for the local network, where `*.test`
    /// handles have no DNS.
    Service(Url),
}

/// AEAD keys by id. The first one encrypts; any of them decrypts, so keys can be rotated by
/// putting a new one first and keeping the old one until its values have expired.
#[derive(Clone)]
pub struct CredentialKeys {
    pub keys: Vec<(String, Arc<SecretBox<[u8; 32]>>)>,
}

impl std::fmt::Debug for CredentialKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("CredentialKeys")
            .field("ids", &ids)
            .finish_non_exhaustive()
    }
}

impl CredentialKeys {
    /// Parses `id:base64key,id:base64key`, each key 32 bytes.
    pub fn parse(value: &str) -> Result<Self, String> {
        use base64::{engine::general_purpose::STANDARD, Engine};
        let mut keys = Vec::new();
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, encoded) = entry
                .split_once(':')
                .ok_or("expected id:base64key entries separated by commas")?;
            if id.is_empty()
                || id.len() > 32
                || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err("a key id is 1 to 32 letters, digits, '-' or '_'".to_owned());
            }
            let bytes = STANDARD
                .decode(encoded)
                .map_err(|_| format!("key {id:?} is not valid base64"))?;
            let key: [u8; 32] = bytes.try_into().map_err(|_| format!("key {id:?} must be 32 bytes"))?;
            keys.push((id.to_owned(), Arc::new(SecretBox::new(Box::new(key)))));
        }
        if keys.is_empty() {
            return Err("expected at least one id:base64key".to_owned());
        }
        Ok(Self { keys })
    }
}

/// A P-256 private key that signs client assertions, with the key id published in the JWKS.
#[derive(Clone)]
pub struct OAuthSigningKey {
    pub key_id: String,
    /// `p256::SecretKey` is itself a secret type: zeroized on drop, never printed.
    pub key: Arc<p256::SecretKey>,
}

impl std::fmt::Debug for OAuthSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthSigningKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl OAuthSigningKey {
    /// Parses a PKCS#8 PEM P-256 private key; literal `\n` sequences count as line breaks, so
    /// the key fits on one line of an environment file.
    pub fn parse(key_id: &str, pem: &str) -> Result<Self, String> {
        use p256::pkcs8::DecodePrivateKey;
        let pem = pem.trim().replace("\\n", "\n");
        let key = p256::SecretKey::from_pkcs8_pem(&pem)
            .map_err(|_| "expected a P-256 private key in PKCS#8 PEM (BEGIN PRIVATE KEY)".to_owned())?;
        if key_id.is_empty() || key_id.len() > 64 {
            return Err("the key id is 1 to 64 characters".to_owned());
        }
        Ok(Self {
            key_id: key_id.to_owned(),
            key: Arc::new(key),
        })
    }
}

#[derive(Debug, Clone)]
pub enum DatabaseConfig {
    /// `DATABASE_URL=postgres://...`
    Postgres { url: SecretString, max_connections: u32 },
    /// No `DATABASE_URL`: an embedded SQLite file at `SQLITE_PATH`.
    Sqlite { path: PathBuf },
}

#[derive(Debug, Clone)]
pub struct RedisConfig {
    pub url: SecretString,
    /// Put before every key Skymeet writes (`REDIS_KEY_PREFIX`, default none).
    pub key_prefix: String,
}

/// Which background work a process does; every role serves HTTP (pages, `/healthz`, `/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Both (the default; one process does everything).
    All,
    /// Publishing (the pending-write worker), no firehose consumer.
    Web,
    /// The firehose consumer only.
    Ingest,
}

impl Role {
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "all" => Ok(Self::All),
            "web" => Ok(Self::Web),
            "ingest" => Ok(Self::Ingest),
            _ => Err("expected all, web or ingest".to_owned()),
        }
    }

    pub fn publishes(self) -> bool {
        self != Self::Ingest
    }

    pub fn ingests(self) -> bool {
        self != Self::Web
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl ConfigError {
    fn invalid(name: &'static str, reason: impl ToString) -> Self {
        Self::Invalid {
            name,
            reason: reason.to_string(),
        }
    }
}

/// Where configuration values come from: the process environment in production, a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

pub struct Environment;

impl Source for Environment {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|value| !value.trim().is_empty())
    }
}

impl Source for HashMap<&str, &str> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).map(|value| (*value).to_owned())
    }
}

impl Config {
    /// Reads `.env` (when present) into the environment, then the environment into a [`Config`].
    pub fn from_env() -> Result<Self, ConfigError> {
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(ConfigError::invalid(".env", e)),
        }
        Self::from_source(&Environment)
    }

    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let listen_addr = parse_or(source, "LEPTOS_SITE_ADDR", "127.0.0.1:3000", |v| {
            v.parse::<SocketAddr>().map_err(|e| e.to_string())
        })?;
        let public_url = match source.get("PUBLIC_URL") {
            Some(value) => parse_public_url(&value)?,
            None => parse_public_url(&format!("http://{listen_addr}"))?,
        };
        let site_root = source
            .get("LEPTOS_SITE_ROOT")
            .unwrap_or_else(|| "target/site".to_owned());

        let database = match source.get("DATABASE_URL") {
            Some(url) => {
                let parsed = Url::parse(&url).map_err(|e| ConfigError::invalid("DATABASE_URL", e))?;
                if !matches!(parsed.scheme(), "postgres" | "postgresql") {
                    return Err(ConfigError::invalid(
                        "DATABASE_URL",
                        "expected a postgres:// URL (leave it unset for the embedded SQLite database)",
                    ));
                }
                let max_connections = parse_or(source, "DATABASE_MAX_CONNECTIONS", "10", |v| {
                    v.parse::<u32>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or("expected a positive integer")
                })?;
                DatabaseConfig::Postgres {
                    url: SecretString::from(url),
                    max_connections,
                }
            }
            None => DatabaseConfig::Sqlite {
                path: PathBuf::from(
                    source
                        .get("SQLITE_PATH")
                        .unwrap_or_else(|| "data/skymeet.db".to_owned()),
                ),
            },
        };

        let redis = match source.get("REDIS_URL") {
            Some(url) => {
                let parsed = Url::parse(&url).map_err(|e| ConfigError::invalid("REDIS_URL", e))?;
                if !matches!(parsed.scheme(), "redis" | "rediss") {
                    return Err(ConfigError::invalid(
                        "REDIS_URL",
                        "expected a redis:// or rediss:// URL",
                    ));
                }
                let key_prefix = source.get("REDIS_KEY_PREFIX").unwrap_or_default();
                Some(RedisConfig {
                    url: SecretString::from(url),
                    key_prefix,
                })
            }
            None => None,
        };

        let log_format = parse_or(source, "LOG_FORMAT", "human", |v| match v {
            "human" => Ok(LogFormat::Human),
            "json" => Ok(LogFormat::Json),
            _ => Err("expected \"human\" or \"json\""),
        })?;

        let plc_url = parse_or(source, "ATPROTO_PLC_URL", "https://plc.directory", parse_http_url)?;
        let handle_resolution = match source.get("ATPROTO_HANDLE_RESOLVER") {
            None => HandleResolution::Dns,
            Some(value) if value == "dns" => HandleResolution::Dns,
            Some(value) => HandleResolution::Service(
                parse_http_url(&value).map_err(|e| ConfigError::invalid("ATPROTO_HANDLE_RESOLVER", e))?,
            ),
        };
        let plc_on_loopback = match plc_url.host() {
            Some(url::Host::Domain(domain)) => domain == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        let allow_private_addresses = parse_or(
            source,
            "ATPROTO_ALLOW_PRIVATE_ADDRESSES",
            if plc_on_loopback { "true" } else { "false" },
            |v| match v {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err("expected true or false"),
            },
        )?;
        let appview_url = source
            .get("APPVIEW_URL")
            .map(|value| parse_http_url(&value).map_err(|e| ConfigError::invalid("APPVIEW_URL", e)))
            .transpose()?;
        let relay_url = source
            .get("RELAY_URL")
            .map(|value| parse_http_url(&value).map_err(|e| ConfigError::invalid("RELAY_URL", e)))
            .transpose()?;
        let circuit_cooldown = parse_or(source, "ATPROTO_CIRCUIT_COOLDOWN_SECONDS", "30", |v| {
            v.parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 3600.0)
                .map(std::time::Duration::from_secs_f64)
                .ok_or("expected a number of seconds from 0 to 3600")
        })?;
        let credentials_keys = match source.get("CREDENTIALS_KEYS") {
            Some(value) => {
                Some(CredentialKeys::parse(&value).map_err(|e| ConfigError::invalid("CREDENTIALS_KEYS", e))?)
            }
            None if public_url.scheme() == "https" => {
                return Err(ConfigError::invalid(
                    "CREDENTIALS_KEYS",
                    "required when PUBLIC_URL is https: credentials must survive restarts",
                ))
            }
            None => None,
        };

        let oauth_signing_key = match source.get("OAUTH_PRIVATE_KEY") {
            Some(pem) => {
                let key_id = source.get("OAUTH_KEY_ID").unwrap_or_else(|| "k1".to_owned());
                Some(OAuthSigningKey::parse(&key_id, &pem).map_err(|e| ConfigError::invalid("OAUTH_PRIVATE_KEY", e))?)
            }
            None if public_url.scheme() == "https" => {
                return Err(ConfigError::invalid(
                    "OAUTH_PRIVATE_KEY",
                    "required when PUBLIC_URL is https: the OAuth client signs its requests with it",
                ))
            }
            None => None,
        };
        let firehose_url = match source.get("FIREHOSE_URL").as_deref() {
            Some("off") => None,
            Some(value) => Some(parse_firehose_url(value).map_err(|e| ConfigError::invalid("FIREHOSE_URL", e))?),
            // Someone trying Skymeet out sees the network's events from the first minute. Not on
            // the local network (its PLC on loopback), whose accounts the network does not know;
            // not on PostgreSQL, where the operator chooses the source.
            None if matches!(database, DatabaseConfig::Sqlite { .. }) && !plc_on_loopback => {
                Some(parse_firehose_url(DEFAULT_JETSTREAM).map_err(|e| ConfigError::invalid("FIREHOSE_URL", e))?)
            }
            None => None,
        };
        let role = parse_or(source, "SKYMEET_ROLE", "all", Role::parse)?;
        let firehose_reset_cursor = parse_or(source, "FIREHOSE_RESET_CURSOR", "false", |v| match v {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err("expected true or false"),
        })?;
        let pending_write_backoff = parse_or(source, "PENDING_WRITE_BACKOFF_SECONDS", "5", |v| {
            v.parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0 && *s <= 3600.0)
                .map(std::time::Duration::from_secs_f64)
                .ok_or("expected a number of seconds from 0 to 3600")
        })?;
        let admin_dids = source
            .get("ADMIN_DIDS")
            .unwrap_or_default()
            .split([',', ' ', '\n'])
            .filter(|did| !did.is_empty())
            .map(|did| crate::domain::Did::parse(did).map_err(|e| ConfigError::invalid("ADMIN_DIDS", e)))
            .collect::<Result<Vec<_>, _>>()?;
        let seconds_or_off = |v: &str| {
            v.parse::<u64>()
                .map(|seconds| (seconds > 0).then(|| std::time::Duration::from_secs(seconds)))
                .map_err(|_| "expected a whole number of seconds (0: off)")
        };
        let reconcile_interval = parse_or(source, "RECONCILE_INTERVAL_SECONDS", "3600", seconds_or_off)?;
        let metrics_sample_interval = parse_or(source, "METRICS_SAMPLE_SECONDS", "60", seconds_or_off)?;
        let page_cache = parse_or(source, "PAGE_CACHE_SECONDS", "10", seconds_or_off)?;
        let site_watched = parse_or(source, "LEPTOS_WATCH", "false", |v| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("expected true or false"),
        })?;
        let hash_file = source
            .get("LEPTOS_HASH_FILE_NAME")
            .unwrap_or_else(|| "hash.txt".to_owned());
        let limits = Limits::from_source(source)?;
        let mail = MailConfig::from_source(source, &public_url)?;

        Ok(Self {
            listen_addr,
            public_url,
            site_root,
            database,
            redis,
            log_format,
            atproto: AtprotoConfig {
                plc_url,
                handle_resolution,
                allow_private_addresses,
                appview_url,
                relay_url,
                circuit_cooldown,
            },
            credentials_keys,
            oauth_signing_key,
            firehose_url,
            role,
            firehose_reset_cursor,
            pending_write_backoff,
            admin_dids,
            reconcile_interval,
            metrics_sample_interval,
            page_cache,
            site_watched,
            hash_file,
            limits,
            mail,
        })
    }

    /// Cookies carry `Secure` whenever the site is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

impl MailConfig {
    fn from_source(source: &impl Source, public_url: &Url) -> Result<Self, ConfigError> {
        let smtp_url = source
            .get("SMTP_URL")
            .filter(|url| !url.trim().is_empty())
            .map(|url| {
                let parsed = Url::parse(url.trim()).map_err(|e| ConfigError::invalid("SMTP_URL", e))?;
                match parsed.scheme() {
                    "smtp" | "smtps" => Ok(SecretString::from(url.trim().to_owned())),
                    _ => Err(ConfigError::invalid("SMTP_URL", "expected smtp:// or smtps://")),
                }
            })
            .transpose()?;
        let from = match source.get("MAIL_FROM") {
            Some(from) => from
                .parse()
                .map_err(|e: lettre::address::AddressError| ConfigError::invalid("MAIL_FROM", e))?,
            None => {
                // A public host names the sender; a bare address or `localhost` stands for itself.
                let host = public_url
                    .host_str()
                    .filter(|host| host.contains('.') && host.parse::<std::net::IpAddr>().is_err());
                format!("Skymeet <no-reply@{}>", host.unwrap_or("localhost"))
                    .parse()
                    .map_err(|e: lettre::address::AddressError| ConfigError::invalid("PUBLIC_URL", e))?
            }
        };
        let outbox_dir = source
            .get("MAIL_OUTBOX_DIR")
            .unwrap_or_else(|| "data/outbox".to_owned())
            .into();
        Ok(Self {
            smtp_url,
            from,
            outbox_dir,
        })
    }
}

impl DatabaseConfig {
    /// A description that is safe to log: the engine and where it lives, never a password.
    pub fn describe(&self) -> String {
        match self {
            Self::Postgres { url, .. } => match Url::parse(url.expose_secret()) {
                Ok(url) => format!(
                    "postgres://{}:{}{}",
                    url.host_str().unwrap_or("?"),
                    url.port().unwrap_or(5432),
                    url.path()
                ),
                Err(_) => "postgres".to_owned(),
            },
            Self::Sqlite { path } => format!("sqlite:{}", path.display()),
        }
    }
}

fn parse_public_url(value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|e| ConfigError::invalid("PUBLIC_URL", e))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::invalid(
            "PUBLIC_URL",
            "expected an http:// or https:// URL with a host",
        ));
    }
    Ok(url)
}

/// The firehose of the embedded default: a public Jetstream, which sends only the calendar
/// collections (`wantedCollections`), so the whole network's calendar traffic costs little.
pub const DEFAULT_JETSTREAM: &str = "wss://jetstream2.us-east.bsky.network/subscribe";

/// A websocket (or http) URL of a firehose, ending in the subscribeRepos method.
fn parse_firehose_url(value: &str) -> Result<Url, String> {
    let mut url = Url::parse(value).map_err(|e| e.to_string())?;
    let scheme = match url.scheme() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        _ => return Err("expected a ws://, wss://, http:// or https:// URL".to_owned()),
    };
    url.set_scheme(scheme)
        .map_err(|()| "cannot use that scheme".to_owned())?;
    const METHOD: &str = "/xrpc/com.atproto.sync.subscribeRepos";
    // Jetstream's `/subscribe` is taken as it is.
    if !url.path().ends_with(METHOD) && !url.path().ends_with("/subscribe") {
        let path = format!("{}{METHOD}", url.path().trim_end_matches('/'));
        url.set_path(&path);
    }
    Ok(url)
}

fn parse_http_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("expected an http:// or https:// URL".to_owned());
    }
    Ok(url)
}

impl Limits {
    fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let seconds = |low: u64, high: u64| {
            move |v: &str| {
                v.parse::<u64>()
                    .ok()
                    .filter(|s| (low..=high).contains(s))
                    .map(std::time::Duration::from_secs)
                    .ok_or(format!("expected a whole number of seconds from {low} to {high}"))
            }
        };
        let count = |low: u32, high: u32| {
            move |v: &str| {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| (low..=high).contains(n))
                    .ok_or(format!("expected a whole number from {low} to {high}"))
            }
        };
        let session_idle = parse_or(source, "SESSION_IDLE_SECONDS", "604800", seconds(1, 31_536_000))?;
        let request_timeout = parse_or(source, "REQUEST_TIMEOUT_SECONDS", "30", seconds(1, 3600))?;
        let max_concurrent_requests = parse_or(source, "MAX_CONCURRENT_REQUESTS", "256", count(1, 100_000))? as usize;
        let per_second = parse_or(source, "RATE_LIMIT_PER_SECOND", "20", count(0, 1_000_000))?;
        let burst = parse_or(source, "RATE_LIMIT_BURST", "100", count(1, 1_000_000))?;
        let metrics_token = source
            .get("METRICS_TOKEN")
            .filter(|token| !token.trim().is_empty())
            .map(|token| SecretString::from(token.trim().to_owned()));
        Ok(Self {
            session_idle,
            request_timeout,
            max_concurrent_requests,
            rate_limit: (per_second > 0).then_some(RateLimit { per_second, burst }),
            metrics_token,
        })
    }
}

fn parse_or<T, E: ToString>(
    source: &impl Source,
    name: &'static str,
    default: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, ConfigError> {
    let value = source.get(name).unwrap_or_else(|| default.to_owned());
    parse(value.trim()).map_err(|e| ConfigError::invalid(name, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_source(&vars.iter().copied().collect::<HashMap<_, _>>())
    }

    #[test]
    fn defaults_to_the_embedded_stores_on_loopback() {
        let config = config(&[]).expect("defaults are valid");
        assert_eq!(config.listen_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.public_url.as_str(), "http://127.0.0.1:3000/");
        assert!(matches!(config.database, DatabaseConfig::Sqlite { ref path } if path.ends_with("skymeet.db")));
        assert!(config.redis.is_none());
        assert!(!config.secure_cookies());
        assert_eq!(config.log_format, LogFormat::Human);
    }

    #[test]
    fn the_embedded_default_consumes_the_public_jetstream_unless_told_otherwise() {
        let url = |vars: &[(&str, &str)]| config(vars).expect("valid").firehose_url.map(String::from);
        assert_eq!(url(&[]).as_deref(), Some(DEFAULT_JETSTREAM));
        assert_eq!(url(&[("FIREHOSE_URL", "off")]), None);
        // The local network's accounts are unknown to the public network; PostgreSQL is an
        // operator's setup, where the source is theirs to choose.
        assert_eq!(url(&[("ATPROTO_PLC_URL", "http://localhost:2582")]), None);
        assert_eq!(url(&[("DATABASE_URL", "postgres://127.0.0.1/skymeet")]), None);
        assert_eq!(
            url(&[("FIREHOSE_URL", "ws://localhost:2583")]).as_deref(),
            Some("ws://localhost:2583/xrpc/com.atproto.sync.subscribeRepos")
        );
    }

    #[test]
    fn https_public_url_makes_cookies_secure() {
        let config = config(&[
            ("PUBLIC_URL", "https://skymeet.example"),
            ("CREDENTIALS_KEYS", KEYS),
            ("OAUTH_PRIVATE_KEY", OAUTH_KEY),
        ])
        .expect("valid");
        assert!(config.secure_cookies());
        let key = config.oauth_signing_key.expect("a signing key");
        assert_eq!(key.key_id, "k1");
        assert_eq!(format!("{key:?}"), r#"OAuthSigningKey { key_id: "k1", .. }"#);
    }

    /// A P-256 key for tests only, on one line as in an environment file.
    const OAUTH_KEY: &str = "-----BEGIN PRIVATE KEY-----\\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgexEETn4QYQUzSiWq\\nVvRVbz5+bX59r/yfft58StjaTIShRANCAAQqr4zlusKRfWNfnx1LGqR+VCdcs5+C\\nnjzRbYkpjr+xiwCAREd3sPqvlsVIVMNNxlCpGSsdXJ+KksrCma4RIwTX\\n-----END PRIVATE KEY-----\\n";

    #[test]
    fn malformed_values_name_the_variable() {
        let postgres = ("DATABASE_URL", "postgres://127.0.0.1/skymeet");
        let https = ("PUBLIC_URL", "https://skymeet.example");
        let cases: [(&str, &[(&str, &str)]); 12] = [
            ("ATPROTO_PLC_URL", &[("ATPROTO_PLC_URL", "ftp://plc.example")]),
            ("ATPROTO_HANDLE_RESOLVER", &[("ATPROTO_HANDLE_RESOLVER", "pds")]),
            ("CREDENTIALS_KEYS", &[("CREDENTIALS_KEYS", "k1:c2hvcnQ=")]),
            ("CREDENTIALS_KEYS", &[("PUBLIC_URL", "https://skymeet.example")]),
            ("OAUTH_PRIVATE_KEY", &[https, ("CREDENTIALS_KEYS", KEYS)]),
            (
                "OAUTH_PRIVATE_KEY",
                &[("OAUTH_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----")],
            ),
            ("LEPTOS_SITE_ADDR", &[("LEPTOS_SITE_ADDR", "localhost")]),
            ("PUBLIC_URL", &[("PUBLIC_URL", "skymeet.example")]),
            ("DATABASE_URL", &[("DATABASE_URL", "mysql://localhost/db")]),
            (
                "DATABASE_MAX_CONNECTIONS",
                &[postgres, ("DATABASE_MAX_CONNECTIONS", "0")],
            ),
            ("REDIS_URL", &[("REDIS_URL", "http://localhost")]),
            ("LOG_FORMAT", &[("LOG_FORMAT", "yaml")]),
        ];
        for (name, vars) in cases {
            let err = config(vars).expect_err(name);
            assert!(err.to_string().starts_with(name), "{err} should name {name}");
        }
    }

    const KEYS: &str =
        "k2:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=, k1:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

    #[test]
    fn credential_keys_parse_in_order_and_never_print() {
        let config = config(&[("CREDENTIALS_KEYS", KEYS)]).expect("valid");
        let keys = config.credentials_keys.expect("keys");
        let ids: Vec<&str> = keys.keys.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["k2", "k1"]);
        assert_eq!(format!("{keys:?}"), r#"CredentialKeys { ids: ["k2", "k1"], .. }"#);
    }

    #[test]
    fn handles_resolve_by_dns_unless_a_service_is_named() {
        assert_eq!(
            config(&[]).expect("valid").atproto.handle_resolution,
            HandleResolution::Dns
        );
        let local = config(&[("ATPROTO_HANDLE_RESOLVER", "http://localhost:2583")]).expect("valid");
        assert!(matches!(local.atproto.handle_resolution, HandleResolution::Service(url) if url.port() == Some(2583)));
    }

    #[test]
    fn secrets_never_print() {
        let config = config(&[
            ("DATABASE_URL", "postgres://app:hunter2@db.internal:5433/skymeet"),
            ("REDIS_URL", "redis://:hunter2@cache.internal:6379"),
        ])
        .expect("valid");
        let printed = format!("{config:?} {}", config.database.describe());
        assert!(!printed.contains("hunter2"), "{printed}");
        assert_eq!(config.database.describe(), "postgres://db.internal:5433/skymeet");
    }
}
