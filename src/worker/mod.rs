//! The worker: the only place that talks to PixVerse for tasks.
//!
//! Each round claims the due tasks (each comes back as a [`crate::storage::TaskLease`], the only way to move a
//! task), plans one step per task or per account (`plan.rs`), and runs the steps concurrently:
//! submit (`submit.rs`), poll (`poll.rs`), deliver (`deliver.rs`). Between rounds it sleeps until
//! the next task falls due or a handler writes a new one ([`Notify`]), never on a fixed tick.
//! While steps run (or wait for a free place), their leases are renewed, so no step outlives
//! its lease; a step that lost its lease anyway finds out at its next write and stops.

mod chat_gate;
mod credential;
mod deliver;
mod edit_share;
mod failure;
mod modes;
mod plan;
mod poll;
mod pool;
mod progress;
mod schedule;
mod submit;

pub use failure::MODERATED;

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Weak},
    time::Duration,
};

use teloxide::Bot;
use tokio::{
    sync::{Notify, watch},
    task::JoinSet,
    time::Instant,
};

use crate::{
    domain::{TaskId, UserId},
    pixverse::PixverseClient,
    storage::{Claim, LeaseError, Storage, TaskRow, now_ms},
    telegram::lang_of_user,
    texts::{Texts, texts},
};

use plan::Step;

/// Timing and sizing of the worker, from [`crate::config::Config`].
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    pub poll_interval: Duration,
    /// How long PixVerse may take for one video, counted from when it accepted the task.
    pub task_deadline: Duration,
    /// How long a task may wait before PixVerse accepts it (queue, slots, retries of the submit).
    pub queue_wait_limit: Duration,
    pub progress_edit_interval: Duration,
    /// Routine progress edits per second for the whole bot; this instance takes its share
    /// (see `edit_share.rs`).
    pub routine_edits_per_sec: u32,
    /// Steps run at once; a round's polls count as one of them and run this many at once.
    pub concurrency: usize,
    /// How long a claimed task stays held without a renewal; renewed every third of it.
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
    /// Per chat: one call at a time, none during a 429's wait (see `chat_gate.rs`).
    chat_gate: chat_gate::ChatGate,
    /// Deliveries whose "uploading" stage is on screen already, so a retried delivery does not
    /// edit it again (under a tight per-chat limit that edit would take the video's turn).
    uploading_shown: std::sync::Mutex<HashMap<TaskId, i64>>,
    /// The routine progress edits' pace across all chats (see `progress.rs`).
    edit_budget: std::sync::Mutex<progress::EditBudget>,
    /// This instance's share of the bot's routine edits per second (see `edit_share.rs`).
    edit_share: edit_share::EditShare,
    /// The generating tasks' polls, kept in memory between polls (see `schedule.rs`).
    schedule: std::sync::Mutex<schedule::Schedule>,
    /// The claims whose leases some step or queue still holds; renewed by `renew_leases`.
    claims: std::sync::Mutex<Vec<Weak<Claim>>>,
    /// Learned typical generation time (ms) per (model, quality, duration); see `poll.rs`.
    typical: std::sync::Mutex<HashMap<poll::GenerationKind, i64>>,
    /// When the run loop last went round (ms), for the HTTP readiness check.
    heartbeat: Arc<std::sync::atomic::AtomicI64>,
    /// Photos held in memory between Telegram and PixVerse (up to 20 MB each): capped, so memory
    /// stays bounded however many image tasks start at once (videos stream through files).
    photo_transfers: tokio::sync::Semaphore,
}

/// Photos in memory at once (see `Worker::photo_transfers`).
const PHOTO_TRANSFERS: usize = 4;

/// How often an instance looks for parked tasks whose instance is gone (PostgreSQL): a dead
/// instance's generating videos are polled again within this.
const TAKEOVER_INTERVAL: Duration = Duration::from_secs(2);

/// The longest the run loop sleeps with nothing due.
const IDLE: Duration = Duration::from_secs(60);

/// From `now` until `at` (ms), at most [`IDLE`].
fn wait_until(at: i64, now: i64) -> Duration {
    let wait = at.saturating_sub(now).clamp(0, IDLE.as_millis() as i64);
    Duration::from_millis(wait as u64)
}

/// The longest the run loop waits, while steps keep ending, before it claims again.
const REPLAN_GAP: Duration = Duration::from_millis(100);

impl Worker {
    pub fn new(
        storage: Storage,
        pixverse: PixverseClient,
        bot: Bot,
        upload_bot: Bot,
        settings: WorkerSettings,
        wake: Arc<Notify>,
    ) -> Worker {
        let edit_share = edit_share::EditShare::new(settings.routine_edits_per_sec);
        Worker {
            storage,
            pixverse,
            bot,
            upload_bot,
            admin_ids: Vec::new(),
            settings,
            wake,
            chat_gate: Default::default(),
            uploading_shown: Default::default(),
            edit_budget: Default::default(),
            edit_share,
            schedule: Default::default(),
            claims: Default::default(),
            typical: Default::default(),
            heartbeat: Default::default(),
            photo_transfers: tokio::sync::Semaphore::new(PHOTO_TRANSFERS),
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
    /// once; a round's polls share one, see `run_polls`), so one slow upload never holds up
    /// other tasks' polls. Claimed steps wait here, as plain data, for a free place; the loop
    /// claims again once they are all handed out and something may be due: a handler wrote a
    /// task, the next task falls due, or steps ended
    /// (their writes may make tasks due sooner; looked at no more than every `replan_gap`, since a
    /// claim and a due-time query after each of thousands of steps cost more than the steps). On
    /// shutdown the running steps get a few seconds; whatever is cut off keeps its stored state
    /// and resumes at the next start.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        self.load_generation_times().await;
        let (_presence, released) = match self.storage.join_instances().await {
            Ok(joined) => (Some(joined.0), joined.1),
            Err(e) => {
                tracing::warn!(error = %e, "could not tell whether other instances run; leftover leases will expire");
                (None, 0)
            }
        };
        if released > 0 {
            tracing::info!(released, "resuming tasks left over by the previous run");
        }
        self.relay_work_notices(shutdown.clone());
        self.keep_edit_share(shutdown.clone());
        self.take_over_parked().await;
        let mut takeover = tokio::time::interval(TAKEOVER_INTERVAL);
        takeover.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let orphans_appear = self.storage.orphans_appear_while_running();
        let concurrency = self.settings.concurrency;
        let replan_gap = (self.settings.poll_interval / 4).min(REPLAN_GAP);
        // Polls falling due within this of each other go out in one round (see
        // `time_to_next_due`): 250 ms at the default 5 s interval.
        let poll_gather = self.settings.poll_interval / 20;
        let mut renew = tokio::time::interval(self.settings.lease / 3);
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut running = JoinSet::new();
        let mut waiting: VecDeque<Step> = VecDeque::new();
        let mut plan_now = true;
        let mut wake_at = Instant::now();
        let mut last_plan = Instant::now();
        // Whether the database may hold due tasks the last claim did not see: something was
        // written (a handler's task, a step's transition) or a stored task fell due. A round for
        // the in-memory polls alone claims nothing (an empty claim is still a write transaction).
        let mut stored_due_at = i64::MIN;
        let mut written = true;
        while !*shutdown.borrow() {
            self.heartbeat
                .store(now_ms(), std::sync::atomic::Ordering::Relaxed);
            if plan_now && waiting.is_empty() {
                plan_now = false;
                last_plan = Instant::now();
                let mut more = false;
                let claim = written || now_ms() >= stored_due_at;
                written = false;
                match self.plan_round(claim).await {
                    Ok((steps, full)) => {
                        more = full;
                        waiting.extend(steps);
                    }
                    Err(e) => {
                        written = true;
                        tracing::error!(error = format!("{e:#}"), "worker round failed")
                    }
                }
                // A full claim may have left due tasks behind: claim again once these are out.
                wake_at = if more {
                    written = true;
                    Instant::now()
                } else {
                    let (wait, stored) = self.time_to_next_due(poll_gather).await;
                    // Claimed at least once an interval all the same: a lease that expires
                    // (another instance died holding it) announces nothing.
                    let interval = self.settings.poll_interval.as_millis() as i64;
                    stored_due_at = stored.min(now_ms() + interval);
                    Instant::now() + wait
                };
            }
            while running.len() < concurrency
                && let Some(step) = waiting.pop_front()
            {
                let worker = self.clone();
                match step {
                    Step::Poll(group) => {
                        // A round's polls (they come last in a plan) go out together in one
                        // task, with a bound of their own (see `run_polls`).
                        let mut groups = vec![group];
                        while matches!(waiting.front(), Some(Step::Poll(_))) {
                            if let Some(Step::Poll(group)) = waiting.pop_front() {
                                groups.push(group);
                            }
                        }
                        let shutdown = shutdown.clone();
                        running.spawn(async move { worker.run_polls(groups, concurrency, shutdown).await });
                    }
                    step => {
                        running.spawn(async move { worker.run_step(step).await });
                    }
                }
            }
            tokio::select! {
                Some(ended) = running.join_next() => {
                    // A step that moved a task may have made work due (a finished video's
                    // delivery, a freed slot); a poll that found every video still generating
                    // did not.
                    if ended.unwrap_or(true) {
                        written = true;
                        wake_at = wake_at.min(last_plan + replan_gap);
                    } else {
                        // It put its tasks back in the schedule, which the last round's
                        // `wake_at` did not know of.
                        wake_at = wake_at.min(Instant::now() + self.time_to_next_poll(poll_gather));
                    }
                }
                _ = self.wake.notified() => {
                    written = true;
                    plan_now = true;
                }
                _ = tokio::time::sleep_until(wake_at), if waiting.is_empty() => plan_now = true,
                _ = renew.tick() => self.renew_leases().await,
                _ = takeover.tick(), if orphans_appear => {
                    if self.take_over_parked().await {
                        wake_at = wake_at.min(Instant::now());
                    }
                }
                _ = shutdown.changed() => break,
                // Only to beat the heart while idle.
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
        let drain = async { while running.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(5), drain).await.is_err() {
            running.abort_all();
        }
        tracing::info!("worker stopped");
    }

    /// PostgreSQL: wakes this worker when another instance adds work, until shutdown. Set up
    /// beside the first round, not before it: the round must not wait on the listener's
    /// connection.
    fn relay_work_notices(&self, mut shutdown: watch::Receiver<bool>) {
        let storage = self.storage.clone();
        let wake = self.wake.clone();
        tokio::spawn(async move {
            let mut listener = match storage.listen_for_work().await {
                Ok(Some(listener)) => listener,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for other instances' work; it starts when due");
                    return;
                }
            };
            loop {
                tokio::select! {
                    notice = listener.next() => match notice {
                        Ok(()) => wake.notify_one(),
                        Err(e) => {
                            tracing::warn!(error = %e, "lost the other instances' work notices; retrying");
                            wake.notify_one();
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    },
                    _ = shutdown.changed() => return,
                }
            }
        });
    }

    /// Keeps the leases of every claim some step, queue or pending write still holds. A claim
    /// whose tasks have all been given back is gone (its leases were consumed) and dropped here.
    async fn renew_leases(&self) {
        let tokens: Vec<i64> = {
            let mut claims = self.claims.lock().unwrap_or_else(|e| e.into_inner());
            claims.retain(|c| c.strong_count() > 0);
            claims
                .iter()
                .filter_map(|c| c.upgrade())
                .map(|c| c.token())
                .collect()
        };
        if let Err(e) = self.storage.renew_leases(&tokens, self.settings.lease).await {
            tracing::warn!(error = %e, "could not renew the leases (they may expire)");
        }
    }

    /// Takes over the parked generating tasks no running instance polls (at start: those of the
    /// previous run; later: those of an instance that died or stopped; see
    /// `storage/tasks/takeover.rs`), each polled once now: the crash story of the in-memory
    /// schedule. Says whether it took any.
    async fn take_over_parked(&self) -> bool {
        match self.storage.take_over_parked().await {
            Ok(rows) if rows.is_empty() => false,
            Ok(rows) => {
                let now = now_ms();
                let taken = rows.len();
                let mut schedule = self.schedule.lock().unwrap_or_else(|e| e.into_inner());
                for task in rows {
                    schedule.insert(schedule::Watched::new(task), now);
                }
                tracing::info!(taken, "polling the generating tasks no running instance polls");
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "could not take over the generating tasks no instance polls");
                false
            }
        }
    }

    /// Runs a round's polls, `concurrency` at a time, in this one task. Thousands of accounts
    /// are polled every interval; a task per poll meant a spawn each and more wake-ups passed
    /// between the runtime's threads (one task keeps a round's polls on one thread): polling
    /// 10,000 tasks in flight took about a tenth less CPU this way. On shutdown it starts no
    /// further poll (their tasks stay parked; the next start polls them), so a large round does
    /// not hold the stop up. Says whether any poll moved a task.
    async fn run_polls(
        &self,
        groups: Vec<Vec<schedule::Watched>>,
        concurrency: usize,
        shutdown: watch::Receiver<bool>,
    ) -> bool {
        use futures_util::StreamExt as _;
        futures_util::stream::iter(groups)
            .take_while(|_| std::future::ready(!*shutdown.borrow()))
            .map(|group| self.run_step(Step::Poll(group)))
            .buffer_unordered(concurrency)
            .fold(false, |moved, this| async move { moved || this })
            .await
    }

    /// Runs one step. A lost lease stops it quietly (another holder, or a cancel, owns the task
    /// now); any other error counts as a failed attempt of the tasks it held, and the last
    /// allowed attempt ends them with a message (`failure.rs`). Says whether the step moved a
    /// task (wrote to the database), or may have.
    async fn run_step(&self, step: Step) -> bool {
        let held = step.held();
        let result = match step {
            Step::Submit(lease) => self.submit(lease).await,
            Step::Poll(watched) => {
                let again = watched.clone();
                let result = self.poll(watched).await;
                if let Ok(moved) = result {
                    return moved;
                }
                {
                    // Back in the schedule, a little later: a task the failed poll already moved
                    // is not parked any more, and its next poll drops it (see `schedule.rs`).
                    let at = now_ms() + self.backoff(2, None).as_millis() as i64;
                    let mut schedule = self.schedule.lock().unwrap_or_else(|e| e.into_inner());
                    for w in again {
                        schedule.insert(w, at);
                    }
                }
                result.map(|_| ())
            }
            Step::Deliver(lease) => self.deliver(lease).await,
        };
        match result {
            Ok(()) => {}
            Err(e) if matches!(e.downcast_ref::<LeaseError>(), Some(LeaseError::Lost(_))) => {
                tracing::warn!(error = %e, "lease lost: the step stopped");
            }
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "task step failed");
                self.step_failed(&held, &e).await;
            }
        }
        true
    }

    /// Until the next task falls due, in the database or in the poll schedule, and when the
    /// next stored task falls due (ms). The schedule's polls are gathered into rounds no closer
    /// than `gap`: thousands of accounts fall due at thousands of moments, and a round per
    /// moment would cost more than the polls.
    async fn time_to_next_due(&self, gap: Duration) -> (Duration, i64) {
        let now = now_ms();
        let stored = match self.storage.next_due_at().await {
            Ok(Some(at)) => at,
            Ok(None) => i64::MAX,
            Err(e) => {
                tracing::error!(error = %e, "could not read the next due time");
                now + 1000
            }
        };
        let polls = self.next_poll_at(now, gap);
        (wait_until(stored.min(polls), now), stored)
    }

    /// Until the schedule's next poll round (see `time_to_next_due`).
    fn time_to_next_poll(&self, gap: Duration) -> Duration {
        let now = now_ms();
        wait_until(self.next_poll_at(now, gap), now)
    }

    /// When the schedule's next poll round is (ms), no sooner than `gap` from `now`.
    fn next_poll_at(&self, now: i64, gap: Duration) -> i64 {
        self.schedule
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_due()
            .map_or(i64::MAX, |at| at.max(now + gap.as_millis() as i64))
    }

    /// The texts in the language of the task's owner.
    async fn texts_for(&self, user_id: UserId) -> &'static dyn Texts {
        texts(lang_of_user(&self.storage, user_id.0).await)
    }

    /// How long a task waiting for a generation slot stays given back (ms). Every transition
    /// that frees a slot makes its account's waiting tasks due at once (`TaskLease::slot_freed`,
    /// cancels, pool accounts added or enabled), so this is only the safety net for what no
    /// write announces (a pool account's cool-down ending): claiming thousands of waiting tasks
    /// every poll interval only to give them back was most of the polling cost with 10,000 in
    /// flight. A task past `QUEUE_WAIT_LIMIT_MS` meanwhile fails at this recheck, up to one
    /// recheck late.
    fn slot_recheck(&self) -> i64 {
        self.settings.poll_interval.as_millis() as i64 * 12
    }

    /// Generation ran past its deadline, counted from when PixVerse accepted the task.
    fn past_deadline(&self, task: &TaskRow) -> bool {
        task.submitted_at
            .is_some_and(|at| now_ms() - at > self.settings.task_deadline.as_millis() as i64)
    }

    /// Waited too long before PixVerse accepted it (queue, slots, retries of the submit).
    fn past_queue_limit(&self, task: &TaskRow) -> bool {
        task.video_id.is_none()
            && now_ms() - task.created_at > self.settings.queue_wait_limit.as_millis() as i64
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
