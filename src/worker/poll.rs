//! Poll: ask PixVerse how the generating tasks of one account are doing, and hand each finished
//! video to its own deliver step.

use std::time::Duration;

use crate::{
    pixverse::VideoStatus,
    storage::{TaskLease, TaskRow, now_ms},
    texts::FailureReason,
};

use super::credential::Lookup;
use super::{Worker, progress::Edit, progress::elapsed};

/// A task's kind of generation, as the learned times are keyed.
fn kind_of(task: &TaskRow) -> (String, String, i64) {
    let params = task.params();
    (
        params.model.as_str().to_owned(),
        params.quality.as_str().to_owned(),
        i64::from(params.duration),
    )
}

/// How many phases of the poll grid the accounts are spread over.
const POLL_PHASES: i64 = 8;

impl Worker {
    /// One status call for all `leases` (they share an account): a web account answers them all
    /// with a single listing call; an API key needs one result call each.
    #[tracing::instrument(skip_all, fields(tasks = leases.len()))]
    pub(super) async fn poll(&self, leases: Vec<TaskLease>) -> anyhow::Result<()> {
        let Some(first) = leases.first().map(|l| l.task().clone()) else {
            return Ok(());
        };
        let (credential, own) = match self.credential_for(&first).await? {
            Lookup::Ready { credential, own } => (credential, own),
            Lookup::Hold => {
                for lease in leases {
                    self.hold(lease).await?;
                }
                return Ok(());
            }
            Lookup::Fail(reason) => {
                for lease in leases {
                    self.fail(lease, reason, "no usable credential").await?;
                }
                return Ok(());
            }
        };
        let ids: Vec<i64> = leases.iter().filter_map(|l| l.task().video_id).collect();
        let statuses = match self.pixverse.statuses(&credential, &ids).await {
            Ok(statuses) => statuses,
            Err(error) => {
                for lease in leases {
                    self.pixverse_failed(lease, &error, own).await?;
                }
                return Ok(());
            }
        };
        let next = self.next_poll_tick(&first);
        let mut still_generating = Vec::new();
        for lease in leases {
            let task = lease.task().clone();
            let status = task.video_id.and_then(|id| statuses.get(&id)).cloned();
            match status {
                Some(VideoStatus::Succeeded { url }) => {
                    // Handed to the deliver step (due now): this poll never waits on a download
                    // or an upload. Crash story: in `lease.rs`, beside `delivering`.
                    lease.delivering(&url).await?;
                    self.wake.notify_one();
                    self.slot_freed(&task).await?;
                    self.learn_generation_time(&task).await;
                }
                Some(VideoStatus::Moderated) => {
                    self.fail(lease, FailureReason::Moderation, "moderated").await?;
                    self.slot_freed(&task).await?;
                }
                Some(VideoStatus::Failed | VideoStatus::Deleted) => {
                    self.fail(lease, FailureReason::GenerationFailed, "generation failed")
                        .await?;
                    self.slot_freed(&task).await?;
                }
                // Still running (a web listing may also not show a very fresh video yet).
                Some(VideoStatus::Generating) | None if self.past_deadline(&task) => {
                    self.fail(lease, FailureReason::TimedOut, "deadline passed while generating")
                        .await?;
                    self.slot_freed(&task).await?;
                }
                Some(VideoStatus::Generating) | None => still_generating.push(lease),
            }
        }
        self.note_generating(still_generating.len());
        let edits: Vec<TaskRow> = still_generating
            .iter()
            .map(|l| l.task())
            .filter(|t| self.routine_edit_ready(t))
            .cloned()
            .collect();
        // Written back with the other polls of the round (`flush_rescheduled`): one write for
        // many accounts rather than one each.
        self.rescheduled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(next)
            .or_default()
            .extend(still_generating);
        // The texts are looked up only for the tasks whose progress edit is due.
        for task in &edits {
            let texts = self.texts_for(task.user_id).await;
            self.edit_progress(task, texts.generating(elapsed(task)), Edit::Admitted)
                .await;
        }
        Ok(())
    }

    /// One due time for an account's tasks, on a grid of poll intervals (rounded to the nearest
    /// tick, so the mean interval stays one interval): every generating task of an account falls
    /// due together, whenever it was submitted, and the next round polls them with one listing
    /// call instead of one per task.
    ///
    /// Accounts are spread over POLL_PHASES phases of the grid (by id), so a round's polls, and
    /// the progress edits they send, come in a few smaller waves rather than one burst per
    /// interval that would exhaust the edits' budget (`progress.rs`) in a moment.
    fn next_poll_tick(&self, task: &TaskRow) -> i64 {
        let interval = self.settings.poll_interval.as_millis().max(1) as i64;
        let account = task
            .credential_id
            .map(|c| c.0)
            .or(task.pool_account_id.map(|p| p.0))
            .unwrap_or(0);
        let phase = account.rem_euclid(POLL_PHASES) * interval / POLL_PHASES;
        (now_ms() - phase + interval + interval / 2) / interval * interval + phase
    }

    /// When to poll a task PixVerse just accepted for the first time: when videos of its kind
    /// were typically done (learned, see `learn_generation_time`), and at the poll interval until
    /// that is known. Later polls come at the interval.
    pub(super) fn first_poll_after(&self, task: &TaskRow) -> Duration {
        let typical = self
            .typical
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&kind_of(task))
            .copied();
        match typical {
            Some(ms) => Duration::from_millis(ms.max(0) as u64).max(self.settings.poll_interval),
            None => self.settings.poll_interval,
        }
    }

    /// A video was seen done: how long it took since PixVerse accepted it goes into its kind's
    /// typical time. It is seen at a poll, so the time is up to an interval late: the first
    /// poll then comes a little after most videos are done, which is what saves polls.
    async fn learn_generation_time(&self, task: &TaskRow) {
        let Some(submitted_at) = task.submitted_at else {
            return;
        };
        let (model, quality, duration) = kind_of(task);
        let observed = now_ms() - submitted_at;
        match self
            .storage
            .record_generation_time(&model, &quality, duration, observed)
            .await
        {
            Ok(typical) => {
                self.typical
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert((model, quality, duration), typical);
            }
            Err(e) => tracing::warn!(error = %e, "could not record the generation time"),
        }
    }

    /// The learned generation times, read once at start.
    pub(super) async fn load_generation_times(&self) {
        match self.storage.generation_times().await {
            Ok(rows) => {
                let mut typical = self.typical.lock().unwrap_or_else(|e| e.into_inner());
                for row in rows {
                    typical.insert((row.model, row.quality, row.duration), row.typical_ms);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the learned generation times"),
        }
    }

    /// A generation of this task's account ended: tasks waiting for a slot compete for it now.
    async fn slot_freed(&self, task: &TaskRow) -> anyhow::Result<()> {
        if self
            .storage
            .wake_tasks_waiting_for_slot(task.credential_id)
            .await?
            > 0
        {
            self.wake.notify_one();
        }
        Ok(())
    }
}
