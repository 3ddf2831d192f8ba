//! The pool side of the worker: giving a pool task an account at submit time, and taking an
//! account out of rotation when PixVerse says it is empty or refused.

use teloxide::prelude::*;

use crate::{
    domain::TaskState,
    pixverse::{ErrorKind, PixverseError},
    storage::{PoolPick, PoolStatus, TaskRow, now_ms},
    telegram::lang_of_user,
    texts::{FailureReason, admin::admin_texts},
};

use super::{Worker, progress::Edit};

impl Worker {
    /// For a pool task (no credential of its own) not yet accepted by PixVerse: a slot on the
    /// least busy usable account, stored on the task. Returns the task as it now stands, or `None`
    /// when the step is over (the task waits for a slot, or failed because no account is usable).
    pub(super) async fn assign_pool_account(&self, task: TaskRow) -> anyhow::Result<Option<TaskRow>> {
        if task.credential_id.is_some() || task.video_id.is_some() {
            return Ok(Some(task));
        }
        match self.storage.pick_pool_account(task.id).await? {
            PoolPick::Assigned(account) => {
                tracing::debug!(task_id = task.id, account = %account.name, "pool account assigned");
                // Re-read: moving to another account may have dropped the uploaded image.
                Ok(Some(self.storage.task(task.id).await?.unwrap_or(task)))
            }
            PoolPick::AllBusy => {
                // Every usable account has all its slots taken: stay queued, look again soon.
                let next = now_ms() + self.settings.poll_interval.as_millis() as i64 * 2;
                self.storage
                    .reschedule_task(task.id, TaskState::Queued, next, false, None)
                    .await?;
                let texts = self.texts_for(task.user_id).await;
                self.edit_progress(&task, texts.waiting_for_slot(), Edit::Routine)
                    .await;
                Ok(None)
            }
            PoolPick::NoneUsable { out_of_credits } => {
                let reason = if out_of_credits {
                    FailureReason::OutOfCredits { own: false }
                } else {
                    FailureReason::CredentialInvalid { own: false }
                };
                self.fail(&task, reason, "no usable pool account").await?;
                Ok(None)
            }
        }
    }

    /// PixVerse said the task's pool account is out of credits or refused it. The account leaves
    /// rotation (the admins are told once); a task PixVerse has not accepted goes back to the
    /// queue to be given another account, one it has accepted fails as before.
    pub(super) async fn pool_account_failed(
        &self,
        task: &TaskRow,
        account_id: i64,
        error: &PixverseError,
        retry_state: TaskState,
    ) -> anyhow::Result<()> {
        let out_of_credits = error.kind() == ErrorKind::OutOfCredits;
        let status = if out_of_credits {
            PoolStatus::OutOfCredits
        } else {
            PoolStatus::Invalid
        };
        let message = error.to_string();
        if self
            .storage
            .mark_pool_account_down(account_id, status, &message)
            .await?
        {
            tracing::warn!(account_id, ?status, "pool account taken out of rotation");
            self.notify_admins_account_down(account_id, out_of_credits, &message)
                .await;
        }
        if retry_state == TaskState::Queued && task.video_id.is_none() {
            // Crash story: a plain reschedule; dying before it leaves the lease, and the task is
            // picked again (on another account) once the lease is released at the next start.
            self.storage
                .reschedule_task(task.id, TaskState::Queued, now_ms(), false, Some(&message))
                .await?;
            return Ok(());
        }
        let reason = if out_of_credits {
            FailureReason::OutOfCredits { own: false }
        } else {
            FailureReason::CredentialInvalid { own: false }
        };
        self.fail(task, reason, &message).await
    }

    async fn notify_admins_account_down(&self, account_id: i64, out_of_credits: bool, error: &str) {
        let name = match self.storage.pool_account_by_id(account_id).await {
            Ok(Some(account)) => account.name,
            _ => format!("#{account_id}"),
        };
        for &admin in &self.admin_ids {
            let text = admin_texts(lang_of_user(&self.storage, admin).await).pool_account_down(
                &name,
                out_of_credits,
                error,
            );
            if let Err(e) = self.bot.send_message(ChatId(admin), text).await {
                tracing::warn!(admin, error = %e, "could not tell an admin about a pool account");
            }
        }
    }
}
