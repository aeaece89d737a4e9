//! The tokens of people's private calendar feeds (see the migration). They are secrets: they are
//! never part of [`super::User`], so nothing that shows or logs a user shows them.

use super::{with_pool, Store, StoreError};

impl Store {
    /// `user_id`'s token, if they asked for one.
    pub async fn calendar_token(&self, user_id: i64) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> = with_pool!(self, |pool| sqlx::query_as(
            "select calendar_token from app_user where id = $1"
        )
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.and_then(|(token,)| token))
    }

    /// Gives `user_id` the token `token`, replacing the one they had.
    pub async fn set_calendar_token(&self, user_id: i64, token: &str) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(
            "update app_user set calendar_token = $2 where id = $1"
        )
        .bind(user_id)
        .bind(token)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Whose token `token` is: their user id.
    pub async fn user_id_by_calendar_token(&self, token: &str) -> Result<Option<i64>, StoreError> {
        let row: Option<(i64,)> = with_pool!(self, |pool| sqlx::query_as(
            "select id from app_user where calendar_token = $1"
        )
        .bind(token)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|(id,)| id))
    }
}
