//! Cookie sessions (tower-sessions). The cookie holds only a random session id; the data lives in
//! Redis when `REDIS_URL` is set, otherwise in process memory.

use crate::server::config::Config;
use async_trait::async_trait;
use time::Duration;
use tower_sessions::{
    cookie::SameSite,
    session::{Id, Record},
    session_store::{self, SessionStore},
    Expiry, MemoryStore, SessionManagerLayer,
};
use tower_sessions_redis_store::{fred::prelude::Pool, RedisStore};

pub const COOKIE_NAME: &str = "skymeet_session";

/// A session ends after a week without a visit.
const INACTIVITY_LIMIT: Duration = Duration::days(7);

/// Keys of the values kept in a session, in one place.
pub mod keys {
    /// The viewer's chosen time zone (`TimeZoneName`).
    pub const TIME_ZONE: &str = "time_zone";
    /// The signed-in user's id (`i64`); absent for guests.
    pub const USER_ID: &str = "user_id";
    /// A random value tying a sign-in in progress to this browser (`String`).
    pub const OAUTH_NONCE: &str = "oauth_nonce";
}

/// The session store in use: one type for the layer, whichever backend the config picked.
#[derive(Debug, Clone)]
pub enum SessionBackend {
    Redis(RedisStore<Pool>),
    Memory(MemoryStore),
}

#[async_trait]
impl SessionStore for SessionBackend {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Redis(store) => store.create(record).await,
            Self::Memory(store) => store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Redis(store) => store.save(record).await,
            Self::Memory(store) => store.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Redis(store) => store.load(id).await,
            Self::Memory(store) => store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Redis(store) => store.delete(id).await,
            Self::Memory(store) => store.delete(id).await,
        }
    }
}

impl SessionBackend {
    pub fn new(redis: Option<&Pool>) -> Self {
        match redis {
            Some(pool) => Self::Redis(RedisStore::new(pool.clone())),
            None => Self::Memory(MemoryStore::default()),
        }
    }
}

/// `HttpOnly`, `SameSite=Lax`, and `Secure` whenever the public URL is https.
pub fn layer(config: &Config, backend: SessionBackend) -> SessionManagerLayer<SessionBackend> {
    SessionManagerLayer::new(backend)
        .with_name(COOKIE_NAME)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies())
        .with_expiry(Expiry::OnInactivity(INACTIVITY_LIMIT))
}
