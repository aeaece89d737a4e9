//! Finding events: listings by date, a page at a time from a position in the start index (keyset
//! pagination, so no page repeats or skips an event while others are added), and searches by words
//! ranked by each engine's own full-text index (PostgreSQL `tsvector`, SQLite FTS5). Both take the
//! same filters.

use super::{with_pool, Event, EventRow, Store, StoreError, EVENT_COLUMNS};
use crate::domain::{Cursor, EventMode, Near, SearchText, Window, MARK_END, MARK_START};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;

/// How long after its start an event still running is listed among what is coming: listings read
/// the start index from this far back, so the window bounds what a page reads. A longer event is
/// still found by its page, by words and by its dates.
pub const ONGOING_LISTED: TimeDelta = TimeDelta::days(31);

/// What a listing or search keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFilter {
    pub window: Window,
    pub mode: Option<EventMode>,
    pub hide_cancelled: bool,
    pub owner_id: Option<i64>,
    pub near: Option<Near>,
}

impl EventFilter {
    /// Everything still to come.
    pub fn upcoming(now: DateTime<Utc>) -> Self {
        Self {
            window: Window {
                from: now,
                until: None,
                undated: true,
            },
            mode: None,
            hide_cancelled: false,
            owner_id: None,
            near: None,
        }
    }
}

/// An event found by words, with its name and a passage of its description as the engine marked
/// them ([`MARK_START`]/[`MARK_END`] around each match).
#[derive(Debug, Clone)]
pub struct Found {
    pub event: Event,
    pub name: Option<String>,
    pub passage: Option<String>,
}

/// One value bound to a query built here.
#[derive(Debug, Clone)]
enum Arg {
    Time(DateTime<Utc>),
    Text(String),
    Real(f64),
    Int(i64),
}

/// SQL text with its `$N` arguments, built up clause by clause.
#[derive(Debug, Default)]
struct Sql {
    text: String,
    args: Vec<Arg>,
    /// For SQLite, whose planner needs a word more than PostgreSQL's (see [`Sql::near`]).
    sqlite: bool,
}

impl Sql {
    fn new(store: &Store, text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: Vec::new(),
            sqlite: matches!(store.pool, super::Pool::Sqlite(_)),
        }
    }

    /// Binds `arg` and answers its placeholder.
    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// `and` the filter's conditions on the `event` table (without its window). Only public
    /// events are ever listed or found.
    fn filters(&mut self, filter: &EventFilter) {
        self.push(" and event.visibility = 'public'");
        if let Some(mode) = filter.mode {
            let mode = self.arg(Arg::Text(mode.name().to_owned()));
            self.push(&format!(" and event.mode = {mode}"));
        }
        if filter.hide_cancelled {
            self.push(" and coalesce(event.status, '') <> 'cancelled'");
        }
        if let Some(owner) = filter.owner_id {
            let owner = self.arg(Arg::Int(owner));
            self.push(&format!(" and event.owner_id = {owner}"));
        }
        if let Some(near) = filter.near {
            self.near(near);
        }
    }

    /// Points within `near.km`: first a box of latitudes and longitudes, then the distance on a
    /// plane fitted at the centre (equirectangular), which is within a fraction of a percent at
    /// radii up to `NEAR_MAX_KM`. A box that would cross the antimeridian is cut there.
    ///
    /// The listing still reads the start index in order (the coordinates ride along in it), so a
    /// page stops after its events. On SQLite a unary `+` keeps the planner from reading every
    /// event in the box by a coordinate index and sorting them (thousands, in a busy city);
    /// PostgreSQL weighs the box by the columns' statistics and needs no such word.
    fn near(&mut self, near: Near) {
        const KM_PER_DEGREE: f64 = 111.2;
        let reach = near.km / KM_PER_DEGREE;
        let squeeze = near.latitude.to_radians().cos().max(0.01);
        let lat = self.arg(Arg::Real(near.latitude));
        let lon = self.arg(Arg::Real(near.longitude));
        let south = self.arg(Arg::Real(near.latitude - reach));
        let north = self.arg(Arg::Real(near.latitude + reach));
        let west = self.arg(Arg::Real((near.longitude - reach / squeeze).max(-180.0)));
        let east = self.arg(Arg::Real((near.longitude + reach / squeeze).min(180.0)));
        let k = self.arg(Arg::Real(squeeze));
        let reach_squared = self.arg(Arg::Real(reach * reach));
        let plus = if self.sqlite { "+" } else { "" };
        self.push(&format!(
            " and {plus}event.latitude between {south} and {north} and {plus}event.longitude between {west} and {east}
              and (event.latitude - {lat}) * (event.latitude - {lat})
                  + (event.longitude - {lon}) * {k} * (event.longitude - {lon}) * {k} <= {reach_squared}"
        ));
    }

    /// `and` the window's dates (for dated events): over at or after `from`, begun before `until`.
    fn dated_window(&mut self, window: &Window) {
        let earliest = self.arg(Arg::Time(window.from - ONGOING_LISTED));
        let from = self.arg(Arg::Time(window.from));
        self.push(&format!(
            " and event.starts_at >= {earliest} and coalesce(event.ends_at, event.starts_at) >= {from}"
        ));
        if let Some(until) = window.until {
            let until = self.arg(Arg::Time(until));
            self.push(&format!(" and event.starts_at < {until}"));
        }
    }
}

/// Runs `$sql` (a [`Sql`]) as `$query` (`sqlx::query_as` or `sqlx::query_scalar`) on `$executor`,
/// binding its arguments in order.
macro_rules! bound {
    ($query:ident, $sql:expr) => {{
        let mut query = sqlx::$query(&$sql.text);
        for arg in &$sql.args {
            query = match arg {
                Arg::Time(at) => query.bind(*at),
                Arg::Text(text) => query.bind(text.as_str()),
                Arg::Real(real) => query.bind(*real),
                Arg::Int(int) => query.bind(*int),
            };
        }
        query
    }};
}

/// How many events one transaction of the start-up fill reads and updates.
const FILL_BATCH: i64 = 500;

impl Store {
    /// Events stored before searches read their place, mode and status: up to a batch of them.
    pub async fn events_not_findable(&self) -> Result<Vec<Event>, StoreError> {
        let sql = format!("select {EVENT_COLUMNS} from event where place is null order by id limit $1");
        let rows: Vec<EventRow> = with_pool!(self, |pool| sqlx::query_as(&sql).bind(FILL_BATCH).fetch_all(pool).await)?;
        rows.into_iter().map(Event::try_from).collect()
    }

    /// Stores what searches read of each event (only where it is still missing: an event
    /// written since keeps what its write stored).
    pub async fn set_findable(&self, events: &[(i64, super::Findable)]) -> Result<u64, StoreError> {
        let written = with_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.begin_writing()).await?;
            let mut written = 0;
            for (id, findable) in events {
                written += sqlx::query(
                    "update event set mode = $2, status = $3, place = $4, latitude = $5, longitude = $6
                     where id = $1 and place is null",
                )
                .bind(id)
                .bind(findable.mode.name())
                .bind(findable.status.name())
                .bind(&findable.place)
                .bind(findable.latitude())
                .bind(findable.longitude())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await.map(|()| written)
        }
        .await)?;
        if written > 0 {
            self.changed();
        }
        Ok(written)
    }

    /// Dated events that end (or, lacking an end, start) at or after `now`, soonest first.
    pub async fn upcoming_events(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Event>, StoreError> {
        let filter = EventFilter {
            window: Window {
                from: now,
                until: None,
                undated: false,
            },
            ..EventFilter::upcoming(now)
        };
        self.events_by_date(&filter, None, limit).await
    }

    /// Events in `filter`'s window, soonest first (an event under way before one yet to begin),
    /// then those without a date: `limit` of them after `after`.
    pub async fn events_by_date(
        &self,
        filter: &EventFilter,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let limit = i64::from(limit);
        let mut events = Vec::new();
        if !matches!(after, Some(Cursor::Undated { .. })) {
            let mut sql = Sql::new(
                self,
                &format!("select {EVENT_COLUMNS} from event where event.starts_at is not null"),
            );
            sql.dated_window(&filter.window);
            if let Some(Cursor::Dated { starts_at, id }) = after {
                let starts_at = sql.arg(Arg::Time(starts_at));
                let id = sql.arg(Arg::Int(id));
                sql.push(&format!(" and (event.starts_at, event.id) > ({starts_at}, {id})"));
            }
            sql.filters(filter);
            let limit = sql.arg(Arg::Int(limit));
            sql.push(&format!(" order by event.starts_at, event.id limit {limit}"));
            let rows: Vec<EventRow> = with_pool!(self, |pool| bound!(query_as, sql).fetch_all(pool).await)?;
            for row in rows {
                events.push(Event::try_from(row)?);
            }
        }
        let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
        if filter.window.undated && events.len() < wanted {
            let mut sql = Sql::new(
                self,
                &format!("select {EVENT_COLUMNS} from event where event.starts_at is null"),
            );
            if let Some(Cursor::Undated { id }) = after {
                let id = sql.arg(Arg::Int(id));
                sql.push(&format!(" and event.id > {id}"));
            }
            sql.filters(filter);
            let rest = sql.arg(Arg::Int(limit - events.len() as i64));
            sql.push(&format!(" order by event.id limit {rest}"));
            let rows: Vec<EventRow> = with_pool!(self, |pool| bound!(query_as, sql).fetch_all(pool).await)?;
            for row in rows {
                events.push(Event::try_from(row)?);
            }
        }
        Ok(events)
    }

    /// Events matching every word of `text` (the last as the start of a word) within `filter`,
    /// most relevant first: `limit` of them after the first `offset`. Each comes with its name and
    /// a passage of its description marked where they match.
    pub async fn events_by_words(
        &self,
        filter: &EventFilter,
        text: &SearchText,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Found>, StoreError> {
        let postgres = matches!(self.pool, super::Pool::Postgres(_));
        let mut sql = match postgres {
            // `to_tsquery` syntax: `jazz & nigh:*`. The words are letters and digits only.
            true => {
                let query = sql_arg_query(text, " & ", |word| word.to_owned(), ":*");
                let mut sql = Sql::new(self, "");
                let query = sql.arg(Arg::Text(query));
                sql.push(&format!(
                    "select event.id from event, to_tsquery('english', {query}) as query
                     where event.search @@ query"
                ));
                sql
            }
            // FTS5 syntax: `"jazz" "nigh"*`.
            false => {
                let query = sql_arg_query(text, " ", |word| format!("\"{word}\""), "*");
                let mut sql = Sql::new(self, "");
                let query = sql.arg(Arg::Text(query));
                sql.push(&format!(
                    "select event.id from event_fts join event on event.id = event_fts.rowid
                     where event_fts match {query}"
                ));
                sql
            }
        };
        match filter.window.undated {
            true => {
                sql.push(" and (event.starts_at is null or (event.starts_at is not null");
                sql.dated_window(&filter.window);
                sql.push("))");
            }
            false => {
                sql.push(" and event.starts_at is not null");
                sql.dated_window(&filter.window);
            }
        }
        sql.filters(filter);
        let limit = sql.arg(Arg::Int(i64::from(limit)));
        let offset = sql.arg(Arg::Int(i64::from(offset)));
        sql.push(&match postgres {
            true => format!(" order by ts_rank_cd(event.search, query) desc, event.id limit {limit} offset {offset}"),
            false => format!(" order by event_fts.rank, event.id limit {limit} offset {offset}"),
        });
        let ids: Vec<i64> = with_pool!(self, |pool| bound!(query_scalar, sql).fetch_all(pool).await)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut events = self.events_by_ids(&ids).await?;
        let mut marks = self.marks(text, &ids, postgres).await?;
        Ok(ids
            .iter()
            .filter_map(|id| {
                let event = events.remove(id)?;
                let (name, passage) = marks.remove(id).unwrap_or_default();
                Some(Found { event, name, passage })
            })
            .collect())
    }

    /// The events with these ids, by id.
    async fn events_by_ids(&self, ids: &[i64]) -> Result<HashMap<i64, Event>, StoreError> {
        let mut sql = Sql::new(self, &format!("select {EVENT_COLUMNS} from event where event.id in ("));
        let list: Vec<String> = ids.iter().map(|id| sql.arg(Arg::Int(*id))).collect();
        sql.push(&list.join(", "));
        sql.push(")");
        let rows: Vec<EventRow> = with_pool!(self, |pool| bound!(query_as, sql).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|row| Event::try_from(row).map(|event| (event.id, event)))
            .collect()
    }

    /// The names and passages of these events with `text`'s matches marked, computed for one
    /// page only (marking is the costly part of a search).
    async fn marks(
        &self,
        text: &SearchText,
        ids: &[i64],
        postgres: bool,
    ) -> Result<HashMap<i64, (Option<String>, Option<String>)>, StoreError> {
        let mut sql = Sql::new(self, "");
        let start = MARK_START.to_string();
        let end = MARK_END.to_string();
        match postgres {
            true => {
                let query = sql.arg(Arg::Text(sql_arg_query(text, " & ", |word| word.to_owned(), ":*")));
                let whole = sql.arg(Arg::Text(format!("StartSel={start}, StopSel={end}, HighlightAll=true")));
                let passage = sql.arg(Arg::Text(format!(
                    "StartSel={start}, StopSel={end}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \""
                )));
                sql.push(&format!(
                    "select event.id, ts_headline('english', event.name, query, {whole}),
                            ts_headline('english', coalesce(event.description, ''), query, {passage})
                     from event, to_tsquery('english', {query}) as query
                     where event.id in ("
                ));
            }
            false => {
                let query = sql.arg(Arg::Text(sql_arg_query(text, " ", |word| format!("\"{word}\""), "*")));
                let start = sql.arg(Arg::Text(start));
                let end = sql.arg(Arg::Text(end));
                sql.push(&format!(
                    "select rowid, highlight(event_fts, 0, {start}, {end}),
                            snippet(event_fts, 1, {start}, {end}, ' … ', 24)
                     from event_fts where event_fts match {query} and rowid in ("
                ));
            }
        }
        let list: Vec<String> = ids.iter().map(|id| sql.arg(Arg::Int(*id))).collect();
        sql.push(&list.join(", "));
        sql.push(")");
        let rows: Vec<(i64, Option<String>, Option<String>)> =
            with_pool!(self, |pool| bound!(query_as, sql).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|(id, name, passage)| (id, (name, passage.filter(|p| p.contains(MARK_START)))))
            .collect())
    }
}

/// A search's words in an engine's query syntax: each word quoted as `quote` does, joined by
/// `and`, the last one marked as a prefix with `prefix`.
fn sql_arg_query(text: &SearchText, and: &str, quote: impl Fn(&str) -> String, prefix: &str) -> String {
    let words = text.words();
    words
        .iter()
        .enumerate()
        .map(|(i, word)| match i + 1 == words.len() {
            true => format!("{}{prefix}", quote(word)),
            false => quote(word),
        })
        .collect::<Vec<_>>()
        .join(and)
}
