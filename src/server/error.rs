//! The server's error type: the full cause chain, logged once where it is turned into what the
//! client sees (`crate::api::ApiError`, which carries only a safe message and a stable code).

use crate::server::{kv::KvError, store::StoreError};

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
    /// Logs the error with its whole cause chain. Call it once, where the error leaves the server.
    pub fn log(&self) {
        tracing::error!(error = %Chain(self), "request failed");
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
