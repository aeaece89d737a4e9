//! Signing in with Bluesky, signing out, and who is signed in.

use super::ApiError;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The signed-in person, as pages show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub user_id: i64,
    pub handle: Option<String>,
    pub did: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    /// Skymeet holds working credentials for the account; `false`: it has to sign in again.
    pub connected: bool,
    /// From the AppView, when one is configured.
    pub followers_count: Option<i64>,
    pub follows_count: Option<i64>,
    /// May open `/admin` (the DID is in `ADMIN_DIDS`).
    pub is_admin: bool,
    /// When this account took over what the firehose had already brought for its DID (F7).
    pub claimed_at: Option<DateTime<Utc>>,
}

/// The signed-in account and what it holds, as `POST /api/auth/bluesky/claim-account` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedAccount {
    pub user_id: i64,
    pub did: String,
    pub handle: Option<String>,
    /// When the account took over the shadow user the firehose had made for its DID; `None` when
    /// there was none (the person signed in before the firehose saw them).
    pub claimed_at: Option<DateTime<Utc>>,
    /// Events and RSVPs the account owns here, including those the firehose brought before.
    pub events: i64,
    pub rsvps: i64,
}

impl Viewer {
    /// The connection status in words, as the status dot's tooltip and `/me` show it (F6).
    pub fn connection_status(&self) -> &'static str {
        if self.connected {
            "Connected to Bluesky"
        } else {
            "Sign in again to reconnect Bluesky"
        }
    }

    /// The status dot's colour.
    pub fn connection_dot_class(&self) -> &'static str {
        if self.connected {
            "bg-emerald-500"
        } else {
            "bg-amber-500"
        }
    }

    /// A link to the account on the Bluesky app.
    pub fn bluesky_url(&self) -> Option<String> {
        self.did.as_ref().map(|did| format!("https://bsky.app/profile/{did}"))
    }
}

#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<Viewer>, ApiError> {
    use crate::server::{error::ServerError, session::keys};
    let session = super::ssr::session().await?;
    let Some(user_id) = session.get::<i64>(keys::USER_ID).await.map_err(ServerError::from)? else {
        return Ok(None);
    };
    let state = super::ssr::state()?;
    let Some(user) = state.store.user_by_id(user_id).await.map_err(ServerError::from)? else {
        return Ok(None);
    };
    let key = crate::server::auth::credentials::credentials_key(user.id);
    let connected = state.kv.ttl(&key).await.map_err(ServerError::from)?.is_some();
    let is_admin = super::ssr::is_admin(&state, &user);
    Ok(Some(Viewer {
        user_id: user.id,
        handle: user.handle.map(String::from),
        did: user.did.map(String::from),
        display_name: user.display_name,
        description: user.description,
        avatar_url: user.avatar_url,
        connected,
        followers_count: user.followers_count,
        follows_count: user.follows_count,
        is_admin,
        claimed_at: user.claimed_at,
    }))
}

/// Claims the shadow account the firehose made for the signed-in person's DID (F7). There is one
/// user per DID, so signing in already made it theirs, with every event and RSVP it held; this
/// confirms it and reports what the account holds. `did`, when given, must be the signed-in one.
#[server(endpoint = "auth/bluesky/claim-account")]
pub async fn claim_account(did: Option<String>) -> Result<ClaimedAccount, ApiError> {
    use crate::domain::Did;
    use crate::server::error::ServerError;
    use axum::http::StatusCode;
    let claimed = match did.as_deref().map(str::trim).filter(|did| !did.is_empty()) {
        Some(did) => Some(Did::parse(did).map_err(|e| {
            super::ssr::set_status(StatusCode::BAD_REQUEST);
            ApiError::invalid("did", format!("That is not a DID: {e}."))
        })?),
        None => None,
    };
    let (state, user) = super::ssr::signed_in_user().await?;
    let Some(own) = user.did.clone() else {
        super::ssr::set_status(StatusCode::FORBIDDEN);
        return Err(ApiError::new(
            "error-auth-10",
            "Only a Bluesky account can claim what the firehose saw.",
        ));
    };
    if claimed.is_some_and(|did| did != own) {
        super::ssr::set_status(StatusCode::FORBIDDEN);
        return Err(ApiError::new(
            "error-auth-10",
            "You can only claim the account of the DID you signed in with.",
        ));
    }
    let holdings = state.store.holdings(user.id).await.map_err(ServerError::from)?;
    Ok(ClaimedAccount {
        user_id: user.id,
        did: own.to_string(),
        handle: user.handle.map(String::from),
        claimed_at: user.claimed_at,
        events: holdings.events,
        rsvps: holdings.rsvps,
    })
}

/// Reads the signed-in person's profile from their PDS again.
#[server(endpoint = "refresh_profile")]
pub async fn refresh_profile() -> Result<(), ApiError> {
    use crate::server::error::{Chain, ServerError};
    let (state, user) = super::ssr::signed_in_user().await?;
    let (Some(auth), Some(did)) = (state.auth.as_ref(), user.did.as_ref()) else {
        return Err(super::ssr::sign_in_again());
    };
    // Checks the session first (refreshing it if due): a session the PDS has ended is forgotten
    // here, so the header shows "sign in again" instead of failing on every request.
    if let Err(e) = auth.validate(did).await {
        tracing::warn!(error = %Chain(&e), "the Bluesky session failed validation");
        return Err(match e {
            crate::server::auth::oauth::OAuthError::SessionEnded(_)
            | crate::server::auth::oauth::OAuthError::NoSession(_) => {
                auth.credentials().delete_for_user(user.id).await.map_err(|e| {
                    tracing::error!(error = %Chain(&e), "forgetting ended credentials failed");
                    ApiError::new("error-auth-7", "Your Bluesky session has ended. Please sign in again.")
                })?;
                ApiError::new("error-auth-7", "Your Bluesky session has ended. Please sign in again.")
            }
            _ => ApiError::new(
                "error-auth-2",
                "Your Bluesky server could not be reached. Please try again in a moment.",
            ),
        });
    }
    let profile = auth.fetch_profile(did).await.map_err(|e| {
        tracing::warn!(error = %Chain(&e), "refreshing the profile failed");
        ApiError::new(
            "error-auth-4",
            "Your profile could not be read from your Bluesky server. Please try again.",
        )
    })?;
    state
        .store
        .update_profile(user.id, &profile, chrono::Utc::now())
        .await
        .map_err(ServerError::from)?;
    Ok(())
}

/// Disconnects Bluesky: revokes the tokens at the account's server, deletes them here, signs out.
#[server(endpoint = "disconnect")]
pub async fn disconnect() -> Result<(), ApiError> {
    use crate::server::error::{Chain, ServerError};
    let (state, user) = super::ssr::signed_in_user().await?;
    if let (Some(auth), Some(did)) = (state.auth.as_ref(), user.did.as_ref()) {
        auth.disconnect(user.id, did).await.map_err(|e| {
            tracing::error!(error = %Chain(&e), "disconnecting failed");
            ApiError::new("error-auth-5", "Disconnecting failed. Please try again.")
        })?;
    }
    super::ssr::session().await?.flush().await.map_err(ServerError::from)?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Starts signing in: resolves the account and sends the browser to its authorization server.
#[server(endpoint = "login")]
pub async fn login(identifier: String) -> Result<(), ApiError> {
    use crate::domain::{Did, Handle};
    use crate::server::{auth::oauth::OAuthError, error::Chain};

    let identifier = identifier.trim().trim_start_matches('@');
    let identifier = if identifier.starts_with("did:") {
        Did::parse(identifier)
            .map(String::from)
            .map_err(|e| ApiError::invalid("identifier", format!("That DID is not valid: {e}.")))?
    } else {
        Handle::parse(identifier)
            .map(String::from)
            .map_err(|_| ApiError::invalid("identifier", "Enter your handle, like alice.bsky.social, or your DID."))?
    };
    let state = super::ssr::state()?;
    let auth = state.auth.as_ref().ok_or_else(|| {
        ApiError::new(
            "error-auth-3",
            "Signing in with Bluesky is not available on this server yet.",
        )
    })?;
    // Ties the sign-in to this browser: the callback accepts only a sign-in started here.
    let nonce = {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
        let mut bytes = [0u8; 24];
        OsRng.fill_bytes(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    };
    let session = super::ssr::session().await?;
    session
        .insert(crate::server::session::keys::OAUTH_NONCE, &nonce)
        .await
        .map_err(crate::server::error::ServerError::from)?;
    match auth.start(&identifier, &nonce).await {
        Ok(url) => {
            leptos_axum::redirect(&url);
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %Chain(&e), identifier, "sign-in could not start");
            Err(match e {
                OAuthError::UnknownAccount(_) => ApiError {
                    code: "error-auth-1".to_owned(),
                    message: format!(
                        "No Bluesky account was found for {identifier}. Check the spelling and try again."
                    ),
                    field: Some("identifier".to_owned()),
                    fields: Vec::new(),
                },
                OAuthError::PrivateAddress(_) => ApiError::new(
                    "error-auth-9",
                    "That account's server is on a private network address, which Skymeet does not contact.",
                ),
                _ => ApiError::new(
                    "error-auth-2",
                    "The account's Bluesky server could not be reached. Please try again in a moment.",
                ),
            })
        }
    }
}

/// Signs out: forgets the session (the credentials stay until "Disconnect Bluesky").
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), ApiError> {
    use crate::server::error::ServerError;
    let session = super::ssr::session().await?;
    session.flush().await.map_err(ServerError::from)?;
    leptos_axum::redirect("/");
    Ok(())
}
