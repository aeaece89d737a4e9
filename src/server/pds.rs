//! The PDS client (the seed's `BskyClient`): records in one account's repo, through any XRPC client
//! — the owner's OAuth session (DPoP, refreshed by atrium-oauth) to write, plain HTTP to read what
//! is public.
//!
//! Records travel as `serde_json::Value`, exactly as the PDS returns them, rather than through
//! atrium's `Unknown`: everything a record holds, other apps' fields included, must survive a
//! round trip unchanged. (The ATProto data model has no floats; the PDS refuses records with them.)

pub mod calendar_event;
pub mod calendar_rsvp;

use crate::domain::{AtUri, Did, Rev, Rkey};
use atrium_api::xrpc::{
    error::{Error as XrpcError, ErrorResponseBody, XrpcErrorKind},
    http::{Method, Request, Response},
    types::{InputDataOrBytes, OutputDataOrBytes},
    HttpClient, XrpcClient, XrpcRequest,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use std::{future::Future, sync::Arc, time::Duration};

/// How long one call to a PDS may take before it counts as unreachable.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdsError {
    #[error("the record changed on the PDS since we read it (swapRecord did not match)")]
    Conflict,
    #[error("the record does not exist on the PDS")]
    NotFound,
    #[error("the PDS no longer accepts this account's session")]
    SessionEnded,
    #[error("the account did not allow this app to write these records (scope missing)")]
    ScopeMissing,
    #[error("the PDS could not be reached: {0}")]
    Unreachable(String),
    #[error("the PDS refused the request: {0}")]
    Rejected(String),
    #[error("the PDS answered something unreadable: {0}")]
    BadResponse(String),
}

impl PdsError {
    /// Worth trying again later, unchanged.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable(_) | Self::SessionEnded)
    }
}

/// A record as a PDS returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RecordEntry {
    pub uri: String,
    #[serde(default)]
    pub cid: Option<String>,
    pub value: Value,
}

/// One page of `listRecords`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RecordPage {
    #[serde(default)]
    pub cursor: Option<String>,
    pub records: Vec<RecordEntry>,
}

/// What the PDS answers to a write: the record's address and content hash, and the commit that
/// wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StrongRef {
    pub uri: String,
    pub cid: String,
    #[serde(default)]
    pub commit: Option<CommitMeta>,
}

/// The repo commit a write made (`com.atproto.repo.defs#commitMeta`). Its revision orders this
/// write among the repo's changes the firehose delivers; PDSs from before 2024 leave it out.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CommitMeta {
    pub cid: String,
    /// `None` when the PDS names none, or something that is no revision (the write still stands).
    #[serde(default, deserialize_with = "lenient_rev")]
    pub rev: Option<Rev>,
}

fn lenient_rev<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Rev>, D::Error> {
    let text: Option<String> = Option::deserialize(deserializer)?;
    Ok(text.and_then(|text| Rev::parse(&text).ok()))
}

/// One account's repo on its PDS.
pub struct Repo<C> {
    /// Shared: a signed-in account's session is kept for its next writes (`auth::oauth`).
    client: Arc<C>,
    did: Did,
}

impl<C: XrpcClient + Send + Sync> Repo<C> {
    pub fn new(client: impl Into<Arc<C>>, did: Did) -> Self {
        Self {
            client: client.into(),
            did,
        }
    }

    pub fn did(&self) -> &Did {
        &self.did
    }

    /// The PDS this repo lives on.
    pub fn base_uri(&self) -> String {
        self.client.base_uri()
    }

    /// Writes a record under a key we chose (so repeating the call cannot make a second record).
    /// With `swap`, the PDS refuses unless the record's current CID is that one; `swap: None`
    /// creates or overwrites.
    #[tracing::instrument(skip_all, fields(did = %self.did, collection, rkey = %rkey), err)]
    pub async fn put_record(
        &self,
        collection: &str,
        rkey: &Rkey,
        record: &Value,
        swap: Option<&str>,
    ) -> Result<StrongRef, PdsError> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Input<'a> {
            repo: &'a str,
            collection: &'a str,
            rkey: &'a str,
            record: &'a Value,
            #[serde(skip_serializing_if = "Option::is_none")]
            swap_record: Option<&'a str>,
        }
        let input = Input {
            repo: self.did.as_str(),
            collection,
            rkey: rkey.as_str(),
            record,
            swap_record: swap,
        };
        self.call(Method::POST, "com.atproto.repo.putRecord", None::<()>, Some(input))
            .await
    }

    /// Uploads a blob (an image) to the repo; the blob reference a record names it by
    /// (`{$type: "blob", ref: {$link}, mimeType, size}`). The PDS keeps it once a record does.
    #[tracing::instrument(skip_all, fields(did = %self.did, bytes = bytes.len()), err)]
    pub async fn upload_blob(&self, bytes: Vec<u8>, content_type: &str) -> Result<Value, PdsError> {
        #[derive(Deserialize)]
        struct Output {
            blob: Value,
        }
        let request = XrpcRequest::<(), ()> {
            method: Method::POST,
            nsid: "com.atproto.repo.uploadBlob".to_owned(),
            parameters: None,
            input: Some(InputDataOrBytes::Bytes(bytes)),
            encoding: Some(content_type.to_owned()),
        };
        let response = with_timeout(self.client.send_xrpc::<(), (), Output, ErrorResponseBody>(&request)).await?;
        match response {
            Ok(OutputDataOrBytes::Data(output)) => Ok(output.blob),
            Ok(OutputDataOrBytes::Bytes(_)) => Err(PdsError::BadResponse("uploadBlob did not answer JSON".to_owned())),
            Err(e) => Err(classify(e)),
        }
    }

    /// Deletes a record; with `swap`, only if its current CID is that one. Deleting a record that
    /// is already gone succeeds. Returns the commit that deleted it, when the PDS says.
    #[tracing::instrument(skip_all, fields(did = %self.did, collection, rkey = %rkey), err)]
    pub async fn delete_record(
        &self,
        collection: &str,
        rkey: &Rkey,
        swap: Option<&str>,
    ) -> Result<Option<CommitMeta>, PdsError> {
        #[derive(Deserialize)]
        struct Output {
            #[serde(default)]
            commit: Option<CommitMeta>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Input<'a> {
            repo: &'a str,
            collection: &'a str,
            rkey: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            swap_record: Option<&'a str>,
        }
        let input = Input {
            repo: self.did.as_str(),
            collection,
            rkey: rkey.as_str(),
            swap_record: swap,
        };
        self.call::<_, _, Output>(Method::POST, "com.atproto.repo.deleteRecord", None::<()>, Some(input))
            .await
            .map(|output| output.commit)
    }

    /// One record; `None` when it does not exist.
    #[tracing::instrument(skip_all, fields(did = %self.did, collection, rkey = %rkey), err)]
    pub async fn get_record(&self, collection: &str, rkey: &Rkey) -> Result<Option<RecordEntry>, PdsError> {
        #[derive(Serialize)]
        struct Params<'a> {
            repo: &'a str,
            collection: &'a str,
            rkey: &'a str,
        }
        let params = Params {
            repo: self.did.as_str(),
            collection,
            rkey: rkey.as_str(),
        };
        match self
            .call(Method::GET, "com.atproto.repo.getRecord", Some(params), None::<()>)
            .await
        {
            Ok(entry) => Ok(Some(entry)),
            Err(PdsError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One page of a collection, newest first.
    #[tracing::instrument(skip_all, fields(did = %self.did, collection), err)]
    pub async fn list_records(
        &self,
        collection: &str,
        cursor: Option<&str>,
        limit: u8,
    ) -> Result<RecordPage, PdsError> {
        #[derive(Serialize)]
        struct Params<'a> {
            repo: &'a str,
            collection: &'a str,
            limit: u8,
            #[serde(skip_serializing_if = "Option::is_none")]
            cursor: Option<&'a str>,
        }
        let params = Params {
            repo: self.did.as_str(),
            collection,
            limit: limit.clamp(1, 100),
            cursor,
        };
        self.call(Method::GET, "com.atproto.repo.listRecords", Some(params), None::<()>)
            .await
    }

    /// Every record of a collection, following the cursor (at most `max` records).
    pub async fn list_all_records(&self, collection: &str, max: usize) -> Result<Vec<RecordEntry>, PdsError> {
        let mut records = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.list_records(collection, cursor.as_deref(), 100).await?;
            let done = page.records.is_empty() || page.cursor.is_none();
            records.extend(page.records);
            if done || records.len() >= max {
                records.truncate(max);
                return Ok(records);
            }
            cursor = page.cursor;
        }
    }

    async fn call<P, I, O>(
        &self,
        method: Method,
        nsid: &str,
        parameters: Option<P>,
        input: Option<I>,
    ) -> Result<O, PdsError>
    where
        P: Serialize + Send + Sync,
        I: Serialize + Send + Sync,
        O: DeserializeOwned + Send + Sync,
    {
        let encoding = input.as_ref().map(|_| "application/json".to_owned());
        let request = XrpcRequest {
            method,
            nsid: nsid.to_owned(),
            parameters,
            input: input.map(InputDataOrBytes::Data),
            encoding,
        };
        let response = with_timeout(self.client.send_xrpc::<P, I, O, ErrorResponseBody>(&request)).await?;
        match response {
            Ok(OutputDataOrBytes::Data(output)) => Ok(output),
            Ok(OutputDataOrBytes::Bytes(_)) => Err(PdsError::BadResponse(format!("{nsid} did not answer JSON"))),
            Err(e) => Err(classify(e)),
        }
    }
}

async fn with_timeout<T>(call: impl Future<Output = T>) -> Result<T, PdsError> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .map_err(|_| PdsError::Unreachable(format!("no answer within {} s", CALL_TIMEOUT.as_secs())))
}

fn classify(error: XrpcError<ErrorResponseBody>) -> PdsError {
    match error {
        XrpcError::Authentication(_) => PdsError::SessionEnded,
        XrpcError::XrpcResponse(response) => {
            let body = match response.error {
                Some(XrpcErrorKind::Custom(body) | XrpcErrorKind::Undefined(body)) => body,
                None => ErrorResponseBody {
                    error: None,
                    message: None,
                },
            };
            let status = response.status;
            match body.error.as_deref() {
                Some("InvalidSwap") => PdsError::Conflict,
                Some("RecordNotFound") => PdsError::NotFound,
                _ if status.as_u16() == 401 => PdsError::SessionEnded,
                Some("InsufficientScope" | "ScopeMissingError") => PdsError::ScopeMissing,
                _ if status.as_u16() == 403 => PdsError::ScopeMissing,
                _ if status.is_server_error() || status.as_u16() == 429 => {
                    PdsError::Unreachable(format!("HTTP {status}: {body}"))
                }
                _ => PdsError::Rejected(format!("HTTP {status}: {body}")),
            }
        }
        XrpcError::HttpClient(e) => PdsError::Unreachable(e.to_string()),
        XrpcError::HttpRequest(e) => PdsError::Rejected(e.to_string()),
        XrpcError::SerdeJson(e) => PdsError::BadResponse(e.to_string()),
        XrpcError::SerdeHtmlForm(e) => PdsError::Rejected(e.to_string()),
        XrpcError::UnexpectedResponseType => PdsError::BadResponse("unexpected response type".to_owned()),
    }
}

/// Unauthenticated XRPC to one server: reading public records.
pub struct PublicClient<H> {
    http: Arc<H>,
    base_uri: String,
}

impl<H> PublicClient<H> {
    pub fn new(http: Arc<H>, base_uri: &str) -> Self {
        Self {
            http,
            base_uri: base_uri.trim_end_matches('/').to_owned(),
        }
    }
}

impl<H: HttpClient + Send + Sync> HttpClient for PublicClient<H> {
    async fn send_http(
        &self,
        request: Request<Vec<u8>>,
    ) -> Result<Response<Vec<u8>>, Box<dyn std::error::Error + Send + Sync + 'static>> {
        self.http.send_http(request).await
    }
}

impl<H: HttpClient + Send + Sync> XrpcClient for PublicClient<H> {
    fn base_uri(&self) -> String {
        self.base_uri.clone()
    }
}

/// A link a person can open to see a record: the raw record on its PDS.
pub fn record_url(pds: &str, uri: &AtUri) -> Option<String> {
    // The PDS comes from a DID document anyone can write: a link only to an http(s) server.
    crate::domain::check_url(pds).ok()?;
    Some(format!(
        "{}/xrpc/com.atproto.repo.getRecord?repo={}&collection={}&rkey={}",
        pds.trim_end_matches('/'),
        uri.did(),
        uri.collection(),
        uri.rkey()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use atrium_api::xrpc::http::StatusCode;

    fn response(status: u16, error: &str) -> XrpcError<ErrorResponseBody> {
        XrpcError::XrpcResponse(atrium_api::xrpc::error::XrpcError {
            status: StatusCode::from_u16(status).expect("status"),
            error: Some(XrpcErrorKind::Custom(ErrorResponseBody {
                error: Some(error.to_owned()),
                message: Some("details".to_owned()),
            })),
        })
    }

    #[test]
    fn a_record_link_is_made_only_to_an_http_server() {
        let uri = AtUri::parse("at://did:plc:abc/community.lexicon.calendar.event/3k").expect("uri");
        assert_eq!(
            record_url("https://pds.example/", &uri).as_deref(),
            Some("https://pds.example/xrpc/com.atproto.repo.getRecord?repo=did:plc:abc&collection=community.lexicon.calendar.event&rkey=3k")
        );
        for pds in [
            "javascript:alert(1)//",
            "data:text/html,x",
            " https://pds.example",
            "JavaScript:x",
            "",
        ] {
            assert_eq!(record_url(pds, &uri), None, "{pds:?}");
        }
    }

    #[test]
    fn errors_are_classified_by_name_then_status() {
        assert_eq!(classify(response(400, "InvalidSwap")), PdsError::Conflict);
        assert_eq!(classify(response(400, "RecordNotFound")), PdsError::NotFound);
        assert_eq!(classify(response(401, "ExpiredToken")), PdsError::SessionEnded);
        assert_eq!(classify(response(403, "InsufficientScope")), PdsError::ScopeMissing);
        assert!(classify(response(502, "UpstreamFailure")).is_transient());
        assert!(classify(response(429, "RateLimitExceeded")).is_transient());
        let rejected = classify(response(400, "InvalidRequest"));
        assert!(matches!(rejected, PdsError::Rejected(_)) && !rejected.is_transient());
    }
}
