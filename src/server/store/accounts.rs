//! Local accounts: how people without Bluesky sign in (their address and password hash) and the
//! single-use links emailed to them. The secrets (the hash; the tokens, kept only as hashes) never
//! become part of [`super::User`], so nothing that shows or logs a user can show them.

use super::{with_pool, ResultExt, Store, StoreError, User};
use crate::domain::EmailAddress;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

/// How a local account signs in.
#[derive(Debug)]
pub struct LocalLogin {
    pub user_id: i64,
    pub email: EmailAddress,
    /// The Argon2id PHC string.
    pub password_hash: SecretString,
    pub email_verified_at: Option<DateTime<Utc>>,
}

/// What an emailed link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Confirms the address it was sent to.
    Verify,
    /// Lets the holder choose a new password.
    Reset,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Reset => "reset",
        }
    }
}

/// Why a link does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefused {
    #[error("no such link was sent")]
    Unknown,
    #[error("the link was used already")]
    Used,
    #[error("the link has expired")]
    Expired,
}

#[derive(sqlx::FromRow)]
struct LoginRow {
    user_id: i64,
    email: String,
    password_hash: String,
    email_verified_at: Option<DateTime<Utc>>,
}

impl TryFrom<LoginRow> for LocalLogin {
    type Error = StoreError;
    fn try_from(row: LoginRow) -> Result<Self, Self::Error> {
        Ok(Self {
            email: EmailAddress::parse(&row.email)
                .map_err(|e| StoreError::Corrupt(format!("local_login {}: {e}", row.user_id)))?,
            user_id: row.user_id,
            password_hash: SecretString::from(row.password_hash),
            email_verified_at: row.email_verified_at,
        })
    }
}

impl Store {
    /// A new local person named `name` signing in with `email`; `None` when the address has an
    /// account already (nothing is written then).
    pub async fn create_local_account(
        &self,
        name: &str,
        email: &EmailAddress,
        password_hash: &str,
    ) -> Result<Option<User>, StoreError> {
        let created = with_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.begin_writing()).await?;
            let taken: Option<(i64,)> = sqlx::query_as("select user_id from local_login where email = $1")
                .bind(email.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Ok(None);
            }
            let (id,): (i64,) =
                sqlx::query_as("insert into app_user (display_name, provider) values ($1, 'local') returning id")
                    .bind(name)
                    .fetch_one(&mut *tx)
                    .await?;
            sqlx::query("insert into local_login (user_id, email, password_hash) values ($1, $2, $3)")
                .bind(id)
                .bind(email.as_str())
                .bind(password_hash)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(id))
        }
        .await);
        // Two sign-ups with one address at once: the second meets the unique key.
        let id = match created.on_unique_violation("an account with this address") {
            Ok(id) => id,
            Err(StoreError::Duplicate(_)) => None,
            Err(e) => return Err(e),
        };
        match id {
            Some(id) => self.user_by_id(id).await,
            None => Ok(None),
        }
    }

    /// How the account with `email` signs in.
    pub async fn local_login_by_email(&self, email: &EmailAddress) -> Result<Option<LocalLogin>, StoreError> {
        let row: Option<LoginRow> = with_pool!(self, |pool| sqlx::query_as(
            "select user_id, email, password_hash, email_verified_at from local_login where email = $1"
        )
        .bind(email.as_str())
        .fetch_optional(pool)
        .await)?;
        row.map(LocalLogin::try_from).transpose()
    }

    /// How `user_id` signs in, when they have a local account.
    pub async fn local_login_of(&self, user_id: i64) -> Result<Option<LocalLogin>, StoreError> {
        let row: Option<LoginRow> = with_pool!(self, |pool| sqlx::query_as(
            "select user_id, email, password_hash, email_verified_at from local_login where user_id = $1"
        )
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
        row.map(LocalLogin::try_from).transpose()
    }

    /// Records that `user_id` showed they read mail sent to their address.
    pub async fn mark_email_verified(&self, user_id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "update local_login set email_verified_at = coalesce(email_verified_at, $2) where user_id = $1"
        )
        .bind(user_id)
        .bind(at)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Replaces `user_id`'s password and signs them out everywhere, in one transaction.
    pub async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<(), StoreError> {
        with_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.begin_writing()).await?;
            sqlx::query("update local_login set password_hash = $2 where user_id = $1")
                .bind(user_id)
                .bind(password_hash)
                .execute(&mut *tx)
                .await?;
            sqlx::query("update app_user set session_generation = session_generation + 1 where id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await)?;
        Ok(())
    }

    /// Ends every session of `user_id`: sessions made before now are no longer signed in.
    pub async fn end_sessions(&self, user_id: i64) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "update app_user set session_generation = session_generation + 1 where id = $1"
        )
        .bind(user_id)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Keeps a link's token (its hash) for `user_id` until `expires_at`.
    pub async fn insert_account_token(
        &self,
        token_hash: &str,
        user_id: i64,
        purpose: TokenPurpose,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "insert into account_token (token_hash, user_id, purpose, expires_at) values ($1, $2, $3, $4)"
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Uses the link whose token hashes to `token_hash` for `purpose` at `now`: whose it is, once.
    /// A link used, expired or never sent changes nothing.
    pub async fn use_account_token(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<Result<i64, TokenRefused>, StoreError> {
        let used = with_pool!(self, |pool| async {
            let mut tx = pool.begin_with(self.begin_writing()).await?;
            let row: Option<(i64, DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(
                "select user_id, expires_at, used_at from account_token where token_hash = $1 and purpose = $2",
            )
            .bind(token_hash)
            .bind(purpose.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let outcome = match row {
                None => Err(TokenRefused::Unknown),
                Some((_, _, Some(_))) => Err(TokenRefused::Used),
                Some((_, expires_at, None)) if expires_at <= now => Err(TokenRefused::Expired),
                Some((user_id, _, None)) => {
                    sqlx::query("update account_token set used_at = $2 where token_hash = $1")
                        .bind(token_hash)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    Ok(user_id)
                }
            };
            tx.commit().await?;
            Ok::<_, sqlx::Error>(outcome)
        }
        .await)?;
        Ok(used)
    }
}
