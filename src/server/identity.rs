//! Who is who on the network: a DID's document (which names its PDS and claims a handle), the DID
//! a handle points at, and anyone's public repo, read without signing in. Every request goes
//! through the one outgoing client ([`Outbound`]), with its timeouts, retries, circuit breaker
//! and private-address guard.

mod handle;

pub use handle::HandleResolver;

use crate::domain::{Did, Handle};
use crate::server::{
    config::{AtprotoConfig, HandleResolution},
    outbound::{AddressPolicy, Outbound},
    pds::{PdsError, PublicClient, Repo},
};
use atrium_common::resolver::Resolver;
use atrium_identity::did::{CommonDidResolver, CommonDidResolverConfig};
use std::sync::Arc;

/// The outgoing HTTP client for the network: private addresses only on the local network, apart
/// from the configured PLC directory, handle-resolution service and AppView.
pub fn outbound(config: &AtprotoConfig) -> Outbound {
    let mut policy = AddressPolicy {
        allow_private: config.allow_private_addresses,
        ..Default::default()
    }
    .trust(&config.plc_url);
    if let HandleResolution::Service(url) = &config.handle_resolution {
        policy = policy.trust(url);
    }
    if let Some(url) = &config.appview_url {
        policy = policy.trust(url);
    }
    Outbound::new(policy, config.circuit_cooldown)
}

/// A DID resolver on the configured PLC directory (and `did:web`).
pub fn did_resolver(config: &AtprotoConfig, http_client: &Arc<Outbound>) -> CommonDidResolver<Outbound> {
    CommonDidResolver::new(CommonDidResolverConfig {
        plc_directory_url: config.plc_url.as_str().trim_end_matches('/').to_owned(),
        http_client: Arc::clone(http_client),
    })
}

/// A handle resolver as configured (`ATPROTO_HANDLE_RESOLVER`).
pub fn handle_resolver(config: &AtprotoConfig, http_client: &Arc<Outbound>) -> HandleResolver {
    match &config.handle_resolution {
        HandleResolution::Dns => HandleResolver::dns(Arc::clone(http_client)),
        HandleResolution::Service(url) => HandleResolver::service(url, Arc::clone(http_client)),
    }
}

/// Our DID as atrium's type. Both check the same syntax, so this fails only if they disagree.
pub fn at_did(did: &Did) -> Result<atrium_api::types::string::Did, PdsError> {
    did.as_str().parse().map_err(|e: &str| PdsError::Rejected(e.to_owned()))
}

/// Whether a resolver failed for want of an answer (unreachable, or failing itself), which says
/// nothing about whether the account exists.
pub fn is_unreachable(error: &atrium_identity::Error) -> bool {
    match error {
        atrium_identity::Error::HttpClient(_) => true,
        atrium_identity::Error::HttpStatus(status) => status.is_server_error(),
        _ => false,
    }
}

/// Resolves identities and opens public repos.
pub struct Identity {
    did_resolver: CommonDidResolver<Outbound>,
    handle_resolver: HandleResolver,
    http_client: Arc<Outbound>,
}

impl Identity {
    pub fn new(config: &AtprotoConfig, http_client: Arc<Outbound>) -> Self {
        Self {
            did_resolver: did_resolver(config, &http_client),
            handle_resolver: handle_resolver(config, &http_client),
            http_client,
        }
    }

    /// The outgoing client every request to the network goes through.
    pub fn http_client(&self) -> &Arc<Outbound> {
        &self.http_client
    }

    /// Anyone's repo, read without signing in: their DID document names their PDS.
    pub async fn public_repo(&self, did: &Did) -> Result<(Repo<PublicClient<Outbound>>, String), PdsError> {
        let pds = self.pds_endpoint(did).await?;
        Ok((
            Repo::new(PublicClient::new(Arc::clone(&self.http_client), &pds), did.clone()),
            pds,
        ))
    }

    /// The PDS a DID document names.
    pub async fn pds_endpoint(&self, did: &Did) -> Result<String, PdsError> {
        self.did_document(did)
            .await?
            .get_pds_endpoint()
            .ok_or_else(|| PdsError::Rejected(format!("{did} names no PDS")))
    }

    /// The handle a DID document claims (`alsoKnownAs: at://{handle}`), if it claims a valid one.
    pub async fn handle_of(&self, did: &Did) -> Result<Option<Handle>, PdsError> {
        Ok(self
            .did_document(did)
            .await?
            .also_known_as
            .iter()
            .flatten()
            .find_map(|aka| aka.strip_prefix("at://"))
            .and_then(|handle| Handle::parse(handle).ok()))
    }

    async fn did_document(&self, did: &Did) -> Result<atrium_api::did_doc::DidDocument, PdsError> {
        self.did_resolver
            .resolve(&at_did(did)?)
            .await
            .map_err(|e| PdsError::Unreachable(format!("resolving {did} failed: {e}")))
    }

    /// The DID a handle points at; `None` when it points nowhere.
    pub async fn resolve_handle(&self, handle: &Handle) -> Result<Option<Did>, PdsError> {
        let at_handle: atrium_api::types::string::Handle = handle
            .as_str()
            .parse()
            .map_err(|e: &str| PdsError::Rejected(e.to_owned()))?;
        match self.handle_resolver.resolve(&at_handle).await {
            Ok(did) => Ok(Did::parse(did.as_str()).ok()),
            Err(e) if is_unreachable(&e) => Err(PdsError::Unreachable(e.to_string())),
            Err(_) => Ok(None),
        }
    }
}
