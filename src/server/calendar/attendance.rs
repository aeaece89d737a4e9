//! RSVPs, PDS first: an answer goes to the answering person's own PDS, as one record per
//! person per event. Changing the answer updates that record (swapRecord on the CID we hold),
//! withdrawing deletes it, and the cache follows only what the PDS accepted. A write the PDS
//! could not take yet waits as a pending write of the RSVP collection, whose `event_id` is the
//! event answered, and is retried under its record key like an event's.

use super::{bluesky_did, Calendar, PublishError, Published, Sent};
use crate::domain::{AtUri, Collection, RsvpStatus};
use crate::server::{
    pds::calendar_rsvp::{CalendarRsvp, COLLECTION},
    store::{Event, NewPendingWrite, NewRsvp, PendingWrite, Rsvp, StoreError, User, WriteOperation},
};
use chrono::Utc;

/// The record an answer changes: the one still queued, the one stored, or none yet.
struct Current {
    queued: Option<PendingWrite>,
    stored: Option<Rsvp>,
}

impl Calendar {
    /// Answers `event` for `user`: creates their RSVP record, or changes the one they have. The
    /// answer of someone without Bluesky, or to an event kept here, is kept here (`None`).
    #[tracing::instrument(skip_all, fields(user = user.id, event = event.id, status = status.name()), err)]
    pub async fn answer(&self, user: &User, event: &Event, status: RsvpStatus) -> Result<Option<Rsvp>, PublishError> {
        if super::local::answered_here(user, event) {
            return self.answer_here(user, event, status).await.map(|()| None);
        }
        bluesky_did(user)?;
        let (subject, subject_cid) = subject(event)?;
        let Current { queued, stored } = self.current(user, event, &subject).await?;
        let (operation, rkey, swap_cid, base) = match (queued, stored) {
            // Still queued: the same record key, and still a create if its create never landed.
            (Some(write), stored) => {
                let operation = match write.operation {
                    WriteOperation::Create => WriteOperation::Create,
                    _ => WriteOperation::Update,
                };
                let base = write.record.or_else(|| stored.map(|rsvp| rsvp.record));
                (operation, write.rkey, write.swap_cid, base)
            }
            (None, Some(rsvp)) => {
                let rkey = AtUri::parse(&rsvp.at_uri)
                    .map_err(|e| StoreError::Corrupt(format!("rsvp {}: {e}", rsvp.id)))?
                    .rkey()
                    .clone();
                (WriteOperation::Update, rkey, Some(rsvp.cid), Some(rsvp.record))
            }
            (None, None) => (WriteOperation::Create, self.next_rkey(), None, None),
        };
        let mut record = base
            .and_then(|value| CalendarRsvp::from_value(value).ok())
            .unwrap_or_else(|| CalendarRsvp::new(&subject, &subject_cid, status, Utc::now()));
        record.answer(&subject_cid, status);
        let write = NewPendingWrite {
            owner_id: user.id,
            event_id: Some(event.id),
            operation,
            collection: Collection::Rsvp,
            rkey,
            record: Some(record.to_value()),
            swap_cid,
            time_zone: event.time_zone.clone(),
        };
        match self.queue_and_send(user, &write).await? {
            Published::Answered(rsvp) => Ok(Some(*rsvp)),
            _ => super::unexpected_outcome(),
        }
    }

    /// Withdraws `user`'s answer to `event`: deletes their RSVP record (only the version we hold).
    #[tracing::instrument(skip_all, fields(user = user.id, event = event.id), err)]
    pub async fn withdraw(&self, user: &User, event: &Event) -> Result<(), PublishError> {
        if super::local::answered_here(user, event) {
            return self.withdraw_here(user, event).await;
        }
        bluesky_did(user)?;
        let (subject, _) = subject(event)?;
        let Current { queued, stored } = self.current(user, event, &subject).await?;
        let (rkey, swap_cid) = match (queued, stored) {
            // A create that may or may not have landed: deleting without a swap is safe either way.
            (Some(write), None) if write.operation == WriteOperation::Create => (write.rkey, None),
            (Some(write), _) => (write.rkey, write.swap_cid),
            (None, Some(rsvp)) => {
                let uri =
                    AtUri::parse(&rsvp.at_uri).map_err(|e| StoreError::Corrupt(format!("rsvp {}: {e}", rsvp.id)))?;
                (uri.rkey().clone(), Some(rsvp.cid))
            }
            (None, None) => return Ok(()),
        };
        let write = NewPendingWrite {
            owner_id: user.id,
            event_id: Some(event.id),
            operation: WriteOperation::Delete,
            collection: Collection::Rsvp,
            rkey,
            record: None,
            swap_cid,
            time_zone: event.time_zone.clone(),
        };
        self.queue_and_send(user, &write).await.map(|_| ())
    }

    async fn current(&self, user: &User, event: &Event, subject: &AtUri) -> Result<Current, StoreError> {
        Ok(Current {
            queued: self
                .store
                .pending_write_for_event(user.id, Collection::Rsvp, event.id)
                .await?,
            stored: self.store.rsvp_of(user.id, &subject.to_string()).await?,
        })
    }

    /// Settles an RSVP write the PDS accepted: the answer is stored (or removed) together with the
    /// pending write's deletion.
    pub(super) async fn settle_rsvp(
        &self,
        did: &crate::domain::Did,
        write: &PendingWrite,
        sent: Sent,
    ) -> Result<Published, PublishError> {
        let at_uri = AtUri::new(did.clone(), COLLECTION, write.rkey.clone()).to_string();
        let written = match sent {
            Sent::Written(written) => written,
            Sent::Deleted(commit) => {
                let rev = commit.and_then(|commit| commit.rev);
                self.store.delete_rsvp(&at_uri, rev.as_ref(), Some(write.id)).await?;
                return Ok(Published::Deleted);
            }
        };
        let value = write.record.clone().unwrap_or_default();
        let rsvp = cached_rsvp(write.owner_id, at_uri, value, written.cid)
            .map_err(|e| StoreError::Corrupt(format!("pending_write {}: {e}", write.id)))?;
        let rev = written.commit.as_ref().and_then(|commit| commit.rev.as_ref());
        let rsvp = self.store.save_rsvp(&rsvp, rev, Some(write.id)).await?;
        Ok(Published::Answered(Box::new(rsvp)))
    }

    /// Makes the cached answer what the owner's PDS holds now (after a discarded write). When the
    /// PDS cannot be reached the cache stays as it is; the firehose brings any change later.
    pub(super) async fn refresh_rsvp(&self, owner: &User, rkey: &crate::domain::Rkey) -> Result<(), PublishError> {
        let did = bluesky_did(owner)?;
        let at_uri = AtUri::new(did.clone(), COLLECTION, rkey.clone()).to_string();
        let fetched = match self.identity.public_repo(did).await {
            Ok((repo, _)) => repo.get_record(COLLECTION, rkey).await,
            Err(e) => Err(e),
        };
        match fetched {
            Ok(Some(entry)) => match entry
                .cid
                .map(|cid| cached_rsvp(owner.id, at_uri.clone(), entry.value, cid))
            {
                Some(Ok(rsvp)) => {
                    self.store.save_rsvp(&rsvp, None, None).await?;
                }
                // Not an answer we can read (any more): it does not count here.
                _ => {
                    self.store.delete_rsvp(&at_uri, None, None).await?;
                }
            },
            Ok(None) => {
                self.store.delete_rsvp(&at_uri, None, None).await?;
            }
            Err(e) => tracing::warn!(error = %e, at_uri, "could not refresh an RSVP from its PDS"),
        }
        Ok(())
    }
}

/// The event's at-uri and current CID: what an answer refers to.
fn subject(event: &Event) -> Result<(AtUri, String), PublishError> {
    let uri = event.source.at_uri.as_deref().and_then(|uri| AtUri::parse(uri).ok());
    match (uri, event.source.cid.clone()) {
        (Some(uri), Some(cid)) => Ok((uri, cid)),
        _ => Err(PublishError::NotPublished),
    }
}

/// The cached form of an RSVP record its owner's PDS holds; fails when it is no usable answer.
pub fn cached_rsvp(
    owner_id: i64,
    at_uri: String,
    value: serde_json::Value,
    cid: String,
) -> Result<NewRsvp, crate::server::pds::calendar_rsvp::RsvpError> {
    let record = CalendarRsvp::from_value(value.clone())?;
    Ok(NewRsvp {
        owner_id,
        at_uri,
        status: record.status()?,
        subject_uri: record.subject.uri,
        subject_cid: record.subject.cid,
        cid,
        record: value,
    })
}
