//! Conflicts between a write of ours and what the PDS held, kept with their decision.

use super::{with_pool, PendingWrite, Store, StoreError};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

pub use crate::domain::Decision;

#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub id: i64,
    pub owner_id: i64,
    pub event_id: Option<i64>,
    pub collection: String,
    pub rkey: String,
    pub ours: Option<Value>,
    pub theirs: Option<Value>,
    pub theirs_cid: Option<String>,
    /// `None` while open.
    pub decision: Option<Decision>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ConflictRow {
    id: i64,
    owner_id: i64,
    event_id: Option<i64>,
    collection: String,
    rkey: String,
    ours: Option<Json<Value>>,
    theirs: Option<Json<Value>>,
    theirs_cid: Option<String>,
    decision: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl TryFrom<ConflictRow> for Conflict {
    type Error = StoreError;
    fn try_from(row: ConflictRow) -> Result<Self, Self::Error> {
        let decision = match row.decision {
            Some(name) => Some(
                name.parse()
                    .map_err(|e| StoreError::Corrupt(format!("sync_conflict {}: {e}", row.id)))?,
            ),
            None => None,
        };
        Ok(Self {
            id: row.id,
            owner_id: row.owner_id,
            event_id: row.event_id,
            collection: row.collection,
            rkey: row.rkey,
            ours: row.ours.map(|json| json.0),
            theirs: row.theirs.map(|json| json.0),
            theirs_cid: row.theirs_cid,
            decision,
            decided_at: row.decided_at,
            created_at: row.created_at,
        })
    }
}

const CONFLICT_COLUMNS: &str =
    "id, owner_id, event_id, collection, rkey, ours, theirs, theirs_cid, decision, decided_at, created_at";

impl Store {
    /// Records that `write` met another version on the PDS (`theirs`, when it could be read).
    pub async fn add_conflict(
        &self,
        write: &PendingWrite,
        theirs: Option<&Value>,
        theirs_cid: Option<&str>,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "insert into sync_conflict (owner_id, event_id, collection, rkey, ours, theirs, theirs_cid)
             values ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(write.owner_id)
        .bind(write.event_id)
        .bind(write.collection.nsid())
        .bind(write.rkey.as_str())
        .bind(write.record.as_ref().map(Json))
        .bind(theirs.map(Json))
        .bind(theirs_cid)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Settles the open conflicts of one record.
    pub async fn decide_conflicts(
        &self,
        write: &PendingWrite,
        decision: Decision,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(with_pool!(self, |pool| sqlx::query(
            "update sync_conflict set decision = $4, decided_at = $5
             where owner_id = $1 and collection = $2 and rkey = $3 and decision is null"
        )
        .bind(write.owner_id)
        .bind(write.collection.nsid())
        .bind(write.rkey.as_str())
        .bind(decision.as_str())
        .bind(at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
    }

    /// An event's conflicts, newest first.
    pub async fn conflicts_of_event(&self, event_id: i64) -> Result<Vec<Conflict>, StoreError> {
        let sql = format!("select {CONFLICT_COLUMNS} from sync_conflict where event_id = $1 order by id desc");
        let rows: Vec<ConflictRow> =
            with_pool!(self, |pool| sqlx::query_as(&sql).bind(event_id).fetch_all(pool).await)?;
        rows.into_iter().map(Conflict::try_from).collect()
    }

    /// The newest conflicts of everyone, for the admin dashboard.
    pub async fn recent_conflicts(&self, limit: u32) -> Result<Vec<Conflict>, StoreError> {
        let sql = format!("select {CONFLICT_COLUMNS} from sync_conflict order by id desc limit $1");
        let rows: Vec<ConflictRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(Conflict::try_from).collect()
    }

    /// Points a queued write at the version the PDS holds now (to write ours over it).
    pub async fn set_pending_write_swap(&self, id: i64, swap_cid: Option<&str>) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "update pending_write set swap_cid = $2, state = 'pending' where id = $1"
        )
        .bind(id)
        .bind(swap_cid)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }
}
