//! Handle resolution: DNS and `https://{handle}/.well-known/atproto-did` in production, or
//! `com.atproto.identity.resolveHandle` on a configured service for the local network (`*.test`
//! handles have no DNS).

use crate::server::outbound::Outbound;
use atrium_api::types::string::{Did, Handle};
use atrium_common::resolver::Resolver;
use atrium_identity::handle::{
    AppViewHandleResolver, AppViewHandleResolverConfig, AtprotoHandleResolver, AtprotoHandleResolverConfig,
    DnsTxtResolver,
};
use hickory_resolver::TokioAsyncResolver;
use std::sync::Arc;

pub enum HandleResolver {
    // Boxed: the DNS resolver is large, and only one of the two is ever built.
    Dns(Box<AtprotoHandleResolver<HickoryDnsTxtResolver, Outbound>>),
    Service(AppViewHandleResolver<Outbound>),
}

impl HandleResolver {
    pub fn dns(http_client: Arc<Outbound>) -> Self {
        Self::Dns(Box::new(AtprotoHandleResolver::new(AtprotoHandleResolverConfig {
            dns_txt_resolver: HickoryDnsTxtResolver::default(),
            http_client,
        })))
    }

    pub fn service(service_url: &url::Url, http_client: Arc<Outbound>) -> Self {
        let service_url = service_url.as_str().trim_end_matches('/').to_owned();
        Self::Service(AppViewHandleResolver::new(AppViewHandleResolverConfig {
            service_url,
            http_client,
        }))
    }
}

impl Resolver for HandleResolver {
    type Input = Handle;
    type Output = Did;
    type Error = atrium_identity::Error;

    async fn resolve(&self, handle: &Handle) -> Result<Did, Self::Error> {
        match self {
            Self::Dns(resolver) => resolver.resolve(handle).await,
            Self::Service(resolver) => resolver.resolve(handle).await,
        }
    }
}

/// DNS TXT lookups (`_atproto.{handle}`) through hickory.
pub struct HickoryDnsTxtResolver {
    resolver: TokioAsyncResolver,
}

impl Default for HickoryDnsTxtResolver {
    fn default() -> Self {
        Self {
            resolver: TokioAsyncResolver::tokio(Default::default(), Default::default()),
        }
    }
}

impl DnsTxtResolver for HickoryDnsTxtResolver {
    async fn resolve(&self, query: &str) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync + 'static>> {
        Ok(self
            .resolver
            .txt_lookup(query)
            .await?
            .iter()
            .map(|txt| txt.to_string())
            .collect())
    }
}
