//! Connecting Bluesky to a local account: the account gets the DID, and whatever Skymeet already
//! held for that DID (the shadow user the firehose made, or the row the OAuth sign-in made a
//! moment before) is merged into it, so there is one user per DID, always, and no event, answer
//! or conflict of it is lost.

use super::{with_pool, NewBlueskyUser, Store, StoreError};
use chrono::Utc;

/// What connecting did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connected {
    /// The account has the DID; `merged` names the user it took over (its rows are the account's
    /// now, and it is gone), and `shadow` says whether that one was seen on the firehose only.
    Done { merged: Option<i64>, shadow: bool },
    /// The DID is another account's (a Bluesky account that signs in on its own, or another
    /// local account that connected it): nothing changed.
    Taken,
}

/// The tables whose rows name their person in `owner_id`.
const OWNED: [&str; 5] = ["event", "rsvp", "sync_conflict", "pending_write", "series"];

impl Store {
    /// Gives local account `user_id` the DID `bluesky.did` (with its verified handle).
    #[tracing::instrument(skip_all, fields(user_id, did = %bluesky.did), err)]
    pub async fn connect_did(&self, user_id: i64, bluesky: &NewBlueskyUser) -> Result<Connected, StoreError> {
        let connected = with_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.begin_writing()).await?;
            let other: Option<(i64, bool, Option<String>, bool)> = sqlx::query_as(
                "select id, shadow, handle, exists (select 1 from local_login where local_login.user_id = app_user.id)
                 from app_user where did = $1",
            )
            .bind(bluesky.did.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let (merged, shadow) = match other {
                Some((id, ..)) if id == user_id => (None, false),
                // Someone's own: an account with a password, or one that signed in and has a handle.
                Some((_, false, _, true)) | Some((_, false, Some(_), false)) => {
                    return Ok::<_, sqlx::Error>(Connected::Taken);
                }
                Some((id, shadow, ..)) => {
                    for table in OWNED {
                        sqlx::query(&format!("update {table} set owner_id = $1 where owner_id = $2"))
                            .bind(user_id)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    sqlx::query("delete from app_user where id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    (Some(id), shadow)
                }
                None => (None, false),
            };
            sqlx::query(
                "update app_user set did = $2, handle = $3, provider = 'bluesky', shadow = false,
                     claimed_at = case when $4 then $5 else claimed_at end
                 where id = $1",
            )
            .bind(user_id)
            .bind(bluesky.did.as_str())
            .bind(bluesky.handle.as_ref().map(crate::domain::Handle::as_str))
            .bind(shadow)
            .bind(Utc::now())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Connected::Done { merged, shadow })
        }
        .await)?;
        self.changed();
        Ok(connected)
    }
}
