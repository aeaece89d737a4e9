use super::{with_pool, ResultExt, Store, StoreError};
use crate::domain::{Did, Handle, Provider};
use chrono::{DateTime, Utc};

/// A person who uses Skymeet.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub did: Option<Did>,
    pub handle: Option<Handle>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub description: Option<String>,
    pub provider: Provider,
    /// Seen on the firehose, never signed in.
    pub shadow: bool,
    /// When the person signing in took over the shadow user the firehose had made for their DID.
    pub claimed_at: Option<DateTime<Utc>>,
    /// When the profile was last read from the user's PDS.
    pub profile_synced_at: Option<DateTime<Utc>>,
    /// From the AppView, when one is configured.
    pub followers_count: Option<i64>,
    pub follows_count: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Sessions made in an earlier generation are signed out (see `Store::end_sessions`).
    pub session_generation: i64,
    /// When an admin disabled the account: it cannot sign in, and its sessions ended.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// What we know of a Bluesky account when it signs in or its profile is refreshed.
#[derive(Debug, Clone)]
pub struct NewBlueskyUser {
    pub did: Did,
    /// Only a handle verified both ways (see `Identity::verified_handle`); `None` clears it.
    pub handle: Option<Handle>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    did: Option<String>,
    handle: Option<String>,
    display_name: Option<String>,
    avatar_url: Option<String>,
    description: Option<String>,
    provider: String,
    shadow: bool,
    claimed_at: Option<DateTime<Utc>>,
    profile_synced_at: Option<DateTime<Utc>>,
    followers_count: Option<i64>,
    follows_count: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    session_generation: i64,
    disabled_at: Option<DateTime<Utc>>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("app_user {}: {e}", row.id));
        Ok(Self {
            id: row.id,
            did: row
                .did
                .as_deref()
                .map(Did::parse)
                .transpose()
                .map_err(|e| corrupt(&e))?,
            handle: row
                .handle
                .as_deref()
                .map(Handle::parse)
                .transpose()
                .map_err(|e| corrupt(&e))?,
            display_name: row.display_name,
            avatar_url: row.avatar_url,
            description: row.description,
            provider: row.provider.parse().map_err(|e| corrupt(&e))?,
            shadow: row.shadow,
            claimed_at: row.claimed_at,
            profile_synced_at: row.profile_synced_at,
            followers_count: row.followers_count,
            follows_count: row.follows_count,
            created_at: row.created_at,
            updated_at: row.updated_at,
            session_generation: row.session_generation,
            disabled_at: row.disabled_at,
        })
    }
}

const USER_COLUMNS: &str =
    "id, did, handle, display_name, avatar_url, description, provider, shadow, claimed_at, profile_synced_at, followers_count, \
     follows_count, created_at, updated_at, session_generation, disabled_at";

/// What an account holds here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    pub events: i64,
    pub rsvps: i64,
}

/// A profile as read from the user's PDS; `None` fields are absent there.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    /// From the AppView; `None` when none is configured or it could not be asked.
    pub followers_count: Option<i64>,
    pub follows_count: Option<i64>,
}

impl Store {
    /// Creates the user for a DID, or updates its handle and profile: one user per DID, always.
    #[tracing::instrument(skip_all, fields(did = %user.did), err)]
    pub async fn upsert_bluesky_user(&self, user: &NewBlueskyUser) -> Result<User, StoreError> {
        let sql = format!(
            "insert into app_user (did, handle, display_name, avatar_url, provider)
             values ($1, $2, $3, $4, 'bluesky')
             on conflict (did) do update set
                 handle = excluded.handle,
                 shadow = false,
                 claimed_at = case when app_user.shadow then $5 else app_user.claimed_at end,
                 display_name = coalesce(excluded.display_name, app_user.display_name),
                 avatar_url = coalesce(excluded.avatar_url, app_user.avatar_url)
             returning {USER_COLUMNS}"
        );
        let row: UserRow = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(user.did.as_str())
                .bind(user.handle.as_ref().map(Handle::as_str))
                .bind(&user.display_name)
                .bind(&user.avatar_url)
                .bind(Utc::now())
                .fetch_one(pool)
                .await
        })
        .on_unique_violation("a user with this DID")?;
        self.changed();
        row.try_into()
    }

    /// What a person's account holds here: their events and their answers (for
    /// `POST /api/auth/bluesky/claim-account`).
    pub async fn holdings(&self, user_id: i64) -> Result<Holdings, StoreError> {
        let sql = "select (select count(*) from event where owner_id = $1),
                          (select count(*) from rsvp where owner_id = $1)";
        let (events, rsvps): (i64, i64) =
            with_pool!(self, |pool| sqlx::query_as(sql).bind(user_id).fetch_one(pool).await)?;
        Ok(Holdings { events, rsvps })
    }

    /// The id of the user with this DID, creating a Bluesky user without a handle if there is none
    /// yet (the handle follows when sign-in completes). Never two users for one DID.
    pub async fn user_id_for_did(&self, did: &Did) -> Result<i64, StoreError> {
        let sql = "insert into app_user (did, provider) values ($1, 'bluesky')
                   on conflict (did) do update set did = excluded.did
                   returning id";
        let id: (i64,) = with_pool!(self, |pool| sqlx::query_as(sql)
            .bind(did.as_str())
            .fetch_one(pool)
            .await)?;
        self.changed();
        Ok(id.0)
    }

    /// Replaces the profile fields with what the PDS holds now.
    pub async fn update_profile(
        &self,
        user_id: i64,
        profile: &Profile,
        synced_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "update app_user set display_name = $2, description = $3, avatar_url = $4, profile_synced_at = $5,
                       followers_count = $6, follows_count = $7
                   where id = $1";
        with_pool!(self, |pool| {
            sqlx::query(sql)
                .bind(user_id)
                .bind(&profile.display_name)
                .bind(&profile.description)
                .bind(&profile.avatar_url)
                .bind(synced_at)
                .bind(profile.followers_count)
                .bind(profile.follows_count)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        self.changed();
        Ok(())
    }

    pub async fn user_by_did(&self, did: &Did) -> Result<Option<User>, StoreError> {
        let sql = format!("select {USER_COLUMNS} from app_user where did = $1");
        let row: Option<UserRow> = with_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(did.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(User::try_from).transpose()
    }

    /// The users with these ids (those that exist), in one query.
    pub async fn users_by_ids(&self, ids: &[i64]) -> Result<Vec<User>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "select {USER_COLUMNS} from app_user where id in ({})",
            placeholders.join(", ")
        );
        let rows: Vec<UserRow> = with_pool!(self, |pool| {
            let mut query = sqlx::query_as(&sql);
            for id in ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await
        })?;
        rows.into_iter().map(User::try_from).collect()
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let sql = format!("select {USER_COLUMNS} from app_user where id = $1");
        let row: Option<UserRow> = with_pool!(self, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        row.map(User::try_from).transpose()
    }
}
