//! The ATProto OAuth client (PAR + PKCE + DPoP, through atrium-oauth) and the sign-in steps built
//! on it: start (resolve the identity, push the authorization request) and finish (exchange the
//! code, learn who signed in).

use super::{
    cipher::Cipher,
    credentials::{CredentialStore, OAuthStateStore},
    dpop::{self, Nonces, PdsClient, ProofKey},
};
use crate::domain::{Collection, Did, Handle, Rkey};
use crate::server::{
    config::Config,
    identity::{self, at_did, is_unreachable, HandleResolver},
    kv::KvStore,
    outbound::{Failures, Outbound},
    pds::{PdsError, Repo},
    store::{Profile, Store, User},
};
use atrium_api::{
    agent::Agent,
    com::atproto::repo::describe_repo,
    types::string::{AtIdentifier, Datetime},
    xrpc::{
        http::{Request, Response},
        HttpClient, OutputDataOrBytes, XrpcClient, XrpcRequest,
    },
};
use atrium_common::store::Store as AtriumStore;
use atrium_identity::did::CommonDidResolver;
use atrium_oauth::{
    AtprotoClientMetadata, AtprotoLocalhostClientMetadata, AuthMethod, AuthorizeOptions, CallbackParams, GrantType,
    KnownScope, OAuthClient, OAuthClientConfig, OAuthResolverConfig, Scope,
};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use std::{sync::Arc, time::Duration};

pub type Client = OAuthClient<OAuthStateStore, CredentialStore, CommonDidResolver<Outbound>, HandleResolver, Outbound>;

/// A signed-in account's session with its PDS, for its requests there. They go out through
/// [`PdsClient`] (`dpop` says why not through atrium-oauth's session). A token that the PDS
/// refuses, or whose time is up, is atrium-oauth's to refresh: such a request goes through its
/// session instead, which refreshes the tokens (once across instances: see `credentials`) and
/// sends the request again.
pub struct Session {
    pds: PdsClient,
    /// When the access token runs out, as the authorization server said.
    expires_at: Option<Datetime>,
    client: Arc<Client>,
    did: atrium_api::types::string::Did,
}

impl Session {
    fn expired(&self) -> bool {
        self.expires_at.as_ref().is_some_and(|at| at <= &Datetime::now())
    }
}

impl HttpClient for Session {
    async fn send_http(
        &self,
        request: Request<Vec<u8>>,
    ) -> Result<Response<Vec<u8>>, Box<dyn std::error::Error + Send + Sync + 'static>> {
        self.pds.send_http(request).await
    }
}

impl XrpcClient for Session {
    fn base_uri(&self) -> String {
        self.pds.base_uri()
    }

    async fn send_xrpc<P, I, O, E>(
        &self,
        request: &XrpcRequest<P, I>,
    ) -> Result<OutputDataOrBytes<O>, atrium_api::xrpc::Error<E>>
    where
        P: Serialize + Send + Sync,
        I: Serialize + Send + Sync,
        O: DeserializeOwned + Send + Sync,
        E: DeserializeOwned + Send + Sync + std::fmt::Debug,
    {
        if !self.expired() {
            let result = self.pds.send_xrpc(request).await;
            match &result {
                Err(atrium_api::xrpc::Error::Authentication(challenge)) if dpop::refused_token(challenge) => {}
                _ => return result,
            }
        }
        // Boxed: atrium's session nests its clients deeply enough that, inlined into every
        // caller's future, the compiler's query depth limit is reached.
        Box::pin(async {
            let session = self
                .client
                .restore(&self.did)
                .await
                .map_err(|e| atrium_api::xrpc::Error::HttpClient(Box::new(e)))?;
            session.send_xrpc(request).await
        })
        .await
    }
}

/// Where a profile record lives in every account's repo: `app.bsky.actor.profile/self`.
const PROFILE_COLLECTION: &str = "app.bsky.actor.profile";
const PROFILE_RKEY: &str = "self";

/// The path the authorization server sends people back to.
pub const CALLBACK_PATH: &str = "/oauth/callback";
/// The confidential client's id: the URL of its metadata.
pub const CLIENT_METADATA_PATH: &str = "/oauth-client-metadata.json";
/// The confidential client's public keys.
pub const JWKS_PATH: &str = "/oauth/jwks.json";

/// The signing key as atrium-oauth takes it: a private JWK for ES256.
fn signing_jwk(key: &crate::server::config::OAuthSigningKey) -> jose_jwk::Jwk {
    let secret = jose_jwk::crypto::Key::from(p256::SecretKey::clone(&key.key));
    jose_jwk::Jwk {
        key: jose_jwk::Key::from(&secret),
        prm: jose_jwk::Parameters {
            alg: Some(jose_jwa::Algorithm::Signing(jose_jwa::Signing::Es256)),
            kid: Some(key.key_id.clone()),
            cls: Some(jose_jwk::Class::Signing),
            ..Default::default()
        },
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("no valid OAuth redirect URI: {0}")]
    Redirect(String),
    #[error("the OAuth client configuration is invalid")]
    Setup(#[source] atrium_oauth::Error),
    #[error("could not resolve the account")]
    UnknownAccount(#[source] atrium_oauth::Error),
    #[error("the account's server did not answer as expected")]
    ServerUnreachable(#[source] atrium_oauth::Error),
    #[error("the account's server is on a private address, which this server does not contact")]
    PrivateAddress(#[source] atrium_oauth::Error),
    #[error("the sign-in could not be completed")]
    Callback(#[source] atrium_oauth::Error),
    #[error("the sign-in was interrupted by an internal failure")]
    Crashed,
    #[error("the account's server took too long to answer")]
    TimedOut,
    #[error("the account's authorization server is not at an https address")]
    UnsafeRedirect,
    #[error("the signed-in account could not be read")]
    Account(String),
    #[error("no stored session for this account: it has to sign in again")]
    NoSession(#[source] atrium_oauth::Error),
    #[error("the account's server no longer accepts this session (revoked or expired): sign in again")]
    SessionEnded(String),
    #[error("the profile could not be read from the account's server")]
    Profile(String),
}

/// Whether an error's message, or that of any error under it, contains `needle`. (atrium-oauth
/// keeps an authorization server's error response only as text.)
fn mentions(error: &(dyn std::error::Error + 'static), needle: &str) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if e.to_string().contains(needle) {
            return true;
        }
        source = e.source();
    }
    false
}

/// How long one step of a sign-in (starting it, or finishing it) may take in all. Each request
/// has its own timeouts, but atrium-oauth also waits, with no limit, for another sign-in's lookup
/// of the same server's metadata (atrium-common 0.1's de-duplication of lookups in flight), and
/// that wait can miss the answer it waits for.
const SIGN_IN_STEP_LIMIT: Duration = Duration::from_secs(60);

/// Runs one of atrium-oauth's calls in a task of its own, for at most `limit`. In some failures (an
/// authorization server without PAR, a refused code exchange) atrium-oauth 0.2 panics on an
/// unimplemented branch instead of returning an error: the task contains the panic, and the
/// request that failed just before it, whose answer atrium drops, is logged. A call still running
/// at `limit` is stopped.
async fn contained<T: Send + 'static>(
    limit: Duration,
    call: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, OAuthError> {
    let failures = Failures::default();
    let task = tokio::spawn(failures.watch(call));
    let stop = task.abort_handle();
    let outcome = tokio::time::timeout(limit, task).await;
    let last_failed_request = failures.last();
    let last_failed_request = last_failed_request.as_deref().unwrap_or("none");
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) => {
            tracing::error!(
                last_failed_request,
                "atrium-oauth gave up on a sign-in without an error"
            );
            Err(OAuthError::Crashed)
        }
        Err(_) => {
            stop.abort();
            tracing::warn!(
                last_failed_request,
                limit_s = limit.as_secs(),
                "a sign-in step took too long; stopped"
            );
            Err(OAuthError::TimedOut)
        }
    }
}

/// Who just signed in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub did: Did,
    pub handle: Handle,
}

/// A fresh random value that ties a sign-in to the browser that started it: kept in that
/// browser's session, and checked when the authorization server sends it back.
pub fn browser_nonce() -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
    let mut bytes = [0u8; 24];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How many accounts' sessions are kept (one per account that writes).
const SESSIONS_KEPT: usize = 1_000;

/// A session made for an account's writes, kept for its next ones: it saves preparing the DPoP
/// key again (two P-256 multiplications). It is used only while the stored credentials are still
/// the ones it was made from: tokens refreshed or retired by any instance, a new sign-in or a
/// disconnect make the next write make a new one.
struct KeptSession {
    credentials: atrium_oauth::store::session::Session,
    session: Arc<Session>,
}

pub struct BlueskyAuth {
    client: Arc<Client>,
    sessions: quick_cache::sync::Cache<Did, Arc<KeptSession>>,
    /// The nonces the PDSes gave, shared by every session.
    nonces: Arc<Nonces>,
    http_client: Arc<Outbound>,
    credentials: CredentialStore,
    state_store: OAuthStateStore,
    scopes: Vec<Scope>,
    /// Whether an authorization server may be on plain http (only on the local network).
    allow_http: bool,
}

impl BlueskyAuth {
    /// The loopback public client on http (development, tests, a single host), the confidential
    /// client on https. `None` on an https site without a signing key. Its requests go through
    /// `http_client`.
    pub fn new(
        config: &Config,
        store: Store,
        kv: KvStore,
        http_client: Arc<Outbound>,
    ) -> Result<Option<Self>, OAuthError> {
        let cipher = match &config.credentials_keys {
            Some(keys) => Cipher::new(keys),
            None => {
                tracing::warn!("CREDENTIALS_KEYS is not set: credentials are sealed with a key for this process only");
                Cipher::ephemeral()
            }
        };
        let credentials = CredentialStore::new(kv.clone(), cipher.clone(), store);
        let nonces = Arc::new(Nonces::new(kv.clone()));
        let state_store = OAuthStateStore::new(kv, cipher);
        let mut scopes = vec![Scope::Known(KnownScope::Atproto)];
        scopes.extend(
            Collection::ALL
                .iter()
                .map(|collection| Scope::Unknown(format!("repo:{}", collection.nsid()))),
        );
        // Header images an organiser uploads go to their PDS as blobs: images only.
        scopes.push(Scope::Unknown("blob:image/*".to_owned()));
        // Everything the client may ask for: the granular scopes, and the broad one for servers
        // without them.
        let allowed_scopes: Vec<Scope> = scopes
            .iter()
            .cloned()
            .chain([Scope::Known(KnownScope::TransitionGeneric)])
            .collect();
        let url = |path: &str| config.public_url.join(path).map(String::from).unwrap_or_default();
        let resolver = OAuthResolverConfig {
            did_resolver: identity::did_resolver(&config.atproto, &http_client),
            handle_resolver: identity::handle_resolver(&config.atproto, &http_client),
            authorization_server_metadata: Default::default(),
            protected_resource_metadata: Default::default(),
        };
        let client = match (config.public_url.scheme(), &config.oauth_signing_key) {
            // The loopback public client: development, tests, a single host on http.
            ("http", _) => OAuthClient::new(OAuthClientConfig {
                client_metadata: AtprotoLocalhostClientMetadata {
                    redirect_uris: Some(vec![url(CALLBACK_PATH)]),
                    scopes: Some(allowed_scopes),
                },
                keys: None,
                resolver,
                state_store: state_store.clone(),
                session_store: credentials.clone(),
                http_client: Outbound::clone(&http_client),
            }),
            // The confidential client: its metadata is served at its client id, and it proves
            // itself to authorization servers with assertions signed by its key (private_key_jwt).
            (_, Some(signing_key)) => OAuthClient::new(OAuthClientConfig {
                client_metadata: AtprotoClientMetadata {
                    client_id: url(CLIENT_METADATA_PATH),
                    client_uri: Some(config.public_url.to_string()),
                    redirect_uris: vec![url(CALLBACK_PATH)],
                    token_endpoint_auth_method: AuthMethod::PrivateKeyJwt,
                    grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                    scopes: allowed_scopes,
                    jwks_uri: Some(url(JWKS_PATH)),
                    token_endpoint_auth_signing_alg: Some("ES256".to_owned()),
                },
                keys: Some(vec![signing_jwk(signing_key)]),
                resolver,
                state_store: state_store.clone(),
                session_store: credentials.clone(),
                http_client: Outbound::clone(&http_client),
            }),
            (_, None) => {
                tracing::warn!("Bluesky sign-in is off: an https site needs OAUTH_PRIVATE_KEY");
                return Ok(None);
            }
        }
        .map_err(OAuthError::Setup)?;
        Ok(Some(Self {
            client: Arc::new(client),
            sessions: quick_cache::sync::Cache::new(SESSIONS_KEPT),
            nonces,
            http_client,
            credentials,
            state_store,
            scopes,
            allow_http: config.atproto.allow_private_addresses,
        }))
    }

    pub fn credentials(&self) -> &CredentialStore {
        &self.credentials
    }

    /// The nonces the PDSes gave this instance's sessions.
    pub fn nonces(&self) -> &Nonces {
        &self.nonces
    }

    /// This client's metadata, as served at its client id.
    pub fn client_metadata(&self) -> &atrium_oauth::OAuthClientMetadata {
        &self.client.client_metadata
    }

    /// This client's public signing keys (none for the loopback client).
    pub fn jwks(&self) -> jose_jwk::JwkSet {
        self.client.jwks()
    }

    /// The signed-in account's own repo, written through its OAuth session. Its credentials
    /// are found by the user's id, which the caller already has (atrium, knowing only the DID,
    /// finds the user first: a query more on every write).
    pub async fn repo(&self, owner: &User) -> Result<Repo<Session>, PdsError> {
        let did = owner.did.as_ref().ok_or(PdsError::SessionEnded)?;
        let stored = self
            .credentials
            .get_for_refresh(owner.id)
            .await
            .map_err(|e| PdsError::Unreachable(format!("reading the credentials failed: {e}")))?;
        // No stored credentials: only signing in again helps.
        let Some(credentials) = stored else {
            self.sessions.remove(did);
            return Err(PdsError::SessionEnded);
        };
        if let Some(kept) = self.sessions.get(did) {
            if kept.credentials == credentials {
                return Ok(Repo::new(Arc::clone(&kept.session), did.clone()));
            }
        }
        let key = ProofKey::new(&credentials.dpop_key).map_err(|error| {
            tracing::warn!(%error, "the stored session cannot make DPoP proofs");
            PdsError::SessionEnded
        })?;
        let tokens = &credentials.token_set;
        let session = Arc::new(Session {
            pds: PdsClient::new(
                Arc::clone(&self.http_client),
                Arc::clone(&self.nonces),
                Arc::new(key),
                tokens.aud.clone(),
                tokens.access_token.clone(),
            ),
            expires_at: tokens.expires_at.clone(),
            client: Arc::clone(&self.client),
            did: at_did(did)?,
        });
        let kept = KeptSession {
            credentials,
            session: Arc::clone(&session),
        };
        self.sessions.insert(did.clone(), Arc::new(kept));
        Ok(Repo::new(session, did.clone()))
    }

    /// Resolves `identifier` (a handle or DID), pushes an authorization request, and returns the
    /// URL to send the browser to.
    #[tracing::instrument(skip_all, err)]
    pub async fn start(&self, identifier: &str, browser_nonce: &str) -> Result<String, OAuthError> {
        let options = |scopes: Vec<Scope>| AuthorizeOptions {
            scopes,
            state: Some(browser_nonce.to_owned()),
            ..Default::default()
        };
        // atrium-oauth 0.2 panics (an unimplemented branch) when the authorization server has no PAR endpoint,
        // which the account's own server decides.
        let authorize = |scopes: Vec<Scope>| {
            let (client, identifier, options) = (Arc::clone(&self.client), identifier.to_owned(), options(scopes));
            contained(SIGN_IN_STEP_LIMIT, async move {
                client.authorize(identifier, options).await
            })
        };
        let granular = authorize(self.scopes.clone()).await?;
        let result = match granular {
            // A PDS that predates granular scopes refuses them: ask for the broad one instead.
            Err(e) if mentions(&e, "invalid_scope") => {
                tracing::info!("the authorization server refused granular scopes; asking for transition:generic");
                let broad = vec![
                    Scope::Known(KnownScope::Atproto),
                    Scope::Known(KnownScope::TransitionGeneric),
                ];
                authorize(broad).await?
            }
            other => other,
        };
        let url = result.map_err(|e| match &e {
            _ if crate::server::outbound::refused_private(&e) => OAuthError::PrivateAddress(e),
            atrium_oauth::Error::Identity(cause) if is_unreachable(cause) => OAuthError::ServerUnreachable(e),
            atrium_oauth::Error::Identity(_) => OAuthError::UnknownAccount(e),
            _ => OAuthError::ServerUnreachable(e),
        })?;
        // The browser is sent wherever the account's authorization server said: only to a web
        // address (never `javascript:` or `data:`), and https unless on the local network.
        match url::Url::parse(&url).map(|u| u.scheme().to_owned()).as_deref() {
            Ok("https") => Ok(url),
            Ok("http") if self.allow_http => Ok(url),
            _ => Err(OAuthError::UnsafeRedirect),
        }
    }

    /// Whether the sign-in that `oauth_state` names was started by the browser holding
    /// `browser_nonce` (kept in its session by [`BlueskyAuth::start`]'s caller). Checked before the
    /// code is exchanged, so a callback link planted by someone else cannot sign a victim in to
    /// the planter's account.
    pub async fn started_by(&self, oauth_state: &str, browser_nonce: &str) -> Result<bool, OAuthError> {
        let pending = AtriumStore::get(&self.state_store, &oauth_state.to_owned())
            .await
            .map_err(|e| OAuthError::Account(format!("reading the sign-in state failed: {e}")))?;
        Ok(pending
            .and_then(|data| data.app_state)
            .is_some_and(|nonce| nonce == browser_nonce))
    }

    /// Exchanges the authorization code and reads who signed in.
    #[tracing::instrument(skip_all, err)]
    pub async fn finish(&self, params: CallbackParams) -> Result<SignedIn, OAuthError> {
        // atrium-oauth 0.2 panics (an unimplemented branch) when the code exchange fails.
        let client = Arc::clone(&self.client);
        let (session, _) = contained(SIGN_IN_STEP_LIMIT, async move { client.callback(params).await })
            .await?
            .map_err(OAuthError::Callback)?;
        let agent = Agent::new(session);
        let did = agent
            .did()
            .await
            .ok_or_else(|| OAuthError::Account("no DID in the session".to_owned()))?;
        let repo = agent
            .api
            .com
            .atproto
            .repo
            .describe_repo(
                describe_repo::ParametersData {
                    repo: AtIdentifier::Did(did.clone()),
                }
                .into(),
            )
            .await
            .map_err(|e| OAuthError::Account(format!("describeRepo failed: {e}")))?;
        Ok(SignedIn {
            did: Did::parse(did.as_str()).map_err(|e| OAuthError::Account(e.to_string()))?,
            handle: Handle::parse(repo.handle.as_str()).map_err(|e| OAuthError::Account(e.to_string()))?,
        })
    }

    /// Reads `app.bsky.actor.profile/self` from the account's own server. An account without a
    /// profile record has an empty profile.
    #[tracing::instrument(skip_all, fields(did = %did), err)]
    pub async fn fetch_profile(&self, did: &Did) -> Result<Profile, OAuthError> {
        let at_did = at_did(did).map_err(|e| OAuthError::Profile(e.to_string()))?;
        let session = self.client.restore(&at_did).await.map_err(OAuthError::NoSession)?;
        let pds = session.base_uri();
        let rkey = Rkey::parse(PROFILE_RKEY).map_err(|e| OAuthError::Profile(e.to_string()))?;
        let record = Repo::new(session, did.clone())
            .get_record(PROFILE_COLLECTION, &rkey)
            .await
            .map_err(|e| OAuthError::Profile(e.to_string()))?
            // No profile record: an empty profile.
            .map_or(Value::Null, |entry| entry.value);
        Ok(profile_from_record(&record, did, &pds))
    }

    /// Checks the account's session with its server (`com.atproto.server.getSession`, which needs
    /// a valid access token), refreshing the tokens when they have expired. `Err` when the session
    /// is gone for good and the person has to sign in again.
    #[tracing::instrument(skip_all, fields(did = %did), err)]
    pub async fn validate(&self, did: &Did) -> Result<(), OAuthError> {
        let at_did: atrium_api::types::string::Did = did
            .as_str()
            .parse()
            .map_err(|e: &str| OAuthError::Account(e.to_owned()))?;
        let session = self.client.restore(&at_did).await.map_err(OAuthError::NoSession)?;
        Agent::new(session)
            .api
            .com
            .atproto
            .server
            .get_session()
            .await
            .map(|_| ())
            .map_err(|e| match e {
                // atrium-oauth already tried a refresh; still refused means the session is over.
                atrium_api::xrpc::Error::Authentication(header) => {
                    OAuthError::SessionEnded(header.to_str().unwrap_or("unreadable header").to_owned())
                }
                atrium_api::xrpc::Error::HttpClient(_) | atrium_api::xrpc::Error::HttpRequest(_) => {
                    OAuthError::Account(format!("the server could not be reached: {e}"))
                }
                other => OAuthError::Account(format!("getSession failed: {other}")),
            })
    }

    /// Refreshes the account's tokens now ("force refresh").
    ///
    /// atrium-oauth 0.2 refreshes only when the PDS refuses an access token whose time is up, and
    /// has no public call for refreshing: so the stored access token is retired (replaced and
    /// marked expired) and the session validated. The PDS refuses the retired token, atrium
    /// refreshes — once across instances, like every refresh — and the fresh tokens are stored.
    #[tracing::instrument(skip_all, fields(did = %did), err)]
    pub async fn force_refresh(&self, did: &Did) -> Result<(), OAuthError> {
        let at_did: atrium_api::types::string::Did = did
            .as_str()
            .parse()
            .map_err(|e: &str| OAuthError::Account(e.to_owned()))?;
        let stored = AtriumStore::get(&self.credentials, &at_did)
            .await
            .map_err(|e| OAuthError::Account(format!("reading the credentials failed: {e}")))?;
        let Some(mut session) = stored else {
            return Err(OAuthError::SessionEnded("no stored credentials".to_owned()));
        };
        session.token_set.access_token = "retired-for-a-forced-refresh".to_owned();
        session.token_set.expires_at = "1970-01-01T00:00:00.000Z".parse().ok();
        AtriumStore::set(&self.credentials, at_did, session)
            .await
            .map_err(|e| OAuthError::Account(format!("storing the credentials failed: {e}")))?;
        self.validate(did).await
    }

    /// Revokes the account's tokens at its server (best effort) and forgets them here (always).
    #[tracing::instrument(skip_all, fields(user_id), err)]
    pub async fn disconnect(&self, user_id: i64, did: &Did) -> Result<(), OAuthError> {
        if let Ok(at_did) = did.as_str().parse::<atrium_api::types::string::Did>() {
            if let Err(e) = self.client.revoke(&at_did).await {
                tracing::warn!(error = %crate::server::error::Chain(&e), "revoking the tokens failed; forgetting them anyway");
            }
        }
        self.credentials
            .delete_for_user(user_id)
            .await
            .map_err(|e| OAuthError::Account(format!("deleting credentials failed: {e}")))?;
        ::metrics::counter!(crate::server::metrics::SESSION_RESETS_TOTAL).increment(1);
        Ok(())
    }
}

/// The fields Skymeet shows, from a profile record written by any app: missing or mistyped fields
/// are simply absent. The avatar is a blob, served by the account's own server.
fn profile_from_record(record: &Value, did: &Did, pds: &str) -> Profile {
    let text = |name: &str| {
        record
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let avatar_cid = record.pointer("/avatar/ref/$link").and_then(Value::as_str);
    Profile {
        display_name: text("displayName"),
        description: text("description"),
        avatar_url: avatar_cid.map(|cid| {
            format!(
                "{}/xrpc/com.atproto.sync.getBlob?did={did}&cid={cid}",
                pds.trim_end_matches('/')
            )
        }),
        followers_count: None,
        follows_count: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn a_sign_in_step_that_panics_is_contained_and_one_that_never_ends_is_stopped() {
        let panicking = contained::<()>(Duration::from_secs(5), async { panic!("not yet implemented") }).await;
        assert!(matches!(panicking, Err(OAuthError::Crashed)), "{panicking:?}");

        let answering = contained(Duration::from_secs(5), async { 7 }).await;
        assert!(matches!(answering, Ok(7)), "{answering:?}");

        // Dropped with the task that owns it: the stopped call is not left running.
        struct Dropped(Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let guard = Dropped(Arc::clone(&dropped));
        let waiting = contained(Duration::from_millis(50), async move {
            let _guard = guard;
            std::future::pending::<()>().await
        })
        .await;
        assert!(matches!(waiting, Err(OAuthError::TimedOut)), "{waiting:?}");
        tokio::time::timeout(Duration::from_secs(5), async {
            while !dropped.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the stopped call is dropped");
    }

    #[test]
    fn profiles_from_any_app_parse_leniently() {
        let did = Did::parse("did:plc:abc").expect("valid");
        let record = json!({
            "$type": "app.bsky.actor.profile",
            "displayName": " Alice ",
            "description": "",
            "avatar": {"$type": "blob", "ref": {"$link": "bafkrei123"}, "mimeType": "image/jpeg", "size": 1},
            "somethingElse": [1, 2, 3],
        });
        let profile = profile_from_record(&record, &did, "http://localhost:2583/");
        assert_eq!(profile.display_name.as_deref(), Some("Alice"));
        assert_eq!(profile.description, None);
        assert_eq!(
            profile.avatar_url.as_deref(),
            Some("http://localhost:2583/xrpc/com.atproto.sync.getBlob?did=did:plc:abc&cid=bafkrei123")
        );
        let odd = json!({"displayName": 42, "avatar": "not a blob"});
        assert_eq!(profile_from_record(&odd, &did, "http://pds"), Profile::default());
    }
}

#[cfg(test)]
mod scope_tests {
    use super::mentions;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("http status: 400 Bad Request, body: Object {{\"error\": String(\"invalid_scope\")}}")]
    struct Inner;

    #[test]
    fn a_refused_scope_is_recognised_anywhere_in_the_chain() {
        assert!(mentions(&Outer(Inner), "invalid_scope"));
        assert!(!mentions(&Outer(Inner), "invalid_grant"));
    }
}
