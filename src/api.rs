//! `#[server]` functions: the browser's (and the no-JS form's) way into the server. Each is a few
//! lines: parse the input into domain types, call a service, return a view ([`views`]) or an
//! [`ApiError`] with its stable [`ErrorCode`].

pub mod accounts;
pub mod admin;
pub mod attendance;
pub mod auth;
mod error;
pub mod events;
pub mod feeds;
pub mod preferences;
pub mod series;
pub mod views;

#[cfg(feature = "ssr")]
pub(crate) use error::status as error_status;
pub use error::{ApiError, ErrorCode};

/// What every server function (and the JSON handlers beside them) needs from the request.
#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::{ApiError, ErrorCode};
    use crate::server::{
        calendar::Calendar,
        error::ServerError,
        series::Schedule,
        session::keys,
        state::AppState,
        store::{Event, SeriesRow, User},
    };
    use leptos::prelude::use_context;
    use std::sync::Arc;
    use tower_sessions::Session;

    /// The application state, provided to every server function by the router.
    pub fn state() -> Result<AppState, ApiError> {
        use_context::<AppState>().ok_or_else(|| ServerError::MissingState.into())
    }

    /// The visitor's session, put on each request by the session layer.
    pub async fn session() -> Result<Session, ApiError> {
        leptos_axum::extract::<Session>()
            .await
            .map_err(|e| ServerError::Request(e.to_string()).into())
    }

    /// The user signed in on `session`, if any.
    pub async fn viewer_of(state: &AppState, session: &Session) -> Result<Option<User>, ApiError> {
        let Some(user_id) = session.get::<i64>(keys::USER_ID).await? else {
            return Ok(None);
        };
        let generation = session.get::<i64>(keys::SESSION_GENERATION).await?.unwrap_or(0);
        // Signed out everywhere since (or disabled): this session no longer signs anyone in.
        let user = state
            .store
            .user_by_id(user_id)
            .await?
            .filter(|user| user.session_generation == generation && user.disabled_at.is_none());
        if user.is_some() {
            crate::server::session::keep_alive(session, state.config.limits.session_idle).await?;
        }
        Ok(user)
    }

    /// The user signed in on `session`, or "sign in first" (401).
    pub async fn signed_in_on(state: &AppState, session: &Session) -> Result<User, ApiError> {
        viewer_of(state, session)
            .await?
            .ok_or_else(|| ErrorCode::AuthSignInFirst.into())
    }

    /// The signed-in user of this request, if any.
    pub async fn viewer(state: &AppState) -> Result<Option<User>, ApiError> {
        viewer_of(state, &session().await?).await
    }

    /// The signed-in user of this request, or "sign in first" (401).
    pub async fn signed_in_user() -> Result<(AppState, User), ApiError> {
        let state = state()?;
        let user = signed_in_on(&state, &session().await?).await?;
        Ok((state, user))
    }

    /// The signed-in admin, or 401 (not signed in) / 403 (not an admin).
    pub async fn admin() -> Result<(AppState, User), ApiError> {
        let (state, user) = signed_in_user().await?;
        if !is_admin(&state, &user) {
            return Err(ErrorCode::AdminOnly.into());
        }
        Ok((state, user))
    }

    /// Whether `user` may open `/admin`: their DID is in `ADMIN_DIDS`.
    pub fn is_admin(state: &AppState, user: &User) -> bool {
        user.did
            .as_ref()
            .is_some_and(|did| state.config.admin_dids.contains(did))
    }

    /// Publishing, where Bluesky is on.
    pub fn calendar(state: &AppState) -> Result<Arc<Calendar>, ApiError> {
        state
            .bluesky
            .as_ref()
            .map(|bluesky| Arc::clone(&bluesky.calendar))
            .ok_or_else(|| {
                ApiError::with_message(
                    ErrorCode::AuthUnavailable,
                    "Publishing to Bluesky is not available on this server yet.",
                )
            })
    }

    /// Recurring series, or 503 where Bluesky (and so publishing) is off.
    pub fn schedule(state: &AppState) -> Result<Arc<Schedule>, ApiError> {
        state.schedule().ok_or_else(|| {
            ApiError::with_message(
                ErrorCode::AuthUnavailable,
                "Publishing to Bluesky is not available on this server yet.",
            )
        })
    }

    /// The series with this id, or 404.
    pub async fn series(state: &AppState, id: i64) -> Result<SeriesRow, ApiError> {
        state
            .store
            .series_by_id(id)
            .await?
            .ok_or_else(|| ErrorCode::SeriesNotFound.into())
    }

    /// Event `id` if `viewer` may see it (a private one only its organiser and guests), or 404.
    pub async fn seen_event(state: &AppState, viewer: &User, id: i64) -> Result<Event, ApiError> {
        state
            .store
            .event_seen_by(id, crate::server::store::Looker::user(Some(viewer.id)))
            .await?
            .ok_or_else(|| ErrorCode::EventNotFound.into())
    }

    /// The event with this id, or 404 (for its organiser's changes, which the calendar checks).
    pub async fn event(state: &AppState, id: i64) -> Result<Event, ApiError> {
        state
            .store
            .event_by_id(id)
            .await?
            .ok_or_else(|| ErrorCode::EventNotFound.into())
    }
}
