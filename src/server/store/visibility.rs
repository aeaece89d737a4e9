//! Who may see an event: anyone may see a public or unlisted one (an unlisted one is only never
//! listed, which the listings see to); a private one only its organiser, the guests they let in,
//! and whoever holds its invitation link. Every read of one event for a viewer goes through here.

use super::{with_pool, Event, EventRow, Store, StoreError, EVENT_COLUMNS};
use crate::domain::Visibility;

/// Who is looking, and with which invitation (the `?invite=` of a private event's link).
#[derive(Debug, Clone, Copy, Default)]
pub struct Looker<'a> {
    pub user_id: Option<i64>,
    pub invite: Option<&'a str>,
}

impl<'a> Looker<'a> {
    pub fn user(user_id: Option<i64>) -> Self {
        Self { user_id, invite: None }
    }
}

/// The condition on `event` that lets `$2` (a user id, or null) or `$3` (an invitation code, or
/// null) see it.
const SEEN_BY: &str = "(event.visibility <> 'private'
      or event.owner_id = $2
      or (event.invite_code is not null and event.invite_code = $3)
      or exists (select 1 from event_guest where event_guest.event_id = event.id and event_guest.user_id = $2))";

impl Store {
    /// Event `id` if `looker` may see it; `None` as well when there is none, so a private event
    /// cannot be told from a missing one.
    pub async fn event_seen_by(&self, id: i64, looker: Looker<'_>) -> Result<Option<Event>, StoreError> {
        let sql = format!("select {EVENT_COLUMNS} from event where event.id = $1 and {SEEN_BY}");
        let row: Option<EventRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id)
            .bind(looker.user_id)
            .bind(looker.invite)
            .fetch_optional(pool)
            .await)?;
        row.map(Event::try_from).transpose()
    }

    /// Lets `user_id` into private event `event_id` for good (they came with its link).
    pub async fn add_guest(&self, event_id: i64, user_id: i64) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "insert into event_guest (event_id, user_id) values ($1, $2) on conflict do nothing"
        )
        .bind(event_id)
        .bind(user_id)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// How many people an organiser let into a private event.
    pub async fn guest_count(&self, event_id: i64) -> Result<i64, StoreError> {
        Ok(with_pool!(self, |pool| sqlx::query_scalar(
            "select count(*) from event_guest where event_id = $1"
        )
        .bind(event_id)
        .fetch_one(pool)
        .await)?)
    }

    /// The invitation code of a private event, made on first asking; `None` for any other.
    pub async fn invite_code(&self, event_id: i64, fresh: &str) -> Result<Option<String>, StoreError> {
        Ok(with_pool!(self, |pool| sqlx::query_scalar(
            "update event set invite_code = coalesce(invite_code, $2)
             where id = $1 and visibility = $3 returning invite_code"
        )
        .bind(event_id)
        .bind(fresh)
        .bind(Visibility::Private.name())
        .fetch_optional(pool)
        .await)?
        .flatten())
    }
}
