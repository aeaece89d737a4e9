//! The words of event and series addresses (see [`Slug`]): the canonical address of an id, and
//! giving rows stored before slugs existed their words.

use super::{with_pool, Store, StoreError};
use crate::domain::{EventDraft, Slug};
use sqlx::types::Json;

/// What has an address of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressed {
    Event,
    Series,
}

/// How many rows one transaction of the start-up fill gives words to.
const FILL_BATCH: i64 = 500;

impl Store {
    /// The slug of the event or series `id`; `None` when there is none.
    pub async fn slug_of(&self, kind: Addressed, id: i64) -> Result<Option<Slug>, StoreError> {
        let words = match kind {
            Addressed::Event => {
                let row: Option<(Option<String>, String)> = with_pool!(self, |pool| sqlx::query_as(
                    "select slug, name from event where id = $1"
                )
                .bind(id)
                .fetch_optional(pool)
                .await)?;
                row.map(|(slug, name)| slug.unwrap_or_else(|| Slug::words_of(&name)))
            }
            Addressed::Series => {
                let row: Option<(Option<String>, Json<EventDraft>)> = with_pool!(self, |pool| sqlx::query_as(
                    "select slug, draft from series where id = $1"
                )
                .bind(id)
                .fetch_optional(pool)
                .await)?;
                row.map(|(slug, draft)| slug.unwrap_or_else(|| Slug::words_of(&draft.0.name)))
            }
        };
        Ok(words.map(|words| Slug::new(&words, id)))
    }

    /// Gives every event and series stored before slugs existed the words of its name now, so
    /// its address stays the same when it is renamed. Returns how many rows got words; run at
    /// start-up (every instance may: a row is only written while it has none).
    pub async fn fill_missing_slugs(&self) -> Result<u64, StoreError> {
        let mut filled = 0;
        loop {
            let events: Vec<(i64, String)> = with_pool!(self, |pool| sqlx::query_as(
                "select id, name from event where slug is null order by id limit $1"
            )
            .bind(FILL_BATCH)
            .fetch_all(pool)
            .await)?;
            let series: Vec<(i64, Json<EventDraft>)> = with_pool!(self, |pool| sqlx::query_as(
                "select id, draft from series where slug is null order by id limit $1"
            )
            .bind(FILL_BATCH)
            .fetch_all(pool)
            .await)?;
            if events.is_empty() && series.is_empty() {
                return Ok(filled);
            }
            let words = events
                .iter()
                .map(|(id, name)| ("event", *id, Slug::words_of(name)))
                .chain(
                    series
                        .iter()
                        .map(|(id, draft)| ("series", *id, Slug::words_of(&draft.0.name))),
                );
            let words: Vec<_> = words.collect();
            filled += with_pool!(self, |pool| async {
                let mut tx = pool.begin_with(self.begin_writing()).await?;
                let mut written = 0;
                for (table, id, words) in &words {
                    let sql = format!("update {table} set slug = $2 where id = $1 and slug is null");
                    written += sqlx::query(&sql)
                        .bind(id)
                        .bind(words)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                tx.commit().await.map(|()| written)
            }
            .await)?;
        }
    }
}
