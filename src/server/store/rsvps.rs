//! RSVPs (`community.lexicon.calendar.rsvp`): from the firehose and from our own writes. They link
//! to their event by its at-uri only, so an answer that arrives before its event counts once the
//! event is there.

use super::{bury, settle_pending_write, with_pool, Event, EventRow, Store, StoreError, EVENT_COLUMNS};
use crate::domain::{Did, Handle, Rev, RsvpStatus};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

/// An RSVP as its owner's PDS holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRsvp {
    pub owner_id: i64,
    pub at_uri: String,
    /// The event it answers; linked by at-uri, so it counts once that event arrives.
    pub subject_uri: String,
    /// The version of the event it answered; older than the event's CID after an edit.
    pub subject_cid: Option<String>,
    pub status: RsvpStatus,
    pub cid: String,
    pub record: Value,
}

/// A stored RSVP.
#[derive(Debug, Clone, PartialEq)]
pub struct Rsvp {
    pub id: i64,
    pub owner_id: i64,
    pub at_uri: String,
    pub subject_uri: String,
    pub subject_cid: Option<String>,
    pub status: RsvpStatus,
    pub cid: String,
    /// The whole record, fields of other apps included, so an update writes them back.
    pub record: Value,
    /// When it last changed here: accepted by its PDS or seen on the firehose.
    pub updated_at: DateTime<Utc>,
}

/// One person's answer to an event with who gave it, for attendee lists: from their RSVP record,
/// or kept here (see [`LocalAnswer`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Answerer {
    pub status: RsvpStatus,
    /// The version of the event a record answered (`None` for an answer kept here).
    pub subject_cid: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub did: Option<Did>,
    pub handle: Option<Handle>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
}

/// An answer given on Skymeet only: by someone without Bluesky, or to an event kept here. It is
/// never written to anyone's PDS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalAnswer {
    pub status: RsvpStatus,
    pub updated_at: DateTime<Utc>,
}

/// An RSVP record with who gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Attendee {
    pub rsvp: Rsvp,
    pub did: Option<Did>,
    pub handle: Option<Handle>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
}

#[derive(sqlx::FromRow)]
struct RsvpRow {
    id: i64,
    owner_id: i64,
    at_uri: String,
    subject_uri: String,
    subject_cid: Option<String>,
    status: String,
    cid: String,
    record: Json<Value>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct AttendeeRow {
    #[sqlx(flatten)]
    rsvp: RsvpRow,
    did: Option<String>,
    handle: Option<String>,
    display_name: Option<String>,
    avatar_url: Option<String>,
}

#[derive(sqlx::FromRow)]
struct AnswererRow {
    status: String,
    subject_cid: Option<String>,
    updated_at: DateTime<Utc>,
    did: Option<String>,
    handle: Option<String>,
    display_name: Option<String>,
    avatar_url: Option<String>,
}

impl TryFrom<AnswererRow> for Answerer {
    type Error = StoreError;
    fn try_from(row: AnswererRow) -> Result<Self, Self::Error> {
        // A handle or DID that no longer parses hides the name, not the answer.
        Ok(Self {
            status: status_of(&row.status)?,
            subject_cid: row.subject_cid,
            updated_at: row.updated_at,
            did: row.did.as_deref().and_then(|did| Did::parse(did).ok()),
            handle: row.handle.as_deref().and_then(|handle| Handle::parse(handle).ok()),
            display_name: row.display_name,
            avatar_url: row.avatar_url,
        })
    }
}

fn status_of(status: &str) -> Result<RsvpStatus, StoreError> {
    RsvpStatus::from_token(status).ok_or_else(|| StoreError::Corrupt(format!("an rsvp status {status:?}")))
}

impl TryFrom<RsvpRow> for Rsvp {
    type Error = StoreError;
    fn try_from(row: RsvpRow) -> Result<Self, Self::Error> {
        Ok(Self {
            status: RsvpStatus::from_token(&row.status)
                .ok_or_else(|| StoreError::Corrupt(format!("rsvp {}: status {:?}", row.id, row.status)))?,
            id: row.id,
            owner_id: row.owner_id,
            at_uri: row.at_uri,
            subject_uri: row.subject_uri,
            subject_cid: row.subject_cid,
            cid: row.cid,
            record: row.record.0,
            updated_at: row.updated_at,
        })
    }
}

impl TryFrom<AttendeeRow> for Attendee {
    type Error = StoreError;
    fn try_from(row: AttendeeRow) -> Result<Self, Self::Error> {
        // A handle or DID that no longer parses hides the name, not the answer.
        Ok(Self {
            did: row.did.as_deref().and_then(|did| Did::parse(did).ok()),
            handle: row.handle.as_deref().and_then(|handle| Handle::parse(handle).ok()),
            display_name: row.display_name,
            avatar_url: row.avatar_url,
            rsvp: row.rsvp.try_into()?,
        })
    }
}

const RSVP_COLUMNS: &str = "rsvp.id, rsvp.owner_id, rsvp.at_uri, rsvp.subject_uri, rsvp.subject_cid, rsvp.status, \
     rsvp.cid, rsvp.record, rsvp.updated_at";

/// The most answers listed for one event (the counts cover them all).
pub const ATTENDEES_LISTED: i64 = 500;

/// Every answer to the event `$1`, numbered per person from their latest (`latest = 1`).
const LATEST_ANSWERS: &str =
    "select *, row_number() over (partition by owner_id order by updated_at desc, id desc) as latest
     from rsvp where subject_uri = $1";

/// Every answer to an event: its RSVP records (at-uri `$1`, null for an event kept here), one
/// per person as [`LATEST_ANSWERS`] picks, and the answers kept here (event id `$2`).
const ALL_ANSWERS: &str = "
    select owner_id as user_id, status, subject_cid, updated_at from (
        select *, row_number() over (partition by owner_id order by updated_at desc, id desc) as latest
        from rsvp where subject_uri = $1
    ) as record where latest = 1
    union all
    select user_id, status, null as subject_cid, updated_at from local_rsvp where event_id = $2";

impl Store {
    /// Everyone's answers to `event`, from their records and kept here alike, earliest first, at
    /// most [`ATTENDEES_LISTED`] of them; [`Store::answer_tally`] counts them all.
    pub async fn answerers(&self, event: &Event) -> Result<Vec<Answerer>, StoreError> {
        let sql = format!(
            "select answer.status, answer.subject_cid, answer.updated_at,
                    app_user.did, app_user.handle, app_user.display_name, app_user.avatar_url
             from ({ALL_ANSWERS}) as answer join app_user on app_user.id = answer.user_id
             order by answer.updated_at, answer.user_id
             limit $3"
        );
        let rows: Vec<AnswererRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(&event.source.at_uri)
            .bind(event.id)
            .bind(ATTENDEES_LISTED)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(Answerer::try_from).collect()
    }

    /// How many people gave each answer to `event`, from their records and kept here alike.
    pub async fn answer_tally(&self, event: &Event) -> Result<Vec<(RsvpStatus, i64)>, StoreError> {
        let sql = format!("select status, count(*) from ({ALL_ANSWERS}) as answer group by status");
        let rows: Vec<(String, i64)> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(&event.source.at_uri)
            .bind(event.id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(status, count)| status_of(&status).map(|status| (status, count)))
            .collect()
    }

    /// `user_id`'s answer to `event_id` kept here, if they gave one.
    pub async fn local_rsvp_of(&self, user_id: i64, event_id: i64) -> Result<Option<LocalAnswer>, StoreError> {
        let row: Option<(String, DateTime<Utc>)> = with_pool!(self, |pool| sqlx::query_as(
            "select status, updated_at from local_rsvp where user_id = $1 and event_id = $2"
        )
        .bind(user_id)
        .bind(event_id)
        .fetch_optional(pool)
        .await)?;
        row.map(|(status, updated_at)| {
            Ok(LocalAnswer {
                status: status_of(&status)?,
                updated_at,
            })
        })
        .transpose()
    }

    /// Keeps `user_id`'s answer to `event_id` here, over the one they gave before.
    pub async fn save_local_rsvp(&self, user_id: i64, event_id: i64, status: RsvpStatus) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "insert into local_rsvp (user_id, event_id, status) values ($1, $2, $3)
             on conflict (user_id, event_id) do update set status = excluded.status"
        )
        .bind(user_id)
        .bind(event_id)
        .bind(status.name())
        .execute(pool)
        .await
        .map(|_| ()))?;
        self.changed();
        Ok(())
    }

    /// `user_id`'s answers kept here to events that are on Bluesky, with what they answered.
    pub async fn local_answers_to_published(&self, user_id: i64) -> Result<Vec<(Event, RsvpStatus)>, StoreError> {
        let sql = format!(
            "select {EVENT_COLUMNS}, answer from (
                 select event.*, local_rsvp.status as answer from event
                 join local_rsvp on local_rsvp.event_id = event.id
                 where local_rsvp.user_id = $1 and event.at_uri is not null
             ) as event
             order by id limit $2"
        );
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            event: EventRow,
            answer: String,
        }
        let rows: Vec<Row> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(user_id)
            .bind(super::LISTED)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|row| Ok((Event::try_from(row.event)?, status_of(&row.answer)?)))
            .collect()
    }

    pub async fn delete_local_rsvp(&self, user_id: i64, event_id: i64) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "delete from local_rsvp where user_id = $1 and event_id = $2"
        )
        .bind(user_id)
        .bind(event_id)
        .execute(pool)
        .await
        .map(|_| ()))?;
        self.changed();
        Ok(())
    }

    /// The RSVP records answering an event (by its at-uri), whenever they arrived: one per person (the latest,
    /// should another app have written two records for one person), earliest first, at most
    /// [`ATTENDEES_LISTED`] of them. How many there are in all, [`Store::answer_counts`] says.
    pub async fn attendees(&self, subject_uri: &str) -> Result<Vec<Attendee>, StoreError> {
        let sql = format!(
            "select {RSVP_COLUMNS}, app_user.did, app_user.handle, app_user.display_name, app_user.avatar_url
             from ({LATEST_ANSWERS}) as rsvp join app_user on app_user.id = rsvp.owner_id
             where rsvp.latest = 1
             order by rsvp.updated_at, rsvp.id
             limit $2"
        );
        let rows: Vec<AttendeeRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(subject_uri)
            .bind(ATTENDEES_LISTED)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(Attendee::try_from).collect()
    }

    /// How many people gave each answer to an event (each person counted once, by their latest).
    pub async fn answer_counts(&self, subject_uri: &str) -> Result<Vec<(RsvpStatus, i64)>, StoreError> {
        let sql = format!("select status, count(*) from ({LATEST_ANSWERS}) as rsvp where latest = 1 group by status");
        let rows: Vec<(String, i64)> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(subject_uri)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(status, count)| {
                RsvpStatus::from_token(&status)
                    .map(|status| (status, count))
                    .ok_or_else(|| StoreError::Corrupt(format!("an rsvp status {status:?}")))
            })
            .collect()
    }

    /// One person's answer to an event: the latest, if there are several.
    pub async fn rsvp_of(&self, owner_id: i64, subject_uri: &str) -> Result<Option<Rsvp>, StoreError> {
        let sql = format!(
            "select {RSVP_COLUMNS} from rsvp where owner_id = $1 and subject_uri = $2
             order by updated_at desc, id desc limit 1"
        );
        let row: Option<RsvpRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(owner_id)
            .bind(subject_uri)
            .fetch_optional(pool)
            .await)?;
        row.map(Rsvp::try_from).transpose()
    }

    /// Stores an answer its owner's PDS accepted as of repo revision `rev` and, in the same
    /// transaction, deletes the pending write that settles (if any). Wins over what the firehose
    /// brought before: it is newer. Of the changes the firehose delivers later, only newer ones
    /// apply; without a revision (read from the PDS, or an older PDS) any one does.
    #[tracing::instrument(skip_all, fields(at_uri = rsvp.at_uri), err)]
    pub async fn save_rsvp(&self, rsvp: &NewRsvp, rev: Option<&Rev>, settles: Option<i64>) -> Result<Rsvp, StoreError> {
        let sql = format!(
            "insert into rsvp (owner_id, at_uri, subject_uri, subject_cid, status, cid, rev, record)
             values ($1, $2, $3, $4, $5, $6, $7, $8)
             on conflict (at_uri) do update set subject_uri = excluded.subject_uri,
                 subject_cid = excluded.subject_cid, status = excluded.status, cid = excluded.cid,
                 rev = excluded.rev, record = excluded.record
             returning {}",
            RSVP_COLUMNS.replace("rsvp.", "")
        );
        let row: RsvpRow = with_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.settling(settles)).await?;
            let row = sqlx::query_as(&sql)
                .bind(rsvp.owner_id)
                .bind(&rsvp.at_uri)
                .bind(&rsvp.subject_uri)
                .bind(&rsvp.subject_cid)
                .bind(rsvp.status.name())
                .bind(&rsvp.cid)
                .bind(rev.map_or("", Rev::as_str))
                .bind(Json(&rsvp.record))
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query("delete from tombstone where at_uri = $1")
                .bind(&rsvp.at_uri)
                .execute(&mut *tx)
                .await?;
            settle_pending_write!(tx, settles);
            tx.commit().await.map(|()| row)
        }
        .await)?;
        self.changed();
        row.try_into()
    }

    /// Removes an answer its owner's PDS deleted (in repo revision `rev`, when known) and the
    /// pending write that settles, together; a tombstone keeps late firehose changes out.
    pub async fn delete_rsvp(&self, at_uri: &str, rev: Option<&Rev>, settles: Option<i64>) -> Result<bool, StoreError> {
        let deleted = with_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.settling(settles)).await?;
            let deleted = sqlx::query("delete from rsvp where at_uri = $1")
                .bind(at_uri)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            bury!(tx, at_uri, rev, Utc::now());
            settle_pending_write!(tx, settles);
            tx.commit().await.map(|()| deleted)
        }
        .await)?;
        self.changed();
        Ok(deleted > 0)
    }

    /// The events a person answered with `status`, soonest first (undated last), at most [`super::LISTED`].
    pub async fn events_answered(&self, owner_id: i64, status: RsvpStatus) -> Result<Vec<Event>, StoreError> {
        let sql = format!(
            // One `in` over a union, not two `in`s joined by `or`: with the planner's statistics,
            // both engines read every event for the `or` (about 40 ms at 100,000 events).
            "select {EVENT_COLUMNS} from event
             where id in (select event.id from rsvp join event on event.at_uri = rsvp.subject_uri
                          where rsvp.owner_id = $1 and rsvp.status = $2
                          union
                          select event_id from local_rsvp where user_id = $1 and status = $2)
             order by starts_at is null, starts_at, id limit $3"
        );
        let rows: Vec<EventRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(owner_id)
            .bind(status.name())
            .bind(super::LISTED)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(Event::try_from).collect()
    }

    /// One person's stored answers, at-uri and CID: for comparing with their repo.
    pub async fn rsvp_records_of(&self, owner_id: i64) -> Result<Vec<(String, String)>, StoreError> {
        Ok(with_pool!(self, |pool| sqlx::query_as(
            "select at_uri, cid from rsvp where owner_id = $1 order by id"
        )
        .bind(owner_id)
        .fetch_all(pool)
        .await)?)
    }
}
