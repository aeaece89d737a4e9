//! Finding events for `/events`, the home page and a search's feeds: a checked search becomes the
//! store's filter (its dates in the viewer's zone, its organiser's handle resolved the way a user
//! page resolves it), then one page of results.

use super::reads::{EventRead, Owners, ReadError, Reads};
use crate::domain::{Cursor, EventSearch, Marked, TimeZoneName, RANKED_RESULTS_MAX};
use crate::server::store::{EventFilter, Findable, Store, StoreError, User};
use chrono::{DateTime, Utc};

/// One page of a search.
#[derive(Debug, Clone)]
pub struct SearchRead {
    pub results: Vec<FoundRead>,
    /// Where the next page starts, when there is one.
    pub next: Option<Cursor>,
}

/// One event found, with its matches marked when words found it.
#[derive(Debug, Clone)]
pub struct FoundRead {
    pub event: EventRead,
    pub name: Option<Marked>,
    pub passage: Option<Marked>,
}

impl Reads {
    /// Page `after` (from the start when `None`) of `search` at `now` for a viewer in `zone`: at
    /// most `per_page` events, by date, or by relevance when it has words.
    pub async fn search(
        &self,
        search: &EventSearch,
        zone: &TimeZoneName,
        now: DateTime<Utc>,
        after: Option<Cursor>,
        per_page: u32,
        viewer: Option<&User>,
    ) -> Result<SearchRead, ReadError> {
        let Some(filter) = self.filter(search, zone, now).await? else {
            return Ok(SearchRead {
                results: Vec::new(),
                next: None,
            });
        };
        let per_page = per_page.max(1);
        let mut owners = Owners::default();
        let Some(text) = &search.text else {
            let after = after.filter(|cursor| !matches!(cursor, Cursor::Ranked { .. }));
            let mut events = self.store().events_by_date(&filter, after, per_page + 1).await?;
            let more = events.len() > per_page as usize;
            events.truncate(per_page as usize);
            let next = match (more, events.last()) {
                (true, Some(last)) => Some(match last.starts_at {
                    Some(starts_at) => Cursor::Dated { starts_at, id: last.id },
                    None => Cursor::Undated { id: last.id },
                }),
                _ => None,
            };
            owners
                .prefetch(self.store(), &events.iter().collect::<Vec<_>>())
                .await?;
            let mut results = Vec::with_capacity(events.len());
            for event in events {
                results.push(FoundRead {
                    event: self.read(&mut owners, event, viewer).await?,
                    name: None,
                    passage: None,
                });
            }
            return Ok(SearchRead { results, next });
        };
        let offset = match after {
            Some(Cursor::Ranked { offset }) => offset,
            _ => 0,
        };
        let wanted = per_page.min(RANKED_RESULTS_MAX.saturating_sub(offset));
        let mut found = self.store().events_by_words(&filter, text, offset, wanted + 1).await?;
        let more = found.len() > wanted as usize;
        found.truncate(wanted as usize);
        let next = (more && offset + wanted < RANKED_RESULTS_MAX).then_some(Cursor::Ranked {
            offset: offset + wanted,
        });
        owners
            .prefetch(
                self.store(),
                &found.iter().map(|found| &found.event).collect::<Vec<_>>(),
            )
            .await?;
        let mut results = Vec::with_capacity(found.len());
        for found in found {
            results.push(FoundRead {
                event: self.read(&mut owners, found.event, viewer).await?,
                name: found.name.as_deref().map(Marked::parse).filter(Marked::has_match),
                passage: found.passage.as_deref().map(Marked::parse).filter(Marked::has_match),
            });
        }
        Ok(SearchRead { results, next })
    }

    /// The store's filter for `search`; `None` when nothing can match (an organiser who has no
    /// events here).
    async fn filter(
        &self,
        search: &EventSearch,
        zone: &TimeZoneName,
        now: DateTime<Utc>,
    ) -> Result<Option<EventFilter>, ReadError> {
        let owner_id = match &search.organiser {
            None => None,
            Some(handle) => {
                let Some(identity) = self.identity() else {
                    return Ok(None);
                };
                // Whose events these are, the handle itself says (as on a user page).
                let Some(did) = identity.resolve_handle(handle).await.map_err(ReadError::Unresolved)? else {
                    return Ok(None);
                };
                match self.store().user_by_did(&did).await? {
                    Some(user) => Some(user.id),
                    None => return Ok(None),
                }
            }
        };
        Ok(Some(EventFilter {
            window: search.dates.window(now, zone),
            mode: search.mode,
            hide_cancelled: search.hide_cancelled,
            owner_id,
            near: search.near,
        }))
    }
}

/// Gives every event stored before searches read their place, mode and status those facts now,
/// from its record. Returns how many; run at start-up (every instance may: a row is only
/// written while it has none).
pub async fn fill_findable(store: &Store) -> Result<u64, StoreError> {
    let mut filled = 0;
    loop {
        let events = store.events_not_findable().await?;
        if events.is_empty() {
            return Ok(filled);
        }
        let facts: Vec<(i64, Findable)> = events
            .iter()
            .map(|event| {
                let described = super::reads::described(event);
                (event.id, Findable::of(&described.draft, &described.places))
            })
            .collect();
        let written = store.set_findable(&facts).await?;
        // Every row of the batch was written (now or by another instance since): the next
        // batch is new rows.
        filled += written;
    }
}
