//! Signing in with Bluesky, signing out, and who is signed in.

use super::ApiError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The signed-in person, as pages show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub user_id: i64,
    pub handle: Option<String>,
    pub did: Option<String>,
}

#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<Viewer>, ApiError> {
    use crate::server::{error::ServerError, session::keys};
    let session = super::ssr::session().await?;
    let Some(user_id) = session.get::<i64>(keys::USER_ID).await.map_err(ServerError::from)? else {
        return Ok(None);
    };
    let state = super::ssr::state()?;
    let user = state.store.user_by_id(user_id).await.map_err(ServerError::from)?;
    Ok(user.map(|user| Viewer {
        user_id: user.id,
        handle: user.handle.map(String::from),
        did: user.did.map(String::from),
    }))
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
    match auth.start(&identifier).await {
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
                },
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
