//! What the admin dashboard reads and changes: counts by sync status, dead letters and
//! reconciliation reports.

use super::{with_pool, Store, StoreError};
use crate::domain::EmailAddress;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

/// A frame or record the consumer could not decode or apply.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub id: i64,
    pub endpoint: String,
    pub seq: Option<i64>,
    pub error: String,
    /// The frame's bytes, for frames that did not decode.
    pub raw: Option<Vec<u8>>,
    /// The record, for records that did not apply.
    pub record: Option<Value>,
    /// The record's at-uri, when it carries one.
    pub uri: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct DeadLetterRow {
    id: i64,
    endpoint: String,
    seq: Option<i64>,
    error: String,
    raw: Option<Vec<u8>>,
    record: Option<Json<Value>>,
    uri: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<DeadLetterRow> for DeadLetter {
    fn from(row: DeadLetterRow) -> Self {
        Self {
            id: row.id,
            endpoint: row.endpoint,
            seq: row.seq,
            error: row.error,
            raw: row.raw,
            record: row.record.map(|json| json.0),
            uri: row.uri,
            created_at: row.created_at,
        }
    }
}

/// Why a reconciliation ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconcileTrigger {
    Periodic,
    Admin,
}

impl ReconcileTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Periodic => "periodic",
            Self::Admin => "admin",
        }
    }
}

/// What one reconciliation run found (and repaired).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReconcileCounts {
    pub repos: i64,
    /// On a PDS, not cached: added.
    pub missing: i64,
    /// Cached with another CID than the PDS holds: updated.
    pub stale: i64,
    /// Cached but gone from the PDS: removed.
    pub deleted: i64,
    /// Written here but not accepted by a PDS yet: left to the pending-write worker.
    pub unpublished: i64,
    /// One line per repo that could not be compared.
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReconcileReport {
    pub id: i64,
    pub trigger: String,
    pub started_at: DateTime<Utc>,
    /// `None` while it runs.
    pub finished_at: Option<DateTime<Utc>>,
    pub counts: ReconcileCounts,
}

#[derive(sqlx::FromRow)]
struct ReportRow {
    id: i64,
    trigger: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    repos: i32,
    missing: i32,
    stale: i32,
    deleted: i32,
    unpublished: i32,
    errors: Json<Vec<String>>,
}

impl From<ReportRow> for ReconcileReport {
    fn from(row: ReportRow) -> Self {
        Self {
            id: row.id,
            trigger: row.trigger,
            started_at: row.started_at,
            finished_at: row.finished_at,
            counts: ReconcileCounts {
                repos: row.repos.into(),
                missing: row.missing.into(),
                stale: row.stale.into(),
                deleted: row.deleted.into(),
                unpublished: row.unpublished.into(),
                errors: row.errors.0,
            },
        }
    }
}

const DEAD_LETTER_COLUMNS: &str = "id, endpoint, seq, error, raw, record, uri, created_at";
const REPORT_COLUMNS: &str =
    "id, trigger, started_at, finished_at, repos, missing, stale, deleted, unpublished, errors";

/// Saturates instead of wrapping: a count too large for the column is still "very many".
fn count(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

impl Store {
    /// How many events are in each sync status (`in_sync`, `pending`, ...).
    pub async fn events_by_sync_status(&self) -> Result<Vec<(crate::domain::SyncStatus, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = with_pool!(self, |pool| sqlx::query_as(
            "select sync_status, count(*) from event group by sync_status order by sync_status"
        )
        .fetch_all(pool)
        .await)?;
        named_counts(rows)
    }

    /// How many pending writes are in each state (`pending`, `failed`, `conflict`).
    pub async fn pending_writes_by_state(&self) -> Result<Vec<(crate::domain::WriteState, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = with_pool!(self, |pool| sqlx::query_as(
            "select state, count(*) from pending_write group by state order by state"
        )
        .fetch_all(pool)
        .await)?;
        named_counts(rows)
    }

    /// How many RSVPs the cache holds.
    pub async fn rsvp_count(&self) -> Result<i64, StoreError> {
        let (count,): (i64,) = with_pool!(self, |pool| sqlx::query_as("select count(*) from rsvp")
            .fetch_one(pool)
            .await)?;
        Ok(count)
    }

    /// The newest dead letters first.
    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>, StoreError> {
        let sql = format!("select {DEAD_LETTER_COLUMNS} from dead_letter order by id desc limit $1");
        let rows: Vec<DeadLetterRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(DeadLetter::from).collect())
    }

    pub async fn dead_letter_by_id(&self, id: i64) -> Result<Option<DeadLetter>, StoreError> {
        let sql = format!("select {DEAD_LETTER_COLUMNS} from dead_letter where id = $1");
        let row: Option<DeadLetterRow> =
            with_pool!(self, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(row.map(DeadLetter::from))
    }

    /// Forgets a dead letter (discarded, or replayed); `false` when there was none.
    pub async fn delete_dead_letter(&self, id: i64) -> Result<bool, StoreError> {
        let deleted = with_pool!(self, |pool| sqlx::query("delete from dead_letter where id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(deleted > 0)
    }

    /// Records that a reconciliation started; its id, for [`Store::finish_reconcile_report`].
    pub async fn start_reconcile_report(
        &self,
        trigger: ReconcileTrigger,
        started_at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let (id,): (i64,) = with_pool!(self, |pool| sqlx::query_as(
            "insert into reconcile_report (trigger, started_at) values ($1, $2) returning id"
        )
        .bind(trigger.as_str())
        .bind(started_at)
        .fetch_one(pool)
        .await)?;
        Ok(id)
    }

    pub async fn finish_reconcile_report(
        &self,
        id: i64,
        counts: &ReconcileCounts,
        finished_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "update reconcile_report set finished_at = $2, repos = $3, missing = $4, stale = $5, deleted = $6,
                 unpublished = $7, errors = $8
             where id = $1"
        )
        .bind(id)
        .bind(finished_at)
        .bind(count(counts.repos))
        .bind(count(counts.missing))
        .bind(count(counts.stale))
        .bind(count(counts.deleted))
        .bind(count(counts.unpublished))
        .bind(Json(&counts.errors))
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// The newest reconciliation reports first.
    pub async fn reconcile_reports(&self, limit: u32) -> Result<Vec<ReconcileReport>, StoreError> {
        let sql = format!("select {REPORT_COLUMNS} from reconcile_report order by id desc limit $1");
        let rows: Vec<ReportRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(ReconcileReport::from).collect())
    }

    pub async fn reconcile_report(&self, id: i64) -> Result<Option<ReconcileReport>, StoreError> {
        let sql = format!("select {REPORT_COLUMNS} from reconcile_report where id = $1");
        let row: Option<ReportRow> = with_pool!(self, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(row.map(ReconcileReport::from))
    }

    /// Creates written here that no PDS has accepted yet.
    pub async fn unpublished_count(&self) -> Result<i64, StoreError> {
        let (count,): (i64,) = with_pool!(self, |pool| sqlx::query_as(
            "select count(*) from pending_write where operation = 'create'"
        )
        .fetch_one(pool)
        .await)?;
        Ok(count)
    }

    /// The DIDs to reconcile: everyone with calendar records in the cache, and everyone who
    /// signed in (their records may have been missed altogether).
    pub async fn known_calendar_dids(&self, limit: u32) -> Result<Vec<crate::domain::Did>, StoreError> {
        let rows: Vec<(String,)> = with_pool!(self, |pool| sqlx::query_as(
            "select did from app_user
             where did is not null and provider = 'bluesky'
               and (not shadow
                    or id in (select owner_id from event where owner_id is not null)
                    or id in (select owner_id from rsvp))
             order by id
             limit $1"
        )
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await)?;
        Ok(rows
            .into_iter()
            .filter_map(|(did,)| crate::domain::Did::parse(&did).ok())
            .collect())
    }

    /// People who can sign in, newest first: those who signed in with Bluesky (not shadow users)
    /// and those with an email account, each with that address.
    pub async fn accounts(&self, limit: u32) -> Result<Vec<(super::User, Option<EmailAddress>)>, StoreError> {
        let rows: Vec<(i64, Option<String>)> = with_pool!(self, |pool| sqlx::query_as(
            "select app_user.id, local_login.email from app_user
             left join local_login on local_login.user_id = app_user.id
             where (app_user.provider = 'bluesky' and not app_user.shadow) or local_login.user_id is not null
             order by app_user.id desc limit $1"
        )
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await)?;
        let mut accounts = Vec::with_capacity(rows.len());
        for (id, email) in rows {
            let email = email
                .map(|email| EmailAddress::parse(&email))
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("local_login {id}: {e}")))?;
            if let Some(user) = self.user_by_id(id).await? {
                accounts.push((user, email));
            }
        }
        Ok(accounts)
    }

    /// Stops `user_id` from signing in and ends their sessions, or lets them in again; `false`
    /// when there is no such person.
    pub async fn set_disabled(&self, user_id: i64, disabled: bool) -> Result<bool, StoreError> {
        let changed = with_pool!(self, |pool| sqlx::query(
            "update app_user set
                 disabled_at = case when $2 then coalesce(disabled_at, $3) else null end,
                 session_generation = session_generation + case when $2 then 1 else 0 end
             where id = $1"
        )
        .bind(user_id)
        .bind(disabled)
        .bind(chrono::Utc::now())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        self.changed();
        Ok(changed > 0)
    }
}

/// Counts per stored name, each name parsed into what it names.
fn named_counts<K>(rows: Vec<(String, i64)>) -> Result<Vec<(K, i64)>, StoreError>
where
    K: std::str::FromStr,
    K::Err: std::fmt::Display,
{
    rows.into_iter()
        .map(|(name, count)| {
            name.parse()
                .map(|key| (key, count))
                .map_err(|e| StoreError::Corrupt(format!("{name:?}: {e}")))
        })
        .collect()
}
