//! `GET /oauth/callback`: where the authorization server sends the browser back. A plain axum
//! handler (not a server function) so the session is written before the redirect.

use crate::api::ErrorCode;
use crate::server::state::AppState;
use crate::server::{
    auth::oauth::OAuthError,
    error::Chain,
    metrics,
    session::{keys, Connecting},
    store::{Connected, NewBlueskyUser},
};
use atrium_oauth::CallbackParams;
use axum::{
    extract::{Query, State},
    response::Redirect,
};
use serde::Deserialize;
use std::sync::Arc;
use tower_sessions::Session;

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

/// Where the login page explains what went wrong; `reason` is one of the codes it knows.
fn back_to_login(reason: &'static str) -> Redirect {
    ::metrics::counter!(metrics::SIGN_INS_TOTAL, "outcome" => reason).increment(1);
    Redirect::to(&format!("/login?error={reason}"))
}

pub async fn callback(State(state): State<AppState>, session: Session, Query(query): Query<CallbackQuery>) -> Redirect {
    if let Some(error) = query.error {
        tracing::info!(error, "sign-in refused at the authorization server");
        return back_to_login(if error == "access_denied" { "denied" } else { "failed" });
    }
    let (Some(code), Some(bluesky)) = (query.code, &state.bluesky) else {
        return back_to_login("failed");
    };
    // Only a sign-in this browser started may finish here (login CSRF).
    let nonce: Option<String> = session.remove(keys::OAUTH_NONCE).await.unwrap_or_default();
    let started_here = match (&query.state, &nonce) {
        (Some(oauth_state), Some(nonce)) => bluesky.auth.started_by(oauth_state, nonce).await.unwrap_or(false),
        _ => false,
    };
    if !started_here {
        tracing::warn!("sign-in callback for a sign-in this browser did not start");
        return back_to_login("failed");
    }
    let signed_in = match bluesky
        .auth
        .finish(CallbackParams {
            code,
            state: query.state,
            iss: query.iss,
        })
        .await
    {
        Ok(signed_in) => signed_in,
        Err(e) => {
            tracing::warn!(error = %Chain(&e), "sign-in could not be completed");
            return back_to_login(match e {
                OAuthError::ServerUnreachable(_) | OAuthError::TimedOut => "unreachable",
                _ => "failed",
            });
        }
    };
    // The handle the account's own server named is kept only if it resolves back to the DID:
    // otherwise anyone's server could name someone else's handle.
    let handle = match bluesky
        .identity
        .handle_points_at(&signed_in.handle, &signed_in.did)
        .await
    {
        Ok(true) => Some(signed_in.handle),
        Ok(false) => {
            tracing::warn!(did = %signed_in.did, handle = %signed_in.handle, "the handle does not resolve to the DID; not kept");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "the handle could not be checked; not kept for now");
            None
        }
    };
    let user = NewBlueskyUser {
        did: signed_in.did,
        handle,
        display_name: None,
        avatar_url: None,
    };
    let connecting: Option<Connecting> = session.remove(keys::CONNECTING).await.unwrap_or_default();
    let (user_id, then) = match connecting {
        Some(connecting) => match connect(&state, &session, &connecting, &user).await {
            Ok(user_id) => (user_id, "/me"),
            Err(code) => return Redirect::to(&format!("/me?connect_error={}", code.as_str())),
        },
        None => match sign_in(&state, &session, &user).await {
            Ok(user_id) => (user_id, "/"),
            Err(redirect) => return redirect,
        },
    };
    // The profile is a nicety: a failure to read it is logged, and sign-in goes on.
    match bluesky.profiles.read(&user.did).await {
        Ok(profile) => {
            if let Err(e) = state.store.update_profile(user_id, &profile, chrono::Utc::now()).await {
                tracing::warn!(error = %Chain(&e), "storing the profile failed");
            }
        }
        Err(e) => tracing::warn!(error = %Chain(&e), "reading the profile failed"),
    }
    // Their calendar records from before they used Skymeet, in the background.
    // Only where a consumer keeps the cache current: elsewhere the import would go stale.
    if bluesky.consumer.is_some() {
        let (repos, did) = (Arc::clone(&bluesky.repos), user.did.clone());
        tokio::spawn(async move {
            if let Err(e) = repos.backfill(&did, None).await {
                tracing::warn!(error = %Chain(&e), %did, "backfill after sign-in failed");
            }
        });
    }
    Redirect::to(then)
}

/// Signs the browser in as the DID's user (made now, or the shadow the firehose made); its id.
async fn sign_in(state: &AppState, session: &Session, user: &NewBlueskyUser) -> Result<i64, Redirect> {
    let stored = match state.store.upsert_bluesky_user(user).await {
        Ok(stored) => stored,
        Err(e) => {
            tracing::error!(error = %Chain(&e), "storing the signed-in user failed");
            return Err(back_to_login("failed"));
        }
    };
    // A new session id at every sign-in: a session id planted before sign-in is worthless after it.
    let saved = async {
        session.cycle_id().await?;
        session.insert(keys::USER_ID, stored.id).await
    };
    if let Err(e) = saved.await {
        tracing::error!(error = %Chain(&e), "writing the session failed");
        return Err(back_to_login("failed"));
    }
    tracing::info!(user_id = stored.id, did = %user.did, "signed in");
    ::metrics::counter!(metrics::SIGN_INS_TOTAL, "outcome" => "ok").increment(1);
    Ok(stored.id)
}

/// Connects the DID to the local account that asked (still signed in here, and the DID the one it
/// named); the account's id. The user the sign-in made for the DID a moment ago, or the firehose's
/// shadow of it, is merged into the account, and the fresh credentials go with it.
async fn connect(
    state: &AppState,
    session: &Session,
    connecting: &Connecting,
    user: &NewBlueskyUser,
) -> Result<i64, ErrorCode> {
    let signed_in: Option<i64> = session.get(keys::USER_ID).await.unwrap_or_default();
    if signed_in != Some(connecting.user_id) || user.did.as_str() != connecting.did {
        tracing::warn!(did = %user.did, "a connection finished for another account than it started for");
        return Err(ErrorCode::AuthNotYourAccount);
    }
    let connected = state.store.connect_did(connecting.user_id, user).await.map_err(|e| {
        tracing::error!(error = %Chain(&e), "connecting the DID failed");
        ErrorCode::AuthUnreachable
    })?;
    let merged = match connected {
        Connected::Done { merged, .. } => merged,
        Connected::Taken => return Err(ErrorCode::AuthDidTaken),
    };
    if let (Some(from), Some(bluesky)) = (merged, &state.bluesky) {
        if let Err(e) = bluesky.auth.credentials().move_to_user(from, connecting.user_id).await {
            tracing::error!(error = %Chain(&e), "moving the new credentials failed");
            return Err(ErrorCode::AuthUnreachable);
        }
    }
    tracing::info!(user_id = connecting.user_id, did = %user.did, ?merged, "connected Bluesky");
    Ok(connecting.user_id)
}
