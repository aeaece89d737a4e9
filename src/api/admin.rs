//! The admin dashboard's data and actions (F30, F25, F19), for admins only (`ADMIN_DIDS`):
//! everyone else gets 403, and a guest 401. The sync report and reconciliation also answer as
//! JSON at the plan's paths, `GET /api/admin/bluesky/sync-status` and
//! `POST /api/admin/bluesky/reconcile`.

use super::ApiError;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

/// How many dead letters and reports the dashboard lists.
pub const LISTED: u32 = 20;

/// Everything `/admin` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Events per sync status (`in_sync`, `pending`, `conflict`, `failed`, `local`).
    pub events: Vec<Count>,
    pub events_total: i64,
    /// Share of events in sync, 0-100; 100 with no events.
    pub in_sync_percent: f64,
    pub rsvps: i64,
    /// Pending writes per state (`pending`, `failed`, `conflict`).
    pub pending_writes: Vec<Count>,
    /// `None` when this instance runs no firehose consumer.
    pub consumer: Option<ConsumerView>,
    pub dead_letters: Vec<DeadLetterView>,
    pub dead_letters_total: i64,
    /// The newest conflicts (F24); their owners settle them on the event's page.
    pub conflicts: Vec<super::events::ConflictView>,
    /// Newest first.
    pub reconciliations: Vec<ReconcileView>,
    pub reconciling: bool,
    /// While a run goes on on this instance: repos compared so far, and how many it compares.
    pub reconcile_progress: Option<(u64, u64)>,
    pub charts: Charts,
    pub now: DateTime<Utc>,
}

/// The charts over time (F32), over the last hours that have samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charts {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// How often samples are taken; `None` when sampling is off.
    pub sample_seconds: Option<u64>,
    pub charts: Vec<ChartView>,
}

/// One chart: a value per time bucket from `start` to `end` (`None`: nothing happened there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartView {
    pub title: String,
    /// What the values are in: `frames/s`, `s`, `ms` or `%`.
    pub unit: String,
    pub points: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsumerView {
    pub endpoint: String,
    pub connected: bool,
    pub cursor: Option<i64>,
    /// When the cursor last moved.
    pub cursor_moved_at: Option<DateTime<Utc>>,
    /// Sequence gaps seen (each repaired by re-reading repos).
    pub gaps: u64,
    /// Times the consumer lost its lock and stopped (another instance may have taken over).
    pub lock_losses: u64,
    /// Times a connection ended and the consumer connected again.
    pub reconnects: u64,
    /// How far behind the network the last applied commit was, in seconds.
    pub lag_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterView {
    pub id: i64,
    pub error: String,
    pub uri: Option<String>,
    pub seq: Option<i64>,
    /// The record, pretty-printed.
    pub record: Option<String>,
    /// The size of an undecodable frame.
    pub raw_bytes: Option<usize>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileView {
    pub id: i64,
    pub trigger: String,
    pub started_at: DateTime<Utc>,
    /// `None` while it runs.
    pub finished_at: Option<DateTime<Utc>>,
    pub repos: i64,
    pub missing: i64,
    pub stale: i64,
    pub deleted: i64,
    pub unpublished: i64,
    pub errors: Vec<String>,
}

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
    let reconciler = state.reconciler.as_ref().ok_or_else(|| {
        ApiError::new(
            "error-admin-2",
            "Reconciliation needs Bluesky sign-in, which is off here.",
        )
    })?;
    match reconciler.start(ReconcileTrigger::Admin).await {
        Ok(id) => Ok(id),
        Err(ReconcileError::AlreadyRunning) => {
            super::ssr::set_status(axum::http::StatusCode::CONFLICT);
            Err(ApiError::new("error-admin-3", "A reconciliation is already running."))
        }
        Err(ReconcileError::Store(e)) => Err(crate::server::error::ServerError::from(e).into()),
    }
}

/// What a backfill of one repo found and repaired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillView {
    pub did: String,
    pub missing: usize,
    pub stale: usize,
    pub deleted: usize,
}

/// Imports one repo's calendar records now (F22), for a DID or a handle: anyone's, signed in or not.
#[server(endpoint = "admin/bluesky/backfill")]
pub async fn backfill_repo(identifier: String) -> Result<BackfillView, ApiError> {
    use crate::domain::{Did, Handle};
    use crate::server::firehose::BackfillError;
    let (state, _) = super::ssr::admin().await?;
    let (Some(auth), Some(reconciler)) = (state.auth.as_ref(), state.reconciler.as_ref()) else {
        return Err(ApiError::new(
            "error-admin-2",
            "Backfilling needs Bluesky sign-in, which is off here.",
        ));
    };
    let identifier = identifier.trim().trim_start_matches('@');
    let did = match (Did::parse(identifier), Handle::parse(identifier)) {
        (Ok(did), _) => Some(did),
        (_, Ok(handle)) => auth.resolve_handle(&handle).await.ok().flatten(),
        _ => {
            super::ssr::set_status(axum::http::StatusCode::BAD_REQUEST);
            return Err(ApiError::invalid("identifier", "Enter a DID (did:plc:…) or a handle."));
        }
    };
    let Some(did) = did else {
        super::ssr::set_status(axum::http::StatusCode::NOT_FOUND);
        return Err(ApiError::new(
            "error-admin-6",
            format!("No Bluesky account answers to {identifier}."),
        ));
    };
    match reconciler.ingest().backfill(&did, None).await {
        Ok(found) => Ok(BackfillView {
            did: did.to_string(),
            missing: found.missing,
            stale: found.stale,
            deleted: found.deleted,
        }),
        Err(BackfillError::Store(e)) => Err(crate::server::error::ServerError::from(e).into()),
        Err(BackfillError::Pds(e)) => {
            super::ssr::set_status(axum::http::StatusCode::BAD_GATEWAY);
            Err(ApiError::new(
                "error-admin-7",
                format!("That account's repo could not be read: {e}."),
            ))
        }
    }
}

/// A person's Bluesky session as Skymeet holds it (seed 001 section 10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub user_id: i64,
    pub handle: Option<String>,
    pub did: String,
    /// Skymeet holds credentials for the account.
    pub connected: bool,
    /// When the stored credentials expire (and are cleaned up) unless refreshed.
    pub expires_in_seconds: Option<u64>,
    /// How long ago the credentials were last written: at sign-in or a token refresh (each write
    /// renews their lifetime, so this is that lifetime minus what is left of it).
    pub refreshed_seconds_ago: Option<u64>,
    /// When the access token expires, from now (negative: it has); the next use after that
    /// refreshes it.
    pub access_token_expires_in_seconds: Option<i64>,
}

/// What a batch refresh did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshOutcome {
    pub refreshed: usize,
    /// `handle-or-did: why`, one per session that could not be refreshed.
    pub failed: Vec<String>,
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
    let auth = state
        .auth
        .as_ref()
        .ok_or_else(|| ApiError::new("error-admin-2", "Bluesky sign-in is off here."))?;
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
    use crate::server::error::ServerError;
    let (state, _) = super::ssr::admin().await?;
    let auth = state
        .auth
        .as_ref()
        .ok_or_else(|| ApiError::new("error-admin-2", "Bluesky sign-in is off here."))?;
    let user = state.store.user_by_id(user_id).await.map_err(ServerError::from)?;
    let Some((user, did)) = user.and_then(|u| u.did.clone().map(|did| (u, did))) else {
        super::ssr::set_status(axum::http::StatusCode::NOT_FOUND);
        return Err(ApiError::new("error-admin-8", "No such Bluesky user."));
    };
    auth.disconnect(user.id, &did).await.map_err(|e| {
        tracing::warn!(error = %crate::server::error::Chain(&e), "resetting a session failed");
        ApiError::new("error-admin-9", "The session could not be reset. Please try again.")
    })?;
    Ok(())
}

/// Reads a dead letter's record again from its PDS and applies it (after its cause was fixed).
#[server(endpoint = "replay_dead_letter")]
pub async fn replay_dead_letter(id: i64) -> Result<(), ApiError> {
    use crate::server::{error::ServerError, firehose::ReplayError};
    let (state, _) = super::ssr::admin().await?;
    let letter = ssr::dead_letter(&state, id).await?;
    let ingest = state
        .reconciler
        .as_ref()
        .map(|reconciler| reconciler.ingest())
        .ok_or_else(|| ApiError::new("error-admin-2", "Replaying needs Bluesky sign-in, which is off here."))?;
    match ingest.replay(&letter).await {
        Ok(()) => Ok(()),
        Err(ReplayError::Store(e)) => Err(ServerError::from(e).into()),
        Err(e) => {
            super::ssr::set_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY);
            Err(ApiError::new("error-admin-4", format!("Not replayed: {e}.")))
        }
    }
}

/// Forgets a dead letter.
#[server(endpoint = "discard_dead_letter")]
pub async fn discard_dead_letter(id: i64) -> Result<(), ApiError> {
    use crate::server::error::ServerError;
    let (state, _) = super::ssr::admin().await?;
    let letter = ssr::dead_letter(&state, id).await?;
    state
        .store
        .delete_dead_letter(letter.id)
        .await
        .map_err(ServerError::from)?;
    Ok(())
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::domain::SyncStatus;
    use crate::server::{
        error::{Chain, ServerError},
        state::AppState,
        store::{DeadLetter, ReconcileReport},
    };
    use axum::http::StatusCode;

    pub async fn dead_letter(state: &AppState, id: i64) -> Result<DeadLetter, ApiError> {
        state
            .store
            .dead_letter_by_id(id)
            .await
            .map_err(ServerError::from)?
            .ok_or_else(|| {
                super::super::ssr::set_status(StatusCode::NOT_FOUND);
                ApiError::new("error-admin-5", "That dead letter is gone (replayed or discarded).")
            })
    }

    /// The most sessions listed.
    const SESSIONS_LISTED: u32 = 200;

    pub async fn sessions(state: &AppState) -> Result<Vec<SessionView>, ApiError> {
        use crate::server::auth::credentials::{credentials_key, CREDENTIALS_TTL};
        let users = state
            .store
            .signed_in_users(SESSIONS_LISTED)
            .await
            .map_err(ServerError::from)?;
        let mut sessions = Vec::with_capacity(users.len());
        for user in users {
            let Some(did) = user.did.as_ref() else { continue };
            let key = credentials_key(user.id);
            let ttl = state.kv.ttl(&key).await.map_err(ServerError::from)?;
            let access_token_expires_at = match (&state.auth, ttl) {
                (Some(auth), Some(_)) => match auth.credentials().access_token_expiry(user.id).await {
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

    fn counts(rows: Vec<(String, i64)>) -> Vec<Count> {
        rows.into_iter().map(|(name, count)| Count { name, count }).collect()
    }

    fn report_view(report: ReconcileReport) -> ReconcileView {
        ReconcileView {
            id: report.id,
            trigger: report.trigger,
            started_at: report.started_at,
            finished_at: report.finished_at,
            repos: report.counts.repos,
            missing: report.counts.missing,
            stale: report.counts.stale,
            deleted: report.counts.deleted,
            unpublished: report.counts.unpublished,
            errors: report.counts.errors,
        }
    }

    fn dead_letter_view(letter: DeadLetter) -> DeadLetterView {
        DeadLetterView {
            id: letter.id,
            error: letter.error,
            uri: letter.uri,
            seq: letter.seq,
            record: letter
                .record
                .map(|record| serde_json::to_string_pretty(&record).unwrap_or_else(|_| record.to_string())),
            raw_bytes: letter.raw.map(|raw| raw.len()),
            created_at: letter.created_at,
        }
    }

    pub async fn report(state: &AppState) -> Result<SyncReport, ApiError> {
        let store = &state.store;
        let events = counts(store.events_by_sync_status().await.map_err(ServerError::from)?);
        let events_total = events.iter().map(|c| c.count).sum::<i64>();
        let in_sync = events
            .iter()
            .filter(|c| c.name == SyncStatus::InSync.as_str())
            .map(|c| c.count)
            .sum::<i64>();
        let in_sync_percent = if events_total == 0 {
            100.0
        } else {
            (in_sync as f64 * 1000.0 / events_total as f64).round() / 10.0
        };
        let consumer = match &state.ingest {
            Some(ingest) => Some(ConsumerView {
                endpoint: ingest.endpoint().to_owned(),
                connected: ingest.connected(),
                cursor: store
                    .firehose_cursor(ingest.endpoint())
                    .await
                    .map_err(ServerError::from)?,
                cursor_moved_at: store
                    .firehose_cursor_updated_at(ingest.endpoint())
                    .await
                    .map_err(ServerError::from)?,
                gaps: ingest.gaps(),
                lock_losses: ingest.lock_losses(),
                reconnects: ingest.reconnects(),
                lag_seconds: ingest.lag_seconds(),
            }),
            None => None,
        };
        Ok(SyncReport {
            events,
            events_total,
            in_sync_percent,
            rsvps: store.rsvp_count().await.map_err(ServerError::from)?,
            pending_writes: counts(store.pending_writes_by_state().await.map_err(ServerError::from)?),
            consumer,
            dead_letters: store
                .dead_letters(LISTED)
                .await
                .map_err(ServerError::from)?
                .into_iter()
                .map(dead_letter_view)
                .collect(),
            dead_letters_total: store.dead_letter_count().await.map_err(ServerError::from)?,
            conflicts: store
                .recent_conflicts(LISTED)
                .await
                .map_err(ServerError::from)?
                .into_iter()
                .map(crate::api::events::ssr::conflict_view)
                .collect(),
            reconciliations: store
                .reconcile_reports(LISTED)
                .await
                .map_err(ServerError::from)?
                .into_iter()
                .map(report_view)
                .collect(),
            reconciling: state.reconciler.as_ref().is_some_and(|r| r.is_running()),
            reconcile_progress: state.reconciler.as_ref().and_then(|r| r.progress()),
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
            .await
            .map_err(ServerError::from)?;
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
