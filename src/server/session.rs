//! Cookie sessions (tower-sessions). The cookie holds only a random session id; the data lives in
//! Redis when `REDIS_URL` is set, otherwise in the in-process key-value store, whose purge task
//! frees sessions once they expire (tower-sessions' own `MemoryStore` never frees them, so every
//! anonymous visit would stay in memory for good).

use crate::server::{config::Config, kv::MemoryKv};
use async_trait::async_trait;
use tower_sessions::{
    cookie::SameSite,
    session::{Id, Record},
    session_store::{self, SessionStore},
    Expiry, Session, SessionManagerLayer,
};
use tower_sessions_redis_store::{
    fred::{
        prelude::{KeysInterface, Pool},
        types::{Expiration, SetOptions},
    },
    RedisStore,
};

pub const COOKIE_NAME: &str = "skymeet_session";

/// Keys of the values kept in a session, in one place.
pub mod keys {
    /// The viewer's chosen time zone (`TimeZoneName`).
    pub const TIME_ZONE: &str = "time_zone";
    /// The signed-in user's id (`i64`); absent for guests.
    pub const USER_ID: &str = "user_id";
    /// The user's session generation when they signed in (`i64`, 0 when absent): a session from
    /// an earlier generation is signed out.
    pub const SESSION_GENERATION: &str = "session_generation";
    /// A random value tying a sign-in in progress to this browser (`String`).
    pub const OAUTH_NONCE: &str = "oauth_nonce";
    /// The sign-in in progress connects Bluesky to a local account (`Connecting`), not signs in.
    pub const CONNECTING: &str = "connecting";
    /// When the session last began a new idle period (`i64`, Unix milliseconds); see
    /// [`super::keep_alive`].
    pub const RENEWED_AT: &str = "renewed_at";
}

/// A local account connecting Bluesky: who, and the DID they named (the sign-in must end as it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Connecting {
    pub user_id: i64,
    pub did: String,
}

/// The session store in use: one type for the layer, whichever backend the config picked.
#[derive(Debug, Clone)]
pub enum SessionBackend {
    Redis { store: RedisStore<Pool>, pool: Pool },
    Memory(MemorySessions),
}

#[async_trait]
impl SessionStore for SessionBackend {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Redis { store, .. } => store.create(record).await,
            Self::Memory(store) => store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            // tower-sessions-redis-store 0.16 saves with `SET XX` (only a session still stored)
            // but reads Redis's answer as a bool, which fred cannot make of the nil Redis
            // answers when the session is gone: saving one deleted meanwhile (signed out, or
            // expired) failed, and the request with it (500). The same command, in the store's
            // own encoding, its answer read as what it is.
            Self::Redis { pool, .. } => {
                let bytes = rmp_serde::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))?;
                let expiry = Expiration::EXAT(record.expiry_date.unix_timestamp());
                let _saved: Option<String> = pool
                    .set(
                        record.id.to_string(),
                        bytes.as_slice(),
                        Some(expiry),
                        Some(SetOptions::XX),
                        false,
                    )
                    .await
                    .map_err(|e| session_store::Error::Backend(e.to_string()))?;
                Ok(())
            }
            Self::Memory(store) => store.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Redis { store, .. } => store.load(id).await,
            Self::Memory(store) => store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Redis { store, .. } => store.delete(id).await,
            Self::Memory(store) => store.delete(id).await,
        }
    }
}

impl SessionBackend {
    /// Redis when there is a pool; otherwise the embedded key-value map `memory`.
    pub fn new(redis: Option<&Pool>, memory: MemoryKv) -> Self {
        match redis {
            Some(pool) => Self::Redis {
                store: RedisStore::new(pool.clone()),
                pool: pool.clone(),
            },
            None => Self::Memory(MemorySessions { kv: memory }),
        }
    }
}

/// Sessions in the embedded key-value map, each under `session:{id}` with the session's own expiry
/// as its time to live: an expired session is gone at once and freed by the map's purge.
#[derive(Debug, Clone)]
pub struct MemorySessions {
    kv: MemoryKv,
}

impl MemorySessions {
    fn key(id: &Id) -> String {
        format!("session:{id}")
    }

    /// The record and how long it has left; `None` once it has expired.
    fn encode(record: &Record) -> session_store::Result<Option<(Vec<u8>, std::time::Duration)>> {
        let left = record.expiry_date - time::OffsetDateTime::now_utc();
        let Ok(left) = std::time::Duration::try_from(left) else {
            return Ok(None);
        };
        let bytes = serde_json::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        Ok((!left.is_zero()).then_some((bytes, left)))
    }
}

#[async_trait]
impl SessionStore for MemorySessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let Some((bytes, ttl)) = Self::encode(record)? else {
            return Ok(());
        };
        // Ids are random; a collision only means drawing another.
        while !self.kv.set_if_absent(&Self::key(&record.id), &bytes, ttl) {
            record.id = Id::default();
        }
        Ok(())
    }

    /// Saves a session that is still stored: one another request deleted meanwhile (signed
    /// out) stays deleted, as with the Redis store (`SET XX`). tower-sessions saves only a
    /// session it found stored; a new one is `create`d.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let key = Self::key(&record.id);
        match Self::encode(record)? {
            Some((bytes, ttl)) => {
                self.kv.replace(&key, &bytes, ttl);
            }
            None => {
                self.kv.delete(&key);
            }
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.kv
            .get(&Self::key(id))
            .map(|bytes| serde_json::from_slice(&bytes).map_err(|e| session_store::Error::Decode(e.to_string())))
            .transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.kv.delete(&Self::key(id));
        Ok(())
    }
}

/// Keeps a session alive while it is in use (called where a request reads what the session
/// holds: the signed-in user, the chosen time zone). tower-sessions stores a session (and sends
/// its cookie) only when something in it changed, each time for the whole idle period from then,
/// so reading it renews nothing: left at that, a session would end a week after the sign-in
/// however often its owner came back. A visit that finds the last renewal more than a tenth of
/// the idle period ago notes the time in the session, and that change stores it (and its
/// cookie) for a new idle period. A session in use lasts; one left alone ends between nine tenths
/// of the idle period and the whole of it after the last visit.
pub async fn keep_alive(session: &Session, idle: std::time::Duration) -> Result<(), tower_sessions::session::Error> {
    let now = chrono::Utc::now().timestamp_millis();
    let every = i64::try_from((idle / 10).as_millis()).unwrap_or(i64::MAX);
    let renewed: Option<i64> = session.get(keys::RENEWED_AT).await?;
    if renewed.is_none_or(|at| now.saturating_sub(at) >= every) {
        session.insert(keys::RENEWED_AT, now).await?;
    }
    Ok(())
}

/// `HttpOnly`, `SameSite=Lax`, and `Secure` whenever the public URL is https. A session ends after
/// `SESSION_IDLE_SECONDS` (a week by default) without a visit ([`keep_alive`]).
pub fn layer(config: &Config, backend: SessionBackend) -> SessionManagerLayer<SessionBackend> {
    let idle = time::Duration::try_from(config.limits.session_idle).unwrap_or(time::Duration::days(7));
    SessionManagerLayer::new(backend)
        .with_name(COOKIE_NAME)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies())
        .with_expiry(Expiry::OnInactivity(idle))
}
