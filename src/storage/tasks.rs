//! Tasks: one row per requested video, from acceptance to delivery or failure.
//!
//! The worker claims due tasks with a lease. Every transition below clears the lease in the same
//! statement that stores the new state, so a task is never both "done with this step" and "still
//! held"; a crash in the middle of a step leaves the lease, and [`Storage::release_all_leases`]
//! at start-up hands the task back. A finished task (`delivered`, `failed`, e.g. cancelled by an
//! admin while the worker held it) is never moved back to an unfinished state.

use crate::domain::{GenerationParams, TaskKind, TaskState};

use super::{Storage, StorageError, now_ms};

/// What a handler knows when it accepts a request.
#[derive(Clone, Debug)]
pub struct NewTask {
    pub user_id: i64,
    pub chat_id: i64,
    pub request_message_id: i32,
    pub kind: TaskKind,
    pub prompt: String,
    pub params: GenerationParams,
    pub image_file_id: Option<String>,
    pub credential_id: Option<i64>,
    /// The bot picked `params.seed` (the request gave none); stored with the row rather than
    /// by a second statement (see `Storage::mark_seed_auto`).
    pub seed_auto: bool,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TaskRow {
    pub id: i64,
    pub user_id: i64,
    pub chat_id: i64,
    pub request_message_id: i64,
    pub progress_message_id: Option<i64>,
    kind: String,
    pub prompt: String,
    params: String,
    pub image_file_id: Option<String>,
    pub image_ref: Option<String>,
    pub credential_id: Option<i64>,
    /// The pool account given at submit time (pool tasks only).
    pub pool_account_id: Option<i64>,
    pub video_id: Option<i64>,
    pub video_url: Option<String>,
    state: String,
    pub attempts: i64,
    pub next_run_at: i64,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    pub video_file_id: Option<String>,
    pub submitted_at: Option<i64>,
    pub progress_edited_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// 'telegram' or 'api' (see migrations/0006_access.sql).
    destination: String,
}

impl TaskRow {
    pub fn kind(&self) -> TaskKind {
        self.kind.parse().unwrap_or(TaskKind::T2v)
    }

    pub fn state(&self) -> TaskState {
        // The column's check constraint admits only known names.
        self.state.parse().unwrap_or(TaskState::Failed)
    }

    /// Where the result goes: an API task's result is only recorded, nothing is sent.
    pub fn destination(&self) -> super::DestinationKind {
        // The column's check constraint admits only these two.
        match self.destination.as_str() {
            "api" => super::DestinationKind::Api,
            _ => super::DestinationKind::Telegram,
        }
    }

    pub fn params(&self) -> Result<GenerationParams, StorageError> {
        serde_json::from_str(&self.params)
            .map_err(|e| StorageError::Corrupt(format!("task {} params: {e}", self.id)))
    }
}

impl Storage {
    /// Stores an accepted request as a queued task, due now.
    pub async fn insert_task(&self, task: &NewTask) -> Result<i64, StorageError> {
        let now = now_ms();
        let params = serde_json::to_string(&task.params).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let id = sqlx::query_scalar(
            "insert into task (user_id, chat_id, request_message_id, kind, prompt, params, image_file_id,
                               credential_id, seed_auto, state, next_run_at, created_at, updated_at)
             values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?10, 'queued', ?9, ?9, ?9)
             returning id",
        )
        .bind(task.user_id)
        .bind(task.chat_id)
        .bind(task.request_message_id)
        .bind(task.kind.as_str())
        .bind(&task.prompt)
        .bind(params)
        .bind(&task.image_file_id)
        .bind(task.credential_id)
        .bind(now)
        .bind(task.seed_auto)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn task(&self, id: i64) -> Result<Option<TaskRow>, StorageError> {
        Ok(sqlx::query_as("select * from task where id = ?1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn set_progress_message(&self, id: i64, message_id: i32) -> Result<(), StorageError> {
        sqlx::query("update task set progress_message_id = ?2, progress_edited_at = ?3 where id = ?1")
            .bind(id)
            .bind(message_id)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Claims up to `limit` unfinished tasks that are due and not held, holding each for `lease_ms`.
    /// One statement, so two claimers can never take the same task.
    ///
    /// Fairness between users is the worker's job (`worker::fair_order`), over what is claimed
    /// here; RETURNING keeps no order anyway.
    pub async fn claim_due_tasks(&self, limit: i64, lease_ms: i64) -> Result<Vec<TaskRow>, StorageError> {
        let now = now_ms();
        Ok(sqlx::query_as(
            "update task set lease_until = ?2
             where id in (select id from task
                          where state not in ('delivered', 'failed') and next_run_at <= ?1
                            and (lease_until is null or lease_until <= ?1)
                          -- An account's tasks side by side, so one claim gets all of them
                          -- (the worker polls a web account's tasks with one listing call).
                          order by next_run_at, credential_id limit ?3)
             returning *",
        )
        .bind(now)
        .bind(now + lease_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Generations started or running on each credential of `users` (`None`: a pool task), for
    /// the per-account limit. Only the users whose tasks a round claimed: through the `task_user`
    /// index instead of a scan of every task (a credential is one user's, so its tasks are theirs).
    pub async fn generating_per_credential(
        &self,
        users: &[i64],
    ) -> Result<Vec<(Option<i64>, i64)>, StorageError> {
        Ok(sqlx::query_as(
            "select credential_id, count(*) from task
             where user_id in (select value from json_each(?1)) and state in ('submitting', 'generating')
             group by credential_id",
        )
        .bind(json_ids(users)?)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Per user of `users`: generations started since `since_ms` or still running. The worker
    /// serves users with fewer first, so one user's backlog cannot crowd out another user's
    /// single task.
    pub async fn recent_starts_per_user(
        &self,
        users: &[i64],
        since_ms: i64,
    ) -> Result<Vec<(i64, i64)>, StorageError> {
        Ok(sqlx::query_as(
            "select user_id, count(*) from task
             where user_id in (select value from json_each(?1))
               and (state in ('submitting', 'generating') or submitted_at >= ?2)
             group by user_id",
        )
        .bind(json_ids(users)?)
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A generation slot of this credential freed up: every task waiting for one is due now, so
    /// the next round picks among all of them fairly instead of whichever timer fires first.
    pub async fn wake_waiting_tasks(&self, credential_id: Option<i64>) -> Result<u64, StorageError> {
        let now = now_ms();
        let done = sqlx::query(
            "update task set next_run_at = ?2
             where credential_id is ?1 and state = 'queued' and lease_until is null and next_run_at > ?2",
        )
        .bind(credential_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// A group became a supergroup with a new id: unfinished tasks deliver there.
    pub async fn migrate_chat(&self, old_chat_id: i64, new_chat_id: i64) -> Result<u64, StorageError> {
        let done = sqlx::query(
            "update task set chat_id = ?2, updated_at = ?3 where chat_id = ?1 and state not in ('delivered', 'failed')",
        )
        .bind(old_chat_id)
        .bind(new_chat_id)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Makes every unfinished task of a credential due now (its owner just logged in again).
    pub async fn wake_tasks_of_credential(&self, credential_id: i64) -> Result<u64, StorageError> {
        let done = sqlx::query(
            "update task set next_run_at = ?2, attempts = 0
             where credential_id = ?1 and state not in ('delivered', 'failed') and lease_until is null",
        )
        .bind(credential_id)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// When the next unfinished task that is not held falls due (a task left held by a failed
    /// step counts once its lease has expired). Walks the `task_due` index in order and stops at
    /// the first such task, so it costs about as much as the tasks held right now, not a scan of
    /// every task; held tasks are the worker's own and it looks again when their steps end.
    pub async fn next_due_at(&self) -> Result<Option<i64>, StorageError> {
        Ok(sqlx::query_scalar(
            "select next_run_at from task
             where state not in ('delivered', 'failed') and (lease_until is null or lease_until <= ?1)
             order by next_run_at limit 1",
        )
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// At start-up no step can be running (one bot process owns the database, as Telegram allows one
    /// `getUpdates` consumer per token), so every lease is a leftover of a crash: release it now
    /// instead of waiting for it to expire.
    pub async fn release_all_leases(&self) -> Result<u64, StorageError> {
        let done = sqlx::query("update task set lease_until = null where lease_until is not null")
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Gives a held task back, due at `next_run_at`, recording why (`attempts` counts consecutive
    /// failures; pass `failed = false` for a normal reschedule, e.g. "still generating").
    pub async fn reschedule_task(
        &self,
        id: i64,
        state: TaskState,
        next_run_at: i64,
        failed: bool,
        error: Option<&str>,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "update task set state = ?2, next_run_at = ?3, lease_until = null,
                 attempts = case when ?4 then attempts + 1 else 0 end,
                 last_error = coalesce(?5, last_error), updated_at = ?6
             where id = ?1 and state not in ('delivered', 'failed')",
        )
        .bind(id)
        .bind(state.as_str())
        .bind(next_run_at)
        .bind(failed)
        .bind(error)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Written before asking PixVerse to generate: from here on a crash may leave a generation on
    /// PixVerse's side that we do not know the id of (see the worker's submit step).
    pub async fn mark_submitting(&self, id: i64) -> Result<(), StorageError> {
        self.set_state(id, TaskState::Submitting).await
    }

    /// Remembers (or, with `None`, forgets) PixVerse's reference to the uploaded image.
    pub async fn store_image_ref(&self, id: i64, image_ref: Option<&str>) -> Result<(), StorageError> {
        sqlx::query("update task set image_ref = ?2, updated_at = ?3 where id = ?1")
            .bind(id)
            .bind(image_ref)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// PixVerse accepted the generation: from now on the task is only ever polled, never resubmitted.
    pub async fn mark_generating(
        &self,
        id: i64,
        video_id: i64,
        next_poll_at: i64,
    ) -> Result<(), StorageError> {
        let now = now_ms();
        sqlx::query(
            "update task set state = 'generating', video_id = ?2, submitted_at = coalesce(submitted_at, ?4),
                 next_run_at = ?3, attempts = 0, lease_until = null, last_error = null, updated_at = ?4
             where id = ?1 and state not in ('delivered', 'failed')",
        )
        .bind(id)
        .bind(video_id)
        .bind(next_poll_at)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// PixVerse finished; the task keeps its lease because delivery follows in the same step.
    pub async fn mark_delivering(&self, id: i64, video_url: &str) -> Result<(), StorageError> {
        sqlx::query(
            "update task set state = 'delivering', video_url = ?2, attempts = 0, updated_at = ?3
             where id = ?1 and state not in ('delivered', 'failed')",
        )
        .bind(id)
        .bind(video_url)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn mark_delivered(&self, id: i64, video_file_id: Option<&str>) -> Result<(), StorageError> {
        let now = now_ms();
        sqlx::query(
            "update task set state = 'delivered', video_file_id = ?2, lease_until = null, last_error = null,
                 finished_at = ?3, updated_at = ?3
             where id = ?1",
        )
        .bind(id)
        .bind(video_file_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn mark_failed(&self, id: i64, error: &str) -> Result<(), StorageError> {
        let now = now_ms();
        sqlx::query(
            "update task set state = 'failed', last_error = ?2, lease_until = null, finished_at = ?3, updated_at = ?3
             where id = ?1",
        )
        .bind(id)
        .bind(error)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn touch_progress(&self, id: i64) -> Result<(), StorageError> {
        sqlx::query("update task set progress_edited_at = ?2 where id = ?1")
            .bind(id)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user's unfinished tasks, oldest first; only those requested in `chat` if given (a
    /// group sees only what was asked for there).
    pub async fn tasks_in_flight(
        &self,
        user_id: i64,
        chat: Option<i64>,
    ) -> Result<Vec<TaskRow>, StorageError> {
        Ok(sqlx::query_as(
            "select * from task where user_id = ?1 and state not in ('delivered', 'failed')
                 and (?2 is null or chat_id = ?2) order by id",
        )
        .bind(user_id)
        .bind(chat)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The user's most recent finished tasks, newest first; only those requested in `chat` if
    /// given.
    pub async fn recent_finished_tasks(
        &self,
        user_id: i64,
        chat: Option<i64>,
        limit: i64,
    ) -> Result<Vec<TaskRow>, StorageError> {
        Ok(sqlx::query_as(
            "select * from task where user_id = ?1 and state in ('delivered', 'failed')
                 and (?3 is null or chat_id = ?3) order by id desc limit ?2",
        )
        .bind(user_id)
        .bind(limit)
        .bind(chat)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Gives back held tasks that are still generating, all due at `next_run_at`: one write for
    /// many polls instead of one per task (see [`Storage::reschedule_task`]). A task finished
    /// meanwhile (e.g. cancelled) stays finished.
    pub async fn reschedule_generating(&self, ids: &[i64], next_run_at: i64) -> Result<(), StorageError> {
        if ids.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "update task set state = 'generating', next_run_at = ?2, lease_until = null, attempts = 0,
                 updated_at = ?3
             where id in (select value from json_each(?1)) and state not in ('delivered', 'failed')",
        )
        .bind(json_ids(ids)?)
        .bind(next_run_at)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives back held tasks that wait for a free generation slot, in their state, due at
    /// `next_run_at`: [`Storage::reschedule_task`] without an error, for many tasks in one write.
    pub async fn reschedule_waiting(&self, ids: &[i64], next_run_at: i64) -> Result<(), StorageError> {
        if ids.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "update task set next_run_at = ?2, lease_until = null, attempts = 0, updated_at = ?3
             where id in (select value from json_each(?1)) and state not in ('delivered', 'failed')",
        )
        .bind(json_ids(ids)?)
        .bind(next_run_at)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_state(&self, id: i64, state: TaskState) -> Result<(), StorageError> {
        sqlx::query("update task set state = ?2, updated_at = ?3 where id = ?1 and state not in ('delivered', 'failed')")
            .bind(id)
            .bind(state.as_str())
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// A list of ids as one JSON parameter, for `json_each`: one statement for many rows.
fn json_ids(ids: &[i64]) -> Result<String, StorageError> {
    serde_json::to_string(ids).map_err(|e| StorageError::Corrupt(e.to_string()))
}
