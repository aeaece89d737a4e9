//! `#[server]` functions: the browser's (and the no-JS form's) way into the server. They stay
//! thin: parse input into domain types, call the server's services, map errors to [`ApiError`].

pub mod admin;
pub mod attendance;
pub mod auth;
mod error;
pub mod events;
pub mod preferences;

pub use error::ApiError;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::ApiError;
    use crate::server::{error::ServerError, session::keys, state::AppState, store::User};
    use axum::http::{header::ACCEPT, HeaderMap, StatusCode};
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

    pub fn sign_in_again() -> ApiError {
        ApiError::new("error-auth-6", "Please sign in with Bluesky first.")
    }

    /// The signed-in user, if any.
    pub async fn viewer(state: &AppState) -> Result<Option<User>, ApiError> {
        let session = session().await?;
        let Some(user_id) = session.get::<i64>(keys::USER_ID).await.map_err(ServerError::from)? else {
            return Ok(None);
        };
        Ok(state.store.user_by_id(user_id).await.map_err(ServerError::from)?)
    }

    /// The signed-in user, or the "sign in first" error.
    pub async fn signed_in_user() -> Result<(AppState, User), ApiError> {
        let state = state()?;
        let user = viewer(&state).await?.ok_or_else(|| {
            set_status(StatusCode::UNAUTHORIZED);
            sign_in_again()
        })?;
        Ok((state, user))
    }

    /// Whether `user` may open `/admin`: their DID is in `ADMIN_DIDS`.
    pub fn is_admin(state: &AppState, user: &User) -> bool {
        user.did
            .as_ref()
            .is_some_and(|did| state.config.admin_dids.contains(did))
    }

    /// The signed-in admin, or 401 (not signed in) / 403 (not an admin).
    pub async fn admin() -> Result<(AppState, User), ApiError> {
        let (state, user) = signed_in_user().await?;
        if !is_admin(&state, &user) {
            set_status(StatusCode::FORBIDDEN);
            return Err(ApiError::new("error-admin-1", "Only Skymeet's admins may open this."));
        }
        Ok((state, user))
    }

    /// Sets the HTTP status of a server function's answer to a script, or of the page whose
    /// rendering called it. A plain form post (which accepts HTML) keeps the redirect back to its
    /// page that carries the error instead.
    pub fn set_status(status: StatusCode) {
        let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
            return;
        };
        let form_post = use_context::<axum::http::request::Parts>()
            .map(|parts| parts.method == axum::http::Method::POST && accepts_html(&parts.headers))
            .unwrap_or(false);
        if !form_post {
            response.set_status(status);
        }
    }

    fn accepts_html(headers: &HeaderMap) -> bool {
        headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    }
}
