//! Local accounts: signing up with an email address and a password, confirming the address,
//! signing in, choosing a new password, signing out everywhere. The forms post here with or
//! without JavaScript; each success sends the browser on to the next page.

use super::ApiError;
use leptos::prelude::*;

/// Signs up: an account waiting for its address to be confirmed, and the link in the mail.
/// Answers the same whether or not the address has an account.
#[server(endpoint = "accounts/sign-up")]
pub async fn sign_up(name: String, email: String, password: String) -> Result<(), ApiError> {
    use crate::domain::{DisplayName, EmailAddress};
    let name = DisplayName::parse(&name).map_err(|e| ApiError::invalid("name", sentence(&e)))?;
    let email = EmailAddress::parse(&email).map_err(|e| ApiError::invalid("email", sentence(&e)))?;
    let password = secrecy::SecretString::from(password);
    let accounts = ssr::accounts()?;
    accounts
        .sign_up(&name, &email, &password)
        .await
        .map_err(ssr::account_error)?;
    leptos_axum::redirect("/check-inbox?for=confirm");
    Ok(())
}

/// Confirms an address through the link mailed to it, and signs its owner in.
#[server(endpoint = "accounts/confirm-email")]
pub async fn confirm_email(token: String) -> Result<(), ApiError> {
    let accounts = ssr::accounts()?;
    let user = accounts.confirm(token.trim()).await.map_err(ssr::account_error)?;
    ssr::sign_in_as(&user).await?;
    leptos_axum::redirect("/me");
    Ok(())
}

/// Signs in with an email address and a password.
#[server(endpoint = "accounts/sign-in")]
pub async fn sign_in(email: String, password: String) -> Result<(), ApiError> {
    use crate::domain::EmailAddress;
    let email = EmailAddress::parse(&email).map_err(|e| ApiError::invalid("email", sentence(&e)))?;
    let password = secrecy::SecretString::from(password);
    let client = ssr::client_address().await?;
    let accounts = ssr::accounts()?;
    let user = accounts
        .sign_in(&email, &password, client)
        .await
        .map_err(ssr::account_error)?;
    ssr::sign_in_as(&user).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Mails a link to choose a new password, when the address has an account (the answer is the
/// same either way).
#[server(endpoint = "accounts/forgot-password")]
pub async fn forgot_password(email: String) -> Result<(), ApiError> {
    use crate::domain::EmailAddress;
    let email = EmailAddress::parse(&email).map_err(|e| ApiError::invalid("email", sentence(&e)))?;
    let accounts = ssr::accounts()?;
    accounts.request_reset(&email).await.map_err(ssr::account_error)?;
    leptos_axum::redirect("/check-inbox?for=reset");
    Ok(())
}

/// Sets a new password through the link mailed for it; every other session of the account ends.
#[server(endpoint = "accounts/reset-password")]
pub async fn reset_password(token: String, password: String) -> Result<(), ApiError> {
    let password = secrecy::SecretString::from(password);
    let accounts = ssr::accounts()?;
    let user = accounts
        .reset(token.trim(), &password)
        .await
        .map_err(ssr::account_error)?;
    ssr::sign_in_as(&user).await?;
    leptos_axum::redirect("/me");
    Ok(())
}

/// Ends every session of the signed-in person, this one too.
#[server(endpoint = "accounts/sign-out-everywhere")]
pub async fn sign_out_everywhere() -> Result<(), ApiError> {
    let (state, user) = super::ssr::signed_in_user().await?;
    state.store.end_sessions(user.id).await?;
    super::ssr::session().await?.flush().await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// An error's text as a sentence: capitalised, with a full stop.
#[cfg(feature = "ssr")]
fn sentence(error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => text,
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::{sentence, ApiError};
    use crate::api::ErrorCode;
    use crate::server::{
        accounts::{AccountError, Accounts},
        error::Chain,
        session::keys,
        store::{TokenRefused, User},
    };
    use std::{net::IpAddr, sync::Arc};

    pub fn accounts() -> Result<Arc<Accounts>, ApiError> {
        Ok(Arc::clone(&super::super::ssr::state()?.accounts))
    }

    /// The address of the client, which sign-in attempts are counted by (as the rate limit does).
    pub async fn client_address() -> Result<IpAddr, ApiError> {
        use axum::extract::ConnectInfo;
        let ConnectInfo(peer) = leptos_axum::extract::<ConnectInfo<std::net::SocketAddr>>()
            .await
            .map_err(|e| crate::server::error::ServerError::Request(e.to_string()))?;
        Ok(peer.ip())
    }

    /// Signs `user` in on this browser: a new session id (one planted before is worthless after),
    /// in the account's current session generation.
    pub async fn sign_in_as(user: &User) -> Result<(), ApiError> {
        let session = super::super::ssr::session().await?;
        session.cycle_id().await?;
        session.insert(keys::USER_ID, user.id).await?;
        session
            .insert(keys::SESSION_GENERATION, user.session_generation)
            .await?;
        tracing::info!(user_id = user.id, "signed in with a local account");
        Ok(())
    }

    pub fn account_error(error: AccountError) -> ApiError {
        match error {
            AccountError::WeakPassword(why) => ApiError::invalid("password", sentence(&why)),
            AccountError::WrongCredentials => ErrorCode::AccountWrongCredentials.into(),
            AccountError::Unconfirmed => ErrorCode::AccountUnconfirmed.into(),
            AccountError::Throttled => ErrorCode::AccountThrottled.into(),
            AccountError::Disabled => ErrorCode::AccountDisabled.into(),
            AccountError::Link(TokenRefused::Unknown) => ErrorCode::AccountLinkUnknown.into(),
            AccountError::Link(TokenRefused::Used) => ErrorCode::AccountLinkUsed.into(),
            AccountError::Link(TokenRefused::Expired) => ErrorCode::AccountLinkExpired.into(),
            AccountError::Mail(e) => {
                tracing::error!(error = %Chain(&e), "mail could not be sent");
                ErrorCode::AccountMailFailed.into()
            }
            AccountError::Store(e) => e.into(),
            AccountError::Kv(e) => e.into(),
            AccountError::Hashing | AccountError::PublicUrl => {
                tracing::error!(error = %error, "a local account step failed");
                ErrorCode::Internal.into()
            }
        }
    }
}
