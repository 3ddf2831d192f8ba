//! The two database engines behind the one storage API.
//!
//! Every query is written once, in SQL both engines read alike: `$N` placeholders, the `"user"`
//! table quoted (a keyword in PostgreSQL), `true`/`false` for flags, `is not distinct from` for
//! a comparison that may meet null, `cast(… as bigint)` where PostgreSQL would widen a sum to
//! `numeric`. [`on_pool!`] expands the code that runs it once per engine, so each engine binds and
//! decodes its own native types (`Json<T>` as JSONB, flags as BOOLEAN, blobs as BYTEA) instead of
//! a lowest common denominator. What the two dialects cannot say alike lives in [`Dialect`], and
//! nowhere else.

use sqlx::{PgPool, SqlitePool};

/// A pool of the engine `DATABASE_URL` chose.
#[derive(Clone, Debug)]
pub enum Engine {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Engine {
    pub fn dialect(&self) -> Dialect {
        match self {
            Engine::Sqlite(_) => Dialect::Sqlite,
            Engine::Postgres(_) => Dialect::Postgres,
        }
    }

    pub async fn close(&self) {
        match self {
            Engine::Sqlite(pool) => pool.close().await,
            Engine::Postgres(pool) => pool.close().await,
        }
    }
}

/// Runs `body` with `pool` bound to the engine's pool (`&SqlitePool` or `&PgPool`): the same
/// code, compiled once per engine. It looks like a closure (so rustfmt formats it) but is not
/// one: `?` and `return` in `body` leave the enclosing function.
///
/// ```ignore
/// let n: i64 = on_pool!(storage.engine(), |pool| sqlx::query_scalar("select count(*) from task")
///     .fetch_one(pool)
///     .await)?;
/// ```
#[macro_export]
macro_rules! on_pool {
    ($engine:expr, |$pool:ident| $body:expr) => {
        match $engine {
            $crate::storage::Engine::Sqlite($pool) => $body,
            $crate::storage::Engine::Postgres($pool) => $body,
        }
    };
}

/// The SQL the two engines spell differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The integers of the JSON array parameter `param` (see [`json_ids`]) as a one-column
    /// subquery, for `… in (…)`: one statement for many rows. SQLite has no array parameters, so
    /// both engines get the list as JSON text.
    pub fn id_list(self, param: &str) -> String {
        match self {
            Dialect::Sqlite => format!("select value from json_each({param})"),
            Dialect::Postgres => format!("select value::bigint from json_array_elements_text({param}::json)"),
        }
    }

    /// The `[a, b]` pairs of integers of the JSON array parameter `param` as a two-column
    /// subquery, for `(x, y) in (…)`.
    pub fn id_pairs(self, param: &str) -> String {
        match self {
            Dialect::Sqlite => format!("select value ->> 0, value ->> 1 from json_each({param})"),
            Dialect::Postgres => format!(
                "select (value ->> 0)::bigint, (value ->> 1)::bigint from json_array_elements({param}::json)"
            ),
        }
    }

    // Advisory locks: a bigint key is a user id ([`Dialect::user_lock`]); a lock of the bot as a
    // whole takes two int keys, a key space PostgreSQL keeps apart from the bigint one, so no user
    // id can collide with it. The first int names the use (the numbers are arbitrary), the second
    // is the schema's: two bots in one database, each in its own schema, never wait for each other.

    /// Statement that makes one user's writes take turns, on every instance: the first in a
    /// transaction that counts the user's tasks and then inserts (`$1`: the user id). SQLite's
    /// single writer already makes such a statement atomic. PostgreSQL runs writers side by side
    /// and each statement sees what committed before it started: without the lock two accepts of
    /// one user could both count "one place left".
    pub fn user_lock(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("select pg_advisory_xact_lock($1)"),
        }
    }

    /// Statement that opens the transaction creating an API account, if the engine needs one:
    /// the new account's id is the lowest so far minus one, so two creations must not both read
    /// the same lowest.
    pub fn api_account_lock(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("select pg_advisory_xact_lock(7301, hashtext(current_schema()))"),
        }
    }

    /// Statement that opens the transaction giving a task a pool account's slot: the pick counts
    /// each account's busy slots, so two picks must not both see the same last free one.
    pub fn pool_slot_lock(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("select pg_advisory_xact_lock(7303, hashtext(current_schema()))"),
        }
    }

    /// Statement that tells the other instances' workers that work was added or fell due now,
    /// so a task queued on one instance starts at once on whichever has room (`$1`: this
    /// instance's id, as text). PostgreSQL: a `NOTIFY` on [`WORK_CHANNEL`], delivered when the
    /// transaction commits, with the schema and the sender as payload: a bot in another schema
    /// of the database ignores it, and so does the sender, whose worker is woken by its door once
    /// the door did what the worker's first step needs (see `service::Accepted`). SQLite has one
    /// instance.
    pub fn work_notice(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("select pg_notify('pixverse_bot_work', current_schema() || ' ' || $1)"),
        }
    }

    /// Statement that tells the other instances a credential row changed (a new login, a logout,
    /// a refusal), so they drop the decrypted credentials they keep (`$1`: this instance's id).
    /// Payload as for [`Dialect::work_notice`]. SQLite has one instance, whose cache is kept by
    /// the writes themselves.
    pub fn credentials_notice(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => {
                Some("select pg_notify('pixverse_bot_credentials', current_schema() || ' ' || $1)")
            }
        }
    }

    /// Ends the subquery that picks the rows a claim takes. PostgreSQL: two instances claiming
    /// at once each take rows the other has not locked, instead of one waiting for the other and
    /// then finding its picks taken. SQLite has one writer at a time, so a claim never races one.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => "for update skip locked",
        }
    }
}

/// The PostgreSQL channel of [`Dialect::work_notice`].
pub const WORK_CHANNEL: &str = "pixverse_bot_work";
/// The PostgreSQL channel of [`Dialect::credentials_notice`].
pub const CREDENTIALS_CHANNEL: &str = "pixverse_bot_credentials";

/// A list of ids as one JSON parameter, for [`Dialect::id_list`] and [`Dialect::id_pairs`].
pub fn json_ids<T: serde::Serialize>(ids: &[T]) -> Result<String, super::StorageError> {
    serde_json::to_string(ids).map_err(|e| super::StorageError::Corrupt(e.to_string()))
}

/// Whether `DATABASE_URL` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(database_url: &str) -> bool {
    database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")
}
