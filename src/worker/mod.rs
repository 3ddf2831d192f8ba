//! The worker: the only place that talks to PixVerse for tasks.
//!
//! Each round claims the due tasks (with a lease), runs one step of each (submit, poll, deliver)
//! concurrently, and stores the next state. Between rounds it sleeps until the next task falls
//! due or a handler writes a new one ([`Notify`]), never on a fixed tick.

pub(crate) mod buttons;
mod deliver;
mod failure;
mod poll;
mod pool;
mod progress;
mod submit;

use progress::Edit;

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Duration,
};

use futures_util::{StreamExt, stream};
use teloxide::{Bot, requests::Requester};
use tokio::{
    sync::{Notify, Semaphore, watch},
    task::JoinSet,
};

use crate::{
    domain::TaskState,
    pixverse::{self, PixverseClient},
    storage::{Storage, TaskRow, now_ms},
    texts::{FailureReason, Lang, Texts, texts},
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
}

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
        }
    }

    /// The admins to tell when a pool account leaves rotation.
    pub fn with_admin_ids(mut self, admin_ids: impl IntoIterator<Item = i64>) -> Worker {
        self.admin_ids = admin_ids.into_iter().collect();
        self.admin_ids.sort_unstable();
        self
    }

    /// Runs until `shutdown` turns true. Steps run as independent tasks (at most `concurrency` at
    /// once), so one slow upload never holds up other tasks' polls; the loop claims more work
    /// whenever a step ends, a handler writes a task, or the next task falls due. On shutdown the
    /// running steps get a few seconds; whatever is cut off keeps its stored state and resumes at
    /// the next start.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let released = self.storage.release_all_leases().await.unwrap_or_default();
        if released > 0 {
            tracing::info!(released, "resuming tasks left over by the previous run");
        }
        let slots = Arc::new(Semaphore::new(self.settings.concurrency));
        let mut running = JoinSet::new();
        while !*shutdown.borrow() {
            match self.plan_round().await {
                Ok(steps) => {
                    for step in steps {
                        let (worker, slots) = (self.clone(), slots.clone());
                        running.spawn(async move {
                            let _slot = slots.acquire_owned().await;
                            worker.run_step(step).await;
                        });
                    }
                }
                Err(e) => tracing::error!(error = format!("{e:#}"), "worker round failed"),
            }
            let sleep = self.time_to_next_due().await;
            tokio::select! {
                Some(_) = running.join_next() => {}
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
                _ = shutdown.changed() => break,
            }
        }
        let drain = async { while running.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(5), drain).await.is_err() {
            running.abort_all();
        }
        tracing::info!("worker stopped");
    }

    /// Claims the due tasks and runs one step of each, to completion. Tests and benchmarks call
    /// this to drive the worker without sleeping.
    pub async fn try_run_once(&self) -> anyhow::Result<Outcome> {
        let steps = self.plan_round().await?;
        let outcome = Outcome {
            claimed: steps.iter().map(Step::tasks).sum(),
        };
        stream::iter(steps)
            .for_each_concurrent(self.settings.concurrency, |step| self.run_step(step))
            .await;
        Ok(outcome)
    }

    /// Claims the due tasks (with a lease) and groups them into steps.
    async fn plan_round(&self) -> anyhow::Result<Vec<Step>> {
        let limit = (self.settings.concurrency * 16) as i64;
        let claimed = self
            .storage
            .claim_due_tasks(limit, self.settings.lease.as_millis() as i64)
            .await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        // Free generation slots per account, filled in fair order; the rest wait for a slot
        // here instead of being refused by PixVerse (500044 stays handled as a fallback).
        let mut busy: HashMap<Option<i64>, i64> = self
            .storage
            .generating_per_credential()
            .await?
            .into_iter()
            .collect();
        let mut steps = Vec::new();
        // Polls are grouped by the account they run on: the user's own, or a pool account.
        let mut polls: BTreeMap<(Option<i64>, Option<i64>), Vec<TaskRow>> = BTreeMap::new();
        let wants_slots = claimed
            .iter()
            .any(|t| matches!(t.state(), TaskState::Queued | TaskState::Submitting));
        let served: HashMap<i64, i64> = if wants_slots {
            let hour_ago = now_ms() - 60 * 60 * 1000;
            self.storage
                .recent_starts_per_user(hour_ago)
                .await?
                .into_iter()
                .collect()
        } else {
            HashMap::new()
        };
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
                        let next = now_ms() + self.settings.poll_interval.as_millis() as i64;
                        self.storage
                            .reschedule_task(task.id, task.state(), next, false, None)
                            .await?;
                    }
                }
                TaskState::Queued | TaskState::Submitting => {
                    let used = busy.entry(task.credential_id).or_default();
                    if *used >= i64::from(self.settings.account_concurrency) {
                        let next = now_ms() + self.settings.poll_interval.as_millis() as i64;
                        self.storage
                            .reschedule_task(task.id, task.state(), next, false, None)
                            .await?;
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
        steps.extend(polls.into_values().map(Step::Poll));
        Ok(steps)
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
        // The language chosen with /language wins over Telegram's.
        let language = self.storage.preferred_language(user_id).await.ok().flatten();
        texts(Lang::from_code(language.as_deref()))
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
