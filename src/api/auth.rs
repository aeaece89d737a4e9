//! Signing in with Bluesky, signing out, and who is signed in.

#[cfg(feature = "ssr")]
use super::ErrorCode;
use super::{
    views::{ClaimedAccount, Viewer},
    ApiError,
};
use leptos::prelude::*;

#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<Viewer>, ApiError> {
    let state = super::ssr::state()?;
    let Some(user) = super::ssr::viewer(&state).await? else {
        return Ok(None);
    };
    let key = crate::server::auth::credentials::credentials_key(user.id);
    let email = state
        .store
        .local_login_of(user.id)
        .await?
        .map(|login| login.email.into());
    Ok(Some(Viewer {
        connected: state.kv.ttl(&key).await?.is_some(),
        is_admin: super::ssr::is_admin(&state, &user),
        email,
        ..Viewer::from(&user)
    }))
}

/// Claims the shadow account the firehose made for the signed-in person's DID. There is one user
/// per DID, so signing in already made it theirs, with every event and RSVP it held; this
/// confirms it and reports what the account holds. `did`, when given, must be the signed-in one.
#[server(endpoint = "auth/bluesky/claim-account")]
pub async fn claim_account(did: Option<String>) -> Result<ClaimedAccount, ApiError> {
    use crate::domain::Did;
    let claimed = match did.as_deref().map(str::trim).filter(|did| !did.is_empty()) {
        Some(did) => Some(Did::parse(did).map_err(|e| ApiError::invalid("did", format!("That is not a DID: {e}.")))?),
        None => None,
    };
    let (state, user) = super::ssr::signed_in_user().await?;
    let Some(own) = user.did.clone() else {
        return Err(ApiError::with_message(
            ErrorCode::AuthNotYourAccount,
            "Only a Bluesky account can claim what the firehose saw.",
        ));
    };
    if claimed.is_some_and(|did| did != own) {
        return Err(ErrorCode::AuthNotYourAccount.into());
    }
    let holdings = state.store.holdings(user.id).await?;
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
    use crate::server::{auth::oauth::OAuthError, error::Chain};
    let (state, user) = super::ssr::signed_in_user().await?;
    let (Some(bluesky), Some(did)) = (state.bluesky.as_ref(), user.did.as_ref()) else {
        return Err(ErrorCode::AuthSignInFirst.into());
    };
    let auth = &bluesky.auth;
    // Checks the session first (refreshing it if due): a session the PDS has ended is forgotten
    // here, so the header shows "sign in again" instead of failing on every request.
    if let Err(e) = auth.validate(did).await {
        tracing::warn!(error = %Chain(&e), "the Bluesky session failed validation");
        return Err(match e {
            OAuthError::SessionEnded(_) | OAuthError::NoSession(_) => {
                if let Err(e) = auth.credentials().delete_for_user(user.id).await {
                    tracing::error!(error = %Chain(&e), "forgetting ended credentials failed");
                }
                ErrorCode::AuthSessionEnded.into()
            }
            _ => ApiError::with_message(
                ErrorCode::AuthUnreachable,
                "Your Bluesky server could not be reached. Please try again in a moment.",
            ),
        });
    }
    let profile = bluesky.profiles.read(did).await.map_err(|e| {
        tracing::warn!(error = %Chain(&e), "refreshing the profile failed");
        ApiError::from(ErrorCode::AuthProfileUnreadable)
    })?;
    state
        .store
        .update_profile(user.id, &profile, chrono::Utc::now())
        .await?;
    Ok(())
}

/// Disconnects Bluesky: revokes the tokens at the account's server, deletes them here, signs out.
#[server(endpoint = "disconnect")]
pub async fn disconnect() -> Result<(), ApiError> {
    use crate::server::error::Chain;
    let (state, user) = super::ssr::signed_in_user().await?;
    if let (Some(bluesky), Some(did)) = (state.bluesky.as_ref(), user.did.as_ref()) {
        bluesky.auth.disconnect(user.id, did).await.map_err(|e| {
            tracing::error!(error = %Chain(&e), "disconnecting failed");
            ApiError::from(ErrorCode::AuthDisconnectFailed)
        })?;
    }
    super::ssr::session().await?.flush().await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Starts signing in: resolves the account and sends the browser to its authorization server.
#[server(endpoint = "login")]
pub async fn login(identifier: String) -> Result<(), ApiError> {
    let state = super::ssr::state()?;
    let identifier = ssr::identifier(&identifier)?;
    ssr::start(&state, &identifier).await
}

/// Connects Bluesky to the signed-in local account, through the same sign-in: the account gets
/// the DID, and what Skymeet held for that DID becomes the account's. A Bluesky account that has
/// a Skymeet account of its own is refused.
#[server(endpoint = "connect_bluesky")]
pub async fn connect_bluesky(identifier: String) -> Result<(), ApiError> {
    use crate::domain::{Did, Handle};
    use crate::server::session::{keys, Connecting};
    let identifier = ssr::identifier(&identifier)?;
    let (state, user) = super::ssr::signed_in_user().await?;
    if user.did.is_some() {
        return Err(ErrorCode::AuthConnectedAlready.into());
    }
    let bluesky = state
        .bluesky
        .as_ref()
        .ok_or_else(|| ApiError::from(ErrorCode::AuthUnavailable))?;
    let did = match Did::parse(&identifier) {
        Ok(did) => did,
        Err(_) => {
            let handle = Handle::parse(&identifier).map_err(|_| ApiError::from(ErrorCode::AuthUnknownAccount))?;
            bluesky
                .identity
                .resolve_handle(&handle)
                .await
                .map_err(|_| ApiError::from(ErrorCode::AuthUnreachable))?
                .ok_or_else(|| ApiError::from(ErrorCode::AuthUnknownAccount).about("identifier"))?
        }
    };
    // Only what the firehose saw of it may be merged: an account that signs in is its own.
    if state.store.user_by_did(&did).await?.is_some_and(|owner| !owner.shadow) {
        return Err(ApiError::from(ErrorCode::AuthDidTaken).about("identifier"));
    }
    let connecting = Connecting {
        user_id: user.id,
        did: did.to_string(),
    };
    super::ssr::session()
        .await?
        .insert(keys::CONNECTING, &connecting)
        .await?;
    ssr::start(&state, did.as_str()).await
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::server::state::AppState;

    /// A handle (an `@` before it is fine) or a DID, as typed.
    pub fn identifier(typed: &str) -> Result<String, ApiError> {
        use crate::domain::{Did, Handle};
        let identifier = typed.trim().trim_start_matches('@');
        if identifier.starts_with("did:") {
            Did::parse(identifier)
                .map(String::from)
                .map_err(|e| ApiError::invalid("identifier", format!("That DID is not valid: {e}.")))
        } else {
            Handle::parse(identifier)
                .map(String::from)
                .map_err(|_| ApiError::invalid("identifier", "Enter your handle, like alice.bsky.social, or your DID."))
        }
    }

    /// Sends the browser to the authorization server of `identifier`'s account.
    pub async fn start(state: &AppState, identifier: &str) -> Result<(), ApiError> {
        use crate::server::{auth::oauth::OAuthError, error::Chain, session::keys};
        let bluesky = state
            .bluesky
            .as_ref()
            .ok_or_else(|| ApiError::from(ErrorCode::AuthUnavailable))?;
        // Ties the sign-in to this browser: the callback accepts only a sign-in started here.
        let nonce = crate::server::auth::oauth::browser_nonce();
        crate::api::ssr::session()
            .await?
            .insert(keys::OAUTH_NONCE, &nonce)
            .await?;
        match bluesky.auth.start(identifier, &nonce).await {
            Ok(url) => {
                leptos_axum::redirect(&url);
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %Chain(&e), identifier, "sign-in could not start");
                Err(match e {
                    OAuthError::UnknownAccount(_) => ApiError::with_message(
                        ErrorCode::AuthUnknownAccount,
                        format!("No Bluesky account was found for {identifier}. Check the spelling and try again."),
                    )
                    .about("identifier"),
                    OAuthError::PrivateAddress(_) => ErrorCode::AuthPrivateAddress.into(),
                    _ => ErrorCode::AuthUnreachable.into(),
                })
            }
        }
    }
}

/// Signs out: forgets the session (the credentials stay until "Disconnect Bluesky").
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), ApiError> {
    super::ssr::session().await?.flush().await?;
    leptos_axum::redirect("/");
    Ok(())
}
