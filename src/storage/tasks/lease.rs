//! The task lifecycle: a claim takes due tasks with a lease, and each comes back as a
//! [`TaskLease`] whose consuming methods are the only state transitions a task has.
//!
//! ```text
//! queued ─► submitting ─► generating ─► delivering ─► delivered
//!    └──────────┴─────────────┴─────────────┴──────► failed
//! ```
//!
//! Fencing: every claim statement draws a fresh random token and stores it on the tasks it takes.
//! Every write below names the token (`where id = ? and lease_token = ?`): when the lease was lost
//! (it expired and another claim took the task, or an admin cancelled it) the write changes
//! nothing and returns [`LeaseError::Lost`], and the step stops before its next side effect.
//! A transition that gives the task back clears the token in the same statement, so a task is
//! never both "done with this step" and "still held".
//!
//! A lease lasts `lease` from the claim and is kept alive while its step runs: the worker renews
//! the tokens of the claims it still holds ([`Storage::renew_leases`]) every third of the lease.
//! So a slow upload or a long queue never outlasts it; only a stalled process does, and then
//! another claim may take the task and this holder's writes are refused.

use std::{
    sync::{Arc, Weak},
    time::Duration,
};

use crate::domain::{CredentialId, PoolAccountId, TaskId, TaskState, WaitReason};

use super::super::engine::json_ids;
use super::super::{CredentialKind, PoolPick, PoolStatus, Storage, StorageError, now_ms, pool::usable};
use super::{PARKED, TaskRow};

/// One claim statement: the token its tasks carry while held. Every [`TaskLease`] of the claim
/// shares it; once they are all consumed or dropped, the claim is no longer renewed.
#[derive(Debug)]
pub struct Claim {
    token: i64,
}

impl Claim {
    pub fn token(&self) -> i64 {
        self.token
    }
}

/// A claimed task: read it with [`TaskLease::task`], move it with one of the consuming methods.
pub struct TaskLease {
    storage: Storage,
    claim: Arc<Claim>,
    task: TaskRow,
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("task {0} is no longer held by this step (its lease was taken over, or it was cancelled)")]
    Lost(TaskId),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for LeaseError {
    fn from(e: sqlx::Error) -> Self {
        LeaseError::Storage(e.into())
    }
}

/// Which task a step holds under which claim, kept aside before the step takes the lease, so an
/// unexpected error of the step can still be counted against the task ([`Storage::step_failed`]).
#[derive(Clone, Copy, Debug)]
pub struct Held {
    pub(super) id: TaskId,
    pub(super) token: i64,
}

/// How a retried submit goes to PixVerse again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resubmit {
    /// We do not know whether PixVerse took the submit (timeout, reset, 5xx, garbage): the retry
    /// sends the same trace id, so PixVerse answers with the video it may already have made.
    SameTrace,
    /// PixVerse answered (an `ErrCode`), or what we send changed: the retry is new work with a
    /// new trace id (a reused one would only get the same answer back).
    NewWork,
}

/// Runs one fenced write of a [`TaskLease`] on either engine: the statement sees the task id as
/// `$1` and the lease token as `$2`, then `args` as `$3`…; no row changed means the lease was lost.
macro_rules! fenced {
    ($lease:expr, $sql:expr $(, $arg:expr)* $(,)?) => {{
        let lease: &TaskLease = $lease;
        let changed = on_pool!(&lease.storage.writer, |pool| sqlx::query($sql)
            .bind(lease.task.id)
            .bind(lease.claim.token)
            $(.bind($arg))*
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        match changed {
            0 => Err(LeaseError::Lost(lease.task.id)),
            _ => Ok(()),
        }
    }};
}

impl Storage {
    /// Claims up to `limit` unfinished tasks that are due and not held, holding each for `lease`.
    /// One statement, so two claimers can never take the same task.
    ///
    /// Fairness between users is the worker's job, over what is claimed here; RETURNING keeps no
    /// order anyway.
    pub async fn claim_due_tasks(&self, limit: i64, lease: Duration) -> Result<Vec<TaskLease>, StorageError> {
        let now = now_ms();
        // Random, not a counter: unique across restarts and processes without a shared sequence.
        let token = rand::random::<i64>() & i64::MAX;
        let skip_locked = self.engine.dialect().skip_locked();
        let rows: Vec<TaskRow> =
            on_pool!(&self.writer, |pool| sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "update task set lease_until = $2, lease_token = $4
             where id in (select id from task
                          where state not in ('delivered', 'failed') and next_run_at <= $1
                            and (lease_until is null or lease_until <= $1)
                          -- An account's tasks side by side, so one claim gets all of them
                          -- (the worker polls a web account's tasks with one listing call).
                          order by next_run_at, credential_id limit $3 {skip_locked})
             returning *",
            )))
            .bind(now)
            .bind(now + lease.as_millis() as i64)
            .bind(limit)
            .bind(token)
            .fetch_all(pool)
            .await)?;
        Ok(self.leases(token, rows))
    }

    /// Keeps the leases of these claims for another `lease` from now (tasks whose step already
    /// gave them back carry no token and are not touched).
    pub async fn renew_leases(&self, tokens: &[i64], lease: Duration) -> Result<u64, StorageError> {
        if tokens.is_empty() {
            return Ok(0);
        }
        let tokens_in = self.engine.dialect().id_list("$1");
        let done = on_pool!(&self.writer, |pool| sqlx::query(sqlx::AssertSqlSafe(format!(
            "update task set lease_until = $2 where lease_token in ({tokens_in})",
        )))
        .bind(json_ids(tokens)?)
        .bind(now_ms() + lease.as_millis() as i64)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done)
    }

    /// Releases every lease: only for a start that knows no step can be running (see
    /// `instances.rs`), so every lease is a leftover of a crash, released now instead of waiting
    /// for it to expire.
    pub async fn release_all_leases(&self) -> Result<u64, StorageError> {
        let done = on_pool!(&self.writer, |pool| sqlx::query(
            "update task set lease_until = null, lease_token = null
             where lease_until is not null or lease_token is not null",
        )
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done)
    }

    /// Gives back held tasks that PixVerse is still generating to the worker's in-memory poll
    /// schedule: stored as [`PARKED`] (never due to a claim), in one write for many tasks. From
    /// here their polls write nothing until something changes; [`Storage::claim_parked`] takes
    /// one back when it does. A lease lost meanwhile is left alone.
    /// They are recorded as this instance's (`parked_by`): no other instance polls them while it
    /// runs (see `takeover.rs`).
    /// Crash story: before this write the tasks stay held and are polled again after a restart;
    /// after it, another instance (or the restart) takes them over
    /// ([`Storage::take_over_parked`]) and polls each once.
    pub async fn park_generating(&self, leases: Vec<TaskLease>) -> Result<(), StorageError> {
        self.give_back(
            leases,
            "next_run_at = $2, wait_reason = null, parked_by = $5",
            PARKED,
            None,
        )
        .await
    }

    /// Takes the lease of those of these parked tasks that are still parked and generating (a
    /// task cancelled meanwhile is not taken): the worker's poll found their state changed, and
    /// every change goes through a lease. One statement for all of them. A lease a failed step
    /// left on a parked task counts once it has expired, as for any claim.
    pub async fn claim_parked(
        &self,
        ids: &[TaskId],
        lease: Duration,
    ) -> Result<Vec<TaskLease>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let token = rand::random::<i64>() & i64::MAX;
        let ids_in = self.engine.dialect().id_list("$1");
        let rows: Vec<TaskRow> =
            on_pool!(&self.writer, |pool| sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "update task set lease_until = $2, lease_token = $3
             where id in ({ids_in})
               and state = 'generating' and next_run_at = $4
               and (lease_until is null or lease_until <= $5)
             returning *",
            )))
            .bind(json_ids(ids)?)
            .bind(now_ms() + lease.as_millis() as i64)
            .bind(token)
            .bind(PARKED)
            .bind(now_ms())
            .fetch_all(pool)
            .await)?;
        Ok(self.leases(token, rows))
    }

    /// Parked tasks whose poll answered again after failed attempts: the count starts over (only
    /// tasks still parked, so a task taken or cancelled meanwhile is left alone). Rare: only
    /// after a failed poll, never on the routine path.
    pub async fn parked_polls_recovered(&self, ids: &[TaskId]) -> Result<(), StorageError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids_in = self.engine.dialect().id_list("$1");
        on_pool!(&self.writer, |pool| sqlx::query(sqlx::AssertSqlSafe(format!(
            "update task set attempts = 0, last_error = null, updated_at = $3
             where id in ({ids_in})
               and state = 'generating' and next_run_at = $2 and lease_token is null",
        )))
        .bind(json_ids(ids)?)
        .bind(PARKED)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Gives back held queued tasks that wait for a free generation slot, due at `next_run_at`.
    /// (A `submitting` task holds its slot already and never waits for one.)
    pub async fn wait_for_slot(&self, leases: Vec<TaskLease>, next_run_at: i64) -> Result<(), StorageError> {
        debug_assert!(leases.iter().all(|l| l.task.state == TaskState::Queued));
        self.give_back(
            leases,
            "next_run_at = $2, attempts = 0, wait_reason = $4",
            next_run_at,
            Some(WaitReason::Slot),
        )
        .await
    }

    /// A step ended with an unexpected error (not a PixVerse or Telegram answer the step handles,
    /// e.g. a credential that no longer decrypts) while holding these tasks: each counts a failed
    /// attempt and is due again at `retry_at`, and the one reaching `max_attempts` ends as failed
    /// in the same statement. Returns the tasks that ended, for the worker to tell their users.
    /// A task the step already gave back carries no token any more and is not touched.
    pub async fn step_failed(
        &self,
        held: &[Held],
        error: &str,
        retry_at: i64,
        max_attempts: i64,
    ) -> Result<Vec<TaskRow>, StorageError> {
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let pairs: Vec<(TaskId, i64)> = held.iter().map(|h| (h.id, h.token)).collect();
        let held_in = self.engine.dialect().id_pairs("$1");
        let rows: Vec<TaskRow> =
            on_pool!(&self.writer, |pool| sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "update task set attempts = attempts + 1, last_error = $2, next_run_at = $3,
                 state = case when attempts + 1 >= $4 then 'failed' else state end,
                 finished_at = case when attempts + 1 >= $4 then $5 else finished_at end,
                 lease_until = null, lease_token = null, updated_at = $5
             where (id, lease_token) in ({held_in})
             returning *",
            )))
            .bind(json_ids(&pairs)?)
            .bind(error)
            .bind(retry_at)
            .bind(max_attempts)
            .bind(now_ms())
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .filter(|t| t.state == TaskState::Failed)
            .collect())
    }

    /// The tasks one claim statement took under `token`, each as its lease handle.
    fn leases(&self, token: i64, rows: Vec<TaskRow>) -> Vec<TaskLease> {
        let claim = Arc::new(Claim { token });
        rows.into_iter()
            .map(|task| TaskLease {
                storage: self.clone(),
                claim: claim.clone(),
                task,
            })
            .collect()
    }

    async fn give_back(
        &self,
        leases: Vec<TaskLease>,
        set: &str,
        next_run_at: i64,
        reason: Option<WaitReason>,
    ) -> Result<(), StorageError> {
        if leases.is_empty() {
            return Ok(());
        }
        let held: Vec<(TaskId, i64)> = leases.iter().map(|l| (l.task.id, l.claim.token)).collect();
        let held_in = self.engine.dialect().id_pairs("$1");
        let sql = format!(
            "update task set {set}, lease_until = null, lease_token = null, updated_at = $3
             where (id, lease_token) in ({held_in})"
        );
        let done = on_pool!(&self.writer, |pool| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(json_ids(&held)?)
            .bind(next_run_at)
            .bind(now_ms())
            .bind(reason)
            // `$5`: this instance's key, for a give-back that parks (see `takeover.rs`).
            .bind(self.instance_key())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        if done < held.len() as u64 {
            tracing::debug!(
                lost = held.len() as u64 - done,
                "some leases were lost before their tasks were given back"
            );
        }
        Ok(())
    }
}

impl TaskLease {
    pub fn task(&self) -> &TaskRow {
        &self.task
    }

    pub fn id(&self) -> TaskId {
        self.task.id
    }

    /// The task and claim, to count a failed attempt after the step took the lease.
    pub fn held(&self) -> Held {
        Held {
            id: self.task.id,
            token: self.claim.token,
        }
    }

    /// The claim this lease belongs to, for the worker's renewals; does not keep it alive.
    pub fn claim(&self) -> Weak<Claim> {
        Arc::downgrade(&self.claim)
    }

    /// Written before PixVerse is asked to generate; returns the submit's trace id, drawn now if
    /// the task has none yet and kept for every retry of this submit.
    ///
    /// Crash story: from here a crash may leave a generation at PixVerse whose `video_id` we never
    /// stored. After the restart the task is claimed in `submitting` and submitted again with the
    /// same trace id, and PixVerse answers with the video it already made: charged once.
    ///
    /// `credential` is the owner's credential the submit goes out with (their newest login, which
    /// may be newer than the one the task was queued with); `None` for a pool task. Changing it
    /// makes the submit new work, with a new trace id.
    pub async fn submitting(&mut self, credential: Option<CredentialId>) -> Result<String, LeaseError> {
        let fresh = uuid::Uuid::new_v4().to_string();
        let trace: Option<String> = on_pool!(&self.storage.writer, |pool| sqlx::query_scalar(
            "update task set state = 'submitting', wait_reason = null,
                 submit_trace_id = case when credential_id is not distinct from coalesce($5, credential_id)
                                   then coalesce(submit_trace_id, $3) else $3 end,
                 credential_id = coalesce($5, credential_id), updated_at = $4
             where id = $1 and lease_token = $2
             returning submit_trace_id",
        )
        .bind(self.task.id)
        .bind(self.claim.token)
        .bind(fresh)
        .bind(now_ms())
        .bind(credential)
        .fetch_optional(pool)
        .await)?;
        self.task.state = TaskState::Submitting;
        if credential.is_some() {
            self.task.credential_id = credential;
        }
        trace.ok_or(LeaseError::Lost(self.task.id))
    }

    /// Remembers PixVerse's reference to the uploaded image, so a retried submit does not
    /// upload (and pay for storage) again. Crash story: lost, the image is uploaded once more.
    pub async fn store_image(&mut self, image_ref: &str) -> Result<(), LeaseError> {
        fenced!(
            &self,
            "update task set image_ref = $3, updated_at = $4 where id = $1 and lease_token = $2",
            image_ref,
            now_ms()
        )?;
        self.task.image_ref = Some(image_ref.to_owned());
        Ok(())
    }

    /// PixVerse no longer knows the uploaded image: the next submit uploads it again, and since
    /// its body changes, it is new work with a new trace id.
    pub async fn forget_image(&mut self) -> Result<(), LeaseError> {
        fenced!(
            &self,
            "update task set image_ref = null, submit_trace_id = null, updated_at = $3
                 where id = $1 and lease_token = $2",
            now_ms()
        )?;
        self.task.image_ref = None;
        Ok(())
    }

    /// For a pool task PixVerse has not accepted yet: a slot on the least busy usable account,
    /// stored on the task (which counts as `submitting` from here, holding the slot). Moving to
    /// another account drops the uploaded image (it belongs to the old account) and the trace id
    /// (the submit is new work there).
    ///
    /// A task already `submitting` keeps its account while that account is usable, however busy
    /// the others are: its last submit may be running (and charged) there, and only the same
    /// account with the same trace id gets that generation back instead of starting another.
    pub async fn assign_pool_account(&mut self) -> Result<PoolPick, LeaseError> {
        let now = now_ms();
        // A mode task works on a video PixVerse knows only on the account that made it, and
        // only with a Platform API key (as does a task with a sound effect).
        let pinned = self
            .task
            .mode_input
            .is_some()
            .then_some(self.task.pool_account_id)
            .flatten();
        let busy = "(select count(*) from task t where t.pool_account_id = p.id and t.id != $1
                      and t.state in ('submitting', 'generating'))";
        let held = "(select t.pool_account_id from task t where t.id = $1 and t.state = 'submitting')";
        let usable = usable("$3");
        let slot_lock = self.storage.engine.dialect().pool_slot_lock();
        let picked: Option<(PoolAccountId, Option<String>)> = on_pool!(&self.storage.writer, |pool| {
            let pick = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "with pick as (select p.id from pool_account p
                           where {usable} and (p.id = {held} or {busy} < p.max_concurrency)
                               and ($4 is null or p.id = $4) and (not $5 or p.kind = 'apikey')
                           order by case when p.id = {held} then 0 else 1 end, {busy}, p.id limit 1)
             update task set
                 image_ref = case when pool_account_id = (select id from pick) then image_ref else null end,
                 submit_trace_id = case when pool_account_id = (select id from pick) then submit_trace_id
                                   else null end,
                 pool_account_id = (select id from pick),
                 state = 'submitting', wait_reason = null, updated_at = $3
             where id = $1 and lease_token = $2 and exists (select 1 from pick)
             returning pool_account_id, image_ref"
            )))
            .bind(self.task.id)
            .bind(self.claim.token)
            .bind(now)
            .bind(pinned)
            .bind(self.task.needs_api_key());
            match slot_lock {
                None => pick.fetch_optional(pool).await?,
                Some(lock) => {
                    let mut tx = pool.begin().await?;
                    sqlx::query(lock).execute(&mut *tx).await?;
                    let picked = pick.fetch_optional(&mut *tx).await?;
                    tx.commit().await?;
                    picked
                }
            }
        });
        if let Some((id, image_ref)) = picked {
            self.task.pool_account_id = Some(id);
            self.task.image_ref = image_ref;
            self.task.state = TaskState::Submitting;
            if let Some(account) = self.storage.pool_account_by_id(id.0).await? {
                return Ok(PoolPick::Assigned(account));
            }
        }
        let mut accounts = self.storage.pool_accounts().await?;
        let needs_key = self.task.needs_api_key();
        accounts.retain(|a| {
            pinned.is_none_or(|pin| pin == PoolAccountId(a.id))
                && (!needs_key || a.kind == CredentialKind::ApiKey)
        });
        if accounts.iter().any(|a| a.is_usable(now)) {
            return Ok(PoolPick::AllBusy);
        }
        Ok(PoolPick::NoneUsable {
            out_of_credits: accounts
                .iter()
                .any(|a| a.status == PoolStatus::OutOfCredits || a.credits == Some(0)),
        })
    }

    /// PixVerse accepted the generation: from now on the task is only ever polled, never
    /// submitted again. Crash story: dying before this write leaves `submitting`, and the retry
    /// with the same trace id gets this `video_id` back from PixVerse.
    pub async fn generating(self, video_id: i64, next_poll_at: i64) -> Result<(), LeaseError> {
        let now = now_ms();
        fenced!(
            &self,
            "update task set state = 'generating', video_id = $3, submitted_at = coalesce(submitted_at, $5),
                     next_run_at = $4, attempts = 0, last_error = null, wait_reason = null,
                     lease_until = null, lease_token = null, updated_at = $5
                 where id = $1 and lease_token = $2",
            video_id,
            next_poll_at,
            now
        )
    }

    /// PixVerse finished: the task is handed to its own deliver step (due now), so the poll that
    /// found it never waits on a download or an upload. Crash story: `delivering` and the URL are
    /// stored before anything is downloaded, so a crash resumes the delivery, never the generation.
    pub async fn delivering(self, video_url: &str) -> Result<(), LeaseError> {
        let now = now_ms();
        fenced!(
            &self,
            "update task set state = 'delivering', video_url = $3, attempts = 0, next_run_at = $4,
                     wait_reason = null, lease_until = null, lease_token = null, updated_at = $4
                 where id = $1 and lease_token = $2",
            video_url,
            now
        )?;
        self.slot_freed().await
    }

    /// The video reached the chat. Crash story (send, then mark): dying between the send and this
    /// write re-sends the video once after a restart; the other order could lose it for good.
    /// A lease lost during the send (only a stalled process loses one) is reported here.
    pub async fn delivered(self, video_file_id: Option<&str>) -> Result<(), LeaseError> {
        let now = now_ms();
        fenced!(
            &self,
            "update task set state = 'delivered', video_file_id = $3, last_error = null, wait_reason = null,
                     finished_at = $4, lease_until = null, lease_token = null, updated_at = $4
                 where id = $1 and lease_token = $2",
            video_file_id,
            now
        )
    }

    /// Ends the task without a video. Crash story: stored before the user is told, so dying in
    /// between only loses the notice, never leaves a task that is told "failed" but runs on.
    pub async fn fail(self, error: &str) -> Result<(), LeaseError> {
        let now = now_ms();
        fenced!(
            &self,
            "update task set state = 'failed', last_error = $3, wait_reason = null, finished_at = $4,
                     lease_until = null, lease_token = null, updated_at = $4
                 where id = $1 and lease_token = $2",
            error,
            now
        )?;
        self.slot_freed().await
    }

    /// Parks the task until `until` (or until what it waits for wakes it earlier). A submit not
    /// taken goes back to `queued`, and its next attempt is new work (PixVerse answered this one,
    /// or was never asked). Crash story: a plain reschedule; lost, the lease is released at the
    /// next start and the task is looked at again.
    pub async fn wait(self, reason: WaitReason, until: i64) -> Result<(), LeaseError> {
        fenced!(
            &self,
            "update task set next_run_at = $3, wait_reason = $4, attempts = 0,
                     state = case when state = 'submitting' then 'queued' else state end,
                     submit_trace_id = case when video_id is null then null else submit_trace_id end,
                     lease_until = null, lease_token = null, updated_at = $5
                 where id = $1 and lease_token = $2",
            until,
            reason,
            now_ms()
        )?;
        if self.task.state == TaskState::Submitting {
            self.slot_freed().await?;
        }
        Ok(())
    }

    /// The step failed in a way that may pass: try again at `at`, counting the attempt. The
    /// state stays (a submit that may have reached PixVerse stays `submitting`); `resubmit` says
    /// whether a retried submit keeps its trace id. Crash story: as [`TaskLease::wait`].
    pub async fn retry(self, at: i64, error: &str, resubmit: Resubmit) -> Result<(), LeaseError> {
        let new_work = resubmit == Resubmit::NewWork;
        fenced!(
            &self,
            "update task set next_run_at = $3, attempts = attempts + 1, last_error = $4, wait_reason = null,
                     submit_trace_id = case when $5 and video_id is null then null else submit_trace_id end,
                     lease_until = null, lease_token = null, updated_at = $6
                 where id = $1 and lease_token = $2",
            at,
            error,
            new_work,
            now_ms()
        )
    }

    /// Gives the task back, due at `at`, without counting an attempt: its chat moved and the
    /// delivery goes on there, or its pool account left rotation and a submit not yet accepted
    /// goes back to the queue, as new work, for another account.
    pub async fn release(self, at: i64) -> Result<(), LeaseError> {
        fenced!(
            &self,
            "update task set next_run_at = $3, wait_reason = null,
                     state = case when state = 'submitting' and video_id is null then 'queued' else state end,
                     submit_trace_id = case when video_id is null then null else submit_trace_id end,
                     lease_until = null, lease_token = null, updated_at = $4
                 where id = $1 and lease_token = $2",
            at,
            now_ms()
        )?;
        if self.task.state == TaskState::Submitting && self.task.video_id.is_none() {
            self.slot_freed().await?;
        }
        Ok(())
    }

    /// This task held a generation slot of its account until the transition just written (it
    /// was submitting or generating): the tasks waiting for one are due now. Every transition
    /// that frees a slot comes here, so waiting tasks need no frequent recheck (see
    /// [`Storage::wait_for_slot`]).
    async fn slot_freed(&self) -> Result<(), LeaseError> {
        if matches!(self.task.state, TaskState::Submitting | TaskState::Generating) {
            self.storage
                .wake_tasks_waiting_for_slot(self.task.credential_id)
                .await?;
        }
        Ok(())
    }
}
