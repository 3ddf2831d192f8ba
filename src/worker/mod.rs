//! The worker: the only place that talks to PixVerse for tasks.
//!
//! Each round claims the due tasks (with a lease), runs one step of each (submit, poll, deliver)
//! concurrently, and stores the next state. Between rounds it sleeps until the next task falls
//! due or a handler writes a new one ([`Notify`]), never on a fixed tick.

mod deliver;
mod failure;
mod poll;
mod pool;
mod progress;
mod submit;

use progress::Edit;

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Arc,
    time::Duration,
};

use futures_util::{StreamExt, stream};
use teloxide::{Bot, requests::Requester};
use tokio::{
    sync::{Notify, watch},
    task::JoinSet,
    time::Instant,
};

use crate::{
    domain::TaskState,
    pixverse::{self, PixverseClient},
    storage::{Storage, TaskRow, now_ms},
    telegram::lang_of_user,
    texts::{FailureReason, Texts, texts},
};

/// Timing and sizing of the worker, from [`crate::config::Config`].
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    pub poll_interval: Duration,
    pub task_deadline: Duration,
    pub progress_edit_interval: Duration,
    pub concurrency: usize,
    /// How long a claimed task stays held; longer than any single step can take.
    pub lease: Duration,
    /// Generations at once per PixVerse account; more wait in the queue, fairly.
    pub account_concurrency: u32,
    /// How long tasks wait for a re-login after PixVerse refused their owner's credential.
    pub credential_hold: Duration,
}

pub struct Worker {
    storage: Storage,
    pixverse: PixverseClient,
    /// For messages and edits (teloxide's default client, 17 s timeout).
    bot: Bot,
    /// For video uploads, with a timeout that fits 50 MB.
    upload_bot: Bot,
    /// Told (in private) when a pool account leaves rotation.
    admin_ids: Vec<i64>,
    settings: WorkerSettings,
    wake: Arc<Notify>,
    /// Per chat: no progress edits before this time (ms), after Telegram answered 429.
    edit_pause: std::sync::Mutex<HashMap<i64, i64>>,
    /// The routine progress edits' pace across all chats (see `progress.rs`).
    edit_budget: std::sync::Mutex<progress::EditBudget>,
    /// Polled tasks still generating, by the time they are due again, not yet written back
    /// (see `flush_rescheduled`).
    rescheduled: std::sync::Mutex<BTreeMap<i64, Vec<i64>>>,
    /// When the run loop last went round (ms), for the HTTP readiness check.
    heartbeat: Arc<std::sync::atomic::AtomicI64>,
}

/// The longest the run loop waits, while steps keep ending, before it claims again.
const REPLAN_GAP: Duration = Duration::from_millis(100);

/// What one round did, for tests and the run loop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub claimed: usize,
}

impl Step {
    fn tasks(&self) -> usize {
        match self {
            Step::Submit(_) | Step::Deliver(_) => 1,
            Step::Poll(tasks) => tasks.len(),
        }
    }
}

/// Where a task's credential stands.
enum Lookup {
    /// Use this credential; `true` when it is the user's own.
    Ready(pixverse::Credential, bool),
    /// The owner must log in again; the task waits.
    Hold,
    /// The task cannot go on.
    Fail(FailureReason),
}

/// Due tasks in turns: a user's first waiting task counts after the generations they were served
/// in the last hour, and every user's n-th task comes before anyone's (n+1)-th. So one user's
/// backlog does not delay another user's single task.
fn fair_order(mut tasks: Vec<TaskRow>, served: &HashMap<i64, i64>) -> Vec<TaskRow> {
    tasks.sort_by_key(|t| (t.next_run_at, t.id));
    let mut turns: HashMap<i64, i64> = HashMap::new();
    let mut ranked: Vec<(i64, TaskRow)> = tasks
        .into_iter()
        .map(|t| {
            let turn = turns
                .entry(t.user_id)
                .or_insert_with(|| served.get(&t.user_id).copied().unwrap_or(0));
            *turn += 1;
            (*turn, t)
        })
        .collect();
    ranked.sort_by_key(|(turn, _)| *turn);
    ranked.into_iter().map(|(_, t)| t).collect()
}

/// A unit of work in a round: one submit, one delivery, or one status poll for every generating
/// task of a credential (a web account answers all of them with one listing call).
enum Step {
    Submit(TaskRow),
    Poll(Vec<TaskRow>),
    Deliver(TaskRow),
}

impl Worker {
    pub fn new(
        storage: Storage,
        pixverse: PixverseClient,
        bot: Bot,
        upload_bot: Bot,
        settings: WorkerSettings,
        wake: Arc<Notify>,
    ) -> Worker {
        Worker {
            storage,
            pixverse,
            bot,
            upload_bot,
            admin_ids: Vec::new(),
            settings,
            wake,
            edit_pause: Default::default(),
            edit_budget: Default::default(),
            rescheduled: Default::default(),
            heartbeat: Default::default(),
        }
    }

    /// When the run loop last went round (ms since the epoch; 0 before it started). It goes
    /// round at least once per poll interval, idle or not.
    pub fn heartbeat(&self) -> Arc<std::sync::atomic::AtomicI64> {
        self.heartbeat.clone()
    }

    /// The admins to tell when a pool account leaves rotation.
    pub fn with_admin_ids(mut self, admin_ids: impl IntoIterator<Item = i64>) -> Worker {
        self.admin_ids = admin_ids.into_iter().collect();
        self.admin_ids.sort_unstable();
        self
    }

    /// Runs until `shutdown` turns true. Steps run as independent tasks (at most `concurrency` at
    /// once), so one slow upload never holds up other tasks' polls. Claimed steps wait here, as
    /// plain data, for a free place; the loop claims again once they are all handed out and
    /// something may be due: a handler wrote a task, the next task falls due, or steps ended
    /// (their writes may make tasks due sooner; looked at no more than every `replan_gap`, since a
    /// claim and a due-time query after each of thousands of steps cost more than the steps). On
    /// shutdown the running steps get a few seconds; whatever is cut off keeps its stored state
    /// and resumes at the next start.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let released = self.storage.release_all_leases().await.unwrap_or_default();
        if released > 0 {
            tracing::info!(released, "resuming tasks left over by the previous run");
        }
        let concurrency = self.settings.concurrency;
        let replan_gap = (self.settings.poll_interval / 4).min(REPLAN_GAP);
        let mut running = JoinSet::new();
        let mut waiting: VecDeque<Step> = VecDeque::new();
        let mut plan_now = true;
        let mut wake_at = Instant::now();
        let mut last_plan = Instant::now();
        while !*shutdown.borrow() {
            self.heartbeat
                .store(now_ms(), std::sync::atomic::Ordering::Relaxed);
            if plan_now && waiting.is_empty() {
                plan_now = false;
                last_plan = Instant::now();
                let mut more = false;
                match self.plan_round().await {
                    Ok((steps, full)) => {
                        more = full;
                        waiting.extend(steps);
                    }
                    Err(e) => tracing::error!(error = format!("{e:#}"), "worker round failed"),
                }
                // A full claim may have left due tasks behind: claim again once these are out.
                wake_at = if more {
                    Instant::now()
                } else {
                    Instant::now() + self.time_to_next_due().await
                };
            }
            while running.len() < concurrency
                && let Some(step) = waiting.pop_front()
            {
                let worker = self.clone();
                running.spawn(async move { worker.run_step(step).await });
            }
            tokio::select! {
                Some(_) = running.join_next() => {
                    wake_at = wake_at.min(last_plan + replan_gap);
                }
                _ = self.wake.notified() => plan_now = true,
                _ = tokio::time::sleep_until(wake_at), if waiting.is_empty() => plan_now = true,
                _ = shutdown.changed() => break,
                // Only to beat the heart while idle.
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
        let drain = async { while running.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(5), drain).await.is_err() {
            running.abort_all();
        }
        if let Err(e) = self.flush_rescheduled().await {
            tracing::warn!(error = %e, "could not store the last polls (they resume at the next start)");
        }
        tracing::info!("worker stopped");
    }

    /// Claims the due tasks and runs one step of each, to completion. Tests and benchmarks call
    /// this to drive the worker without sleeping.
    pub async fn try_run_once(&self) -> anyhow::Result<Outcome> {
        let (steps, _) = self.plan_round().await?;
        let outcome = Outcome {
            claimed: steps.iter().map(Step::tasks).sum(),
        };
        stream::iter(steps)
            .for_each_concurrent(self.settings.concurrency, |step| self.run_step(step))
            .await;
        self.flush_rescheduled().await?;
        Ok(outcome)
    }

    /// Stores what the polls since the last call found still generating: due again at their
    /// tick, lease released. One statement per tick for all of them instead of one per account:
    /// the tasks stay held (by their lease) until then, and a crash in between only means they
    /// are polled again at the next start.
    async fn flush_rescheduled(&self) -> anyhow::Result<()> {
        let batches = std::mem::take(&mut *self.rescheduled.lock().unwrap_or_else(|e| e.into_inner()));
        for (next, ids) in batches {
            self.storage.reschedule_generating(&ids, next).await?;
        }
        Ok(())
    }

    /// Claims the due tasks (with a lease) and groups them into steps; also says whether the
    /// claim was full (more tasks may be due).
    async fn plan_round(&self) -> anyhow::Result<(Vec<Step>, bool)> {
        self.flush_rescheduled().await?;
        let limit = (self.settings.concurrency * 64) as i64;
        let claimed = self
            .storage
            .claim_due_tasks(limit, self.settings.lease.as_millis() as i64)
            .await?;
        if claimed.is_empty() {
            return Ok((Vec::new(), false));
        }
        let full = claimed.len() as i64 >= limit;
        let wants_slot = |t: &TaskRow| matches!(t.state(), TaskState::Queued | TaskState::Submitting);
        // Only the users who have a task waiting for a slot matter to the slot counts below.
        let mut waiting_users: Vec<i64> = claimed
            .iter()
            .filter(|t| wants_slot(t))
            .map(|t| t.user_id)
            .collect();
        waiting_users.sort_unstable();
        waiting_users.dedup();
        // Free generation slots per account, filled in fair order; the rest wait for a slot
        // here instead of being refused by PixVerse (500044 stays handled as a fallback).
        let mut busy: HashMap<Option<i64>, i64> = HashMap::new();
        let mut served: HashMap<i64, i64> = HashMap::new();
        if !waiting_users.is_empty() {
            busy.extend(self.storage.generating_per_credential(&waiting_users).await?);
            let hour_ago = now_ms() - 60 * 60 * 1000;
            served.extend(
                self.storage
                    .recent_starts_per_user(&waiting_users, hour_ago)
                    .await?,
            );
        }
        let mut steps = Vec::new();
        // Polls are grouped by the account they run on: the user's own, or a pool account.
        let mut polls: BTreeMap<(Option<i64>, Option<i64>), Vec<TaskRow>> = BTreeMap::new();
        // Tasks that wait for a slot: given back in one write.
        let mut no_slot: Vec<i64> = Vec::new();
        let mut pool_free: Option<i64> = None;
        for task in fair_order(claimed, &served) {
            match task.state() {
                // Pool tasks: as many as the pool has free slots, in fair order; the account itself
                // is picked at submit time (`assign_pool_account`).
                TaskState::Queued | TaskState::Submitting if task.credential_id.is_none() => {
                    let free = match pool_free {
                        Some(free) => free,
                        // No usable account at all: the submit step fails the task with why.
                        None => *pool_free.insert(self.storage.pool_free_slots().await?.unwrap_or(i64::MAX)),
                    };
                    if free > 0 {
                        pool_free = Some(free - 1);
                        steps.push(Step::Submit(task));
                    } else {
                        no_slot.push(task.id);
                    }
                }
                TaskState::Queued | TaskState::Submitting => {
                    let used = busy.entry(task.credential_id).or_default();
                    if *used >= i64::from(self.settings.account_concurrency) {
                        no_slot.push(task.id);
                    } else {
                        *used += 1;
                        steps.push(Step::Submit(task));
                    }
                }
                TaskState::Generating => polls
                    .entry((task.credential_id, task.pool_account_id))
                    .or_default()
                    .push(task),
                TaskState::Delivering => steps.push(Step::Deliver(task)),
                TaskState::Delivered | TaskState::Failed => {}
            }
        }
        let next = now_ms() + self.settings.poll_interval.as_millis() as i64;
        self.storage.reschedule_waiting(&no_slot, next).await?;
        steps.extend(polls.into_values().map(Step::Poll));
        Ok((steps, full))
    }

    async fn run_step(&self, step: Step) {
        let result = match step {
            Step::Submit(task) => self.submit(task).await,
            Step::Poll(tasks) => self.poll(tasks).await,
            Step::Deliver(task) => self.deliver(task).await,
        };
        // On error the task keeps its lease, so it is retried once the lease expires: no spin.
        if let Err(e) = result {
            tracing::error!(error = format!("{e:#}"), "task step failed");
        }
    }

    async fn time_to_next_due(&self) -> Duration {
        const IDLE: Duration = Duration::from_secs(60);
        match self.storage.next_due_at().await {
            Ok(Some(at)) => Duration::from_millis((at - now_ms()).clamp(0, IDLE.as_millis() as i64) as u64),
            Ok(None) => IDLE,
            Err(e) => {
                tracing::error!(error = %e, "could not read the next due time");
                Duration::from_secs(1)
            }
        }
    }

    /// The texts in the language of the task's owner.
    async fn texts_for(&self, user_id: i64) -> &'static dyn Texts {
        texts(lang_of_user(&self.storage, user_id).await)
    }

    /// The credential a task generates with, and whether it is the user's own.
    async fn credential_for(&self, task: &TaskRow) -> anyhow::Result<Lookup> {
        let Some(id) = task.credential_id else {
            // A pool task: the account chosen at submit time (see `assign_pool_account`).
            let Some(pool_id) = task.pool_account_id else {
                return Ok(Lookup::Fail(FailureReason::CredentialInvalid { own: false }));
            };
            return Ok(match self.storage.pool_account_by_id(pool_id).await? {
                None => Lookup::Fail(FailureReason::AccountRemoved),
                Some(account) => Lookup::Ready(account.to_pixverse(), false),
            });
        };
        let now = now_ms();
        Ok(match self.storage.credential(id).await? {
            None => Lookup::Fail(FailureReason::AccountRemoved),
            Some(own) if own.is_usable(now) => Lookup::Ready(own.to_pixverse(), true),
            Some(own) => {
                // Refused by PixVerse, or past the token's own expiry: hold for a re-login.
                self.credential_refused(task, id).await?;
                let since = own.invalid_at.unwrap_or(now);
                if now - since < self.settings.credential_hold.as_millis() as i64 {
                    Lookup::Hold
                } else {
                    Lookup::Fail(FailureReason::CredentialInvalid { own: true })
                }
            }
        })
    }

    /// Marks the user's credential invalid and, the first time only, asks them to log in again.
    async fn credential_refused(&self, task: &TaskRow, credential_id: i64) -> anyhow::Result<()> {
        if !self.storage.mark_credential_invalid(credential_id).await? {
            return Ok(());
        }
        tracing::info!(
            task_id = task.id,
            "credential refused; holding its tasks for a re-login"
        );
        let texts = self.texts_for(task.user_id).await;
        let owner = self.storage.user(task.user_id).await?;
        // Privately when we can: a group should not read about someone's account.
        let chat = match owner {
            Some(user) if user.has_private_chat => user.id,
            _ => task.chat_id,
        };
        if let Err(e) = self
            .bot
            .send_message(teloxide::types::ChatId(chat), texts.reconnect_account())
            .await
        {
            tracing::warn!(task_id = task.id, error = %e, "could not ask the owner to log in again");
        }
        Ok(())
    }

    /// Parks a task whose owner must log in again; `/login` wakes it at once.
    async fn hold(&self, task: &TaskRow) -> anyhow::Result<()> {
        let recheck = self.settings.credential_hold.min(Duration::from_secs(60));
        let next = now_ms() + recheck.as_millis() as i64;
        self.storage
            .reschedule_task(
                task.id,
                task.state(),
                next,
                false,
                Some("waiting for a new login"),
            )
            .await?;
        let texts = self.texts_for(task.user_id).await;
        self.edit_progress(task, texts.held_for_login(), Edit::Stage)
            .await;
        Ok(())
    }

    fn past_deadline(&self, task: &TaskRow) -> bool {
        now_ms() - task.created_at > self.settings.task_deadline.as_millis() as i64
    }

    /// Capped exponential backoff with jitter: base · 2^attempts, at most 5 minutes, and never
    /// sooner than PixVerse's Retry-After.
    fn backoff(&self, attempts: i64, retry_after: Option<Duration>) -> Duration {
        let base = self.settings.poll_interval.min(Duration::from_secs(5));
        let exp = base
            .saturating_mul(1 << attempts.clamp(0, 8))
            .min(Duration::from_secs(300));
        // "Equal jitter": half fixed, half random, so retries of many tasks spread out.
        let jitter = rand::random::<f64>();
        let delay = exp.mul_f64(0.5 + 0.5 * jitter);
        delay.max(retry_after.unwrap_or_default())
    }
}
