//! What the firehose consumer writes: calendar records from anyone, shadow users, its cursor and
//! its dead letters. Each frame's changes and the cursor that covers them commit together.

use super::NewRsvp;
use super::{buried, bury, with_pool, Event, EventRow, NewEvent, Store, StoreError, EVENT_COLUMNS};
use crate::domain::{Collection, Did, Handle, Rev, Slug, SyncStatus};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use std::collections::{HashMap, HashSet};

/// One change a frame makes to the cache, with the repo revision that made it (none when a
/// backfill read the repo as it is now).
#[derive(Debug, Clone)]
pub enum RecordChange {
    /// A created or updated event.
    Upsert {
        event: Box<NewEvent>,
        rev: Option<Rev>,
    },
    Delete {
        at_uri: String,
        rev: Option<Rev>,
    },
    /// A created or updated RSVP, kept whether or not its event is known.
    UpsertRsvp {
        rsvp: Box<NewRsvp>,
        rev: Option<Rev>,
    },
    DeleteRsvp {
        at_uri: String,
        rev: Option<Rev>,
    },
}

impl RecordChange {
    /// The record's at-uri.
    pub fn at_uri(&self) -> &str {
        match self {
            Self::Upsert { event, .. } => event.source.at_uri.as_deref().unwrap_or_default(),
            Self::UpsertRsvp { rsvp, .. } => &rsvp.at_uri,
            Self::Delete { at_uri, .. } | Self::DeleteRsvp { at_uri, .. } => at_uri,
        }
    }

    /// The record as written, for a change that writes one.
    pub fn record(&self) -> Option<&Value> {
        match self {
            Self::Upsert { event, .. } => event.record.as_ref(),
            Self::UpsertRsvp { rsvp, .. } => Some(&rsvp.record),
            Self::Delete { .. } | Self::DeleteRsvp { .. } => None,
        }
    }

    /// The collection the record belongs to.
    pub fn collection(&self) -> Collection {
        match self {
            Self::Upsert { .. } | Self::Delete { .. } => Collection::Event,
            Self::UpsertRsvp { .. } | Self::DeleteRsvp { .. } => Collection::Rsvp,
        }
    }
}

/// What applying a change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Inserted,
    Updated,
    /// Our own write coming back (same CID), or an older revision than the one we hold or than
    /// the delete that removed the record: nothing to change.
    Unchanged,
    Deleted,
    /// A delete of a record we never had.
    Absent,
    /// The database refused this change (the reason says why); the frame's other changes and its
    /// cursor were applied without it. The caller dead-letters the record.
    Refused(String),
}

/// Whether a database error is about the record being written (a constraint it breaks, a value
/// the engine cannot hold) rather than the database itself failing: only the first kind may be
/// set aside as a dead letter; the second must stop and be retried.
fn refuses_record(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(error) = error else {
        return false;
    };
    if !matches!(error.kind(), sqlx::error::ErrorKind::Other) {
        return true; // unique, foreign key, not-null or check violation
    }
    let code = error.code().unwrap_or_default();
    if error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() {
        // SQLSTATE class 22: data exception (a NUL, a number or time out of range, bad text);
        // class 54: a program limit (an index row too big).
        code.starts_with("22") || code.starts_with("54")
    } else {
        // SQLite's primary result codes: TOOBIG, CONSTRAINT, MISMATCH, RANGE.
        code.parse::<i32>()
            .is_ok_and(|code| matches!(code & 0xff, 18 | 19 | 20 | 25))
    }
}

/// The reason a refused change is dead-lettered with.
fn refusal(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(error) => format!("the database refused it: {}", error.message()),
        other => format!("the database refused it: {other}"),
    }
}

#[derive(sqlx::FromRow)]
struct Existing {
    id: i64,
    cid: Option<String>,
    rev: Option<String>,
}

/// What the cache holds of one event record before a change to it: the revision it was deleted
/// at (if it was) and its row (if there is one). One query, as the firehose asks for every record.
#[derive(sqlx::FromRow)]
struct Held {
    deleted: Option<String>,
    id: Option<i64>,
    cid: Option<String>,
    rev: Option<String>,
}

impl Held {
    const QUERY: &'static str = "select t.rev as deleted, e.id, e.cid, e.rev from (select 1) as one
                                 left join tombstone t on t.at_uri = $1
                                 left join event e on e.at_uri = $1";

    fn row(self) -> Option<Existing> {
        Some(Existing {
            id: self.id?,
            cid: self.cid,
            rev: self.rev,
        })
    }
}

/// The most at-uris looked up in one statement (three binds each: event, RSVP and tombstone).
const LOOKUP_AT_ONCE: usize = 1_000;
/// The most rows inserted by one statement: at most 23 binds a row, 11,500 in all, under
/// SQLite's limit of 32,766 binds a statement and PostgreSQL's 65,535.
const INSERT_AT_ONCE: usize = 500;

/// Inserts new event rows, `(event, revision)`, as many to a statement as [`INSERT_AT_ONCE`]: one
/// statement (one round trip, one plan) for a batch's new events rather than one each. Each
/// statement ends with `$then` (an `on conflict` clause, or nothing); the number of rows written.
macro_rules! insert_events {
    ($tx:ident, $events:expr, $now:expr, $then:expr) => {{
        let events: &[(&NewEvent, Option<&str>)] = $events;
        let now: DateTime<Utc> = $now;
        let mut written = 0_u64;
        for chunk in events.chunks(INSERT_AT_ONCE) {
            let mut insert = sqlx::QueryBuilder::new(
                "insert into event (owner_id, name, description, starts_at, ends_at, time_zone, source_type,
                     source_id, source_url, source_data, last_synced_at, at_uri, rkey, cid, sync_status, record,
                     rev, slug, mode, status, place, latitude, longitude) ",
            );
            insert.push_values(chunk, |mut row, &(event, rev)| {
                row.push_bind(event.owner_id)
                    .push_bind(&event.name)
                    .push_bind(&event.description)
                    .push_bind(event.starts_at)
                    .push_bind(event.ends_at)
                    .push_bind(event.time_zone.as_str())
                    .push_bind(event.source.source_type.as_str())
                    .push_bind(&event.source.source_id)
                    .push_bind(&event.source.source_url)
                    .push_bind(Json(&event.source.source_data))
                    .push_bind(now)
                    .push_bind(event.source.at_uri.as_deref().unwrap_or_default())
                    .push_bind(&event.source.rkey)
                    .push_bind(&event.source.cid)
                    .push_bind(SyncStatus::InSync.as_str())
                    .push_bind(event.record.as_ref().map(Json))
                    .push_bind(rev)
                    .push_bind(Slug::words_of(&event.name))
                    .push_bind(event.findable.mode.name())
                    .push_bind(event.findable.status.name())
                    .push_bind(&event.findable.place)
                    .push_bind(event.findable.latitude())
                    .push_bind(event.findable.longitude());
            });
            insert.push($then);
            written += insert.build().execute(&mut *$tx).await?.rows_affected();
        }
        written
    }};
}

/// Inserts RSVP rows, `(rsvp, revision)`, as many to a statement as [`INSERT_AT_ONCE`], each
/// statement ending with `$then` (an `on conflict` clause, or nothing); the number of rows
/// written.
macro_rules! insert_rsvps {
    ($tx:ident, $rsvps:expr, $then:expr) => {{
        let rsvps: &[(&NewRsvp, Option<&Rev>)] = $rsvps;
        let mut written = 0_u64;
        for chunk in rsvps.chunks(INSERT_AT_ONCE) {
            let mut insert = sqlx::QueryBuilder::new(
                "insert into rsvp (owner_id, at_uri, subject_uri, subject_cid, status, cid, rev, record) ",
            );
            insert.push_values(chunk, |mut row, &(rsvp, rev)| {
                row.push_bind(rsvp.owner_id)
                    .push_bind(&rsvp.at_uri)
                    .push_bind(&rsvp.subject_uri)
                    .push_bind(&rsvp.subject_cid)
                    .push_bind(rsvp.status.name())
                    .push_bind(&rsvp.cid)
                    // The column's empty text stands for "no revision".
                    .push_bind(rev.map_or("", Rev::as_str))
                    .push_bind(Json(&rsvp.record));
            });
            insert.push($then);
            written += insert.build().execute(&mut *$tx).await?.rows_affected();
        }
        written
    }};
}

impl Store {
    /// The user for a DID seen on the firehose: an existing one, or a new shadow user. Never a
    /// second user for one DID: the DID is unique and this is an upsert.
    pub async fn shadow_user(&self, did: &Did, handle: Option<&Handle>) -> Result<i64, StoreError> {
        let sql = "insert into app_user (did, handle, provider, shadow) values ($1, $2, 'bluesky', true)
                   on conflict (did) do update set handle = coalesce(app_user.handle, excluded.handle)
                   returning id";
        let id: (i64,) = with_pool!(self, |pool| sqlx::query_as(sql)
            .bind(did.as_str())
            .bind(handle.map(Handle::as_str))
            .fetch_one(pool)
            .await)?;
        self.changed();
        Ok(id.0)
    }

    /// Sets (a verified handle) or clears (a handle change not yet verified) the handle of the
    /// user with this DID; `false` when there is no such user.
    pub async fn set_handle(&self, did: &Did, handle: Option<&Handle>) -> Result<bool, StoreError> {
        let updated = with_pool!(self, |pool| sqlx::query(
            "update app_user set handle = $2 where did = $1"
        )
        .bind(did.as_str())
        .bind(handle.map(Handle::as_str))
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        self.changed();
        Ok(updated > 0)
    }

    /// Removes every cached event of an account (deleted or taken down at its PDS).
    pub async fn delete_events_of(&self, did: &Did) -> Result<u64, StoreError> {
        let deleted = with_pool!(self, |pool| sqlx::query(
            "delete from event where owner_id in (select id from app_user where did = $1)"
        )
        .bind(did.as_str())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        self.changed();
        Ok(deleted)
    }

    pub async fn firehose_cursor(&self, endpoint: &str) -> Result<Option<i64>, StoreError> {
        let row: Option<(i64,)> = with_pool!(self, |pool| sqlx::query_as(
            "select seq from firehose_cursor where endpoint = $1"
        )
        .bind(endpoint)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|r| r.0))
    }

    /// Moves the cursor alone (frames with nothing to apply).
    pub async fn set_firehose_cursor(&self, endpoint: &str, seq: i64) -> Result<(), StoreError> {
        self.apply_firehose_changes(Some((endpoint, seq)), &[])
            .await
            .map(|_| ())
    }

    /// Applies one frame's changes and moves the `(endpoint, seq)` cursor (if given), all in one
    /// transaction: after a crash either both happened or neither, and replaying the frame
    /// changes nothing. A backfill passes no cursor.
    #[tracing::instrument(skip_all, fields(cursor = ?cursor), err)]
    pub async fn apply_firehose_changes(
        &self,
        cursor: Option<(&str, i64)>,
        changes: &[RecordChange],
    ) -> Result<Vec<Applied>, StoreError> {
        let now = Utc::now();
        let update = "update event set name = $2, description = $3, starts_at = $4, ends_at = $5, source_url = $6,
                          source_data = $7, last_synced_at = $8, cid = $9, sync_status = $10, record = $11,
                          rev = $12, time_zone = $13, last_sync_error = null, sequence = sequence + 1,
                          mode = $14, status = $15, place = $16, latitude = $17, longitude = $18
                      where id = $1";
        // The news is of the version we hold: it is in sync as of this revision.
        let confirm = "update event set last_synced_at = $2, sync_status = $3, rev = $4, last_sync_error = null
                       where id = $1";
        // The news is older than the version we hold: that version is in sync still.
        let confirm_older = "update event set last_synced_at = $2, sync_status = $3 where id = $1";
        let applied = with_pool!(self, |pool| async {
            // First all at once; if the database refuses one record, again with a savepoint around
            // each, so that record alone is refused and the rest still apply.
            let mut contained = false;
            loop {
                let attempt: Result<Vec<Applied>, sqlx::Error> = async {
                    // With the cursor, a commit lost to a database crash is lost with its cursor,
                    // and the frames come again; a backfill's changes have nothing to bring
                    // them back, so they wait for the disk.
                    let begin = match cursor {
                        Some(_) => self.begin_replayable(),
                        None => self.begin_writing(),
                    };
                    let mut tx = pool.begin_with(begin).await?;
                    let done: Result<Vec<Applied>, sqlx::Error> = async {
                    // New records, most of what the firehose brings, go in together (a statement
                    // for the events and one for the RSVPs, not one each): those no other change
                    // here touches, of which the cache holds neither a row nor a tombstone. Every
                    // other change applies on its own, in order. A refused record sets this
                    // aside (`contained`).
                    let fresh: Vec<bool> = if contained {
                        vec![false; changes.len()]
                    } else {
                        let mut touched: HashMap<&str, usize> = HashMap::new();
                        for change in changes {
                            *touched.entry(change.at_uri()).or_default() += 1;
                        }
                        let alone = |change: &RecordChange| {
                            matches!(change, RecordChange::Upsert { .. } | RecordChange::UpsertRsvp { .. })
                                && touched.get(change.at_uri()) == Some(&1)
                        };
                        let candidates: Vec<&str> = changes.iter().filter(|c| alone(c)).map(RecordChange::at_uri).collect();
                        let mut held: HashSet<String> = HashSet::new();
                        for chunk in candidates.chunks(LOOKUP_AT_ONCE) {
                            let mut lookup = sqlx::QueryBuilder::new("select at_uri from event where at_uri in (");
                            let mut uris = lookup.separated(", ");
                            for uri in chunk {
                                uris.push_bind(*uri);
                            }
                            for table in ["rsvp", "tombstone"] {
                                lookup.push(format!(") union all select at_uri from {table} where at_uri in ("));
                                let mut uris = lookup.separated(", ");
                                for uri in chunk {
                                    uris.push_bind(*uri);
                                }
                            }
                            lookup.push(")");
                            let rows: Vec<(String,)> = lookup.build_query_as().fetch_all(&mut *tx).await?;
                            held.extend(rows.into_iter().map(|(uri,)| uri));
                        }
                        changes.iter().map(|c| alone(c) && !held.contains(c.at_uri())).collect()
                    };
                    let new_events: Vec<(&NewEvent, Option<&str>)> = changes
                        .iter()
                        .zip(&fresh)
                        .filter_map(|(change, &fresh)| match change {
                            RecordChange::Upsert { event, rev } if fresh => Some((event.as_ref(), rev.as_ref().map(Rev::as_str))),
                            _ => None,
                        })
                        .collect();
                    insert_events!(tx, &new_events, now, "");
                    let new_rsvps: Vec<(&NewRsvp, Option<&Rev>)> = changes
                        .iter()
                        .zip(&fresh)
                        .filter_map(|(change, &fresh)| match change {
                            RecordChange::UpsertRsvp { rsvp, rev } if fresh => Some((rsvp.as_ref(), rev.as_ref())),
                            _ => None,
                        })
                        .collect();
                    insert_rsvps!(tx, &new_rsvps, "");
                    let mut applied = Vec::with_capacity(changes.len());
                    for (change, &fresh) in changes.iter().zip(&fresh) {
                        if fresh {
                            // As the one-by-one path has it: an RSVP written is "updated".
                            applied.push(match change {
                                RecordChange::UpsertRsvp { .. } => Applied::Updated,
                                _ => Applied::Inserted,
                            });
                            continue;
                        }
                        if contained {
                            sqlx::query("savepoint record").execute(&mut *tx).await?;
                        }
                        let one: Result<Applied, sqlx::Error> = async {
                        match change {
                            RecordChange::Upsert { event, rev } => {
                                let at_uri = event.source.at_uri.as_deref().unwrap_or_default();
                                let held: Held = sqlx::query_as(Held::QUERY).bind(at_uri).fetch_one(&mut *tx).await?;
                                // As `buried!` has it: a delete at this revision or later wins; an
                                // older delete is forgotten, the record made again.
                                if let Some(deleted) = &held.deleted {
                                    if rev.as_ref().is_some_and(|rev| rev.as_str() <= deleted.as_str()) {
                                        return Ok(Applied::Unchanged);
                                    }
                                    sqlx::query("delete from tombstone where at_uri = $1")
                                        .bind(at_uri)
                                        .execute(&mut *tx)
                                        .await?;
                                }
                                let source_data = &event.source.source_data;
                                let new_rev = rev.as_ref().map(Rev::as_str);
                                let existing = match held.row() {
                                    Some(row) => Some(row),
                                    None => {
                                        let one = [(event.as_ref(), new_rev)];
                                        if insert_events!(tx, &one, now, " on conflict (at_uri) do nothing") > 0 {
                                            return Ok(Applied::Inserted);
                                        }
                                        // Another connection stored the record after the lookup
                                        // above (our own publish, whose echo this is): that row
                                        // is the one this news is about.
                                        let stored: Held = sqlx::query_as(Held::QUERY).bind(at_uri).fetch_one(&mut *tx).await?;
                                        stored.row()
                                    }
                                };
                                match existing {
                                    // Stored and removed again meanwhile: the news makes it again.
                                    None => {
                                        insert_events!(tx, &[(event.as_ref(), new_rev)], now, "");
                                        Ok(Applied::Inserted)
                                    }
                                    Some(row) => {
                                        // Revisions are TIDs, so they sort by time. A backfill has none.
                                        let older =
                                            new_rev.is_some_and(|rev| row.rev.as_deref().is_some_and(|stored| stored > rev));
                                        if row.cid == event.source.cid || older {
                                            // Our own write coming back (or a replay): confirm it is in sync.
                                            let query = match older {
                                                true => sqlx::query(confirm_older),
                                                false => sqlx::query(confirm),
                                            };
                                            let query = query.bind(row.id).bind(now).bind(SyncStatus::InSync.as_str());
                                            let query = match older {
                                                true => query,
                                                false => query.bind(new_rev),
                                            };
                                            query.execute(&mut *tx).await?;
                                            Ok(Applied::Unchanged)
                                        } else {
                                            // Changed on the PDS: the PDS wins; the organiser's zone stays.
                                            sqlx::query(update)
                                                .bind(row.id)
                                                .bind(&event.name)
                                                .bind(&event.description)
                                                .bind(event.starts_at)
                                                .bind(event.ends_at)
                                                .bind(&event.source.source_url)
                                                .bind(Json(source_data))
                                                .bind(now)
                                                .bind(&event.source.cid)
                                                .bind(SyncStatus::InSync.as_str())
                                                .bind(event.record.as_ref().map(Json))
                                                .bind(new_rev)
                                                .bind(event.time_zone.as_str())
                                                .bind(event.findable.mode.name())
                                                .bind(event.findable.status.name())
                                                .bind(&event.findable.place)
                                                .bind(event.findable.latitude())
                                                .bind(event.findable.longitude())
                                                .execute(&mut *tx)
                                                .await?;
                                            Ok(Applied::Updated)
                                        }
                                    }
                                }
                            }
                            RecordChange::UpsertRsvp { rsvp, rev } => {
                                if buried!(tx, &rsvp.at_uri, rev.as_ref()) {
                                    return Ok(Applied::Unchanged);
                                }
                                // Newest revision wins; a replay (same or older revision) changes nothing.
                                let affected = insert_rsvps!(
                                    tx,
                                    &[(rsvp.as_ref(), rev.as_ref())],
                                    " on conflict (at_uri) do update set subject_uri = excluded.subject_uri,
                                         subject_cid = excluded.subject_cid, status = excluded.status, cid = excluded.cid,
                                         rev = excluded.rev, record = excluded.record
                                     where excluded.rev = '' or rsvp.rev <= excluded.rev"
                                );
                                Ok(if affected > 0 {
                                    Applied::Updated
                                } else {
                                    Applied::Unchanged
                                })
                            }
                            RecordChange::Delete { at_uri, rev } | RecordChange::DeleteRsvp { at_uri, rev } => {
                                let delete = match change.collection() {
                                    Collection::Event => "delete from event where at_uri = $1",
                                    Collection::Rsvp => "delete from rsvp where at_uri = $1",
                                };
                                let deleted = sqlx::query(delete)
                                    .bind(at_uri)
                                    .execute(&mut *tx)
                                    .await?
                                    .rows_affected();
                                bury!(tx, at_uri, rev.as_ref(), now);
                                Ok(if deleted > 0 { Applied::Deleted } else { Applied::Absent })
                            }
                        }
                        }
                        .await;
                        match one {
                            Ok(outcome) => {
                                if contained {
                                    sqlx::query("release savepoint record").execute(&mut *tx).await?;
                                }
                                applied.push(outcome);
                            }
                            Err(error) if contained && refuses_record(&error) => {
                                sqlx::query("rollback to savepoint record").execute(&mut *tx).await?;
                                applied.push(Applied::Refused(refusal(&error)));
                            }
                            Err(error) => return Err(error),
                        }
                    }
                    if let Some((endpoint, seq)) = cursor {
                        sqlx::query(
                            "insert into firehose_cursor (endpoint, seq, updated_at) values ($1, $2, $3)
                             on conflict (endpoint) do update set seq = excluded.seq, updated_at = excluded.updated_at",
                        )
                        .bind(endpoint)
                        .bind(seq)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Ok(applied)
                    }
                    .await;
                    match done {
                        Ok(applied) => tx.commit().await.map(|()| applied),
                        Err(error) => {
                            // Now, not when the connection is next used: until then SQLite would
                            // keep the write lock and the retry could not write.
                            let _ = tx.rollback().await;
                            Err(error)
                        }
                    }
                }
                .await;
                match attempt {
                    Err(error) if !contained && refuses_record(&error) => contained = true,
                    other => break other,
                }
            }
        }
        .await)
        .map_err(StoreError::from);
        if !changes.is_empty() {
            self.changed();
        }
        applied
    }

    /// Keeps what could not be decoded or applied: one dead letter per record, the latest. Text
    /// PostgreSQL would refuse (a NUL character, often the very reason the record did not apply)
    /// is kept with U+FFFD in its place.
    pub async fn add_dead_letter(
        &self,
        endpoint: &str,
        seq: Option<i64>,
        error: &str,
        raw: Option<&[u8]>,
        record: Option<&Value>,
        uri: Option<&str>,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
            "insert into dead_letter (endpoint, seq, error, raw, record, uri) values ($1, $2, $3, $4, $5, $6)
             on conflict (uri) where uri is not null do update set endpoint = excluded.endpoint,
                 seq = excluded.seq, error = excluded.error, record = excluded.record, created_at = excluded.created_at"
        )
        .bind(endpoint)
        .bind(seq)
        .bind(storable(error).as_ref())
        .bind(raw)
        .bind(record.map(storable_json).map(Json))
        .bind(uri.map(storable).as_deref())
        .execute(pool)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// Forgets dead letters older than `max_age`, then all but the newest `max_count`: a stream of
    /// bad records must not fill the database. Returns how many went.
    pub async fn prune_dead_letters(&self, max_age: chrono::Duration, max_count: u32) -> Result<u64, StoreError> {
        let cutoff = Utc::now() - max_age;
        let pruned = with_pool!(self, |pool| async {
            let old = sqlx::query("delete from dead_letter where created_at < $1")
                .bind(cutoff)
                .execute(pool)
                .await?
                .rows_affected();
            let surplus = sqlx::query(
                "delete from dead_letter where id not in (select id from dead_letter order by id desc limit $1)",
            )
            .bind(i64::from(max_count))
            .execute(pool)
            .await?
            .rows_affected();
            Ok::<u64, sqlx::Error>(old + surplus)
        }
        .await)?;
        Ok(pruned)
    }

    /// How many dead letters there are, for tests and the dashboard.
    pub async fn dead_letter_count(&self) -> Result<i64, StoreError> {
        let row: (i64,) = with_pool!(self, |pool| sqlx::query_as("select count(*) from dead_letter")
            .fetch_one(pool)
            .await)?;
        Ok(row.0)
    }

    /// Every cached event of one owner DID: for comparing the cache with the PDS.
    pub async fn events_of(&self, did: &Did) -> Result<Vec<Event>, StoreError> {
        let sql = format!("select {EVENT_COLUMNS} from event where source_id = $1 order by id");
        let rows: Vec<EventRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(did.as_str())
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(Event::try_from).collect()
    }

    /// The DIDs whose calendar events the cache holds (at most `limit`).
    pub async fn calendar_owners(&self, limit: u32) -> Result<Vec<Did>, StoreError> {
        let rows: Vec<(String,)> = with_pool!(self, |pool| sqlx::query_as(
            "select distinct source_id from event where source_type = 'bluesky' and source_id is not null limit $1"
        )
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().filter_map(|(did,)| Did::parse(&did).ok()).collect())
    }

    /// The endpoints that have a cursor.
    pub async fn firehose_endpoints(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = with_pool!(self, |pool| sqlx::query_as("select endpoint from firehose_cursor")
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Forgets every cursor (an explicit reset before switching endpoints).
    pub async fn reset_firehose_cursors(&self) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query("delete from firehose_cursor")
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// When the cursor last moved, for metrics.
    pub async fn firehose_cursor_updated_at(&self, endpoint: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row: Option<(DateTime<Utc>,)> = with_pool!(self, |pool| sqlx::query_as(
            "select updated_at from firehose_cursor where endpoint = $1"
        )
        .bind(endpoint)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|r| r.0))
    }
}

/// `text` with each NUL character replaced by U+FFFD.
fn storable(text: &str) -> std::borrow::Cow<'_, str> {
    match text.contains('\0') {
        true => std::borrow::Cow::Owned(text.replace('\0', "\u{FFFD}")),
        false => std::borrow::Cow::Borrowed(text),
    }
}

/// `value` with each NUL character in its strings and field names replaced by U+FFFD.
fn storable_json(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(storable(text).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(storable_json).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| (storable(key).into_owned(), storable_json(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}
