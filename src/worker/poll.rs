//! Poll: ask PixVerse how the generating tasks of one account are doing, and hand each finished
//! video to its own deliver step.
//!
//! The tasks come from the in-memory schedule (`schedule.rs`): polling writes nothing while a
//! video is still generating. What changed is taken under a lease first and moved with it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::{
    domain::{Model, Quality, TaskId},
    pixverse::VideoStatus,
    storage::{GenerationTime, TaskLease, TaskRow, now_ms},
    texts::FailureReason,
};

use super::credential::Lookup;
use super::schedule::Watched;
use super::{Worker, progress::Edit, progress::elapsed};

/// A kind of generation, as the learned times are keyed: per model, quality and duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct GenerationKind {
    model: Model,
    quality: Quality,
    duration: u32,
}

impl GenerationKind {
    fn of(task: &TaskRow) -> Self {
        let params = task.params();
        GenerationKind {
            model: params.model,
            quality: params.quality,
            duration: params.duration,
        }
    }

    /// A stored row's kind; `None` for a model or quality this build does not know.
    fn stored(row: &GenerationTime) -> Option<Self> {
        Some(GenerationKind {
            model: Model::parse(&row.model)?,
            quality: Quality::parse(&row.quality)?,
            duration: u32::try_from(row.duration).ok()?,
        })
    }
}

/// How long past its kind's typical generation time a task counts as likely to finish soon, in
/// poll intervals (see `next_poll_gap`).
const FINISHING_WINDOW: u32 = 2;
/// The gap between polls, as a fraction of the interval, while a video is likely to finish
/// soon: the rest of the interval is left for a poll round's lateness and the delivery
/// (milliseconds on loopback, a second or so for a large video on a real network).
const FINISHING_GAP: f64 = 0.85;
/// How far before its kind's typical time a task is first polled, as a fraction of the interval.
/// The videos found done at the first poll waited from when each was done to it: at the typical
/// time itself, about half the videos wait up to the whole spread below it (more than an interval
/// when the learned time is a little high). A little earlier keeps those waits near the later
/// polls' gap. Together with `FINISHING_GAP`, simulated on 35–45 s videos with the learned time
/// ±0.45 s off: the p95 of the wait to be seen 4.1 s (4.8 s at the interval with neither), 1.7
/// polls per video (1.5).
const FIRST_POLL_LEAD: f64 = 0.15;

impl Worker {
    /// One status call for all `watched` (they share an account): a web account answers them all
    /// with a single listing call; an API key needs one result call each. What is still
    /// generating goes back to the schedule, due again after `next_poll_gap`; nothing is written.
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
        // Each task's next time is worked out before the schedule is locked: every poll round
        // of every account waits on that lock.
        let due: Vec<(Watched, i64)> = still_generating
            .into_iter()
            .map(|w| {
                let next = started + self.next_poll_gap(&w.task, started).as_millis() as i64;
                (w, next)
            })
            .collect();
        let mut schedule = self.schedule.lock().unwrap_or_else(|e| e.into_inner());
        for (w, next) in due {
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

    /// When to poll a task PixVerse just accepted for the first time: a little before videos of
    /// its kind were typically done (learned, see `learn_generation_time`; `FIRST_POLL_LEAD`),
    /// and at the poll interval until that is known. Later polls come after `next_poll_gap`.
    pub(super) fn first_poll_after(&self, task: &TaskRow) -> std::time::Duration {
        let interval = self.settings.poll_interval;
        match self.typical_ms(task) {
            Some(ms) => std::time::Duration::from_millis(ms.max(0) as u64)
                .saturating_sub(interval.mul_f64(FIRST_POLL_LEAD))
                .max(interval),
            None => interval,
        }
    }

    /// The gap from a poll begun at `now` to the task's next poll. While its video is likely to
    /// finish (from its first poll until `FINISHING_WINDOW` intervals past the typical time) the gap
    /// is `FINISHING_GAP` of the interval: a video done between two polls is then seen within
    /// that, and the rest of the interval is left for its download and upload, so it reaches
    /// the chat within one interval of being done. Outside that window, the interval: a video
    /// that far past its kind's typical time is late anyway, and many such tasks (PixVerse
    /// busy, or kinds not learned yet) cost what the interval says and no more.
    fn next_poll_gap(&self, task: &TaskRow, now: i64) -> std::time::Duration {
        let interval = self.settings.poll_interval;
        let typical = self.typical_ms(task);
        let finishing = match (typical, task.submitted_at) {
            (Some(typical), Some(submitted_at)) => {
                now - submitted_at < typical + (interval * FINISHING_WINDOW).as_millis() as i64
            }
            _ => false,
        };
        if finishing {
            interval.mul_f64(FINISHING_GAP)
        } else {
            interval
        }
    }

    /// The learned typical generation time (ms) of the task's kind, if one is known yet.
    fn typical_ms(&self, task: &TaskRow) -> Option<i64> {
        self.typical
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&GenerationKind::of(task))
            .copied()
    }

    /// A video was seen done at `polled_at`: when it was likely done goes into its kind's typical
    /// time. It was done after the last poll that saw it generating (or after the submit), so the
    /// middle of that gap is the estimate, and never more than half an interval before the poll:
    /// a video found done at its first poll was most likely done shortly before it. So the
    /// typical time settles near the mean generation time, and the first poll just before it.
    async fn learn_generation_time(&self, task: &TaskRow, seen_generating_at: Option<i64>, polled_at: i64) {
        let Some(submitted_at) = task.submitted_at else {
            return;
        };
        let kind = GenerationKind::of(task);
        let interval = self.settings.poll_interval.as_millis() as i64;
        let since = seen_generating_at.unwrap_or(submitted_at);
        let gap = (polled_at - since).clamp(0, interval);
        let observed = (polled_at - gap / 2 - submitted_at).max(0);
        match self
            .storage
            .record_generation_time(
                kind.model.as_str(),
                kind.quality.as_str(),
                i64::from(kind.duration),
                observed,
            )
            .await
        {
            Ok(typical) => {
                tracing::debug!(task_id = task.id.0, observed, typical, "generation time learned");
                self.typical
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(kind, typical);
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
                    if let Some(kind) = GenerationKind::stored(&row) {
                        typical.insert(kind, row.typical_ms);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the learned generation times"),
        }
    }
}
