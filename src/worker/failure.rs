//! What the worker does when a step fails: retry later, wait for a slot, or end the task with a
//! message that says what happened and what to do.

use std::time::Duration;

use crate::{
    domain::{CredentialId, TaskState, WaitReason},
    pixverse::{ErrorKind, PixverseError},
    storage::{Held, Resubmit, TaskLease, now_ms},
    texts::FailureReason,
};

use super::Worker;
use super::progress::Edit;

/// The failure note of a task PixVerse's moderation refused, at submit (`ErrCode` 500054,
/// 500063) or while generating (status 7), whatever the mode: the API reports it as the
/// `moderation` error code (`api/videos.rs`).
pub const MODERATED: &str = "moderated";

/// Consecutive failed attempts after which a task gives up (with the backoff this is minutes).
pub const MAX_ATTEMPTS: i64 = 8;

impl Worker {
    /// Routes a PixVerse error of the task's current step (submit, poll). `own` is the user's
    /// credential the step used (`None`: a pool account).
    pub(super) async fn pixverse_failed(
        &self,
        mut lease: TaskLease,
        error: &PixverseError,
        own: Option<CredentialId>,
    ) -> anyhow::Result<()> {
        let task = lease.task().clone();
        let message = error.to_string();
        tracing::warn!(task_id = task.id.0, error = %message, kind = ?error.kind(), "PixVerse step failed");
        // A submit PixVerse answered is settled: trying again is new work (a new trace id).
        let resubmit = if error.was_answered() {
            Resubmit::NewWork
        } else {
            Resubmit::SameTrace
        };
        match error.kind() {
            ErrorKind::Busy => {
                // Not an error for the user: the account's concurrent slots are full. Stay queued.
                let wait = self.settings.poll_interval.max(Duration::from_secs(1)) * 2;
                lease
                    .wait(WaitReason::Slot, now_ms() + wait.as_millis() as i64)
                    .await?;
                // Said once: a task that was already waiting for a slot shows that text already
                // (re-editing it every retry cost one Telegram call per queued task per retry).
                if task.wait_reason != Some(WaitReason::Slot) {
                    let texts = self.texts_for(task.user_id).await;
                    self.edit_progress(&task, texts.waiting_for_slot(), Edit::Stage)
                        .await;
                }
                Ok(())
            }
            ErrorKind::Transient => {
                self.retry_later(lease, &message, error.retry_after(), resubmit)
                    .await
            }
            ErrorKind::ImageExpired => {
                // PixVerse forgot the uploaded image: upload it again and submit anew.
                lease.forget_image().await?;
                self.retry_later(lease, &message, None, Resubmit::NewWork).await
            }
            // A pool account ran dry or was refused: it leaves rotation, the task moves on.
            ErrorKind::CredentialInvalid | ErrorKind::OutOfCredits if own.is_none() => {
                match task.pool_account_id {
                    Some(account) => self.pool_account_failed(lease, account, error).await,
                    None => {
                        self.fail(lease, FailureReason::CredentialInvalid { own: false }, &message)
                            .await
                    }
                }
            }
            ErrorKind::CredentialInvalid => {
                // The user's login expired or was used elsewhere (10005): hold their tasks until
                // they log in again instead of failing them. Only this credential is marked: a
                // newer login is another one and stays valid.
                if let Some(id) = own
                    && self.credential_refused(&task, id).await?
                {
                    return Ok(lease.release(now_ms()).await?);
                }
                self.hold(lease).await
            }
            ErrorKind::OutOfCredits => {
                self.fail(
                    lease,
                    FailureReason::OutOfCredits { own: own.is_some() },
                    &message,
                )
                .await
            }
            ErrorKind::Moderation => self.fail(lease, FailureReason::Moderation, MODERATED).await,
            ErrorKind::BadImage => self.fail(lease, FailureReason::BadImage, &message).await,
            ErrorKind::BadRequest => self.fail(lease, FailureReason::Rejected, &message).await,
        }
    }

    /// Trouble that may pass: try again after a backoff, unless the task has tried long enough.
    /// A delivery is bounded by its attempts only, never by the deadline: a finished video is
    /// not dropped because PixVerse was slow.
    pub(super) async fn retry_later(
        &self,
        lease: TaskLease,
        error: &str,
        retry_after: Option<Duration>,
        resubmit: Resubmit,
    ) -> anyhow::Result<()> {
        let task = lease.task();
        if task.attempts + 1 >= MAX_ATTEMPTS {
            return self.fail(lease, FailureReason::Unavailable, error).await;
        }
        if task.state != TaskState::Delivering && self.past_deadline(task) {
            return self.fail(lease, FailureReason::TimedOut, error).await;
        }
        if self.past_queue_limit(task) {
            return self.fail(lease, FailureReason::QueueTimedOut, error).await;
        }
        let delay = self.backoff(task.attempts, retry_after);
        lease
            .retry(now_ms() + delay.as_millis() as i64, error, resubmit)
            .await?;
        Ok(())
    }

    /// Ends the task without a video and tells the user why, on the progress message if there is
    /// one. Crash story: in `lease.rs`, beside `fail`.
    pub(super) async fn fail(
        &self,
        lease: TaskLease,
        reason: FailureReason,
        error: &str,
    ) -> anyhow::Result<()> {
        let task = lease.task().clone();
        tracing::info!(task_id = task.id.0, ?reason, "task failed");
        lease.fail(error).await?;
        self.tell_failed(&task, reason).await;
        Ok(())
    }

    async fn tell_failed(&self, task: &crate::storage::TaskRow, reason: FailureReason) {
        let texts = self.texts_for(task.user_id).await;
        // Trying again can help only when PixVerse (or time) was the problem, not the request.
        let retry = matches!(
            reason,
            FailureReason::GenerationFailed
                | FailureReason::Unavailable
                | FailureReason::TimedOut
                | FailureReason::QueueTimedOut
                | FailureReason::Internal
        )
        .then(|| crate::telegram::retry_keyboard(texts, task.id.0));
        self.announce(task, texts.failed(reason), retry).await;
    }

    /// A step erred unexpectedly (its error was logged): the tasks it still held count a failed
    /// attempt, and those out of attempts end with a message, so nothing stays in flight forever
    /// (e.g. a credential that no longer decrypts).
    pub(super) async fn step_failed(&self, held: &[Held], error: &anyhow::Error) {
        let retry_at = now_ms() + self.backoff(2, None).as_millis() as i64;
        // Only the outermost context: the chain may name internals, never a secret.
        let text = format!("internal error: {error}");
        match self
            .storage
            .step_failed(held, &text, retry_at, MAX_ATTEMPTS)
            .await
        {
            Ok(ended) => {
                for task in ended {
                    tracing::warn!(task_id = task.id.0, "task ended after repeated internal errors");
                    self.tell_failed(&task, FailureReason::Internal).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "could not record the failed step"),
        }
    }
}
