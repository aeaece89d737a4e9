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
use atrium_common::{
    resolver::{CachedResolver, Resolver},
    types::cached::{
        r#impl::{Cache, CacheImpl},
        CacheConfig,
    },
};
use atrium_identity::did::{CommonDidResolver, CommonDidResolverConfig};
use std::{sync::Arc, time::Duration};

/// How long a DID document or a handle's DID is believed without asking again: a handle change
/// shows within this (sooner for accounts whose `#identity` frame we see).
const IDENTITY_TTL: Duration = Duration::from_secs(300);
/// How many DID documents, and how many handles, are remembered.
const IDENTITY_CACHE: u64 = 10_000;

fn cache<I, O>() -> CacheImpl<I, O>
where
    I: std::hash::Hash + Eq + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    CacheImpl::new(CacheConfig {
        max_capacity: Some(IDENTITY_CACHE),
        time_to_live: Some(IDENTITY_TTL),
    })
}

/// The outgoing HTTP client for the network: private addresses only on the local network, apart
/// from the configured PLC directory, handle-resolution service, AppView and relay.
pub fn outbound(config: &AtprotoConfig) -> Outbound {
    let mut policy = AddressPolicy {
        allow_private: config.allow_private_addresses,
        ..Default::default()
    }
    .trust(&config.plc_url);
    if let HandleResolution::Service(url) = &config.handle_resolution {
        policy = policy.trust(url);
    }
    for url in [&config.appview_url, &config.relay_url].into_iter().flatten() {
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

/// Resolves identities (remembering answers for [`IDENTITY_TTL`]) and opens public repos.
pub struct Identity {
    did_resolver: CachedResolver<CommonDidResolver<Outbound>>,
    handle_resolver: CachedResolver<HandleResolver>,
    http_client: Arc<Outbound>,
}

impl Identity {
    pub fn new(config: &AtprotoConfig, http_client: Arc<Outbound>) -> Self {
        Self {
            did_resolver: CachedResolver::new(did_resolver(config, &http_client), cache()),
            handle_resolver: CachedResolver::new(handle_resolver(config, &http_client), cache()),
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

    /// The handle `did` goes by, only if the claim goes both ways: its DID document names the
    /// handle *and* the handle resolves back to the DID. Anyone can write any handle into their
    /// own DID document; only the handle's owner (its DNS, or its server) can point it at a DID.
    /// `None`: no handle that holds (show the DID).
    pub async fn verified_handle(&self, did: &Did) -> Result<Option<Handle>, PdsError> {
        let Some(handle) = self.handle_of(did).await? else {
            return Ok(None);
        };
        Ok(self.handle_points_at(&handle, did).await?.then_some(handle))
    }

    /// Whether `handle` resolves to `did`.
    pub async fn handle_points_at(&self, handle: &Handle, did: &Did) -> Result<bool, PdsError> {
        Ok(self.resolve_handle(handle).await?.as_ref() == Some(did))
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
