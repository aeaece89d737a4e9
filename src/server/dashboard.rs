//! What the admin dashboard reads: how the cache stands against the network (events by sync
//! status, pending writes, the consumer, dead letters, conflicts, reconciliation runs, the charts
//! over time) and who is connected. Plain data; the server functions turn it into views.

use crate::domain::{Did, EmailAddress, Handle, SyncStatus, WriteState};
use crate::server::{
    auth::credentials::{credentials_key, CREDENTIALS_TTL},
    charts::{series, Series},
    error::Chain,
    kv::KvError,
    state::AppState,
    store::{Conflict, DeadLetter, ReconcileReport, StoreError},
};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How far back the charts look, at most.
const CHART_HOURS: i64 = 6;
/// Points per chart.
const CHART_BUCKETS: usize = 60;
/// The most sessions listed.
const SESSIONS_LISTED: u32 = 200;

/// Everything the dashboard shows.
#[derive(Debug, Clone)]
pub struct DashboardRead {
    pub events_by_status: Vec<(SyncStatus, i64)>,
    pub rsvps: i64,
    pub pending_writes_by_state: Vec<(WriteState, i64)>,
    /// `None` when this instance runs no firehose consumer.
    pub consumer: Option<ConsumerRead>,
    /// The newest `listed`, and how many there are.
    pub dead_letters: Vec<DeadLetter>,
    pub dead_letters_total: i64,
    pub conflicts: Vec<Conflict>,
    pub reconciliations: Vec<ReconcileReport>,
    pub reconciling: bool,
    /// Repos compared so far by the run going on here, and how many it compares.
    pub reconcile_progress: Option<(u64, u64)>,
    /// The latest import of the network, when a relay is configured.
    pub import: Option<ImportRead>,
    pub charts: ChartsRead,
}

/// The latest import of the network.
#[derive(Debug, Clone)]
pub struct ImportRead {
    pub relay: String,
    /// `None` before the first import.
    pub progress: Option<crate::server::store::ImportProgress>,
    pub running: bool,
}

impl DashboardRead {
    /// Share of events in sync, 0-100 to one decimal; 100 with no events.
    pub fn in_sync_percent(&self) -> f64 {
        let total: i64 = self.events_by_status.iter().map(|(_, count)| count).sum();
        let in_sync: i64 = self
            .events_by_status
            .iter()
            .filter(|(status, _)| *status == SyncStatus::InSync)
            .map(|(_, count)| count)
            .sum();
        match total {
            0 => 100.0,
            _ => (in_sync as f64 * 1000.0 / total as f64).round() / 10.0,
        }
    }
}

/// The firehose consumer of this instance.
#[derive(Debug, Clone)]
pub struct ConsumerRead {
    pub endpoint: String,
    pub connected: bool,
    pub cursor: Option<i64>,
    pub cursor_moved_at: Option<DateTime<Utc>>,
    pub gaps: u64,
    pub lock_losses: u64,
    pub reconnects: u64,
    pub lag_seconds: Option<f64>,
    /// Frames keep failing to apply: the cursor does not move and the cache falls behind.
    pub stuck: bool,
    /// Why frames fail, while they do.
    pub last_error: Option<String>,
    /// Why the last connection failed or ended, while none is open.
    pub connection_error: Option<String>,
}

/// The charts over time: one value per bucket of `series`, from its start to its end.
#[derive(Debug, Clone)]
pub struct ChartsRead {
    /// How often samples are taken; `None` when sampling is off.
    pub sample_interval: Option<Duration>,
    pub series: Series,
}

/// One person's Bluesky session as Skymeet holds it.
#[derive(Debug, Clone)]
pub struct SessionRead {
    pub user_id: i64,
    pub handle: Option<Handle>,
    /// `None` for an email account that has not connected Bluesky.
    pub did: Option<Did>,
    /// The address of an email account.
    pub email: Option<EmailAddress>,
    /// An admin stopped the account from signing in.
    pub disabled: bool,
    /// What is left of the stored credentials' lifetime; `None`: none are stored.
    pub credentials_ttl: Option<Duration>,
    /// When the access token expires.
    pub access_token_expires_at: Option<DateTime<Utc>>,
}

impl SessionRead {
    /// How long ago the credentials were last written (sign-in or refresh): each write renews their
    /// lifetime, so this is that lifetime minus what is left of it.
    pub fn refreshed_ago(&self) -> Option<Duration> {
        self.credentials_ttl.map(|ttl| CREDENTIALS_TTL.saturating_sub(ttl))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Kv(#[from] KvError),
}

/// The dashboard's data; `listed` bounds each list.
pub async fn read(state: &AppState, listed: u32) -> Result<DashboardRead, StoreError> {
    let store = &state.store;
    let consumer = match state.consumer() {
        Some(ingest) => Some(ConsumerRead {
            endpoint: ingest.endpoint().to_owned(),
            connected: ingest.connected(),
            cursor: store.firehose_cursor(ingest.endpoint()).await?,
            cursor_moved_at: store.firehose_cursor_updated_at(ingest.endpoint()).await?,
            gaps: ingest.telemetry().gaps(),
            lock_losses: ingest.telemetry().lock_losses(),
            reconnects: ingest.telemetry().reconnects(),
            lag_seconds: ingest.telemetry().lag_seconds(),
            stuck: ingest.telemetry().stuck(),
            last_error: ingest.telemetry().last_error(),
            connection_error: ingest.telemetry().connection_error(),
        }),
        None => None,
    };
    let reconciler = state.reconciler();
    let end = Utc::now();
    let samples = store
        .metric_samples_since(end - chrono::Duration::hours(CHART_HOURS))
        .await?;
    // From the oldest sample, so a young deployment's charts are not squeezed to the right.
    let start = samples.iter().map(|s| s.taken_at).min().unwrap_or(end);
    Ok(DashboardRead {
        events_by_status: store.events_by_sync_status().await?,
        rsvps: store.rsvp_count().await?,
        pending_writes_by_state: store.pending_writes_by_state().await?,
        consumer,
        dead_letters: store.dead_letters(listed).await?,
        dead_letters_total: store.dead_letter_count().await?,
        conflicts: store.recent_conflicts(listed).await?,
        reconciliations: store.reconcile_reports(listed).await?,
        reconciling: reconciler.as_ref().is_some_and(|r| r.is_running()),
        reconcile_progress: reconciler.as_ref().and_then(|r| r.progress()),
        import: match state.importer() {
            Some(importer) => Some(ImportRead {
                relay: importer.relay().to_string(),
                progress: store.import_progress().await?,
                running: importer.is_running(),
            }),
            None => None,
        },
        charts: ChartsRead {
            sample_interval: state.config.metrics_sample_interval,
            series: series(&samples, start, end, CHART_BUCKETS),
        },
    })
}

/// Everyone who can sign in (at most [`SESSIONS_LISTED`]), and their Bluesky credentials.
pub async fn sessions(state: &AppState) -> Result<Vec<SessionRead>, DashboardError> {
    let accounts = state.store.accounts(SESSIONS_LISTED).await?;
    let mut sessions = Vec::with_capacity(accounts.len());
    for (user, email) in accounts {
        let credentials_ttl = state.kv.ttl(&credentials_key(user.id)).await?;
        let access_token_expires_at = match (state.auth(), credentials_ttl) {
            (Some(auth), Some(_)) => match auth.credentials().access_token_expiry(user.id).await {
                Ok(expiry) => expiry,
                Err(e) => {
                    tracing::warn!(error = %Chain(&e), user_id = user.id, "stored credentials do not open");
                    None
                }
            },
            _ => None,
        };
        sessions.push(SessionRead {
            user_id: user.id,
            handle: user.handle,
            did: user.did,
            email,
            disabled: user.disabled_at.is_some(),
            credentials_ttl,
            access_token_expires_at,
        });
    }
    Ok(sessions)
}
