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
        let Ok(did) = crate::domain::Did::parse(&session.did) else {
            continue;
        };
        match auth.force_refresh(&did).await {
            Ok(()) => outcome.refreshed += 1,
            Err(e) => outcome
                .failed
                .push(format!("{}: {e}", session.handle.unwrap_or(session.did))),
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
    use crate::api::views::{ChartView, Charts, ConflictView, ConsumerView, Count, DeadLetterView, ReconcileView};
    use crate::domain::SyncStatus;
    use crate::server::{
        error::Chain,
        state::{AppState, Bluesky},
        store::DeadLetter,
    };
    use chrono::Utc;

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

    /// The most sessions listed.
    const SESSIONS_LISTED: u32 = 200;

    pub async fn sessions(state: &AppState) -> Result<Vec<SessionView>, ApiError> {
        use crate::server::auth::credentials::{credentials_key, CREDENTIALS_TTL};
        let users = state.store.signed_in_users(SESSIONS_LISTED).await?;
        let mut sessions = Vec::with_capacity(users.len());
        for user in users {
            let Some(did) = user.did.as_ref() else { continue };
            let ttl = state.kv.ttl(&credentials_key(user.id)).await?;
            let access_token_expires_at = match (&state.bluesky, ttl) {
                (Some(bluesky), Some(_)) => match bluesky.auth.credentials().access_token_expiry(user.id).await {
                    Ok(expiry) => expiry,
                    Err(e) => {
                        tracing::warn!(error = %Chain(&e), user_id = user.id, "stored credentials do not open");
                        None
                    }
                },
                _ => None,
            };
            sessions.push(SessionView {
                user_id: user.id,
                handle: user.handle.as_ref().map(ToString::to_string),
                did: did.to_string(),
                connected: ttl.is_some(),
                expires_in_seconds: ttl.map(|ttl| ttl.as_secs()),
                refreshed_seconds_ago: ttl.map(|ttl| CREDENTIALS_TTL.saturating_sub(ttl).as_secs()),
                access_token_expires_in_seconds: access_token_expires_at.map(|at| (at - Utc::now()).num_seconds()),
            });
        }
        Ok(sessions)
    }

    pub async fn report(state: &AppState) -> Result<SyncReport, ApiError> {
        let store = &state.store;
        let events: Vec<Count<SyncStatus>> = store
            .events_by_sync_status()
            .await?
            .into_iter()
            .map(|(name, count)| Count { name, count })
            .collect();
        let events_total = events.iter().map(|c| c.count).sum::<i64>();
        let in_sync = events
            .iter()
            .filter(|c| c.name == SyncStatus::InSync)
            .map(|c| c.count)
            .sum::<i64>();
        let in_sync_percent = if events_total == 0 {
            100.0
        } else {
            (in_sync as f64 * 1000.0 / events_total as f64).round() / 10.0
        };
        let consumer = match state.bluesky.as_ref().and_then(|b| b.consumer.as_ref()) {
            Some(ingest) => Some(ConsumerView {
                endpoint: ingest.endpoint().to_owned(),
                connected: ingest.connected(),
                cursor: store.firehose_cursor(ingest.endpoint()).await?,
                cursor_moved_at: store.firehose_cursor_updated_at(ingest.endpoint()).await?,
                gaps: ingest.telemetry().gaps(),
                lock_losses: ingest.telemetry().lock_losses(),
                reconnects: ingest.telemetry().reconnects(),
                lag_seconds: ingest.telemetry().lag_seconds(),
            }),
            None => None,
        };
        let reconciler = state.bluesky.as_ref().map(|b| &b.reconciler);
        Ok(SyncReport {
            events,
            events_total,
            in_sync_percent,
            rsvps: store.rsvp_count().await?,
            pending_writes: store
                .pending_writes_by_state()
                .await?
                .into_iter()
                .map(|(name, count)| Count { name, count })
                .collect(),
            consumer,
            dead_letters: store
                .dead_letters(LISTED)
                .await?
                .into_iter()
                .map(DeadLetterView::from)
                .collect(),
            dead_letters_total: store.dead_letter_count().await?,
            conflicts: store
                .recent_conflicts(LISTED)
                .await?
                .into_iter()
                .map(ConflictView::from)
                .collect(),
            reconciliations: store
                .reconcile_reports(LISTED)
                .await?
                .into_iter()
                .map(ReconcileView::from)
                .collect(),
            reconciling: reconciler.is_some_and(|r| r.is_running()),
            reconcile_progress: reconciler.and_then(|r| r.progress()),
            charts: charts(state).await?,
            now: Utc::now(),
        })
    }

    /// How far back the charts look, at most.
    const CHART_HOURS: i64 = 6;
    /// Points per chart.
    const CHART_BUCKETS: usize = 60;

    async fn charts(state: &AppState) -> Result<Charts, ApiError> {
        use crate::server::charts::series;
        let end = Utc::now();
        let samples = state
            .store
            .metric_samples_since(end - chrono::Duration::hours(CHART_HOURS))
            .await?;
        // From the oldest sample, so a young deployment's charts are not squeezed to the right.
        let start = samples.iter().map(|s| s.taken_at).min().unwrap_or(end);
        let series = series(&samples, start, end, CHART_BUCKETS);
        let chart = |title: &str, unit: &str, points: Vec<Option<f64>>| ChartView {
            title: title.to_owned(),
            unit: unit.to_owned(),
            points,
        };
        Ok(Charts {
            start,
            end,
            sample_seconds: state.config.metrics_sample_interval.map(|interval| interval.as_secs()),
            charts: vec![
                chart("Firehose rate", "frames/s", series.firehose_frames_per_second),
                chart("Sync latency", "s", series.sync_latency_seconds),
                chart("Publish duration", "ms", series.publish_milliseconds),
                chart("In sync", "%", series.in_sync_percent),
            ],
        })
    }
}
