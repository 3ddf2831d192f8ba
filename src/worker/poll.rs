//! Poll: ask PixVerse how the generating tasks of one account are doing, and hand each finished
//! video to its own deliver step.
//!
//! The tasks come from the in-memory schedule (`schedule.rs`): polling writes nothing while a
//! video is still generating. What changed is taken under a lease first and moved with it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::{
    domain::TaskId,
    pixverse::VideoStatus,
    storage::{TaskLease, TaskRow, now_ms},
    texts::FailureReason,
};

use super::credential::Lookup;
use super::schedule::Watched;
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

impl Worker {
    /// One status call for all `watched` (they share an account): a web account answers them all
    /// with a single listing call; an API key needs one result call each. What is still
    /// generating goes back to the schedule, due in one poll interval; nothing is written.
    /// Says whether it moved a task (took its lease).
    // A debug-level span: at the default level it costs nothing, and a poll runs for every
    // generating account every interval (thousands a minute).
    #[tracing::instrument(level = "debug", skip_all, fields(tasks = watched.len()))]
    pub(super) async fn poll(&self, watched: Vec<Watched>) -> anyhow::Result<bool> {
        let Some(first) = watched.first() else {
            return Ok(false);
        };
        // The next poll is an interval after this one began, so the time a poll takes does not
        // push every later one back.
        let started = now_ms();
        let (credential, own) = match self.credential_for(&first.task).await? {
            Lookup::Ready { credential, own } => (credential, own),
            Lookup::Hold => {
                for lease in self.take(&watched).await? {
                    self.hold(lease).await?;
                }
                return Ok(true);
            }
            Lookup::Fail(reason) => {
                for lease in self.take(&watched).await? {
                    self.fail(lease, reason, "no usable credential").await?;
                }
                return Ok(true);
            }
        };
        let ids: Vec<i64> = watched.iter().filter_map(|w| w.task.video_id).collect();
        let statuses = match self.pixverse.statuses(&credential, &ids).await {
            Ok(statuses) => statuses,
            Err(error) => {
                for lease in self.take(&watched).await? {
                    self.pixverse_failed(lease, &error, own).await?;
                }
                return Ok(true);
            }
        };
        let polled_at = now_ms();
        let mut still_generating = Vec::new();
        let mut changed = Vec::new();
        for w in watched {
            let status = w.task.video_id.and_then(|id| statuses.get(&id)).cloned();
            match status {
                // Still running (a web listing may also not show a very fresh video yet).
                Some(VideoStatus::Generating) | None if !self.past_deadline(&w.task) => {
                    still_generating.push(w)
                }
                status => changed.push((w, status)),
            }
        }
        let moved = !changed.is_empty();
        if moved {
            self.apply_changes(changed, polled_at).await?;
        }
        self.note_generating(still_generating.len());
        let recovered: Vec<TaskId> = still_generating
            .iter()
            .filter(|w| w.task.attempts > 0)
            .map(|w| w.task.id)
            .collect();
        if !recovered.is_empty() {
            self.storage.parked_polls_recovered(&recovered).await?;
        }
        for w in &mut still_generating {
            if w.task.attempts > 0 {
                Arc::make_mut(&mut w.task).attempts = 0;
            }
            w.seen_generating_at = Some(polled_at);
        }
        let still_generating = self.edit_progress_of(still_generating).await?;
        let next = started + self.settings.poll_interval.as_millis() as i64;
        let mut schedule = self.schedule.lock().unwrap_or_else(|e| e.into_inner());
        for w in still_generating {
            schedule.insert(w, next);
        }
        Ok(moved)
    }

    /// The tasks whose state the poll found changed, each moved under its lease: done ones to
    /// their deliver step, failed ones ended. A task not taken (cancelled meanwhile) is dropped.
    async fn apply_changes(
        &self,
        changed: Vec<(Watched, Option<VideoStatus>)>,
        polled_at: i64,
    ) -> anyhow::Result<()> {
        let watched: Vec<Watched> = changed.iter().map(|(w, _)| w.clone()).collect();
        let mut leases: HashMap<TaskId, TaskLease> = self
            .take(&watched)
            .await?
            .into_iter()
            .map(|l| (l.id(), l))
            .collect();
        for (w, status) in changed {
            let Some(lease) = leases.remove(&w.task.id) else {
                continue;
            };
            let task = lease.task().clone();
            match status {
                Some(VideoStatus::Succeeded { url }) => {
                    // Handed to the deliver step (due now): this poll never waits on a download
                    // or an upload. Crash story: in `lease.rs`, beside `delivering`.
                    lease.delivering(&url).await?;
                    self.wake.notify_one();
                    self.learn_generation_time(&task, w.seen_generating_at, polled_at)
                        .await;
                }
                Some(VideoStatus::Moderated) => {
                    self.fail(lease, FailureReason::Moderation, super::failure::MODERATED)
                        .await?;
                }
                Some(VideoStatus::Failed | VideoStatus::Deleted) => {
                    self.fail(lease, FailureReason::GenerationFailed, "generation failed")
                        .await?;
                }
                Some(VideoStatus::Generating) | None => {
                    self.fail(lease, FailureReason::TimedOut, "deadline passed while generating")
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Takes the leases of these parked tasks (those still parked), registered for renewal; they
    /// leave the schedule for good unless a later poll parks them again.
    async fn take(&self, watched: &[Watched]) -> anyhow::Result<Vec<TaskLease>> {
        let ids: Vec<TaskId> = watched.iter().map(|w| w.task.id).collect();
        let leases = self.storage.claim_parked(&ids, self.settings.lease).await?;
        if let Some(first) = leases.first() {
            self.claims
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(first.claim());
        }
        Ok(leases)
    }

    /// Sends the routine progress edits that are due (paced, see `progress.rs`), on the rows as
    /// stored now: a task cancelled since the schedule read it is dropped here (returned without
    /// it), and a moved chat is edited where it now is.
    async fn edit_progress_of(&self, watched: Vec<Watched>) -> anyhow::Result<Vec<Watched>> {
        let ready: Vec<TaskId> = watched
            .iter()
            .filter(|w| self.routine_edit_ready(&w.task))
            .map(|w| w.task.id)
            .collect();
        if ready.is_empty() {
            return Ok(watched);
        }
        let mut fresh: HashMap<TaskId, TaskRow> = self
            .storage
            .still_parked(&ready)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
        let mut kept = Vec::with_capacity(watched.len());
        for mut w in watched {
            if ready.contains(&w.task.id) {
                let Some(task) = fresh.remove(&w.task.id) else {
                    // No longer parked and generating: cancelled, or taken by another step.
                    continue;
                };
                let texts = self.texts_for(task.user_id).await;
                self.edit_progress(&task, texts.generating(elapsed(&task)), Edit::Admitted)
                    .await;
                w.task = Arc::new(TaskRow {
                    progress_edited_at: Some(now_ms()),
                    ..task
                });
            }
            kept.push(w);
        }
        Ok(kept)
    }

    /// When to poll a task PixVerse just accepted for the first time: when videos of its kind
    /// were typically done (learned, see `learn_generation_time`), and at the poll interval until
    /// that is known. Later polls come at the interval.
    pub(super) fn first_poll_after(&self, task: &TaskRow) -> std::time::Duration {
        let typical = self
            .typical
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&kind_of(task))
            .copied();
        match typical {
            Some(ms) => std::time::Duration::from_millis(ms.max(0) as u64).max(self.settings.poll_interval),
            None => self.settings.poll_interval,
        }
    }

    /// A video was seen done at `polled_at`: when it was likely done goes into its kind's typical
    /// time. It was done after the last poll that saw it generating (or after the submit), so the
    /// middle of that gap is the estimate, and never more than half an interval before the poll:
    /// a video found done at its first poll was most likely done shortly before it. So the first
    /// poll settles near the median generation time: about half the videos are found done at
    /// it, the rest one interval later, and none waits much more than an interval.
    async fn learn_generation_time(&self, task: &TaskRow, seen_generating_at: Option<i64>, polled_at: i64) {
        let Some(submitted_at) = task.submitted_at else {
            return;
        };
        let (model, quality, duration) = kind_of(task);
        let interval = self.settings.poll_interval.as_millis() as i64;
        let since = seen_generating_at.unwrap_or(submitted_at);
        let gap = (polled_at - since).clamp(0, interval);
        let observed = (polled_at - gap / 2 - submitted_at).max(0);
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
}
