//! All SQL lives here: users, encrypted credentials and tasks. Knows nothing of Telegram.

#[macro_use]
mod engine;

mod accept;
mod access;
mod albums;
mod api_tokens;
mod api_videos;
mod copy;
mod credentials;
mod crypto;
mod effects;
mod idempotency;
mod inbox;
mod instances;
mod lock;
mod pool;
mod settings;
mod stats;
mod tasks;
mod users;

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use accept::{AcceptFacts, Ceilings, DestinationKind, LimitWindows, UpdateOutcome, UpdateTask, Upload};
pub use access::{AccessMode, UserAccess};
pub use albums::AlbumPhoto;
pub use api_tokens::{IssuedToken, TokenSource, api_key_identity, token_hash, web_identity};
pub use copy::{CopiedTables, copy_sqlite_to_postgres};
pub use credentials::{Credential, CredentialKind, CredentialStatus};
pub use crypto::{Cipher, KeyError};
pub use effects::{EFFECT_PICK_LIFETIME_MS, EffectTemplateRow};
pub use engine::{Dialect, Engine, is_postgres_url};
pub use idempotency::{IDEMPOTENCY_WINDOW_MS, Reservation};
pub use inbox::UpdateClaim;
pub use instances::{Poller, Presence, WorkListener};
pub use lock::{DatabaseLock, lock_database, lock_file_for};
pub use pool::{OPERATOR_ACCOUNT, PoolAccount, PoolPick, PoolStatus, api_key_label};
pub use stats::Stats;
pub use tasks::{Claim, GenerationTime, Held, LeaseError, NewTask, PARKED, Resubmit, TaskLease, TaskRow};
pub use users::{SeenUser, User};

/// Errors a caller has to tell apart; everything else is `Database`.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "a stored credential cannot be decrypted: SECRET_KEY (or the key file beside the database) is \
         not the one it was encrypted with; restore the original key (or delete the credentials and \
         let users log in again)"
    )]
    Decrypt,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database is another process's (see `lock.rs`); the message is one line.
    #[error("{0}")]
    Locked(String),
}

/// The bot's database: a pool plus the cipher that seals credentials.
#[derive(Clone)]
pub struct Storage {
    /// Where reads run. SQLite: a pool of read-only connections (WAL lets them read while a
    /// write runs).
    engine: Engine,
    /// Where every write runs. SQLite: one connection, so writes queue in this process instead
    /// of colliding in SQLite's busy handler, which sleeps the losers in 1, 2, 5, 10 ms steps
    /// (the tail of the accept path's latency when several pool connections wrote at once).
    /// PostgreSQL: the same pool as `engine` (its writers take row locks, not the whole file).
    writer: Engine,
    cipher: Cipher,
    /// Decrypted credentials by id, for the worker's polls (one lookup per account per round).
    credentials: credentials::CredentialCache,
    /// The access mode, read on every message by the gate (see `accept.rs`).
    access_mode: accept::AccessModeCache,
    /// This process's id among the instances on the database (random per connect), so that its
    /// own work notices do not wake it (see `instances.rs`).
    instance: std::sync::Arc<str>,
}

impl Storage {
    /// Opens the database `database_url` names (PostgreSQL for `postgres://…`, else SQLite,
    /// creating the file if missing) and applies that engine's embedded migrations.
    #[tracing::instrument(skip_all)]
    pub async fn connect(database_url: &str, cipher: Cipher) -> Result<Storage, StorageError> {
        let (engine, writer) = if is_postgres_url(database_url) {
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .connect(database_url)
                .await?;
            // Several instances may start at once: sqlx's migrator holds a PostgreSQL advisory
            // lock (keyed by the database's name) from before it reads `_sqlx_migrations` until it
            // is done, so one instance applies the migrations and the others wait, then find
            // them applied.
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
            (Engine::Postgres(pool.clone()), Engine::Postgres(pool))
        } else {
            let options = SqliteConnectOptions::from_str(database_url)?
                .create_if_missing(true)
                // WAL lets the handlers read while the worker writes; NORMAL sync is durable across
                // a process crash (the case we promise) and only risks the last commit on power loss.
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                // Writes never wait here (they queue for the one writer); a reader may, briefly,
                // while a checkpoint resets the WAL.
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await?;
            sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
            // Opened after the writer made the file a WAL database. `query_only` makes a write
            // that took the wrong pool fail at once instead of quietly competing with the writer.
            let readers = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options.pragma("query_only", "true"))
                .await?;
            (Engine::Sqlite(readers), Engine::Sqlite(writer))
        };
        let storage = Storage {
            engine,
            writer,
            cipher,
            credentials: Default::default(),
            access_mode: Default::default(),
            instance: format!("{:016x}", rand::random::<u64>()).into(),
        };
        storage.check_key().await?;
        Ok(storage)
    }

    /// Opens one stored secret, if there is any: a changed `SECRET_KEY` (or a replaced key file)
    /// stops the bot at start with a clear error instead of failing every task later.
    async fn check_key(&self) -> Result<(), StorageError> {
        let sealed: Option<Vec<u8>> = on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select secret from credential union all select secret from pool_account limit 1",
        )
        .fetch_optional(pool)
        .await)?;
        match sealed {
            Some(sealed) if self.cipher.open(&sealed).is_none() => Err(StorageError::Decrypt),
            _ => Ok(()),
        }
    }

    /// The engine's pool for reads, for SQL outside this module (metrics, health, tests): run it
    /// with [`on_pool!`]. SQLite refuses a write on it (see [`Storage::writer`]).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine's pool for writes (SQLite: the one writer connection), for SQL outside this
    /// module that changes rows (tests that age a row).
    pub fn writer(&self) -> &Engine {
        &self.writer
    }

    /// SQLite: `PRAGMA integrity_check` finds nothing wrong. PostgreSQL keeps its own pages
    /// consistent (a torn write is replayed from its WAL) and has no such check: true when it
    /// answers.
    pub async fn integrity_ok(&self) -> Result<bool, StorageError> {
        let result: String = match &self.engine {
            Engine::Sqlite(pool) => {
                sqlx::query_scalar("pragma integrity_check")
                    .fetch_one(pool)
                    .await?
            }
            Engine::Postgres(pool) => sqlx::query_scalar("select 'ok'").fetch_one(pool).await?,
        };
        Ok(result == "ok")
    }

    pub async fn close(&self) {
        // Readers first: the last connection to close checkpoints the WAL, and only the writer
        // may write.
        self.engine.close().await;
        self.writer.close().await;
    }
}

/// The file a `sqlite://` database URL names; `None` for another engine or an in-memory database.
pub fn sqlite_file(database_url: &str) -> Option<std::path::PathBuf> {
    let rest = database_url.strip_prefix("sqlite:")?;
    let rest = rest.trim_start_matches("//");
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// The key file that sits beside a database file when `SECRET_KEY` is not set.
pub fn key_file_for(database_path: &Path) -> std::path::PathBuf {
    let mut name = database_path.as_os_str().to_owned();
    name.push(".key");
    name.into()
}

/// The start of the UTC day that contains `at_ms`: daily quotas and "today" figures count from it.
pub fn utc_day_start(at_ms: i64) -> i64 {
    const DAY: i64 = 24 * 3600 * 1000;
    at_ms.div_euclid(DAY) * DAY
}

/// Milliseconds since the Unix epoch: the unit of every `*_at` column.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
