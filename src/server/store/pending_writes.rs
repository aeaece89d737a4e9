use super::{with_pool, Store, StoreError};
use crate::domain::{Collection, Rkey, TimeZoneName};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use std::fmt;

pub use crate::domain::{WriteOperation, WriteState};

/// A write to queue (or to replace the queued write for the same record with).
#[derive(Debug, Clone)]
pub struct NewPendingWrite {
    pub owner_id: i64,
    pub event_id: Option<i64>,
    pub operation: WriteOperation,
    pub collection: Collection,
    pub rkey: Rkey,
    pub record: Option<Value>,
    pub swap_cid: Option<String>,
    pub time_zone: TimeZoneName,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PendingWrite {
    pub id: i64,
    pub owner_id: i64,
    pub event_id: Option<i64>,
    pub operation: WriteOperation,
    pub collection: Collection,
    pub rkey: Rkey,
    pub record: Option<Value>,
    pub swap_cid: Option<String>,
    pub time_zone: TimeZoneName,
    pub state: WriteState,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct PendingWriteRow {
    id: i64,
    owner_id: i64,
    event_id: Option<i64>,
    operation: String,
    collection: String,
    rkey: String,
    record: Option<Json<Value>>,
    swap_cid: Option<String>,
    time_zone: String,
    state: String,
    attempts: i32,
    last_error: Option<String>,
    next_attempt_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl PendingWrite {
    /// An answer (RSVP) to an event, rather than an event.
    pub fn is_rsvp(&self) -> bool {
        self.collection == Collection::Rsvp
    }
}

impl TryFrom<PendingWriteRow> for PendingWrite {
    type Error = StoreError;
    fn try_from(row: PendingWriteRow) -> Result<Self, Self::Error> {
        let corrupt = |e: &dyn fmt::Display| StoreError::Corrupt(format!("pending_write {}: {e}", row.id));
        Ok(Self {
            id: row.id,
            owner_id: row.owner_id,
            event_id: row.event_id,
            operation: row.operation.parse().map_err(|e| corrupt(&e))?,
            collection: Collection::from_nsid(&row.collection)
                .ok_or_else(|| corrupt(&format!("{:?} is no calendar collection", row.collection)))?,
            rkey: Rkey::parse(&row.rkey).map_err(|e| corrupt(&e))?,
            record: row.record.map(|json| json.0),
            swap_cid: row.swap_cid,
            time_zone: TimeZoneName::parse(&row.time_zone).map_err(|e| corrupt(&e))?,
            state: row.state.parse().map_err(|e| corrupt(&e))?,
            attempts: row.attempts,
            last_error: row.last_error,
            next_attempt_at: row.next_attempt_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

const PENDING_WRITE_COLUMNS: &str = "id, owner_id, event_id, operation, collection, rkey, record, swap_cid, \
     time_zone, state, attempts, last_error, next_attempt_at, created_at, updated_at";

impl Store {
    /// Queues a write, due at `due`. A write already queued for the same record is replaced (the
    /// newest intent wins) and its attempts start over.
    ///
    /// Its commit does not wait for the disk ([`Store::begin_replayable`]): the PDS is asked
    /// meanwhile, and then either the PDS holds the write, or the failure is recorded by a commit
    /// that does wait, which makes this one durable as well (PostgreSQL writes its log in order).
    /// Only a crash of the database itself in those few milliseconds can take the write back,
    /// before anyone was told it was kept.
    #[tracing::instrument(skip_all, fields(rkey = %write.rkey, operation = %write.operation), err)]
    pub async fn save_pending_write(
        &self,
        write: &NewPendingWrite,
        due: DateTime<Utc>,
    ) -> Result<PendingWrite, StoreError> {
        let sql = format!(
            "insert into pending_write (owner_id, event_id, operation, collection, rkey, record, swap_cid, time_zone,
                 state, attempts, next_attempt_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9)
             on conflict (owner_id, collection, rkey) do update set
                 event_id = excluded.event_id, operation = excluded.operation, record = excluded.record,
                 swap_cid = excluded.swap_cid, time_zone = excluded.time_zone, state = 'pending', attempts = 0,
                 last_error = null, next_attempt_at = excluded.next_attempt_at
             returning {PENDING_WRITE_COLUMNS}"
        );
        let row: PendingWriteRow = with_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.begin_replayable()).await?;
            let row = sqlx::query_as(&sql)
                .bind(write.owner_id)
                .bind(write.event_id)
                .bind(write.operation.as_str())
                .bind(write.collection.nsid())
                .bind(write.rkey.as_str())
                .bind(write.record.as_ref().map(Json))
                .bind(&write.swap_cid)
                .bind(write.time_zone.as_str())
                .bind(due)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await.map(|()| row)
        }
        .await)?;
        row.try_into()
    }

    pub async fn pending_write_by_id(&self, id: i64) -> Result<Option<PendingWrite>, StoreError> {
        let sql = format!("select {PENDING_WRITE_COLUMNS} from pending_write where id = $1");
        let row: Option<PendingWriteRow> =
            with_pool!(self, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        row.map(PendingWrite::try_from).transpose()
    }

    /// The queued write for one record, if any.
    pub async fn pending_write_for_record(
        &self,
        owner_id: i64,
        collection: Collection,
        rkey: &Rkey,
    ) -> Result<Option<PendingWrite>, StoreError> {
        let sql = format!(
            "select {PENDING_WRITE_COLUMNS} from pending_write
             where owner_id = $1 and collection = $2 and rkey = $3"
        );
        let row: Option<PendingWriteRow> = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(owner_id)
                .bind(collection.nsid())
                .bind(rkey.as_str())
                .fetch_optional(pool)
                .await
        })?;
        row.map(PendingWrite::try_from).transpose()
    }

    /// The newest queued write of one collection about one event (an owner's answer to it).
    pub async fn pending_write_for_event(
        &self,
        owner_id: i64,
        collection: Collection,
        event_id: i64,
    ) -> Result<Option<PendingWrite>, StoreError> {
        let sql = format!(
            "select {PENDING_WRITE_COLUMNS} from pending_write
             where owner_id = $1 and collection = $2 and event_id = $3
             order by id desc limit 1"
        );
        let row: Option<PendingWriteRow> = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(owner_id)
                .bind(collection.nsid())
                .bind(event_id)
                .fetch_optional(pool)
                .await
        })?;
        row.map(PendingWrite::try_from).transpose()
    }

    /// An owner's queued writes, oldest first, at most [`super::LISTED`].
    pub async fn pending_writes_for_owner(&self, owner_id: i64) -> Result<Vec<PendingWrite>, StoreError> {
        let sql = format!("select {PENDING_WRITE_COLUMNS} from pending_write where owner_id = $1 order by id limit $2");
        let rows: Vec<PendingWriteRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(owner_id)
            .bind(super::LISTED)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(PendingWrite::try_from).collect()
    }

    /// Claims up to `limit` pending writes that are due: each one's next attempt moves to
    /// `lease_until`, so another instance's worker skips it while this one tries. A claim is a
    /// compare-and-set on `next_attempt_at`, so two workers never claim the same write.
    pub async fn claim_due_pending_writes(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingWrite>, StoreError> {
        let sql = format!(
            "select {PENDING_WRITE_COLUMNS} from pending_write
             where state = 'pending' and next_attempt_at <= $1
             order by next_attempt_at, id
             limit $2"
        );
        let due: Vec<PendingWriteRow> = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })?;
        let mut claimed = Vec::with_capacity(due.len());
        for row in due {
            let taken = with_pool!(self, |pool| {
                sqlx::query(
                    "update pending_write set next_attempt_at = $3
                     where id = $1 and state = 'pending' and next_attempt_at = $2",
                )
                .bind(row.id)
                .bind(row.next_attempt_at)
                .bind(lease_until)
                .execute(pool)
                .await
                .map(|result| result.rows_affected() == 1)
            })?;
            if taken {
                claimed.push(PendingWrite::try_from(row)?);
            }
        }
        Ok(claimed)
    }

    /// Records a failed attempt: the error, the new state, and when to try next.
    pub async fn pending_write_failed(
        &self,
        id: i64,
        state: WriteState,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "update pending_write set state = $2, last_error = $3, next_attempt_at = $4, attempts = attempts + 1
                 where id = $1",
            )
            .bind(id)
            .bind(state.as_str())
            .bind(error)
            .bind(next_attempt_at)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Makes a write due now again ("retry now").
    pub async fn retry_pending_write(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let affected = with_pool!(self, |pool| {
            sqlx::query("update pending_write set state = 'pending', next_attempt_at = $2 where id = $1")
                .bind(id)
                .bind(now)
                .execute(pool)
                .await
                .map(|result| result.rows_affected())
        })?;
        Ok(affected > 0)
    }

    /// Deletes a pending write (settled elsewhere, or discarded); `false` when there was none.
    pub async fn delete_pending_write(&self, id: i64) -> Result<bool, StoreError> {
        let affected = with_pool!(self, |pool| {
            sqlx::query("delete from pending_write where id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map(|result| result.rows_affected())
        })?;
        Ok(affected > 0)
    }
}
