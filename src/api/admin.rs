//! The admin dashboard's data and actions, for admins only (`ADMIN_DIDS`):
//! everyone else gets 403, and a guest 401. The sync report and reconciliation also answer as
//! JSON at the plan's paths, `GET /api/admin/bluesky/sync-status` and
//! `POST /api/admin/bluesky/reconcile`.

#[cfg(feature = "ssr")]
use super::ErrorCode;
use super::{
    views::{BackfillView, RefreshOutcome, SessionView, SyncReport},
    ApiError,
};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

/// How many dead letters and reports the dashboard lists.
pub const LISTED: u32 = 20;

/// The sync report (the dashboard's data).
#[server(endpoint = "admin/bluesky/sync-status", input = GetUrl)]
pub async fn sync_status() -> Result<SyncReport, ApiError> {
    let (state, _) = super::ssr::admin().await?;
    ssr::report(&state).await
}

/// Starts a reconciliation; answers with its report's id at once (the run goes on in the
/// background, and the report fills in when it ends).
#[server(endpoint = "admin/bluesky/reconcile")]
pub async fn reconcile() -> Result<i64, ApiError> {
    use crate::server::{reconcile::ReconcileError, store::ReconcileTrigger};
    let (state, _) = super::ssr::admin().await?;
    match ssr::bluesky(&state)?.reconciler.start(ReconcileTrigger::Admin).await {
        Ok(id) => Ok(id),
        Err(ReconcileError::AlreadyRunning) => Err(ErrorCode::AdminReconciling.into()),
        Err(ReconcileError::Store(e)) => Err(e.into()),
    }
}

/// Imports what the network holds: resumes the unfinished import, or begins a new one (every
/// repo the relay lists is read again; records already cached are left as they are).
#[server(endpoint = "admin/bluesky/import")]
pub async fn import_network() -> Result<(), ApiError> {
    let (state, _) = super::ssr::admin().await?;
    let importer = ssr::bluesky(&state)?.importer.clone().ok_or(ErrorCode::AdminNoRelay)?;
    match importer.start(tokio_util::sync::CancellationToken::new()) {
        true => Ok(()),
        false => Err(ErrorCode::AdminImporting.into()),
    }
}

/// Queues the repos the latest import could not read again, and goes on importing.
#[server(endpoint = "admin/bluesky/import/retry")]
pub async fn retry_import() -> Result<u64, ApiError> {
    let (state, _) = super::ssr::admin().await?;
    let importer = ssr::bluesky(&state)?.importer.clone().ok_or(ErrorCode::AdminNoRelay)?;
    let Some(import) = state.store.latest_import().await? else {
        return Ok(0);
    };
    let queued = state.store.retry_failed_repos(import.id).await?;
    if queued > 0 && !importer.is_running() {
        // A run that starts meanwhile reads them as well.
        importer.start(tokio_util::sync::CancellationToken::new());
    }
    Ok(queued)
}

/// Imports one repo's calendar records now, for a DID or a handle: anyone's, signed in or not.
#[server(endpoint = "admin/bluesky/backfill")]
pub async fn backfill_repo(identifier: String) -> Result<BackfillView, ApiError> {
    use crate::domain::{Did, Handle};
    use crate::server::firehose::BackfillError;
    let (state, _) = super::ssr::admin().await?;
    let bluesky = ssr::bluesky(&state)?;
    let identifier = identifier.trim().trim_start_matches('@');
    let did = match (Did::parse(identifier), Handle::parse(identifier)) {
        (Ok(did), _) => Some(did),
        (_, Ok(handle)) => bluesky.identity.resolve_handle(&handle).await.ok().flatten(),
        _ => return Err(ApiError::invalid("identifier", "Enter a DID (did:plc:…) or a handle.")),
    };
    let Some(did) = did else {
        return Err(ApiError::with_message(
            ErrorCode::AdminUnknownAccount,
            format!("No Bluesky account answers to {identifier}."),
        ));
    };
    match bluesky.repos.backfill(&did, None).await {
        Ok(found) => Ok(BackfillView {
            did: did.to_string(),
            missing: found.missing,
            stale: found.stale,
            deleted: found.deleted,
        }),
        Err(BackfillError::Store(e)) => Err(e.into()),
        Err(BackfillError::Pds(e)) => Err(ApiError::with_message(
            ErrorCode::AdminRepoUnreadable,
            format!("That account's repo could not be read: {e}."),
        )),
    }
}

/// Who is connected (admins).
#[server(endpoint = "admin/sessions", input = GetUrl)]
pub async fn admin_sessions() -> Result<Vec<SessionView>, ApiError> {
    let (state, _) = super::ssr::admin().await?;
    ssr::sessions(&state).await
}

/// Refreshes every connected session's tokens now (admins); answers when all are done.
#[server(endpoint = "admin/sessions/refresh")]
pub async fn refresh_sessions() -> Result<RefreshOutcome, ApiError> {
    let (state, _) = super::ssr::admin().await?;
    let auth = &ssr::bluesky(&state)?.auth;
    let mut outcome = RefreshOutcome {
        refreshed: 0,
        failed: Vec::new(),
    };
    for session in ssr::sessions(&state).await?.into_iter().filter(|s| s.connected) {
        let Some(Ok(did)) = session.did.as_deref().map(crate::domain::Did::parse) else {
            continue;
        };
        match auth.force_refresh(&did).await {
            Ok(()) => outcome.refreshed += 1,
            Err(e) => outcome
                .failed
                .push(format!("{}: {e}", session.handle.unwrap_or_else(|| did.to_string()))),
        }
    }
    Ok(outcome)
}

/// Ends one person's session (admins): their tokens are revoked and forgotten; they sign in again.
#[server(endpoint = "admin/sessions/reset")]
pub async fn reset_session(user_id: i64) -> Result<(), ApiError> {
    let (state, _) = super::ssr::admin().await?;
    let auth = &ssr::bluesky(&state)?.auth;
    let user = state.store.user_by_id(user_id).await?;
    let Some((user, did)) = user.and_then(|u| u.did.clone().map(|did| (u, did))) else {
        return Err(ErrorCode::AdminNoUser.into());
    };
    auth.disconnect(user.id, &did).await.map_err(|e| {
        tracing::warn!(error = %crate::server::error::Chain(&e), "resetting a session failed");
        ApiError::from(ErrorCode::AdminResetFailed)
    })
}

/// Stops one person from signing in and ends their sessions (admins), or lets them in again.
/// An admin cannot disable themselves.
#[server(endpoint = "admin/accounts/disable")]
pub async fn disable_account(user_id: i64, disabled: bool) -> Result<(), ApiError> {
    let (state, admin) = super::ssr::admin().await?;
    if admin.id == user_id {
        return Err(ErrorCode::AdminNotYourself.into());
    }
    match state.store.set_disabled(user_id, disabled).await? {
        true => Ok(()),
        false => Err(ErrorCode::AdminNoUser.into()),
    }
}

/// Reads a dead letter's record again from its PDS and applies it (after its cause was fixed).
#[server(endpoint = "replay_dead_letter")]
pub async fn replay_dead_letter(id: i64) -> Result<(), ApiError> {
    use crate::server::firehose::ReplayError;
    let (state, _) = super::ssr::admin().await?;
    let letter = ssr::dead_letter(&state, id).await?;
    match ssr::bluesky(&state)?.repos.replay(&letter).await {
        Ok(()) => Ok(()),
        Err(ReplayError::Store(e)) => Err(e.into()),
        Err(e) => Err(ApiError::with_message(
            ErrorCode::AdminNotReplayed,
            format!("Not replayed: {e}."),
        )),
    }
}

/// Forgets a dead letter.
#[server(endpoint = "discard_dead_letter")]
pub async fn discard_dead_letter(id: i64) -> Result<(), ApiError> {
    let (state, _) = super::ssr::admin().await?;
    let letter = ssr::dead_letter(&state, id).await?;
    state.store.delete_dead_letter(letter.id).await?;
    Ok(())
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::server::{
        state::{AppState, Bluesky},
        store::DeadLetter,
    };

    /// The Bluesky services an admin action needs, or "Bluesky is off here".
    pub fn bluesky(state: &AppState) -> Result<&Bluesky, ApiError> {
        state.bluesky.as_ref().ok_or_else(|| ErrorCode::AdminBlueskyOff.into())
    }

    pub async fn dead_letter(state: &AppState, id: i64) -> Result<DeadLetter, ApiError> {
        state
            .store
            .dead_letter_by_id(id)
            .await?
            .ok_or_else(|| ErrorCode::AdminNoDeadLetter.into())
    }

    pub async fn sessions(state: &AppState) -> Result<Vec<SessionView>, ApiError> {
        let sessions = crate::server::dashboard::sessions(state).await?;
        Ok(sessions.into_iter().map(SessionView::from).collect())
    }

    pub async fn report(state: &AppState) -> Result<SyncReport, ApiError> {
        Ok(crate::server::dashboard::read(state, LISTED).await?.into())
    }
}
