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

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use futures_util::{StreamExt, stream};
use teloxide::Bot;
use tokio::sync::{Notify, watch};

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
}

/// What one round did, for tests and the run loop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub claimed: usize,
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
        }
    }

    /// The admins to tell when a pool account leaves rotation.
    pub fn with_admin_ids(mut self, admin_ids: impl IntoIterator<Item = i64>) -> Worker {
        self.admin_ids = admin_ids.into_iter().collect();
        self.admin_ids.sort_unstable();
        self
    }

    /// Runs rounds until `shutdown` turns true. A round in progress gets a few seconds to finish
    /// its steps; whatever is cut off keeps its stored state and resumes at the next start.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let released = self.storage.release_all_leases().await.unwrap_or_default();
        if released > 0 {
            tracing::info!(released, "resuming tasks left over by the previous run");
        }
        while !*shutdown.borrow() {
            let round = self.try_run_once();
            tokio::pin!(round);
            let outcome = tokio::select! {
                outcome = &mut round => outcome,
                _ = shutdown.changed() => {
                    let _ = tokio::time::timeout(Duration::from_secs(5), round).await;
                    break;
                }
            };
            match outcome {
                // Work was found: more may be due already.
                Ok(outcome) if outcome.claimed > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = format!("{e:#}"), "worker round failed"),
            }
            let sleep = self.time_to_next_due().await;
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
                _ = shutdown.changed() => break,
            }
        }
        tracing::info!("worker stopped");
    }

    /// Claims the due tasks and runs one step of each. Tests call this to drive the worker
    /// without sleeping.
    pub async fn try_run_once(&self) -> anyhow::Result<Outcome> {
        let limit = (self.settings.concurrency * 16) as i64;
        let claimed = self
            .storage
            .claim_due_tasks(limit, self.settings.lease.as_millis() as i64)
            .await?;
        let outcome = Outcome {
            claimed: claimed.len(),
        };

        let mut steps = Vec::new();
        // Polls are grouped by the account they run on: the user's own, or a pool account.
        let mut polls: BTreeMap<(Option<i64>, Option<i64>), Vec<TaskRow>> = BTreeMap::new();
        for task in claimed {
            match task.state() {
                TaskState::Queued | TaskState::Submitting => steps.push(Step::Submit(task)),
                TaskState::Generating => polls
                    .entry((task.credential_id, task.pool_account_id))
                    .or_default()
                    .push(task),
                TaskState::Delivering => steps.push(Step::Deliver(task)),
                TaskState::Delivered | TaskState::Failed => {}
            }
        }
        steps.extend(polls.into_values().map(Step::Poll));

        stream::iter(steps)
            .for_each_concurrent(self.settings.concurrency, |step| async move {
                let result = match step {
                    Step::Submit(task) => self.submit(task).await,
                    Step::Poll(tasks) => self.poll(tasks).await,
                    Step::Deliver(task) => self.deliver(task).await,
                };
                // The task keeps its lease, so it is retried once the lease expires: no spin.
                if let Err(e) = result {
                    tracing::error!(error = format!("{e:#}"), "task step failed");
                }
            })
            .await;
        Ok(outcome)
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
        let language = self
            .storage
            .user(user_id)
            .await
            .ok()
            .flatten()
            .and_then(|u| u.language);
        texts(Lang::from_code(language.as_deref()))
    }

    /// The credential a task generates with, and whether it is the user's own.
    async fn credential_for(
        &self,
        task: &TaskRow,
    ) -> anyhow::Result<Result<(pixverse::Credential, bool), FailureReason>> {
        let Some(id) = task.credential_id else {
            // A pool task: the account chosen at submit time (see `assign_pool_account`).
            let Some(pool_id) = task.pool_account_id else {
                return Ok(Err(FailureReason::CredentialInvalid { own: false }));
            };
            return Ok(match self.storage.pool_account_by_id(pool_id).await? {
                None => Err(FailureReason::AccountRemoved),
                Some(account) => Ok((account.to_pixverse(), false)),
            });
        };
        Ok(match self.storage.credential(id).await? {
            None => Err(FailureReason::AccountRemoved),
            Some(own) if !own.is_usable(now_ms()) => Err(FailureReason::CredentialInvalid { own: true }),
            Some(own) => Ok((own.to_pixverse(), true)),
        })
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
