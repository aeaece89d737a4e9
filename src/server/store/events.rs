use super::{bury, settle_pending_write, with_pool, ResultExt, Store, StoreError};
use crate::domain::{EventDraft, EventMode, EventStatus, Place, Rev, Slug, SyncStatus, TimeZoneName, Visibility};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use std::{fmt, str::FromStr};

/// Where an event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceType {
    /// Created here and not published anywhere.
    Local,
    /// A `community.lexicon.calendar.event` record in someone's PDS.
    Bluesky,
}

impl SourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Bluesky => "bluesky",
        }
    }
}

impl FromStr for SourceType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "local" => Ok(Self::Local),
            "bluesky" => Ok(Self::Bluesky),
            other => Err(format!("unknown source type {other:?}")),
        }
    }
}

impl fmt::Display for SourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Source tracking of one event: the record it mirrors and how it stands against it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceTracking {
    pub source_type: SourceType,
    /// The owner's DID for Bluesky events.
    pub source_id: Option<String>,
    /// A link a person can open to see the record.
    pub source_url: Option<String>,
    /// What else is worth keeping about the source and has no column (the PDS it was read from).
    pub source_data: Value,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub at_uri: Option<String>,
    pub rkey: Option<String>,
    pub cid: Option<String>,
    /// The repo revision of the last change we know of (none when it was read as the repo is now,
    /// or the PDS did not say): firehose news of an older revision is late and changes nothing.
    pub rev: Option<Rev>,
    pub sync_status: SyncStatus,
    /// Why the last attempt to sync it failed, while that stands.
    pub last_sync_error: Option<String>,
}

impl SourceTracking {
    pub fn local() -> Self {
        Self {
            source_type: SourceType::Local,
            source_id: None,
            source_url: None,
            source_data: Value::Object(Default::default()),
            last_synced_at: None,
            at_uri: None,
            rkey: None,
            cid: None,
            rev: None,
            sync_status: SyncStatus::Local,
            last_sync_error: None,
        }
    }
}

/// What searches and filters read of an event, taken from its record when it is stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Findable {
    pub mode: EventMode,
    pub status: EventStatus,
    /// The words of every place it names (names and address lines, not links).
    pub place: String,
    /// The first point on the globe it names: `(latitude, longitude)`.
    pub point: Option<(f64, f64)>,
}

/// The most characters of place words kept for searching.
const PLACE_WORDS_MAX_CHARS: usize = 1000;

impl Findable {
    pub fn of(draft: &EventDraft, places: &[Place]) -> Self {
        let mut place: String = places
            .iter()
            .map(Place::words)
            .filter(|words| !words.is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
        place = crate::domain::unmarked(&place);
        if let Some((cut, _)) = place.char_indices().nth(PLACE_WORDS_MAX_CHARS) {
            place.truncate(cut);
        }
        Self {
            mode: draft.mode,
            status: draft.status,
            place,
            point: places.iter().find_map(Place::point),
        }
    }

    pub(super) fn latitude(&self) -> Option<f64> {
        self.point.map(|(latitude, _)| latitude)
    }

    pub(super) fn longitude(&self) -> Option<f64> {
        self.point.map(|(_, longitude)| longitude)
    }
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub owner_id: Option<i64>,
    pub name: String,
    pub description: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub time_zone: TimeZoneName,
    pub source: SourceTracking,
    /// The record as the owner's PDS holds it, fields of other apps included.
    pub record: Option<Value>,
    pub findable: Findable,
    /// Anything but public only for a local event (the database refuses the rest).
    pub visibility: Visibility,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    /// Its address segment (`/events/{slug}`), fixed when it was first stored.
    pub slug: Slug,
    pub owner_id: Option<i64>,
    pub name: String,
    pub description: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub time_zone: TimeZoneName,
    pub source: SourceTracking,
    /// The record as the owner's PDS holds it, fields of other apps included.
    pub record: Option<Value>,
    /// How many times it changed since it was first stored (iCalendar's SEQUENCE).
    pub sequence: i64,
    pub visibility: Visibility,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(super) struct EventRow {
    id: i64,
    slug: Option<String>,
    owner_id: Option<i64>,
    name: String,
    description: Option<String>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    time_zone: String,
    source_type: String,
    source_id: Option<String>,
    source_url: Option<String>,
    source_data: Json<Value>,
    last_synced_at: Option<DateTime<Utc>>,
    at_uri: Option<String>,
    rkey: Option<String>,
    cid: Option<String>,
    rev: Option<String>,
    sync_status: String,
    last_sync_error: Option<String>,
    record: Option<Json<Value>>,
    sequence: i64,
    visibility: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;
    fn try_from(row: EventRow) -> Result<Self, Self::Error> {
        let corrupt = |e: &dyn fmt::Display| StoreError::Corrupt(format!("event {}: {e}", row.id));
        // A row from before slugs has none until start-up gives it one: its name's words stand in.
        let words = row.slug.unwrap_or_else(|| Slug::words_of(&row.name));
        Ok(Self {
            id: row.id,
            slug: Slug::new(&words, row.id),
            owner_id: row.owner_id,
            name: row.name,
            description: row.description,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            time_zone: TimeZoneName::parse(&row.time_zone).map_err(|e| corrupt(&e))?,
            source: SourceTracking {
                source_type: row.source_type.parse().map_err(|e: String| corrupt(&e))?,
                source_id: row.source_id,
                source_url: row.source_url,
                source_data: row.source_data.0,
                last_synced_at: row.last_synced_at,
                at_uri: row.at_uri,
                rkey: row.rkey,
                cid: row.cid,
                rev: row
                    .rev
                    .as_deref()
                    .map(Rev::parse)
                    .transpose()
                    .map_err(|e| corrupt(&e))?,
                sync_status: row.sync_status.parse().map_err(|e| corrupt(&e))?,
                last_sync_error: row.last_sync_error,
            },
            record: row.record.map(|json| json.0),
            sequence: row.sequence,
            visibility: Visibility::parse(&row.visibility).map_err(|e| corrupt(&e))?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub(super) const EVENT_COLUMNS: &str =
    "id, slug, owner_id, name, description, starts_at, ends_at, time_zone, source_type, \
     source_id, source_url, source_data, last_synced_at, at_uri, rkey, cid, rev, sync_status, last_sync_error, record, \
     sequence, visibility, created_at, updated_at";

impl Store {
    pub async fn insert_event(&self, event: &NewEvent) -> Result<Event, StoreError> {
        self.insert_published_event(event, None).await
    }

    /// Inserts an event and, in the same transaction, deletes the pending write it settles: a
    /// record the PDS accepted appears as an event exactly when its pending write disappears.
    /// When it settles one, its commit does not wait for the disk ([`Store::settling`]).
    #[tracing::instrument(skip_all, fields(at_uri = ?event.source.at_uri), err)]
    pub async fn insert_published_event(&self, event: &NewEvent, settles: Option<i64>) -> Result<Event, StoreError> {
        let insert = format!(
            "insert into event (owner_id, name, description, starts_at, ends_at, time_zone, source_type,
                 source_id, source_url, source_data, last_synced_at, at_uri, rkey, cid, sync_status, record,
                 rev, last_sync_error, slug, mode, status, place, latitude, longitude, visibility)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
                     $20, $21, $22, $23, $24, $25)
             returning {EVENT_COLUMNS}"
        );
        // Our write made the record again after a delete: the delete's tombstone goes, and the
        // pending write this settles with it. On PostgreSQL the three are one statement (its
        // data-modifying WITH), two round trips fewer on the way to answering a publish; SQLite
        // runs them one after another below (no network between them there).
        let postgres = matches!(self.pool, super::Pool::Postgres(_));
        let sql = match postgres {
            true => format!(
                "with inserted as ({insert}),
                      cleared as (delete from tombstone where at_uri = $12),
                      settled as (delete from pending_write where id = $26)
                 select * from inserted"
            ),
            false => insert,
        };
        let source = &event.source;
        let row: EventRow = with_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.settling(settles)).await?;
            let query = sqlx::query_as(&sql)
                .bind(event.owner_id)
                .bind(&event.name)
                .bind(&event.description)
                .bind(event.starts_at)
                .bind(event.ends_at)
                .bind(event.time_zone.as_str())
                .bind(source.source_type.as_str())
                .bind(&source.source_id)
                .bind(&source.source_url)
                .bind(Json(&source.source_data))
                .bind(source.last_synced_at)
                .bind(&source.at_uri)
                .bind(&source.rkey)
                .bind(&source.cid)
                .bind(source.sync_status.as_str())
                .bind(event.record.as_ref().map(Json))
                .bind(source.rev.as_ref().map(Rev::as_str))
                .bind(&source.last_sync_error)
                .bind(Slug::words_of(&event.name))
                .bind(event.findable.mode.name())
                .bind(event.findable.status.name())
                .bind(&event.findable.place)
                .bind(event.findable.latitude())
                .bind(event.findable.longitude())
                .bind(event.visibility.name());
            let row = match postgres {
                true => query.bind(settles).fetch_one(&mut *tx).await?,
                false => {
                    let row = query.fetch_one(&mut *tx).await?;
                    sqlx::query("delete from tombstone where at_uri = $1")
                        .bind(&source.at_uri)
                        .execute(&mut *tx)
                        .await?;
                    settle_pending_write!(tx, settles);
                    row
                }
            };
            tx.commit().await.map(|()| row)
        }
        .await)
        .on_unique_violation("an event for this record")?;
        self.changed();
        row.try_into()
    }

    /// Replaces an event's fields with a record its PDS accepted (or sent), and deletes the pending
    /// write that settles, in one transaction ([`Store::settling`] when it settles one).
    #[tracing::instrument(skip_all, fields(id), err)]
    pub async fn update_event_record(
        &self,
        id: i64,
        event: &NewEvent,
        settles: Option<i64>,
    ) -> Result<Option<Event>, StoreError> {
        let sql = format!(
            "update event set name = $2, description = $3, starts_at = $4, ends_at = $5, time_zone = $6,
                 source_url = $7, source_data = $8, last_synced_at = $9, cid = $10, sync_status = $11, record = $12,
                 rev = $13, last_sync_error = $14, sequence = sequence + 1,
                 mode = $15, status = $16, place = $17, latitude = $18, longitude = $19, visibility = $20
             where id = $1
             returning {EVENT_COLUMNS}"
        );
        let source = &event.source;
        let row: Option<EventRow> = with_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.settling(settles)).await?;
            let row = sqlx::query_as(&sql)
                .bind(id)
                .bind(&event.name)
                .bind(&event.description)
                .bind(event.starts_at)
                .bind(event.ends_at)
                .bind(event.time_zone.as_str())
                .bind(&source.source_url)
                .bind(Json(&source.source_data))
                .bind(source.last_synced_at)
                .bind(&source.cid)
                .bind(source.sync_status.as_str())
                .bind(event.record.as_ref().map(Json))
                .bind(source.rev.as_ref().map(Rev::as_str))
                .bind(&source.last_sync_error)
                .bind(event.findable.mode.name())
                .bind(event.findable.status.name())
                .bind(&event.findable.place)
                .bind(event.findable.latitude())
                .bind(event.findable.longitude())
                .bind(event.visibility.name())
                .fetch_optional(&mut *tx)
                .await?;
            settle_pending_write!(tx, settles);
            tx.commit().await.map(|()| row)
        }
        .await)?;
        self.changed();
        row.map(Event::try_from).transpose()
    }

    /// Makes a public event kept here one of `did`'s records at `uri`, about to be published
    /// (pending until the PDS takes it).
    pub async fn start_publishing(
        &self,
        id: i64,
        did: &crate::domain::Did,
        uri: &crate::domain::AtUri,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "update event set source_type = 'bluesky', source_id = $2, at_uri = $3, rkey = $4, sync_status = $5
                 where id = $1 and source_type = 'local' and visibility = 'public'",
            )
            .bind(id)
            .bind(did.as_str())
            .bind(uri.to_string())
            .bind(uri.rkey().as_str())
            .bind(SyncStatus::Pending.as_str())
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        self.changed();
        Ok(())
    }

    /// Sets an event's sync status and the error that explains it (none: it stands well).
    pub async fn set_event_sync_status(
        &self,
        id: i64,
        status: SyncStatus,
        last_sync_error: Option<&str>,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query("update event set sync_status = $2, last_sync_error = $3 where id = $1")
                .bind(id)
                .bind(status.as_str())
                .bind(last_sync_error)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        self.changed();
        Ok(())
    }

    /// An owner's events, latest start first (undated last), at most [`super::LISTED`].
    pub async fn events_by_owner(&self, owner_id: i64) -> Result<Vec<Event>, StoreError> {
        let sql = format!(
            "select {EVENT_COLUMNS} from event where owner_id = $1
             order by starts_at is null, starts_at desc, id desc limit $2"
        );
        let rows: Vec<EventRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(owner_id)
            .bind(super::LISTED)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(Event::try_from).collect()
    }

    pub async fn event_by_id(&self, id: i64) -> Result<Option<Event>, StoreError> {
        let sql = format!("select {EVENT_COLUMNS} from event where id = $1");
        let row: Option<EventRow> = with_pool!(self, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        row.map(Event::try_from).transpose()
    }

    /// `owner_id`'s event kept here under record key `rkey` (a series occurrence of theirs).
    pub async fn event_kept_here(
        &self,
        owner_id: i64,
        rkey: &crate::domain::Rkey,
    ) -> Result<Option<Event>, StoreError> {
        let sql =
            format!("select {EVENT_COLUMNS} from event where owner_id = $1 and rkey = $2 and source_type = 'local'");
        let row: Option<EventRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(owner_id)
            .bind(rkey.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(Event::try_from).transpose()
    }

    pub async fn event_by_at_uri(&self, at_uri: &str) -> Result<Option<Event>, StoreError> {
        let sql = format!("select {EVENT_COLUMNS} from event where at_uri = $1");
        let row: Option<EventRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(at_uri)
            .fetch_optional(pool)
            .await)?;
        row.map(Event::try_from).transpose()
    }

    /// Deletes an event its PDS no longer holds (deleted in repo revision `rev`, when known),
    /// leaving a tombstone that keeps late firehose changes out; `false` when there was none.
    pub async fn delete_event(&self, id: i64, rev: Option<&Rev>) -> Result<bool, StoreError> {
        let deleted: Option<(Option<String>,)> = with_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.begin_writing()).await?;
            let deleted: Option<(Option<String>,)> = sqlx::query_as("delete from event where id = $1 returning at_uri")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some((Some(at_uri),)) = &deleted {
                bury!(tx, at_uri, rev, Utc::now());
            }
            tx.commit().await.map(|()| deleted)
        }
        .await)?;
        self.changed();
        Ok(deleted.is_some())
    }
}
