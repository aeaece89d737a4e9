//! An AppView (`APPVIEW_URL`), the network's aggregated view, asked only for what a person's own
//! PDS cannot say: how many follow them and how many they follow.

use crate::domain::Did;
use crate::server::{outbound::Outbound, pds::PublicClient};
use atrium_api::xrpc::{error::ErrorResponseBody, http::Method, types::OutputDataOrBytes, XrpcClient, XrpcRequest};
use serde_json::Value;
use std::sync::Arc;

pub struct AppView {
    client: PublicClient<Outbound>,
}

/// Follower and following counts; `None` for one the AppView did not give.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowCounts {
    pub followers: Option<i64>,
    pub follows: Option<i64>,
}

impl AppView {
    pub fn new(url: &url::Url, http_client: Arc<Outbound>) -> Self {
        Self {
            client: PublicClient::new(http_client, url.as_str().trim_end_matches('/')),
        }
    }

    /// Follower and following counts of `did` (`app.bsky.actor.getProfile`).
    pub async fn follow_counts(&self, did: &Did) -> Result<FollowCounts, String> {
        #[derive(serde::Serialize)]
        struct Params<'a> {
            actor: &'a str,
        }
        let request = XrpcRequest {
            method: Method::GET,
            nsid: "app.bsky.actor.getProfile".to_owned(),
            parameters: Some(Params { actor: did.as_str() }),
            input: None::<atrium_api::xrpc::types::InputDataOrBytes<()>>,
            encoding: None,
        };
        match self.client.send_xrpc::<_, (), Value, ErrorResponseBody>(&request).await {
            Ok(OutputDataOrBytes::Data(profile)) => Ok(FollowCounts {
                followers: profile.get("followersCount").and_then(Value::as_i64),
                follows: profile.get("followsCount").and_then(Value::as_i64),
            }),
            Ok(OutputDataOrBytes::Bytes(_)) => Err("getProfile did not answer JSON".to_owned()),
            Err(e) => Err(e.to_string()),
        }
    }
}
