//! Imports of what the network holds: the repos a relay listed, each one's state, and where the
//! listing stands, written as they go so that an import resumes after a restart.

use super::{with_pool, Store, StoreError};
use crate::domain::Did;
use chrono::{DateTime, Utc};

/// One import.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct NetworkImport {
    pub id: i64,
    pub relay: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The collection being listed, until all are (`None` after).
    pub listing: Option<String>,
    /// The relay's cursor in that collection.
    pub cursor: Option<String>,
}

/// How an import stands.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportProgress {
    pub import: NetworkImport,
    /// Repos the relay listed.
    pub found: i64,
    pub done: i64,
    pub failed: i64,
    /// Records the done repos added or changed.
    pub records: i64,
    /// The latest failures: the repo and why (a few only).
    pub failures: Vec<(String, Option<String>)>,
}

/// How many failures the progress names.
const FAILURES_SHOWN: i64 = 10;

const IMPORT_COLUMNS: &str = "id, relay, started_at, finished_at, listing, cursor";

impl Store {
    /// Begins an import from `relay`, listing `first` first.
    pub async fn start_import(
        &self,
        relay: &str,
        first: &str,
        now: DateTime<Utc>,
    ) -> Result<NetworkImport, StoreError> {
        let sql = format!(
            "insert into network_import (relay, started_at, listing) values ($1, $2, $3) returning {IMPORT_COLUMNS}"
        );
        Ok(with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(relay)
            .bind(now)
            .bind(first)
            .fetch_one(pool)
            .await)?)
    }

    /// The latest import, finished or not.
    pub async fn latest_import(&self) -> Result<Option<NetworkImport>, StoreError> {
        let sql = format!("select {IMPORT_COLUMNS} from network_import order by id desc limit 1");
        Ok(with_pool!(self, |pool| sqlx::query_as(&sql)
            .fetch_optional(pool)
            .await)?)
    }

    /// Writes down one page of the relay's listing: its repos (each once per import) and where
    /// the listing goes on (`listing` `None`: it is done), in one transaction.
    pub async fn import_listed(
        &self,
        id: i64,
        dids: &[Did],
        listing: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.begin_writing()).await?;
            for did in dids {
                sqlx::query("insert into import_repo (import_id, did) values ($1, $2) on conflict do nothing")
                    .bind(id)
                    .bind(did.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("update network_import set listing = $2, cursor = $3 where id = $1")
                .bind(id)
                .bind(listing)
                .bind(cursor)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await)?;
        Ok(())
    }

    /// Up to `limit` repos still to read, those tried least first.
    pub async fn queued_repos(&self, id: i64, limit: i64) -> Result<Vec<(String, i32)>, StoreError> {
        Ok(with_pool!(self, |pool| sqlx::query_as(
            "select did, attempts from import_repo where import_id = $1 and state = 'queued'
             order by attempts, did limit $2"
        )
        .bind(id)
        .bind(limit)
        .fetch_all(pool)
        .await)?)
    }

    /// A repo read: it added or changed `records` records.
    pub async fn repo_imported(&self, id: i64, did: &str, records: i64) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "update import_repo set state = 'done', attempts = attempts + 1, records = $3, last_error = null
             where import_id = $1 and did = $2"
        )
        .bind(id)
        .bind(did)
        .bind(records)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// A repo that could not be read: queued again for later, or, after its last attempt, failed.
    pub async fn repo_failed(&self, id: i64, did: &str, error: &str, last_attempt: bool) -> Result<(), StoreError> {
        let state = if last_attempt { "failed" } else { "queued" };
        with_pool!(self, |pool| sqlx::query(
            "update import_repo set state = $3, attempts = attempts + 1, last_error = $4
             where import_id = $1 and did = $2"
        )
        .bind(id)
        .bind(did)
        .bind(state)
        .bind(error)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Queues the failed repos of import `id` again, and reopens it; how many.
    pub async fn retry_failed_repos(&self, id: i64) -> Result<u64, StoreError> {
        with_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.begin_writing()).await?;
            let queued = sqlx::query(
                "update import_repo set state = 'queued', attempts = 0 where import_id = $1 and state = 'failed'",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if queued > 0 {
                sqlx::query("update network_import set finished_at = null where id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await.map(|()| queued)
        }
        .await)
        .map_err(Into::into)
    }

    pub async fn finish_import(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "update network_import set finished_at = $2 where id = $1"
        )
        .bind(id)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// How the latest import stands; `None` before the first.
    pub async fn import_progress(&self) -> Result<Option<ImportProgress>, StoreError> {
        let Some(import) = self.latest_import().await? else {
            return Ok(None);
        };
        let (found, done, failed, records): (i64, i64, i64, i64) = with_pool!(self, |pool| sqlx::query_as(
            // PostgreSQL sums a bigint column as numeric: each sum is cast back.
            "select count(*),
                    cast(coalesce(sum(case when state = 'done' then 1 else 0 end), 0) as bigint),
                    cast(coalesce(sum(case when state = 'failed' then 1 else 0 end), 0) as bigint),
                    cast(coalesce(sum(records), 0) as bigint)
             from import_repo where import_id = $1"
        )
        .bind(import.id)
        .fetch_one(pool)
        .await)?;
        let failures: Vec<(String, Option<String>)> = with_pool!(self, |pool| sqlx::query_as(
            "select did, last_error from import_repo where import_id = $1 and state = 'failed'
             order by did limit $2"
        )
        .bind(import.id)
        .bind(FAILURES_SHOWN)
        .fetch_all(pool)
        .await)?;
        Ok(Some(ImportProgress {
            import,
            found,
            done,
            failed,
            records,
            failures,
        }))
    }
}
