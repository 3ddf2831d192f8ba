//! What the worker does when a step fails: retry later, wait for a slot, or end the task with a
//! message that says what happened and what to do.

use std::time::Duration;

use crate::{
    domain::TaskState,
    pixverse::{ErrorKind, PixverseError},
    storage::{TaskRow, now_ms},
    texts::FailureReason,
};

use super::Worker;
use super::progress::Edit;

/// Consecutive transient failures after which a task gives up (with the backoff this is minutes).
pub const MAX_ATTEMPTS: i64 = 8;

/// PixVerse's "invalid image id": the uploaded image is gone; upload it again.
const INVALID_IMAGE_ID: i64 = 400032;

impl Worker {
    /// Routes a PixVerse error of `task`'s current step. `retry_state` is the state a retry resumes
    /// from (queued for a submit, generating for a poll, delivering for a download).
    pub(super) async fn handle_pixverse_error(
        &self,
        task: &TaskRow,
        error: &PixverseError,
        retry_state: TaskState,
        own_credential: bool,
    ) -> anyhow::Result<()> {
        let message = error.to_string();
        tracing::warn!(task_id = task.id, error = %message, kind = ?error.kind(), "PixVerse step failed");
        match error.kind() {
            ErrorKind::Busy => {
                // Not an error for the user: the account's concurrent slots are full. Stay queued.
                let next = now_ms()
                    + self
                        .settings
                        .poll_interval
                        .max(Duration::from_secs(1))
                        .as_millis() as i64
                        * 2;
                self.storage
                    .reschedule_task(task.id, retry_state, next, false, Some(&message))
                    .await?;
                // Said once: a task that was already waiting for a slot shows that text already
                // (re-editing it every retry cost one Telegram call per queued task per retry).
                if task.last_error.as_deref() != Some(message.as_str()) {
                    let texts = self.texts_for(task.user_id).await;
                    self.edit_progress(task, texts.waiting_for_slot(), Edit::Stage)
                        .await;
                }
                Ok(())
            }
            ErrorKind::Transient => {
                if error.code() == Some(INVALID_IMAGE_ID) {
                    self.storage.store_image_ref(task.id, None).await?;
                }
                self.retry_later(task, retry_state, &message, error.retry_after())
                    .await
            }
            // A pool account ran dry or was refused: it leaves rotation, the task moves on.
            ErrorKind::CredentialInvalid | ErrorKind::OutOfCredits
                if !own_credential && task.pool_account_id.is_some() =>
            {
                let account_id = task.pool_account_id.unwrap_or_default();
                self.pool_account_failed(task, account_id, error, retry_state)
                    .await
            }
            ErrorKind::CredentialInvalid => match (own_credential, task.credential_id) {
                // The user's login expired or was used elsewhere (10005): hold their tasks until
                // they log in again instead of failing them.
                (true, Some(id)) => {
                    self.credential_refused(task, id).await?;
                    self.hold(task).await
                }
                _ => {
                    self.fail(task, FailureReason::CredentialInvalid { own: false }, &message)
                        .await
                }
            },
            ErrorKind::OutOfCredits => {
                self.fail(
                    task,
                    FailureReason::OutOfCredits { own: own_credential },
                    &message,
                )
                .await
            }
            ErrorKind::Moderation => self.fail(task, FailureReason::Moderation, &message).await,
            ErrorKind::BadRequest => {
                let reason = match error.code() {
                    Some(500030..=500033) => FailureReason::BadImage,
                    _ => FailureReason::Rejected,
                };
                self.fail(task, reason, &message).await
            }
        }
    }

    /// Transient trouble: try again after a backoff, unless the task has tried long enough.
    pub(super) async fn retry_later(
        &self,
        task: &TaskRow,
        retry_state: TaskState,
        error: &str,
        retry_after: Option<Duration>,
    ) -> anyhow::Result<()> {
        if task.attempts + 1 >= MAX_ATTEMPTS || self.past_deadline(task) {
            return self.fail(task, FailureReason::Unavailable, error).await;
        }
        let delay = self.backoff(task.attempts, retry_after);
        self.storage
            .reschedule_task(
                task.id,
                retry_state,
                now_ms() + delay.as_millis() as i64,
                true,
                Some(error),
            )
            .await?;
        Ok(())
    }

    /// Ends the task without a video and tells the user why, on the progress message if there is
    /// one. Crash story: the state is stored first; dying before the message only loses the notice.
    pub(super) async fn fail(
        &self,
        task: &TaskRow,
        reason: FailureReason,
        error: &str,
    ) -> anyhow::Result<()> {
        tracing::info!(task_id = task.id, ?reason, "task failed");
        self.storage.mark_failed(task.id, error).await?;
        let texts = self.texts_for(task.user_id).await;
        // Trying again can help only when PixVerse (or time) was the problem, not the request.
        let retry = matches!(
            reason,
            FailureReason::GenerationFailed | FailureReason::Unavailable | FailureReason::TimedOut
        )
        .then(|| crate::telegram::retry_keyboard(texts, task.id));
        self.announce(task, texts.failed(reason), retry).await;
        Ok(())
    }
}
