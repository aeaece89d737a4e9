//! The ATProto OAuth client (PAR + PKCE + DPoP, through atrium-oauth) and the sign-in steps built
//! on it: start (resolve the identity, push the authorization request) and finish (exchange the
//! code, learn who signed in).

use super::{
    cipher::Cipher,
    credentials::{CredentialStore, OAuthStateStore},
    identity::HandleResolver,
};
use crate::domain::{Did, Handle};
use crate::server::{
    config::{Config, HandleResolution},
    kv::KvStore,
    store::Store,
};
use atrium_api::{agent::Agent, com::atproto::repo::describe_repo, types::string::AtIdentifier};
use atrium_identity::did::{CommonDidResolver, CommonDidResolverConfig};
use atrium_oauth::{
    AtprotoLocalhostClientMetadata, AuthorizeOptions, CallbackParams, DefaultHttpClient, KnownScope, OAuthClient,
    OAuthClientConfig, OAuthResolverConfig, Scope,
};
use std::sync::Arc;

pub type Client = OAuthClient<OAuthStateStore, CredentialStore, CommonDidResolver<DefaultHttpClient>, HandleResolver>;

/// The collections Skymeet writes, each asked for as a granular `repo:` scope.
const COLLECTIONS: [&str; 2] = ["community.lexicon.calendar.event", "community.lexicon.calendar.rsvp"];

/// The path the authorization server sends people back to.
pub const CALLBACK_PATH: &str = "/oauth/callback";

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
    #[error("the sign-in could not be completed")]
    Callback(#[source] atrium_oauth::Error),
    #[error("the sign-in was interrupted by an internal failure")]
    Crashed,
    #[error("the signed-in account could not be read")]
    Account(String),
}

/// A resolver that could not be reached (or failed itself) says nothing about whether the account
/// exists.
fn is_unreachable(error: &atrium_identity::Error) -> bool {
    match error {
        atrium_identity::Error::HttpClient(_) => true,
        atrium_identity::Error::HttpStatus(status) => status.is_server_error(),
        _ => false,
    }
}

/// Who just signed in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub did: Did,
    pub handle: Handle,
}

pub struct BlueskyAuth {
    client: Arc<Client>,
    credentials: CredentialStore,
    scopes: Vec<Scope>,
}

impl BlueskyAuth {
    /// The loopback public client, for development and tests on plain http. `None` on an https
    /// site: that needs the confidential client (signed client assertions), which is not built yet.
    pub fn new(config: &Config, store: Store, kv: KvStore) -> Result<Option<Self>, OAuthError> {
        if config.public_url.scheme() != "http" {
            tracing::warn!("Bluesky sign-in is off: the confidential OAuth client for https sites is not built yet");
            return Ok(None);
        }
        let cipher = match &config.credentials_keys {
            Some(keys) => Cipher::new(keys),
            None => {
                tracing::warn!("CREDENTIALS_KEYS is not set: credentials are sealed with a key for this process only");
                Cipher::ephemeral()
            }
        };
        let credentials = CredentialStore::new(kv.clone(), cipher.clone(), store);
        let http_client = Arc::new(DefaultHttpClient::default());
        let handle_resolver = match &config.atproto.handle_resolution {
            HandleResolution::Dns => HandleResolver::dns(Arc::clone(&http_client)),
            HandleResolution::Service(url) => HandleResolver::service(url, Arc::clone(&http_client)),
        };
        let mut scopes = vec![Scope::Known(KnownScope::Atproto)];
        scopes.extend(
            COLLECTIONS
                .iter()
                .map(|collection| Scope::Unknown(format!("repo:{collection}"))),
        );
        let redirect_uri = config
            .public_url
            .join(CALLBACK_PATH)
            .map(String::from)
            .unwrap_or_default();
        let client = OAuthClient::new(OAuthClientConfig {
            // The loopback public client: for development and tests on http://127.0.0.1.
            client_metadata: AtprotoLocalhostClientMetadata {
                redirect_uris: Some(vec![redirect_uri]),
                scopes: Some(scopes.clone()),
            },
            keys: None,
            resolver: OAuthResolverConfig {
                did_resolver: CommonDidResolver::new(CommonDidResolverConfig {
                    plc_directory_url: config.atproto.plc_url.as_str().trim_end_matches('/').to_owned(),
                    http_client: Arc::clone(&http_client),
                }),
                handle_resolver,
                authorization_server_metadata: Default::default(),
                protected_resource_metadata: Default::default(),
            },
            state_store: OAuthStateStore::new(kv, cipher),
            session_store: credentials.clone(),
        })
        .map_err(OAuthError::Setup)?;
        Ok(Some(Self {
            client: Arc::new(client),
            credentials,
            scopes,
        }))
    }

    pub fn credentials(&self) -> &CredentialStore {
        &self.credentials
    }

    /// Resolves `identifier` (a handle or DID), pushes an authorization request, and returns the
    /// URL to send the browser to.
    #[tracing::instrument(skip_all, err)]
    pub async fn start(&self, identifier: &str) -> Result<String, OAuthError> {
        let options = AuthorizeOptions {
            scopes: self.scopes.clone(),
            ..Default::default()
        };
        self.client.authorize(identifier, options).await.map_err(|e| match &e {
            atrium_oauth::Error::Identity(cause) if is_unreachable(cause) => OAuthError::ServerUnreachable(e),
            atrium_oauth::Error::Identity(_) => OAuthError::UnknownAccount(e),
            _ => OAuthError::ServerUnreachable(e),
        })
    }

    /// Exchanges the authorization code and reads who signed in.
    #[tracing::instrument(skip_all, err)]
    pub async fn finish(&self, params: CallbackParams) -> Result<SignedIn, OAuthError> {
        // atrium-oauth 0.2 panics (`todo!()`) when the code exchange fails; a task contains it.
        let client = Arc::clone(&self.client);
        let (session, _) = tokio::spawn(async move { client.callback(params).await })
            .await
            .map_err(|_| OAuthError::Crashed)?
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
}
