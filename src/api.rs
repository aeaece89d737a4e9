//! `#[server]` functions: the browser's (and the no-JS form's) way into the server. They stay
//! thin: parse input into domain types, call the server's services, map errors to [`ApiError`].

pub mod auth;
mod error;
pub mod events;
pub mod preferences;

pub use error::ApiError;

#[cfg(feature = "ssr")]
mod ssr {
    use super::ApiError;
    use crate::server::{error::ServerError, state::AppState};
    use leptos::prelude::use_context;

    /// The application state, provided to every server function by the router.
    pub fn state() -> Result<AppState, ApiError> {
        use_context::<AppState>().ok_or_else(|| ServerError::MissingState.into())
    }

    /// The visitor's session, put on each request by the session layer.
    pub async fn session() -> Result<tower_sessions::Session, ApiError> {
        leptos_axum::extract::<tower_sessions::Session>()
            .await
            .map_err(|e| ServerError::Request(e.to_string()).into())
    }
}
