//! Tasks: one row per requested video, from acceptance to delivery or failure.
//!
//! This file holds what handlers and reports read and write outside the worker: the typed row,
//! the insert, and the lookups. Every state transition of a task lives in [`lease`], behind the
//! handle a claim returns, and is fenced by that claim's token.

mod lease;
mod slots;
mod takeover;
mod timing;

pub(super) use takeover::OWNER_LOCK;

use sqlx::types::Json;

use crate::domain::{
    ChatId, CredentialId, GenerationParams, ModeInput, PoolAccountId, TaskId, TaskKind, TaskState, UserId,
    WaitReason,
};

use super::{
    DestinationKind, Engine, Storage, StorageError,
    engine::{WORK_CHANNEL, json_ids},
    now_ms,
};

pub use lease::{Claim, Held, LeaseError, Resubmit, TaskLease};

/// The stored `next_run_at` of a generating task the worker polls from its in-memory schedule:
/// never due, so no claim takes it (see `Storage::park_generating`). Polls of a parked task write
/// nothing; only a change of its state does, after taking its lease.
pub const PARKED: i64 = i64::MAX;
pub use timing::GenerationTime;

/// What a handler knows when it accepts a request.
#[derive(Clone, Debug)]
pub struct NewTask {
    pub user_id: UserId,
    pub chat_id: ChatId,
    pub request_message_id: i32,
    /// The forum topic the request was made in, if any.
    pub thread_id: Option<i32>,
    pub kind: TaskKind,
    pub prompt: String,
    pub params: GenerationParams,
    pub image_file_id: Option<String>,
    /// The user's own credential; `None`: the shared pool.
    pub credential_id: Option<CredentialId>,
    /// The bot picked `params.seed` (the request gave none), so "Again" picks a new one.
    pub seed_auto: bool,
    /// A mode task's inputs (`None` for t2v and i2v; the table checks that it matches `kind`).
    pub mode_input: Option<ModeInput>,
    /// The Telegram update that asked for the task, if one did: at most one task per update, so
    /// an update handled again after a crash queues nothing new (see `telegram::Inbox`).
    pub source_update: Option<i64>,
    /// A mode task on the pool: the pool account that made its source video (PixVerse knows the
    /// video only there), kept by the submit's account pick.
    pub pool_account_id: Option<PoolAccountId>,
}

/// A task as stored. Every column is decoded once, into its type: an unknown state or kind, or
/// parameters that do not parse, make the read fail instead of defaulting silently.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TaskRow {
    pub id: TaskId,
    pub user_id: UserId,
    pub chat_id: ChatId,
    pub request_message_id: i64,
    /// The forum topic every message about the task goes to, if it was requested in one.
    pub thread_id: Option<i64>,
    pub progress_message_id: Option<i64>,
    pub kind: TaskKind,
    pub prompt: String,
    pub params: Json<GenerationParams>,
    pub image_file_id: Option<String>,
    /// PixVerse's reference to the uploaded image (`UploadedImage` as JSON).
    pub image_ref: Option<String>,
    pub credential_id: Option<CredentialId>,
    /// The pool account given at submit time (pool tasks only).
    pub pool_account_id: Option<PoolAccountId>,
    pub video_id: Option<i64>,
    pub video_url: Option<String>,
    pub state: TaskState,
    /// Consecutive failed attempts of the current step.
    pub attempts: i64,
    pub next_run_at: i64,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    pub wait_reason: Option<WaitReason>,
    pub video_file_id: Option<String>,
    pub seed_auto: bool,
    pub submitted_at: Option<i64>,
    pub progress_edited_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Where the result goes: an API task's result is only recorded, nothing is sent.
    pub destination: DestinationKind,
    /// A mode task's inputs; `None` for t2v and i2v.
    pub mode_input: Option<Json<ModeInput>>,
}

impl TaskRow {
    pub fn params(&self) -> &GenerationParams {
        &self.params.0
    }

    pub fn mode_input(&self) -> Option<&ModeInput> {
        self.mode_input.as_ref().map(|input| &input.0)
    }

    /// Whether only a Platform API key can submit it: the further modes, a sound effect and an
    /// effect template.
    pub fn needs_api_key(&self) -> bool {
        self.mode_input.is_some()
            || self.params().sound_effect.is_some()
            || self.params().template_id.is_some()
    }
}

impl Storage {
    /// Stores an accepted request as a queued task, due now.
    pub async fn insert_task(&self, task: &NewTask) -> Result<TaskId, StorageError> {
        let now = now_ms();
        let id = on_pool!(&self.writer, |pool| sqlx::query_scalar(
            "insert into task (user_id, chat_id, request_message_id, kind, prompt, params, image_file_id,
                               credential_id, seed_auto, thread_id, state, next_run_at, created_at,
                               updated_at, mode_input, pool_account_id, source_update)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $10, $11, 'queued', $9, $9, $9, $12, $13, $14)
             returning id",
        )
        .bind(task.user_id)
        .bind(task.chat_id)
        .bind(task.request_message_id)
        .bind(task.kind)
        .bind(&task.prompt)
        .bind(Json(&task.params))
        .bind(&task.image_file_id)
        .bind(task.credential_id)
        .bind(now)
        .bind(task.seed_auto)
        .bind(task.thread_id)
        .bind(task.mode_input.as_ref().map(Json))
        .bind(task.pool_account_id)
        .bind(task.source_update)
        .fetch_one(pool)
        .await)?;
        self.notify_work().await?;
        Ok(id)
    }

    pub async fn task(&self, id: TaskId) -> Result<Option<TaskRow>, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            "select * from task where id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    /// The door answered a Telegram task it accepted: records the progress message it sent, if
    /// it sent one (`None`: the chat is rate-limited, or the send failed), and makes the task due
    /// now if it is still held for this answer (see [`Storage::insert_task_within`]), waking every
    /// instance's worker. Not a state transition: a task whose hold ran out and that a worker
    /// took meanwhile keeps its schedule (it gets the message for its later edits). One statement
    /// on both engines (on PostgreSQL the work notice rides along), so the accept path costs no
    /// more than it did when the insert sent the notice.
    pub async fn task_answered(
        &self,
        id: TaskId,
        progress_message_id: Option<i32>,
    ) -> Result<(), StorageError> {
        let update = "update task set progress_message_id = coalesce($2, progress_message_id),
                          progress_edited_at = case when $2 is null then progress_edited_at else $3 end,
                          next_run_at = case when state = 'queued' and next_run_at = created_at + $4
                                             then $3 else next_run_at end
                      where id = $1";
        let hold = super::accept::PROGRESS_HOLD.as_millis() as i64;
        match &self.writer {
            Engine::Postgres(pool) => {
                // The work notice (as `Dialect::work_notice`) only when the task was released.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "with released as ({update} returning next_run_at)
                     select pg_notify('{WORK_CHANNEL}', current_schema() || ' ' || $5)
                     from released where next_run_at = $3"
                )))
                .bind(id)
                .bind(progress_message_id)
                .bind(now_ms())
                .bind(hold)
                .bind(self.instance.as_ref())
                .execute(pool)
                .await?;
            }
            Engine::Sqlite(pool) => {
                sqlx::query(update)
                    .bind(id)
                    .bind(progress_message_id)
                    .bind(now_ms())
                    .bind(hold)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// When the progress message was last edited (paces the routine edits). Not a transition.
    pub async fn touch_progress(&self, id: TaskId) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| sqlx::query(
            "update task set progress_edited_at = $2 where id = $1"
        )
        .bind(id)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The user's unfinished tasks, oldest first; only those requested in `chat` if given (a
    /// group sees only what was asked for there).
    pub async fn tasks_in_flight(
        &self,
        user_id: UserId,
        chat: Option<ChatId>,
    ) -> Result<Vec<TaskRow>, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            "select * from task where user_id = $1 and state not in ('delivered', 'failed')
                 and ($2 is null or chat_id = $2) order by id",
        )
        .bind(user_id)
        .bind(chat)
        .fetch_all(pool)
        .await)?)
    }

    /// The user's most recent finished tasks, newest first; only those requested in `chat` if
    /// given.
    pub async fn recent_finished_tasks(
        &self,
        user_id: UserId,
        chat: Option<ChatId>,
        limit: i64,
    ) -> Result<Vec<TaskRow>, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            "select * from task where user_id = $1 and state in ('delivered', 'failed')
                 and ($3 is null or chat_id = $3) order by id desc limit $2",
        )
        .bind(user_id)
        .bind(limit)
        .bind(chat)
        .fetch_all(pool)
        .await)?)
    }

    /// A group became a supergroup with a new id: unfinished tasks deliver there. (Not a state
    /// transition; a holder's next fenced write still applies.)
    pub async fn migrate_chat(&self, old_chat_id: ChatId, new_chat_id: ChatId) -> Result<u64, StorageError> {
        let done = on_pool!(&self.writer, |pool| {
            sqlx::query(
            "update task set chat_id = $2, updated_at = $3 where chat_id = $1 and state not in ('delivered', 'failed')",
        )
        .bind(old_chat_id)
        .bind(new_chat_id)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        })?;
        Ok(done)
    }

    /// The owner logged in again: every unfinished task of theirs that waits for a login is due
    /// now (tasks not held by a step; a held one is looked at when its step ends anyway).
    pub async fn wake_tasks_waiting_for_login(&self, owner: UserId) -> Result<u64, StorageError> {
        let done = on_pool!(&self.writer, |pool| sqlx::query(
            "update task set next_run_at = $2, attempts = 0, wait_reason = null
             where user_id = $1 and wait_reason = 'login' and state not in ('delivered', 'failed')
               and lease_token is null",
        )
        .bind(owner)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        if done > 0 {
            self.notify_work().await?;
        }
        Ok(done)
    }

    /// Every parked generating task (see [`PARKED`]): at start, the worker's poll schedule.
    pub async fn parked_tasks(&self) -> Result<Vec<TaskRow>, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            "select * from task where state = 'generating' and next_run_at = $1"
        )
        .bind(PARKED)
        .fetch_all(pool)
        .await)?)
    }

    /// Those of these tasks that are still parked and generating, as stored now (a task
    /// cancelled, or given a new chat, since the worker's copy was read shows here).
    pub async fn still_parked(&self, ids: &[TaskId]) -> Result<Vec<TaskRow>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids_in = self.engine.dialect().id_list("$1");
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(format!(
                "select * from task where id in ({ids_in})
                 and state = 'generating' and next_run_at = $2",
            ))
        )
        .bind(json_ids(ids)?)
        .bind(PARKED)
        .fetch_all(pool)
        .await)?)
    }

    /// When the next unfinished task that is not held falls due (a task left held by a failed
    /// step counts once its lease has expired). Walks the `task_due` index in order and stops at
    /// the first such task, so it costs about as much as the tasks held right now, not a scan of
    /// every task; held tasks are the worker's own and it looks again when their steps end.
    pub async fn next_due_at(&self) -> Result<Option<i64>, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select next_run_at from task
             where state not in ('delivered', 'failed') and (lease_until is null or lease_until <= $1)
             order by next_run_at limit 1",
        )
        .bind(now_ms())
        .fetch_optional(pool)
        .await)?)
    }
}
