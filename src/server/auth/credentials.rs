//! atrium-oauth's state and session stores on our key-value store (Redis in production), sealed
//! with [`Cipher`] so a dump of the store alone reveals nothing.
//!
//! - OAuth state (PKCE verifier, DPoP key) under `bluesky:oauth-state:{state}` for 10 minutes.
//! - Token sets and DPoP keys under `bluesky:credentials:{user_id}`, renewed on every refresh.

use super::cipher::{Cipher, CipherError};
use crate::domain::Did;
use crate::server::{
    kv::{KvError, KvStore},
    metrics,
    store::{Store, StoreError},
};
use atrium_api::types::string::Did as AtDid;
use atrium_common::store::Store as AtriumStore;
use atrium_oauth::store::{
    session::{Session, SessionStore},
    state::{InternalStateData, StateStore},
};
use serde::{de::DeserializeOwned, Serialize};
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

/// How long a sign-in may take between leaving for the PDS and coming back.
pub const STATE_TTL: Duration = Duration::from_secs(10 * 60);

/// How long credentials are kept after their last refresh: the longest a public client's session
/// lives on a PDS (two weeks). A refresh writes them again, which renews it.
pub const CREDENTIALS_TTL: Duration = Duration::from_secs(14 * 24 * 60 * 60);

pub fn credentials_key(user_id: i64) -> String {
    format!("bluesky:credentials:{user_id}")
}

/// Held by the one app instance refreshing a user's tokens.
fn refresh_lock_key(user_id: i64) -> String {
    format!("bluesky:refresh-lock:{user_id}")
}

/// Longer than a token refresh takes; a refresh that dies leaves the lock for at most this long.
const REFRESH_LOCK_TTL: Duration = Duration::from_secs(15);
/// How long an instance waits for another one's refresh before trying itself.
const REFRESH_WAIT: Duration = Duration::from_secs(10);
const REFRESH_POLL: Duration = Duration::from_millis(50);

fn state_key(state: &str) -> String {
    format!("bluesky:oauth-state:{state}")
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("key-value store failed")]
    Kv(#[from] KvError),
    #[error("database failed")]
    Store(#[from] StoreError),
    #[error("stored credentials do not open")]
    Cipher(#[from] CipherError),
    #[error("stored credentials do not parse")]
    Json(#[from] serde_json::Error),
    #[error("{0:?} is not a valid DID")]
    Did(String),
    #[error("clearing every entry is not supported")]
    ClearUnsupported,
}

#[derive(Clone, Debug)]
struct Sealed {
    kv: KvStore,
    cipher: Cipher,
}

impl Sealed {
    async fn get<V: DeserializeOwned>(&self, key: &str) -> Result<Option<V>, CredentialError> {
        let Some(sealed) = self.kv.get(key).await? else {
            return Ok(None);
        };
        match self.cipher.open(&sealed, key.as_bytes()) {
            Ok(json) => Ok(Some(serde_json::from_slice(&json)?)),
            Err(e) => {
                // Unreadable (a retired key, or tampering): drop it, so the user signs in again
                // instead of failing on every request.
                tracing::warn!(key, error = %e, "discarding credentials that do not open");
                self.kv.delete(key).await?;
                Ok(None)
            }
        }
    }

    async fn set<V: Serialize>(&self, key: &str, value: &V, ttl: Duration) -> Result<(), CredentialError> {
        let json = serde_json::to_vec(value)?;
        self.kv.set(key, &self.cipher.seal(&json, key.as_bytes()), ttl).await?;
        Ok(())
    }
}

/// Pending sign-ins.
#[derive(Clone, Debug)]
pub struct OAuthStateStore {
    sealed: Sealed,
}

impl OAuthStateStore {
    pub fn new(kv: KvStore, cipher: Cipher) -> Self {
        Self {
            sealed: Sealed { kv, cipher },
        }
    }
}

impl AtriumStore<String, InternalStateData> for OAuthStateStore {
    type Error = CredentialError;

    async fn get(&self, state: &String) -> Result<Option<InternalStateData>, Self::Error> {
        self.sealed.get(&state_key(state)).await
    }

    async fn set(&self, state: String, data: InternalStateData) -> Result<(), Self::Error> {
        self.sealed.set(&state_key(&state), &data, STATE_TTL).await
    }

    async fn del(&self, state: &String) -> Result<(), Self::Error> {
        self.sealed.kv.delete(&state_key(state)).await?;
        Ok(())
    }

    async fn clear(&self) -> Result<(), Self::Error> {
        Err(CredentialError::ClearUnsupported)
    }
}

impl StateStore for OAuthStateStore {}

/// Signed-in users' token sets and DPoP keys, keyed by our user id.
///
/// Refreshing is atrium-oauth's job, and it serialises refreshes within one process. Across
/// processes this store does: reading an expired token set (which atrium does right before it
/// refreshes) takes a per-user lock in the shared key-value store, so one instance refreshes
/// while the others wait and then read the fresh tokens, and the PDS never sees a refresh token
/// twice. Writing the refreshed tokens releases the lock.
#[derive(Clone, Debug)]
pub struct CredentialStore {
    sealed: Sealed,
    store: Store,
    /// Tells this instance's lock from another's.
    instance: Arc<str>,
    writes: Arc<AtomicU64>,
}

impl CredentialStore {
    pub fn new(kv: KvStore, cipher: Cipher, store: Store) -> Self {
        let instance = format!("{:x}-{:x}", std::process::id(), rand_u64());
        Self {
            sealed: Sealed { kv, cipher },
            store,
            instance: instance.into(),
            writes: Arc::default(),
        }
    }

    fn did(did: &AtDid) -> Result<Did, CredentialError> {
        Did::parse(did.as_str()).map_err(|_| CredentialError::Did(did.as_str().to_owned()))
    }

    /// Deletes a user's credentials; `true` when there were some.
    pub async fn delete_for_user(&self, user_id: i64) -> Result<bool, CredentialError> {
        Ok(self.sealed.kv.delete(&credentials_key(user_id)).await?)
    }

    /// Hands `from`'s credentials to `to` (a sign-in made a user that was then merged into the
    /// local account connecting the DID). Each key seals its own value, so they are opened and
    /// sealed again; `true` when there were some.
    pub async fn move_to_user(&self, from: i64, to: i64) -> Result<bool, CredentialError> {
        let Some(session) = self.sealed.get::<Session>(&credentials_key(from)).await? else {
            return Ok(false);
        };
        self.sealed.set(&credentials_key(to), &session, CREDENTIALS_TTL).await?;
        self.delete_for_user(from).await
    }

    /// When the user's access token expires (atrium refreshes it on the next use after that);
    /// `None` without stored credentials.
    pub async fn access_token_expiry(
        &self,
        user_id: i64,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, CredentialError> {
        let session = self.sealed.get::<Session>(&credentials_key(user_id)).await?;
        Ok(session
            .and_then(|session| session.token_set.expires_at)
            .map(|expires_at| expires_at.as_ref().to_utc()))
    }

    /// How many token sets this instance has written (sign-ins and refreshes).
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    async fn holds_refresh_lock(&self, lock: &str) -> Result<bool, CredentialError> {
        let instance = self.instance.as_bytes();
        if self.sealed.kv.set_if_absent(lock, instance, REFRESH_LOCK_TTL).await? {
            return Ok(true);
        }
        // Re-entrant: this instance's own concurrent requests share its lock (atrium serialises
        // their refreshes itself).
        Ok(self.sealed.kv.get(lock).await?.as_deref() == Some(instance))
    }

    /// The user's token set; when it has expired, returns once this instance may refresh it, or
    /// once another instance has (then the fresh one).
    pub(super) async fn get_for_refresh(&self, user_id: i64) -> Result<Option<Session>, CredentialError> {
        let key = credentials_key(user_id);
        let lock = refresh_lock_key(user_id);
        let deadline = Instant::now() + REFRESH_WAIT;
        loop {
            let Some(session) = self.sealed.get::<Session>(&key).await? else {
                return Ok(None);
            };
            if !expired(&session) || self.holds_refresh_lock(&lock).await? {
                return Ok(Some(session));
            }
            if Instant::now() >= deadline {
                tracing::warn!(user_id, "gave up waiting for another instance's token refresh");
                return Ok(Some(session));
            }
            tokio::time::sleep(REFRESH_POLL).await;
        }
    }
}

fn expired(session: &Session) -> bool {
    match &session.token_set.expires_at {
        Some(expires_at) => *expires_at.as_ref() <= chrono::Utc::now().fixed_offset(),
        None => true,
    }
}

fn rand_u64() -> u64 {
    use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
    OsRng.next_u64()
}

impl AtriumStore<AtDid, Session> for CredentialStore {
    type Error = CredentialError;

    async fn get(&self, did: &AtDid) -> Result<Option<Session>, Self::Error> {
        match self.store.user_by_did(&Self::did(did)?).await? {
            Some(user) => self.get_for_refresh(user.id).await,
            None => Ok(None),
        }
    }

    async fn set(&self, did: AtDid, session: Session) -> Result<(), Self::Error> {
        // The first sign-in of a DID creates its user here, before the callback fills in the handle:
        // still one user per DID.
        let user_id = self.store.user_id_for_did(&Self::did(&did)?).await?;
        self.sealed
            .set(&credentials_key(user_id), &session, CREDENTIALS_TTL)
            .await?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        ::metrics::counter!(metrics::CREDENTIAL_WRITES_TOTAL).increment(1);
        // Fresh tokens are stored: let the other instances read them. (Read-then-delete is not
        // atomic; at worst another instance's lock taken in between is dropped early, and that
        // instance then reads the fresh tokens anyway.)
        let lock = refresh_lock_key(user_id);
        if self.sealed.kv.get(&lock).await?.as_deref() == Some(self.instance.as_bytes()) {
            self.sealed.kv.delete(&lock).await?;
        }
        Ok(())
    }

    async fn del(&self, did: &AtDid) -> Result<(), Self::Error> {
        if let Some(user) = self.store.user_by_did(&Self::did(did)?).await? {
            self.delete_for_user(user.id).await?;
        }
        Ok(())
    }

    async fn clear(&self) -> Result<(), Self::Error> {
        Err(CredentialError::ClearUnsupported)
    }
}

impl SessionStore for CredentialStore {}
