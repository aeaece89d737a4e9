//! The server's error type: the full cause chain, logged once where it is turned into what the
//! client sees (`crate::api::ApiError`, which carries only a safe message and a stable code).

use crate::server::{kv::KvError, store::StoreError};
use axum::response::IntoResponse;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("key-value store failed")]
    Kv(#[from] KvError),
    #[error("session store failed")]
    Session(#[from] tower_sessions::session::Error),
    #[error("could not read the request")]
    Request(String),
    #[error("server state is missing from the request context")]
    MissingState,
}

impl ServerError {
    /// A stable code people can quote in a bug report; it never changes meaning.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(_) => "error-store-1",
            Self::Kv(_) => "error-kv-1",
            Self::Session(_) => "error-session-1",
            Self::Request(_) => "error-request-1",
            Self::MissingState => "error-internal-1",
        }
    }

    /// Logs the error with its whole cause chain. Call it once, where the error leaves the server.
    pub fn log(&self) {
        tracing::error!(code = self.code(), error = %Chain(self), "request failed");
    }
}

/// Displays an error followed by each of its sources: `a: b: c`.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// Middleware: a server function whose arguments could not be read answers 400, not 500.
///
/// `server_fn` answers every error it makes itself (a missing or malformed argument) with 500;
/// the body carries our stable code `error-request-1` (see `ApiError`'s `FromServerFnError`), so
/// such an answer is recognised by that code and its status corrected. Only 500 answers from
/// `/api/` are read, and only their first 64 KiB.
pub async fn unreadable_arguments_are_bad_requests(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::{body::Body, http::StatusCode};
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_api || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    };
    let code = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|body| body.get("code").and_then(|code| code.as_str()).map(str::to_owned));
    if code.as_deref() == Some("error-request-1") {
        parts.status = StatusCode::BAD_REQUEST;
    }
    axum::response::Response::from_parts(parts, Body::from(bytes))
}
