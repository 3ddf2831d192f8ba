//! Poll: ask PixVerse how the generating tasks of one credential are doing.

use crate::{
    domain::TaskState,
    pixverse::VideoStatus,
    storage::{TaskRow, now_ms},
    texts::FailureReason,
};

use super::progress::Edit;

/// How many phases of the poll grid the accounts are spread over.
const POLL_PHASES: i64 = 8;
use super::{Lookup, Worker, progress::elapsed};

impl Worker {
    /// One status call for all `tasks` (they share a credential): a web account answers them all
    /// with a single listing call; an API key needs one result call each.
    #[tracing::instrument(skip_all, fields(tasks = tasks.len()))]
    pub(super) async fn poll(&self, tasks: Vec<TaskRow>) -> anyhow::Result<()> {
        let Some(first) = tasks.first() else { return Ok(()) };
        let (credential, own) = match self.credential_for(first).await? {
            Lookup::Ready(credential, own) => (credential, own),
            Lookup::Hold => {
                for task in &tasks {
                    self.hold(task).await?;
                }
                return Ok(());
            }
            Lookup::Fail(reason) => {
                for task in &tasks {
                    self.fail(task, reason, "no usable credential").await?;
                }
                return Ok(());
            }
        };
        let ids: Vec<i64> = tasks.iter().filter_map(|t| t.video_id).collect();
        let statuses = match self.pixverse.statuses(&credential, &ids).await {
            Ok(statuses) => statuses,
            Err(error) => {
                for task in &tasks {
                    self.handle_pixverse_error(task, &error, TaskState::Generating, own)
                        .await?;
                }
                return Ok(());
            }
        };
        // One due time for the whole group, on a grid of poll intervals (rounded to the nearest
        // tick, so the mean interval stays one interval): every generating task of an account
        // falls due together, whenever it was submitted, and the next round polls them with one
        // listing call instead of one per task.
        //
        // Accounts are spread over POLL_PHASES phases of the grid (by id), so a round's polls,
        // and the progress edits they send, come in a few smaller waves rather than one burst
        // per interval that would exhaust the edits' budget (`progress.rs`) in a moment.
        let interval = self.settings.poll_interval.as_millis().max(1) as i64;
        let account = first.credential_id.or(first.pool_account_id).unwrap_or(0);
        let phase = account.rem_euclid(POLL_PHASES) * interval / POLL_PHASES;
        let next = (now_ms() - phase + interval + interval / 2) / interval * interval + phase;
        let mut still_generating = Vec::new();
        for task in tasks {
            let status = task.video_id.and_then(|id| statuses.get(&id)).cloned();
            match status {
                Some(VideoStatus::Succeeded { url }) => {
                    // Crash story: `delivering` with the URL is stored before the download, so a
                    // crash during delivery resumes delivery, never the generation.
                    self.storage.mark_delivering(task.id, &url).await?;
                    self.slot_freed(task.credential_id).await?;
                    let mut task = task;
                    task.video_url = Some(url);
                    self.deliver(task).await?;
                }
                Some(VideoStatus::Moderated) => {
                    self.fail(&task, FailureReason::Moderation, "moderated").await?;
                    self.slot_freed(task.credential_id).await?;
                }
                Some(VideoStatus::Failed | VideoStatus::Deleted) => {
                    self.fail(&task, FailureReason::GenerationFailed, "generation failed")
                        .await?;
                    self.slot_freed(task.credential_id).await?;
                }
                // Still running (a web listing may also not show a very fresh video yet).
                Some(VideoStatus::Generating) | None if self.past_deadline(&task) => {
                    self.fail(&task, FailureReason::TimedOut, "deadline passed while generating")
                        .await?;
                    self.slot_freed(task.credential_id).await?;
                }
                Some(VideoStatus::Generating) | None => still_generating.push(task),
            }
        }
        // Written back with the other polls of the round (`flush_rescheduled`): one write for
        // many accounts rather than one each. The texts are looked up only for the tasks whose
        // progress edit is due.
        self.rescheduled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(next)
            .or_default()
            .extend(still_generating.iter().map(|t| t.id));
        self.note_generating(still_generating.len());
        for task in &still_generating {
            if self.routine_edit_ready(task) {
                let texts = self.texts_for(task.user_id).await;
                self.edit_progress(task, texts.generating(elapsed(task)), Edit::Admitted)
                    .await;
            }
        }
        Ok(())
    }

    /// A generation of this credential ended: tasks waiting for a slot compete for it now.
    async fn slot_freed(&self, credential_id: Option<i64>) -> anyhow::Result<()> {
        if self.storage.wake_waiting_tasks(credential_id).await? > 0 {
            self.wake.notify_one();
        }
        Ok(())
    }
}
