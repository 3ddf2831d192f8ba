//! The pool side of the worker: taking an account out of rotation when PixVerse says it is
//! empty or refused, and telling the admins.

use teloxide::prelude::*;

use crate::{
    domain::{PoolAccountId, TaskState},
    pixverse::{ErrorKind, PixverseError},
    storage::{PoolStatus, TaskLease, now_ms},
    telegram::lang_of_user,
    texts::{FailureReason, admin::admin_texts},
};

use super::Worker;

impl Worker {
    /// PixVerse said the task's pool account is out of credits or refused it. The account leaves
    /// rotation (the admins are told once); a task PixVerse has not accepted goes back to the
    /// queue to be given another account, one it has accepted fails.
    pub(super) async fn pool_account_failed(
        &self,
        lease: TaskLease,
        account_id: PoolAccountId,
        error: &PixverseError,
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
            .mark_pool_account_down(account_id.0, status, &message)
            .await?
        {
            tracing::warn!(
                account_id = account_id.0,
                ?status,
                "pool account taken out of rotation"
            );
            self.notify_admins_account_down(account_id, out_of_credits, &message)
                .await;
        }
        let task = lease.task();
        if matches!(task.state, TaskState::Queued | TaskState::Submitting) && task.video_id.is_none() {
            // Crash story: a plain release; dying before it leaves the lease, and the task is
            // picked again (on another account) once the lease is released at the next start.
            lease.release(now_ms()).await?;
            return Ok(());
        }
        let reason = if out_of_credits {
            FailureReason::OutOfCredits { own: false }
        } else {
            FailureReason::CredentialInvalid { own: false }
        };
        self.fail(lease, reason, &message).await
    }

    async fn notify_admins_account_down(&self, account_id: PoolAccountId, out_of_credits: bool, error: &str) {
        let name = match self.storage.pool_account_by_id(account_id.0).await {
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
