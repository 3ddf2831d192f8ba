//! Which instances run on the database, so that a start can tell a crash's leftover leases from
//! live instances' leases.
//!
//! SQLite: one process per database (the lock file beside it, see `lock.rs`), so at start every
//! lease is a leftover. PostgreSQL: every running instance holds a shared advisory lock on a
//! connection of its own for as long as it runs, and PostgreSQL drops it when that connection
//! ends, however the process ends (SIGKILL included). A start that can take the lock exclusively
//! is alone: every lease is a leftover and is released at once. Otherwise the leases may be live
//! instances' and are left alone; a crashed instance's leases then expire (`TASK_LEASE_MS`) and
//! are claimed again.

use std::time::{Duration, Instant};

use sqlx::PgConnection;

use super::{Engine, Storage, StorageError};

/// The advisory lock every running instance of the bot in this schema holds shared (two int
/// keys: see `engine.rs`).
const PRESENCE_LOCK: i32 = 7302;

/// How long a start keeps trying to be alone: a restart right after a crash may find the old
/// connection not yet closed by the server.
const ALONE_WAIT: Duration = Duration::from_secs(2);

/// This instance's presence on the database; hold it while the instance runs.
pub struct Presence {
    _connection: Option<PgConnection>,
}

impl Storage {
    /// Joins the instances on this database: releases every lease if no other instance runs,
    /// and returns the presence to hold with how many leases were released.
    pub async fn join_instances(&self) -> Result<(Presence, u64), StorageError> {
        let pool = match &self.engine {
            Engine::Sqlite(_) => {
                let released = self.release_all_leases().await?;
                return Ok((Presence { _connection: None }, released));
            }
            Engine::Postgres(pool) => pool,
        };
        let mut connection = pool.acquire().await?.detach();
        let started = Instant::now();
        let alone = loop {
            let alone: bool =
                sqlx::query_scalar("select pg_try_advisory_lock($1, hashtext(current_schema()))")
                    .bind(PRESENCE_LOCK)
                    .fetch_one(&mut connection)
                    .await?;
            if alone || started.elapsed() >= ALONE_WAIT {
                break alone;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let released = if alone {
            self.release_all_leases().await?
        } else {
            0
        };
        // While this start held the lock exclusively, another start waits here: it cannot claim
        // a task before the leftovers are released, so it never loses a fresh lease to them.
        sqlx::query("select pg_advisory_lock_shared($1, hashtext(current_schema()))")
            .bind(PRESENCE_LOCK)
            .execute(&mut connection)
            .await?;
        if alone {
            sqlx::query("select pg_advisory_unlock($1, hashtext(current_schema()))")
                .bind(PRESENCE_LOCK)
                .execute(&mut connection)
                .await?;
        }
        Ok((
            Presence {
                _connection: Some(connection),
            },
            released,
        ))
    }
}
