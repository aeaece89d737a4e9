//! A small key-value store with a time to live, for short-lived server-side state (OAuth state,
//! credentials, locks). Redis when `REDIS_URL` is set; otherwise an in-process map, which is
//! enough for the single-instance embedded default.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};
use tower_sessions_redis_store::fred::{
    self,
    prelude::{ClientLike, KeysInterface, Pool},
    types::{Expiration, SetOptions},
};

#[derive(Clone, Debug)]
pub enum KvStore {
    Redis(RedisKv),
    Memory(MemoryKv),
}

/// Redis, with every key under a prefix (`REDIS_KEY_PREFIX`), so several deployments (or test
/// runs) can share one server.
#[derive(Clone, Debug)]
pub struct RedisKv {
    pool: Pool,
    prefix: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("redis error")]
    Redis(#[from] fred::error::Error),
    #[error("a time to live must be at least one millisecond")]
    ZeroTtl,
}

impl KvStore {
    pub fn memory() -> Self {
        Self::Memory(MemoryKv::default())
    }

    pub fn redis(pool: Pool, prefix: &str) -> Self {
        Self::Redis(RedisKv {
            pool,
            prefix: prefix.to_owned(),
        })
    }

    /// The name `key` is stored under in the backend.
    pub fn storage_key(&self, key: &str) -> String {
        match self {
            Self::Redis(redis) => format!("{}{key}", redis.prefix),
            Self::Memory(_) => key.to_owned(),
        }
    }

    /// Which backend this store runs on, for `/readyz` and logs.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Redis(_) => "redis",
            Self::Memory(_) => "memory",
        }
    }

    pub async fn ping(&self) -> Result<(), KvError> {
        match self {
            Self::Redis(redis) => redis.pool.ping::<()>(None).await.map_err(KvError::from),
            Self::Memory(_) => Ok(()),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        match self {
            Self::Redis(redis) => Ok(redis.pool.get::<Option<Vec<u8>>, _>(self.storage_key(key)).await?),
            Self::Memory(memory) => Ok(memory.get(key)),
        }
    }

    /// Stores `value` under `key` for `ttl`, replacing whatever was there.
    pub async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), KvError> {
        let millis = ttl_millis(ttl)?;
        match self {
            Self::Redis(redis) => {
                let key = self.storage_key(key);
                redis
                    .pool
                    .set::<(), _, _>(key, value, Some(Expiration::PX(millis)), None, false)
                    .await?;
            }
            Self::Memory(memory) => memory.set(key, value, ttl),
        }
        Ok(())
    }

    /// Stores `value` only when `key` holds nothing; `true` when it was stored. The building block
    /// of locks shared by several app instances.
    pub async fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, KvError> {
        let millis = ttl_millis(ttl)?;
        match self {
            Self::Redis(redis) => {
                let key = self.storage_key(key);
                let reply: Option<String> = redis
                    .pool
                    .set(key, value, Some(Expiration::PX(millis)), Some(SetOptions::NX), false)
                    .await?;
                Ok(reply.is_some())
            }
            Self::Memory(memory) => Ok(memory.set_if_absent(key, value, ttl)),
        }
    }

    /// Removes `key`; `true` when it held a value.
    pub async fn delete(&self, key: &str) -> Result<bool, KvError> {
        match self {
            Self::Redis(redis) => Ok(redis.pool.del::<i64, _>(self.storage_key(key)).await? > 0),
            Self::Memory(memory) => Ok(memory.delete(key)),
        }
    }

    /// Counts one more at `key` and returns the count so far in the window: the window starts
    /// with the first count and lasts `window` (a fixed-window rate limit shared by every
    /// instance on Redis).
    pub async fn count(&self, key: &str, window: Duration) -> Result<u64, KvError> {
        let millis = ttl_millis(window)?;
        match self {
            Self::Redis(redis) => {
                let key = self.storage_key(key);
                let count: i64 = redis.pool.incr(key.as_str()).await?;
                // Only the first count starts the window (NX: never pushed back by later ones).
                redis
                    .pool
                    .pexpire::<(), _>(key.as_str(), millis, Some(fred::types::ExpireOptions::NX))
                    .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }
            Self::Memory(memory) => Ok(memory.count(key, window)),
        }
    }

    /// How long `key` still lives; `None` when it holds nothing.
    pub async fn ttl(&self, key: &str) -> Result<Option<Duration>, KvError> {
        match self {
            Self::Redis(redis) => {
                // PTTL: -2 = no such key, -1 = no expiry (never written by us).
                let millis: i64 = redis.pool.pttl(self.storage_key(key)).await?;
                Ok(u64::try_from(millis).ok().map(Duration::from_millis))
            }
            Self::Memory(memory) => Ok(memory.ttl(key)),
        }
    }
}

fn ttl_millis(ttl: Duration) -> Result<i64, KvError> {
    match i64::try_from(ttl.as_millis()) {
        Ok(0) => Err(KvError::ZeroTtl),
        Ok(millis) => Ok(millis),
        Err(_) => Ok(i64::MAX),
    }
}

/// The embedded backend: a map guarded by a mutex. Expired entries are invisible at once and freed
/// by [`MemoryKv::purge_expired`], which a background task calls.
#[derive(Clone, Debug, Default)]
pub struct MemoryKv {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

#[derive(Debug)]
struct Entry {
    value: Vec<u8>,
    expires_at: Instant,
}

impl MemoryKv {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock cannot leave the map half-written: every critical section
        // is a single map operation. So a poisoned lock is safe to keep using.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn live<'a>(entries: &'a HashMap<String, Entry>, key: &str, now: Instant) -> Option<&'a Entry> {
        entries.get(key).filter(|entry| entry.expires_at > now)
    }

    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        Self::live(&self.lock(), key, Instant::now()).map(|entry| entry.value.clone())
    }

    pub fn set(&self, key: &str, value: &[u8], ttl: Duration) {
        let expires_at = Instant::now() + ttl;
        self.lock().insert(
            key.to_owned(),
            Entry {
                value: value.to_vec(),
                expires_at,
            },
        );
    }

    pub fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> bool {
        let now = Instant::now();
        let mut entries = self.lock();
        if Self::live(&entries, key, now).is_some() {
            return false;
        }
        entries.insert(
            key.to_owned(),
            Entry {
                value: value.to_vec(),
                expires_at: now + ttl,
            },
        );
        true
    }

    /// Sets `key` only while it holds a value (Redis's `SET XX`); whether it did.
    pub fn replace(&self, key: &str, value: &[u8], ttl: Duration) -> bool {
        let now = Instant::now();
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(key).filter(|entry| entry.expires_at > now) else {
            return false;
        };
        entry.value = value.to_vec();
        entry.expires_at = now + ttl;
        true
    }

    pub fn delete(&self, key: &str) -> bool {
        let now = Instant::now();
        self.lock().remove(key).is_some_and(|entry| entry.expires_at > now)
    }

    pub fn count(&self, key: &str, window: Duration) -> u64 {
        let now = Instant::now();
        let mut entries = self.lock();
        let (count, expires_at) = match Self::live(&entries, key, now) {
            Some(entry) => {
                let seen = entry.value.as_slice().try_into().map_or(0, u64::from_be_bytes);
                (seen.saturating_add(1), entry.expires_at)
            }
            None => (1, now + window),
        };
        entries.insert(
            key.to_owned(),
            Entry {
                value: count.to_be_bytes().to_vec(),
                expires_at,
            },
        );
        count
    }

    fn ttl(&self, key: &str) -> Option<Duration> {
        let now = Instant::now();
        Self::live(&self.lock(), key, now).map(|entry| entry.expires_at - now)
    }

    /// Frees expired entries; returns how many.
    pub fn purge_expired(&self) -> usize {
        let now = Instant::now();
        let mut entries = self.lock();
        let before = entries.len();
        entries.retain(|_, entry| entry.expires_at > now);
        before - entries.len()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
