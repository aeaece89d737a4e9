//! Events kept on Skymeet only: every event of a person without Bluesky, and the unlisted and
//! private events of anyone (a record on a PDS is public to the whole network, so those are never
//! published). A change is made here at once; there is no PDS to wait for. The record the event
//! would be published as is kept all the same (`Event::record`), so pages, feeds and search read
//! it like any other event, and connecting Bluesky later can publish it unchanged.
//!
//! Answers to such events, and the answers of people without Bluesky, are kept here too (see
//! [`Calendar::answer`]).

use super::{Calendar, PublishError, Published};
use crate::domain::{AtUri, Collection, EventDraft, Rkey, RsvpStatus, Visibility};
use crate::server::{
    pds::calendar_event::{CalendarEvent, COLLECTION},
    store::{
        Event, Findable, NewEvent, NewPendingWrite, SourceTracking, SourceType, Store, StoreError, User, WriteOperation,
    },
};
use chrono::Utc;

impl Calendar {
    /// Keeps a new event here; `rkey` is the record key chosen for it already (a series
    /// occurrence's, which finds it by that key), kept for when it is published.
    pub(super) async fn create_here(
        &self,
        owner: &User,
        draft: &EventDraft,
        visibility: Visibility,
        rkey: Option<Rkey>,
    ) -> Result<Event, PublishError> {
        let record = CalendarEvent::new(draft, Utc::now());
        let mut event = local_event(owner.id, draft, &record, visibility);
        event.source.rkey = rkey.map(String::from);
        Ok(self.store.insert_event(&event).await?)
    }

    pub(super) async fn update_here(
        &self,
        owner: &User,
        event: &Event,
        draft: &EventDraft,
        visibility: Visibility,
    ) -> Result<Event, PublishError> {
        owned_here(owner, event)?;
        let record = super::edited_record(event, draft)?;
        self.store
            .update_event_record(event.id, &local_event(owner.id, draft, &record, visibility), None)
            .await?
            // Deleted by its organiser in another tab meanwhile.
            .ok_or(PublishError::Forbidden)
    }

    pub(super) async fn delete_here(&self, owner: &User, event: &Event) -> Result<(), PublishError> {
        owned_here(owner, event)?;
        self.store.delete_event(event.id, None).await?;
        Ok(())
    }

    /// Publishes a public event kept here to its organiser's PDS, now that they connected
    /// Bluesky: it is given its record key and at-uri first (so the firehose, should it bring the
    /// record back before the PDS answers, finds this event and makes no second one), then the
    /// record goes out as a pending write under that key, retried until the PDS takes it. A
    /// failure on the way loses nothing: the event stays, "pending", and is never created twice.
    #[tracing::instrument(skip_all, fields(owner = owner.id, event = event.id), err)]
    pub async fn publish_here(&self, owner: &User, event: &Event) -> Result<Event, PublishError> {
        owned_here(owner, event)?;
        let did = super::bluesky_did(owner)?;
        if event.visibility.is_hidden() {
            return Err(PublishError::NotPublic);
        }
        let record = event.record.clone().ok_or_else(|| {
            PublishError::BadRecord(crate::server::pds::calendar_event::RecordError::missing("record"))
        })?;
        // A series occurrence has its key already: the series finds it by that key.
        let rkey = match event.source.rkey.as_deref().map(Rkey::parse) {
            Some(Ok(rkey)) => rkey,
            _ => self.next_rkey(),
        };
        let uri = AtUri::new(did.clone(), COLLECTION, rkey.clone());
        self.store.start_publishing(event.id, did, &uri).await?;
        let write = NewPendingWrite {
            owner_id: owner.id,
            event_id: Some(event.id),
            operation: WriteOperation::Create,
            collection: Collection::Event,
            rkey,
            record: Some(record),
            swap_cid: None,
            time_zone: event.time_zone.clone(),
        };
        match self.queue_and_send(owner, &write).await? {
            Published::Saved(event) => Ok(*event),
            _ => super::unexpected_outcome(),
        }
    }

    /// Publishes `user`'s answers kept here to events on Bluesky as RSVP records, now that they
    /// connected it; each answer kept here goes once its write is made (sent, or queued to be
    /// retried). How many went.
    pub async fn publish_answers_here(&self, user: &User) -> Result<usize, PublishError> {
        super::bluesky_did(user)?;
        let mut published = 0;
        for (event, status) in self.store.local_answers_to_published(user.id).await? {
            match self.answer(user, &event, status).await {
                Ok(_) | Err(PublishError::Queued { .. }) => {}
                Err(e) => return Err(e),
            }
            self.store.delete_local_rsvp(user.id, event.id).await?;
            published += 1;
        }
        Ok(published)
    }

    /// Keeps `user`'s answer to `event` here, replacing the one they gave before.
    pub(super) async fn answer_here(&self, user: &User, event: &Event, status: RsvpStatus) -> Result<(), PublishError> {
        self.store.save_local_rsvp(user.id, event.id, status).await?;
        Ok(())
    }

    pub(super) async fn withdraw_here(&self, user: &User, event: &Event) -> Result<(), PublishError> {
        self.store.delete_local_rsvp(user.id, event.id).await?;
        Ok(())
    }
}

/// The secret of private event `event_id`'s invitation link, made the first time it is asked for;
/// `None` for an event that is not private.
pub async fn invite_code(store: &Store, event_id: i64) -> Result<Option<String>, StoreError> {
    store.invite_code(event_id, &crate::server::accounts::new_token()).await
}

/// Whether an answer of `user` to `event` is kept here: they have no PDS to write it to, or the
/// event has no record to answer.
pub(super) fn answered_here(user: &User, event: &Event) -> bool {
    user.did.is_none() || event.source.source_type == SourceType::Local
}

fn owned_here(owner: &User, event: &Event) -> Result<(), PublishError> {
    if event.owner_id == Some(owner.id) && event.source.source_type == SourceType::Local {
        Ok(())
    } else {
        Err(PublishError::Forbidden)
    }
}

/// The row of an event kept here, with the record it would be published as.
fn local_event(owner_id: i64, draft: &EventDraft, record: &CalendarEvent, visibility: Visibility) -> NewEvent {
    NewEvent {
        owner_id: Some(owner_id),
        name: crate::domain::unmarked(draft.name.trim()),
        description: draft.description.as_deref().map(crate::domain::unmarked),
        starts_at: draft.starts_at,
        ends_at: draft.ends_at,
        time_zone: draft.time_zone.clone(),
        source: SourceTracking::local(),
        record: Some(record.to_value()),
        findable: Findable::of(draft, &record.places()),
        visibility,
    }
}
