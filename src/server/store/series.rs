//! Recurring series and what belongs to single occurrences of them.

use super::{with_pool, Store, StoreError};
use crate::domain::{EventDraft, Rkey, Slug};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use std::str::FromStr;

/// Whether a series still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesStatus {
    Active,
    /// Stopped by its organiser: nothing more is published, the occurrence on Bluesky says so.
    Cancelled,
}

impl SeriesStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Cancelled => "cancelled",
        }
    }
}

impl FromStr for SeriesStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "cancelled" => Ok(Self::Cancelled),
            other => Err(format!("unknown series status {other:?}")),
        }
    }
}

/// A series as stored. Its rule is checked again ([`crate::server::series::Recurrence`]) when
/// the series is used, since it is only text here.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    pub id: i64,
    /// Its address segment (`/series/{slug}`), fixed when it was created.
    pub slug: Slug,
    pub owner_id: i64,
    pub rule: String,
    /// The first occurrence; see the migration for what it stands for.
    pub draft: EventDraft,
    pub status: SeriesStatus,
    pub next_check_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    slug: Option<String>,
    owner_id: i64,
    rule: String,
    draft: Json<EventDraft>,
    status: String,
    next_check_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for SeriesRow {
    type Error = StoreError;
    fn try_from(row: Row) -> Result<Self, Self::Error> {
        // A series from before slugs has none until start-up gives it one: its name stands in.
        let words = row.slug.unwrap_or_else(|| Slug::words_of(&row.draft.name));
        Ok(Self {
            id: row.id,
            slug: Slug::new(&words, row.id),
            owner_id: row.owner_id,
            rule: row.rule,
            draft: row.draft.0,
            status: row
                .status
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("series {}: {e}", row.id)))?,
            next_check_at: row.next_check_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

const SERIES_COLUMNS: &str = "id, slug, owner_id, rule, draft, status, next_check_at, created_at, updated_at";

/// What belongs to one occurrence of a series (see the migration).
#[derive(Debug, Clone, PartialEq)]
pub struct OccurrenceRow {
    pub id: i64,
    pub series_id: i64,
    /// The start the rule gives it.
    pub starts_at: DateTime<Utc>,
    pub rkey: Rkey,
    pub published: bool,
    pub cancelled: bool,
    /// When it takes place instead of `starts_at`.
    pub moved_to: Option<DateTime<Utc>>,
    /// The name it has instead of the series'.
    pub name: Option<String>,
}

/// What the organiser changed in one occurrence.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exceptions {
    pub cancelled: bool,
    pub moved_to: Option<DateTime<Utc>>,
    pub name: Option<String>,
}

impl OccurrenceRow {
    pub fn exceptions(&self) -> Exceptions {
        Exceptions {
            cancelled: self.cancelled,
            moved_to: self.moved_to,
            name: self.name.clone(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct OccurrenceDbRow {
    id: i64,
    series_id: i64,
    starts_at: DateTime<Utc>,
    rkey: String,
    published: bool,
    cancelled: bool,
    moved_to: Option<DateTime<Utc>>,
    name: Option<String>,
}

impl TryFrom<OccurrenceDbRow> for OccurrenceRow {
    type Error = StoreError;
    fn try_from(row: OccurrenceDbRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.id,
            series_id: row.series_id,
            starts_at: row.starts_at,
            rkey: Rkey::parse(&row.rkey)
                .map_err(|e| StoreError::Corrupt(format!("series_occurrence {}: {e}", row.id)))?,
            published: row.published,
            cancelled: row.cancelled,
            moved_to: row.moved_to,
            name: row.name,
        })
    }
}

const OCCURRENCE_COLUMNS: &str = "id, series_id, starts_at, rkey, published, cancelled, moved_to, name";

/// The most occurrence rows one series lists at once.
const OCCURRENCES_LISTED: i64 = 1000;

impl Store {
    pub async fn insert_series(
        &self,
        owner_id: i64,
        rule: &str,
        draft: &EventDraft,
        next_check_at: DateTime<Utc>,
    ) -> Result<SeriesRow, StoreError> {
        let sql = format!(
            "insert into series (owner_id, rule, draft, next_check_at, slug) values ($1, $2, $3, $4, $5)
             returning {SERIES_COLUMNS}"
        );
        let row: Row = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(owner_id)
            .bind(rule)
            .bind(Json(draft))
            .bind(next_check_at)
            .bind(Slug::words_of(&draft.name))
            .fetch_one(pool)
            .await)?;
        self.changed();
        row.try_into()
    }

    pub async fn series_by_id(&self, id: i64) -> Result<Option<SeriesRow>, StoreError> {
        let sql = format!("select {SERIES_COLUMNS} from series where id = $1");
        let row: Option<Row> = with_pool!(self, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        row.map(SeriesRow::try_from).transpose()
    }

    /// An organiser's series, newest first.
    pub async fn series_of_owner(&self, owner_id: i64) -> Result<Vec<SeriesRow>, StoreError> {
        let sql = format!("select {SERIES_COLUMNS} from series where owner_id = $1 order by id desc limit $2");
        let rows: Vec<Row> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(owner_id)
            .bind(super::LISTED)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(SeriesRow::try_from).collect()
    }

    /// A new rule or first occurrence; the scheduler looks at the series again at `next_check_at`.
    pub async fn update_series(
        &self,
        id: i64,
        rule: &str,
        draft: &EventDraft,
        next_check_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "update series set rule = $2, draft = $3, next_check_at = $4 where id = $1"
        )
        .bind(id)
        .bind(rule)
        .bind(Json(draft))
        .bind(next_check_at)
        .execute(pool)
        .await
        .map(|_| ()))?;
        self.changed();
        Ok(())
    }

    pub async fn set_series_status(
        &self,
        id: i64,
        status: SeriesStatus,
        next_check_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "update series set status = $2, next_check_at = $3 where id = $1"
        )
        .bind(id)
        .bind(status.as_str())
        .bind(next_check_at)
        .execute(pool)
        .await
        .map(|_| ()))?;
        self.changed();
        Ok(())
    }

    /// When the scheduler next looks at a series.
    pub async fn set_series_next_check(&self, id: i64, next_check_at: DateTime<Utc>) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "update series set next_check_at = $2 where id = $1"
        )
        .bind(id)
        .bind(next_check_at)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Deletes a series and its occurrence rows; the events its occurrences became stay.
    pub async fn delete_series(&self, id: i64) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query("delete from series where id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        self.changed();
        Ok(())
    }

    /// Claims up to `limit` active series the scheduler should look at now: each one's next
    /// check moves to `lease_until`, so another instance skips it meanwhile. The claim is a
    /// compare-and-set on `next_check_at`, as for pending writes: two instances never both claim
    /// one series.
    pub async fn claim_due_series(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<SeriesRow>, StoreError> {
        let sql = format!(
            "select {SERIES_COLUMNS} from series where status = 'active' and next_check_at <= $1
             order by next_check_at, id limit $2"
        );
        let due: Vec<Row> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?;
        let mut claimed = Vec::with_capacity(due.len());
        for row in due {
            let taken = with_pool!(self, |pool| sqlx::query(
                "update series set next_check_at = $3 where id = $1 and status = 'active' and next_check_at = $2"
            )
            .bind(row.id)
            .bind(row.next_check_at)
            .bind(lease_until)
            .execute(pool)
            .await
            .map(|result| result.rows_affected() == 1))?;
            if taken {
                let mut series = SeriesRow::try_from(row)?;
                series.next_check_at = lease_until;
                claimed.push(series);
            }
        }
        Ok(claimed)
    }

    /// The occurrence row for the occurrence the rule starts at `starts_at`, made now with
    /// `rkey` if there was none; an existing row keeps its own key, so every caller (on any
    /// instance) gets the same one.
    pub async fn occurrence_row(
        &self,
        series_id: i64,
        starts_at: DateTime<Utc>,
        rkey: &Rkey,
    ) -> Result<OccurrenceRow, StoreError> {
        let sql = format!("select {OCCURRENCE_COLUMNS} from series_occurrence where series_id = $1 and starts_at = $2");
        let row: OccurrenceDbRow = with_pool!(self, |pool| {
            sqlx::query(
                "insert into series_occurrence (series_id, starts_at, rkey) values ($1, $2, $3)
                 on conflict (series_id, starts_at) do nothing",
            )
            .bind(series_id)
            .bind(starts_at)
            .bind(rkey.as_str())
            .execute(pool)
            .await?;
            sqlx::query_as(&sql)
                .bind(series_id)
                .bind(starts_at)
                .fetch_one(pool)
                .await
        })?;
        self.changed();
        row.try_into()
    }

    /// The rows of a series' occurrences that start within `from..=to`, in order.
    pub async fn occurrence_rows(
        &self,
        series_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<OccurrenceRow>, StoreError> {
        let sql = format!(
            "select {OCCURRENCE_COLUMNS} from series_occurrence
             where series_id = $1 and starts_at >= $2 and starts_at <= $3 order by starts_at limit $4"
        );
        let rows: Vec<OccurrenceDbRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(series_id)
            .bind(from)
            .bind(to)
            .bind(OCCURRENCES_LISTED)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(OccurrenceRow::try_from).collect()
    }

    /// The published occurrences of a series that start at or before `until`, latest first.
    pub async fn past_occurrence_rows(
        &self,
        series_id: i64,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OccurrenceRow>, StoreError> {
        let sql = format!(
            "select {OCCURRENCE_COLUMNS} from series_occurrence
             where series_id = $1 and published = true and starts_at <= $2 order by starts_at desc limit $3"
        );
        let rows: Vec<OccurrenceDbRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(series_id)
            .bind(until)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(OccurrenceRow::try_from).collect()
    }

    /// Marks an occurrence as sent to the PDS: it is never created again.
    pub async fn mark_occurrence_published(&self, id: i64) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "update series_occurrence set published = true where id = $1"
        )
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ()))?;
        self.changed();
        Ok(())
    }

    /// Stores what the organiser changed in one occurrence.
    pub async fn set_occurrence_exceptions(&self, id: i64, exceptions: &Exceptions) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "update series_occurrence set cancelled = $2, moved_to = $3, name = $4 where id = $1"
        )
        .bind(id)
        .bind(exceptions.cancelled)
        .bind(exceptions.moved_to)
        .bind(exceptions.name.as_deref())
        .execute(pool)
        .await
        .map(|_| ()))?;
        self.changed();
        Ok(())
    }

    /// Moves an occurrence row to the start a changed rule gives it, keeping its record key.
    pub async fn move_occurrence_row(&self, id: i64, starts_at: DateTime<Utc>) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "update series_occurrence set starts_at = $2 where id = $1"
        )
        .bind(id)
        .bind(starts_at)
        .execute(pool)
        .await
        .map(|_| ()))?;
        self.changed();
        Ok(())
    }

    /// Forgets occurrence rows that a changed rule no longer has and that were never published.
    pub async fn delete_occurrence_row(&self, id: i64) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "delete from series_occurrence where id = $1 and published = false"
        )
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ()))?;
        self.changed();
        Ok(())
    }

    /// Adopts a published event as the occurrence the rule starts at `starts_at` (a detected
    /// series): its record key is the event's, and it counts as published.
    pub async fn adopt_occurrence(
        &self,
        series_id: i64,
        starts_at: DateTime<Utc>,
        rkey: &Rkey,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "insert into series_occurrence (series_id, starts_at, rkey, published) values ($1, $2, $3, true)
             on conflict (series_id, starts_at) do nothing"
        )
        .bind(series_id)
        .bind(starts_at)
        .bind(rkey.as_str())
        .execute(pool)
        .await
        .map(|_| ()))?;
        self.changed();
        Ok(())
    }

    /// The record keys of every occurrence of `owner_id`'s series.
    pub async fn occurrence_rkeys_of_owner(
        &self,
        owner_id: i64,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let rows: Vec<(String,)> = with_pool!(self, |pool| sqlx::query_as(
            "select rkey from series_occurrence where series_id in (select id from series where owner_id = $1)"
        )
        .bind(owner_id)
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(|(rkey,)| rkey).collect())
    }

    /// The series (and the occurrence in it) whose occurrence `owner_id` published under `rkey`.
    pub async fn occurrence_by_rkey(
        &self,
        owner_id: i64,
        rkey: &str,
    ) -> Result<Option<(SeriesRow, OccurrenceRow)>, StoreError> {
        let sql = format!(
            "select {OCCURRENCE_COLUMNS} from series_occurrence
             where rkey = $1 and series_id in (select id from series where owner_id = $2) limit 1"
        );
        let row: Option<OccurrenceDbRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(rkey)
            .bind(owner_id)
            .fetch_optional(pool)
            .await)?;
        let Some(row) = row else { return Ok(None) };
        let occurrence = OccurrenceRow::try_from(row)?;
        Ok(self
            .series_by_id(occurrence.series_id)
            .await?
            .map(|series| (series, occurrence)))
    }
}
