//! The storage layer: the only place that speaks SQL.
//!
//! One [`Store`] runs on PostgreSQL in production and on an embedded SQLite file by default. The
//! queries are written once in SQL both engines accept (`$N` placeholders, `returning`,
//! `on conflict`), and [`with_pool!`] compiles each query body once per engine. Where the SQL must
//! differ, the migrations do: `migrations/postgres` and `migrations/sqlite`.

mod accounts;
mod admin;
mod calendar_tokens;
mod conflicts;
mod connect;
mod discovery;
mod events;
mod firehose;
mod network_import;
mod pending_writes;
mod rsvps;
mod samples;
mod series;
mod slugs;
mod users;
mod visibility;

pub use accounts::{LocalLogin, TokenPurpose, TokenRefused};
pub use admin::{DeadLetter, ReconcileCounts, ReconcileReport, ReconcileTrigger};
pub use conflicts::{Conflict, Decision};
pub use connect::Connected;
pub use discovery::{EventFilter, Found, ONGOING_LISTED};
pub use events::{Event, Findable, NewEvent, SourceTracking, SourceType};
use events::{EventRow, EVENT_COLUMNS};
pub use firehose::{Applied, RecordChange};
pub use network_import::{ImportProgress, NetworkImport};
pub use pending_writes::{NewPendingWrite, PendingWrite, WriteOperation, WriteState};
pub use rsvps::{Answerer, Attendee, LocalAnswer, NewRsvp, Rsvp, ATTENDEES_LISTED};
pub use samples::MetricSample;
pub use series::{Exceptions, OccurrenceRow, SeriesRow, SeriesStatus};
pub use slugs::Addressed;
pub use users::{Holdings, NewBlueskyUser, Profile, User};
pub use visibility::Looker;

use crate::server::config::DatabaseConfig;
use secrecy::ExposeSecret;
use sqlx::{
    pool::PoolOptions,
    postgres::PgConnectOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
    Connection, PgPool, Postgres, Sqlite, SqlitePool,
};
use std::{
    str::FromStr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

/// A pooled connection that sat idle this long is pinged before it is handed out, so one the
/// server closed meanwhile (a restart, an idle timeout) is replaced instead of failing a query;
/// one used more recently than that is taken as alive. sqlx's default pings before every use:
/// a round trip more on every query, two of them on the way to answering a publish.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// How both engines' pools hand out connections.
fn pool_options<DB: sqlx::Database>() -> PoolOptions<DB> {
    PoolOptions::new()
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .before_acquire(|connection: &mut DB::Connection, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    /// Grows after every change this process makes to what a page shows (see [`Store::version`]).
    version: Arc<AtomicU64>,
}

#[derive(Clone, Debug)]
enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs `$body` with `$pool` bound to whichever engine the store uses. The body is compiled once
/// per engine, so it must be SQL that both accept.
macro_rules! with_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::server::store::Pool::Postgres($pool) => $body,
            $crate::server::store::Pool::Sqlite($pool) => $body,
        }
    };
}
use with_pool;

/// Inside a change's transaction, deletes the pending write that change settles (if any): a write
/// the PDS accepted disappears exactly when its result is stored.
macro_rules! settle_pending_write {
    ($tx:ident, $settles:expr) => {
        if let Some(id) = $settles {
            sqlx::query("delete from pending_write where id = $1")
                .bind(id)
                .execute(&mut *$tx)
                .await?;
        }
    };
}
use settle_pending_write;

/// The most rows a per-person list returns (their events, the events they go to, their pending
/// writes): a page is never as long as a stranger can make it.
pub const LISTED: i64 = 500;

/// How long a deleted record's tombstone is kept: far longer than the firehose takes to deliver
/// the changes that came before the delete.
const TOMBSTONE_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// Inside a delete's transaction, leaves a tombstone for the record as of repo revision `$rev`
/// (the newer of two stays), and clears tombstones older than [`TOMBSTONE_KEPT`]. Without a
/// revision (an older PDS, or a delete seen by reading the repo) our clock's TID stands in.
macro_rules! bury {
    ($tx:ident, $at_uri:expr, $rev:expr, $now:expr) => {{
        let now: chrono::DateTime<chrono::Utc> = $now;
        let rev: Option<&$crate::domain::Rev> = $rev;
        let rev = match rev {
            Some(rev) => rev.as_str().to_owned(),
            None => $crate::domain::Rkey::tid(now.timestamp_micros().unsigned_abs(), 0).to_string(),
        };
        sqlx::query(
            "insert into tombstone (at_uri, rev, deleted_at) values ($1, $2, $3)
             on conflict (at_uri) do update set rev = excluded.rev, deleted_at = excluded.deleted_at
             where tombstone.rev < excluded.rev",
        )
        .bind($at_uri)
        .bind(rev)
        .bind(now)
        .execute(&mut *$tx)
        .await?;
        sqlx::query("delete from tombstone where deleted_at < $1")
            .bind(now - $crate::server::store::TOMBSTONE_KEPT)
            .execute(&mut *$tx)
            .await?;
    }};
}
use bury;

/// Inside an upsert's transaction: whether a delete newer than repo revision `$rev` left a
/// tombstone for the record, so the change is a late one that must not bring it back. A tombstone
/// older than the change is cleared. A change without a revision (the record as the PDS holds it
/// now, read by a backfill) is never late.
macro_rules! buried {
    ($tx:ident, $at_uri:expr, $rev:expr) => {{
        let rev: Option<&$crate::domain::Rev> = $rev;
        // Most records were never deleted: one lookup, and nothing more, for those.
        let tombstone: Option<(String,)> = sqlx::query_as("select rev from tombstone where at_uri = $1")
            .bind($at_uri)
            .fetch_optional(&mut *$tx)
            .await?;
        match tombstone {
            Some((deleted,)) if rev.is_some_and(|rev| rev.as_str() <= deleted.as_str()) => true,
            Some(_) => {
                sqlx::query("delete from tombstone where at_uri = $1")
                    .bind($at_uri)
                    .execute(&mut *$tx)
                    .await?;
                false
            }
            None => false,
        }
    }};
}
use buried;

/// The firehose consumer's advisory lock key, as SQL: one per database schema.
pub const CONSUMER_LOCK_KEY: &str = "hashtextextended('skymeet firehose ' || current_schema(), 0)";

/// Held while this process runs the firehose consumer (see [`Store::try_consumer_lock`]).
pub struct ConsumerLock(Option<sqlx::PgConnection>);

impl ConsumerLock {
    /// Whether the lock still holds: its connection answers (if it died, PostgreSQL released the
    /// lock and another instance may hold it now).
    pub async fn alive(&mut self) -> bool {
        match &mut self.0 {
            // A connection cut without a goodbye may never answer: a timeout counts as dead.
            Some(connection) => matches!(
                tokio::time::timeout(Duration::from_secs(2), sqlx::query("select 1").execute(connection)).await,
                Ok(Ok(_))
            ),
            None => true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("could not connect to the database {database}")]
    Connect {
        database: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("could not create the folder for the SQLite database")]
    CreateDir(#[source] std::io::Error),
    #[error("could not run database migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} already exists")]
    Duplicate(&'static str),
    #[error("the database holds a value this version cannot read: {0}")]
    Corrupt(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// Turns a unique-constraint violation into [`StoreError::Duplicate`], leaving other errors as they are.
trait ResultExt<T> {
    fn on_unique_violation(self, what: &'static str) -> Result<T, StoreError>;
}

impl<T> ResultExt<T> for Result<T, sqlx::Error> {
    fn on_unique_violation(self, what: &'static str) -> Result<T, StoreError> {
        self.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate(what),
            _ => StoreError::Database(e),
        })
    }
}

impl Store {
    /// Connects to the configured database and brings its schema up to date.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, StoreError> {
        match config {
            DatabaseConfig::Postgres { url, max_connections } => {
                let options =
                    PgConnectOptions::from_str(url.expose_secret()).map_err(|source| StoreError::Connect {
                        database: config.describe(),
                        source,
                    })?;
                Self::connect_postgres(options, *max_connections).await
            }
            DatabaseConfig::Sqlite { path } => Self::connect_sqlite(SqliteConnectOptions::new().filename(path)).await,
        }
    }

    pub async fn connect_postgres(options: PgConnectOptions, max_connections: u32) -> Result<Self, StoreError> {
        let database = format!(
            "postgres://{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("")
        );
        let pool = pool_options::<Postgres>()
            .max_connections(max_connections)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect { database, source })?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self {
            pool: Pool::Postgres(pool),
            version: Arc::default(),
        })
    }

    /// Opens (creating it and its folder when missing) a SQLite database file.
    pub async fn connect_sqlite(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        let file = options.get_filename();
        if let Some(folder) = file.parent().filter(|folder| !folder.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(StoreError::CreateDir)?;
        }
        let database = format!("sqlite:{}", file.display());
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = pool_options::<Sqlite>()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect { database, source })?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Self {
            pool: Pool::Sqlite(pool),
            version: Arc::default(),
        })
    }

    /// A number that grows after each change this process has made to what a page shows (events,
    /// answers, series, people's names): a page rendered when it read `n` shows nothing older than
    /// the changes before `n`. Other processes' changes do not move it. The page cache
    /// (`http::page_cache`) serves a page again only while the number is the one it was made at.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Called by every method that changes what a page shows, after the change is committed: a
    /// page rendered from before the change, even one still rendering, is never served again.
    fn changed(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    /// How a transaction that will write begins. SQLite takes the write lock at once
    /// (`IMMEDIATE`), waiting for it up to the busy timeout: a transaction that first reads and
    /// only then writes would otherwise fail outright (`SQLITE_BUSY_SNAPSHOT`) whenever another
    /// connection wrote in between.
    pub(crate) fn begin_writing(&self) -> &'static str {
        match self.pool {
            Pool::Postgres(_) => "BEGIN",
            Pool::Sqlite(_) => "BEGIN IMMEDIATE",
        }
    }

    /// How a transaction begins that writes only what can be read again from the network, with
    /// the firehose cursor that passes it (the firehose's and backfills' changes). As
    /// [`Store::begin_writing`], except that on PostgreSQL its commit does not wait for the
    /// disk (`synchronous_commit = off`), which here costs about 2 ms of a transaction's 2.3.
    /// Nothing is lost by it: should PostgreSQL itself crash (the app crashing changes nothing),
    /// the last fraction of a second of such commits is rolled back whole, the cursor with the
    /// changes it covers, and those frames simply come again.
    pub(crate) fn begin_replayable(&self) -> &'static str {
        match self.pool {
            Pool::Postgres(_) => "BEGIN; SET LOCAL synchronous_commit = off",
            Pool::Sqlite(_) => "BEGIN IMMEDIATE",
        }
    }

    /// How a transaction begins that stores what a PDS accepted and deletes the pending write
    /// it `settles` (when it settles one): as [`Store::begin_replayable`], because the PDS now
    /// holds the record and the firehose or a reconciliation brings it again. Should the database
    /// crash and lose such a commit while keeping the write's (a narrow window: both commits are
    /// at most a PDS round trip apart), the write is sent again, and changes nothing: the PDS answers a
    /// put of the very record it holds, and a delete of a record already gone, as done without a
    /// new commit (and before it checks the swapRecord CID), so even an update over the version
    /// before it is no conflict. A change that settles nothing waits for the disk.
    pub(crate) fn settling(&self, settles: Option<i64>) -> &'static str {
        match settles {
            Some(_) => self.begin_replayable(),
            None => self.begin_writing(),
        }
    }

    /// Which engine this store runs on, for `/readyz` and logs.
    pub fn engine(&self) -> &'static str {
        match self.pool {
            Pool::Postgres(_) => "postgres",
            Pool::Sqlite(_) => "sqlite",
        }
    }

    /// Succeeds when the database answers a query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query("select 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Takes the right to run the firehose consumer, if no other process holds it (one consumer
    /// per database). On PostgreSQL a session advisory lock on a connection of its own: released
    /// when the lock is dropped or that connection dies, so another instance takes over. The
    /// embedded database belongs to one process: always granted.
    pub async fn try_consumer_lock(&self) -> Result<Option<ConsumerLock>, StoreError> {
        match &self.pool {
            Pool::Postgres(pool) => {
                let mut connection = pool.acquire().await?.detach();
                // Advisory locks belong to the whole database: the key names the schema too, so
                // deployments (and tests) in schemas of one database each have their own consumer.
                let (taken,): (bool,) = sqlx::query_as(&format!("select pg_try_advisory_lock({CONSUMER_LOCK_KEY})"))
                    .fetch_one(&mut connection)
                    .await?;
                Ok(taken.then_some(ConsumerLock(Some(connection))))
            }
            Pool::Sqlite(_) => Ok(Some(ConsumerLock(None))),
        }
    }

    /// Closes every connection; later calls fail. Used at shutdown (and by tests of failure paths).
    pub async fn close(&self) {
        with_pool!(self, |pool| pool.close().await)
    }
}
