//! The instances that run on one database: which of them are alive (so a start can tell a
//! crash's leftover leases from live instances' leases), how a worker wakes the others when it
//! adds work, how a changed credential reaches the others' caches, and which one polls Telegram.
//!
//! SQLite: one process per database (the lock file beside it, see `lock.rs`), so at start every
//! lease is a leftover. PostgreSQL: every running instance holds a shared advisory lock on a
//! connection of its own for as long as it runs, and PostgreSQL drops it when that connection
//! ends, however the process ends (SIGKILL included). A start that can take the lock exclusively
//! is alone: every lease (and every claim in the webhook inbox) is a leftover and is released at
//! once. Otherwise the leases may be live instances' and are left alone; a crashed instance's
//! leases then expire (`TASK_LEASE_MS`) and are claimed again.

use std::time::{Duration, Instant};

use sqlx::{PgConnection, postgres::PgListener};

use super::{
    Engine, Storage, StorageError,
    credentials::CredentialCache,
    engine::{CREDENTIALS_CHANNEL, WORK_CHANNEL},
    tasks::OWNER_LOCK,
};

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
                self.release_update_claims().await?;
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
            // The webhook inbox's claims too: any instance takes those updates over at once.
            self.release_update_claims().await?;
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
        // This instance's own key, on the same connection: the tasks it parks are its to poll
        // for as long as it holds it (see `tasks/takeover.rs`).
        sqlx::query("select pg_advisory_lock($1, hashtext(current_schema() || ' ' || $2))")
            .bind(OWNER_LOCK)
            .bind(self.instance_key())
            .execute(&mut connection)
            .await?;
        Ok((
            Presence {
                _connection: Some(connection),
            },
            released,
        ))
    }
}

impl Storage {
    /// How many instances run on this database now, this one included once it joined (at least
    /// one): SQLite has one; on PostgreSQL, the holders of the presence lock.
    pub async fn live_instances(&self) -> Result<u32, StorageError> {
        let Engine::Postgres(pool) = &self.engine else {
            return Ok(1);
        };
        let holders: i64 = sqlx::query_scalar(
            "select count(*) from pg_locks
             where locktype = 'advisory' and granted
               and database = (select oid from pg_database where datname = current_database())
               and classid = $1::oid and objid = hashtext(current_schema())::oid and objsubid = 2",
        )
        .bind(PRESENCE_LOCK)
        .fetch_one(pool)
        .await?;
        Ok(u32::try_from(holders).unwrap_or(u32::MAX).max(1))
    }
}

/// Notices that another instance added work (see [`super::Dialect::work_notice`]); on the way,
/// those that it changed a credential (the cache of decrypted credentials is dropped).
pub struct WorkListener {
    listener: PgListener,
    credentials: CredentialCache,
    /// How a notice of this bot's schema starts.
    others: String,
    /// This instance's own notices.
    own: String,
}

impl WorkListener {
    /// Waits for the next notice of another instance of this bot. A lost connection counts as a
    /// notice (notices sent meanwhile are lost; the listener reconnects at the next call).
    pub async fn next(&mut self) -> Result<(), StorageError> {
        loop {
            match self.listener.try_recv().await? {
                Some(notice)
                    if notice.payload() == self.own || !notice.payload().starts_with(&self.others) =>
                {
                    continue;
                }
                Some(notice) if notice.channel() == CREDENTIALS_CHANNEL => {
                    self.credentials.forget(|_| true);
                    continue;
                }
                _ => return Ok(()),
            }
        }
    }
}

/// The polling lock, held while this instance polls Telegram for updates.
pub struct Poller {
    _connection: Option<PgConnection>,
}

/// The advisory lock the instance that polls Telegram holds.
const POLLER_LOCK: i32 = 7304;

/// How often an instance that does not poll tries to take over.
const POLLER_RETRY: Duration = Duration::from_secs(2);

impl Storage {
    /// Tells every instance's worker that work is due now (see [`super::Dialect::work_notice`]).
    pub(super) async fn notify_work(&self) -> Result<(), StorageError> {
        if let (Engine::Postgres(pool), Some(notice)) = (&self.engine, self.engine.dialect().work_notice()) {
            sqlx::query(notice)
                .bind(self.instance.as_ref())
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Tells the other instances that a credential changed (see
    /// [`super::Dialect::credentials_notice`]).
    pub(super) async fn notify_credentials_changed(&self) -> Result<(), StorageError> {
        if let (Engine::Postgres(pool), Some(notice)) =
            (&self.engine, self.engine.dialect().credentials_notice())
        {
            sqlx::query(notice)
                .bind(self.instance.as_ref())
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// The work notices of the other instances; `None` on SQLite (one instance).
    pub async fn listen_for_work(&self) -> Result<Option<WorkListener>, StorageError> {
        let Engine::Postgres(pool) = &self.engine else {
            return Ok(None);
        };
        let schema: String = sqlx::query_scalar("select current_schema()::text")
            .fetch_one(pool)
            .await?;
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen_all([WORK_CHANNEL, CREDENTIALS_CHANNEL]).await?;
        Ok(Some(WorkListener {
            listener,
            credentials: self.credentials.clone(),
            others: format!("{schema} "),
            own: format!("{schema} {}", self.instance),
        }))
    }

    /// Waits until this instance may poll Telegram's `getUpdates`: at once on SQLite (one
    /// instance); on PostgreSQL when it holds the polling lock, which one instance holds at a time
    /// and PostgreSQL releases when that instance's connection ends (a crash included). The others
    /// try again every two seconds, so one of them takes over within a few seconds.
    pub async fn wait_to_poll(&self) -> Result<Poller, StorageError> {
        let Engine::Postgres(pool) = &self.engine else {
            return Ok(Poller { _connection: None });
        };
        let mut connection = pool.acquire().await?.detach();
        let mut told = false;
        loop {
            let polls: bool =
                sqlx::query_scalar("select pg_try_advisory_lock($1, hashtext(current_schema()))")
                    .bind(POLLER_LOCK)
                    .fetch_one(&mut connection)
                    .await?;
            if polls {
                return Ok(Poller {
                    _connection: Some(connection),
                });
            }
            if !told {
                tracing::info!("another instance polls Telegram; this one takes over if it stops");
                told = true;
            }
            tokio::time::sleep(POLLER_RETRY).await;
        }
    }
}
