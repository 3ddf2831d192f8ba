//! Who polls a parked generating task: the instance that parked it (`task.parked_by`, its
//! instance key), for as long as it runs. A task whose instance is gone (killed, or stopped)
//! is taken over by another: re-parked to it in one statement, so two instances taking over
//! at once never both get it, and loaded into its poll schedule.
//!
//! PostgreSQL: every instance holds an advisory lock on its own key (the owner lock, taken with
//! the presence lock in `instances.rs`), and PostgreSQL drops it when the instance's connection
//! ends, however the process ends. A parked task whose owner holds no such lock is an orphan.
//! SQLite: one process owns the database, so at its start every parked task is an orphan and
//! after that none is.
//!
//! Crash story: the takeover is only a change of who polls. A task taken over by an instance
//! that dies at once is an orphan again; a poll of a task taken over meanwhile by another is
//! merely one poll more (every change of a parked task first takes its lease, `claim_parked`).

use super::super::{Engine, Storage, StorageError};
use super::{PARKED, TaskRow};

/// The advisory lock (two int keys: this, and the hash of the schema and the instance key) each
/// running instance holds on its own key.
pub(in crate::storage) const OWNER_LOCK: i32 = 7306;

impl Storage {
    /// This instance's key, as parked tasks record it.
    pub(in crate::storage) fn instance_key(&self) -> &str {
        &self.instance
    }

    /// Whether parked tasks can lose their instance while this one runs (several instances on
    /// PostgreSQL); on SQLite only a start finds any (see the module).
    pub fn orphans_appear_while_running(&self) -> bool {
        matches!(self.engine, Engine::Postgres(_))
    }

    /// Takes over the parked generating tasks whose instance is gone (see the module), and
    /// returns them for this instance's poll schedule. Never a task a live instance polls.
    pub async fn take_over_parked(&self) -> Result<Vec<TaskRow>, StorageError> {
        Ok(match &self.writer {
            Engine::Sqlite(pool) => {
                sqlx::query_as(
                    "update task set parked_by = $1
                     where state = 'generating' and next_run_at = $2
                       and (parked_by is null or parked_by != $1)
                     returning *",
                )
                .bind(self.instance_key())
                .bind(PARKED)
                .fetch_all(pool)
                .await?
            }
            Engine::Postgres(pool) => {
                sqlx::query_as(
                    "update task set parked_by = $1
                     where state = 'generating' and next_run_at = $2
                       and (parked_by is null or parked_by != $1)
                       -- The live owners once (not per task): thousands may be parked.
                       and (parked_by is null
                            or hashtext(current_schema() || ' ' || parked_by)::oid not in (
                                select l.objid from pg_locks l
                                where l.locktype = 'advisory' and l.granted
                                  and l.database = (select oid from pg_database where datname = current_database())
                                  and l.classid = $3::oid and l.objsubid = 2))
                     returning *",
                )
                .bind(self.instance_key())
                .bind(PARKED)
                .bind(OWNER_LOCK)
                .fetch_all(pool)
                .await?
            }
        })
    }
}
