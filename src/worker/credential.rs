//! Which PixVerse credential a task runs on, and what happens when PixVerse refuses it.

use std::time::Duration;

use teloxide::{prelude::Requester, types::ChatId};

use crate::{
    domain::{CredentialId, WaitReason},
    pixverse,
    storage::{TaskLease, TaskRow, now_ms},
    texts::FailureReason,
};

use super::{Worker, progress::Edit};

/// Where a task's credential stands.
pub(super) enum Lookup {
    /// Use this credential; `own` is its id when it is the user's own (`None`: a pool account).
    Ready {
        credential: pixverse::Credential,
        own: Option<CredentialId>,
    },
    /// The owner must log in again; the task waits.
    Hold,
    /// The task cannot go on.
    Fail(FailureReason),
}

impl Worker {
    /// The credential a task generates or polls with. A task PixVerse has not accepted yet uses
    /// its owner's current credential (a new /login or /apikey since it was queued counts). One
    /// PixVerse accepted stays on the credential that submitted it, so its video is found there,
    /// unless that one was refused (e.g. the re-login signed the old session out): then the
    /// owner's current one.
    pub(super) async fn credential_for(&self, task: &TaskRow) -> anyhow::Result<Lookup> {
        let Some(submitted_with) = task.credential_id else {
            // A pool task: the account chosen at submit time (see `assign_pool_account`).
            let Some(pool_id) = task.pool_account_id else {
                return Ok(Lookup::Fail(FailureReason::CredentialInvalid { own: false }));
            };
            return Ok(match self.storage.pool_account_by_id(pool_id.0).await? {
                None => Lookup::Fail(FailureReason::AccountRemoved),
                Some(account) => Lookup::Ready {
                    credential: account.to_pixverse(),
                    own: None,
                },
            });
        };
        let now = now_ms();
        let stays = |c: &crate::storage::Credential| {
            c.is_usable(now) && (task.video_id.is_some() || c.replaced_at.is_none())
        };
        let current = match self.storage.credential(submitted_with.0).await? {
            Some(own) if stays(&own) => Some(own),
            _ => self.storage.credential_of_user(task.user_id.0).await?,
        };
        Ok(match current {
            None => Lookup::Fail(FailureReason::AccountRemoved),
            Some(own) if own.is_usable(now) => Lookup::Ready {
                credential: own.to_pixverse(),
                own: Some(CredentialId(own.id)),
            },
            Some(own) => {
                // Refused by PixVerse, or past the token's own expiry: hold for a re-login.
                self.credential_refused(task, CredentialId(own.id)).await?;
                let since = own.invalid_at.unwrap_or(now);
                if now - since < self.settings.credential_hold.as_millis() as i64 {
                    Lookup::Hold
                } else {
                    Lookup::Fail(FailureReason::CredentialInvalid { own: true })
                }
            }
        })
    }

    /// Marks this credential (only this one: a newer login is another row) invalid and, the
    /// first time only, asks its owner to log in again. Returns `true` when the owner has logged
    /// in again since (the refusal is the old session being signed out): nobody is asked, and the
    /// task goes on with the new login.
    pub(super) async fn credential_refused(
        &self,
        task: &TaskRow,
        credential: CredentialId,
    ) -> anyhow::Result<bool> {
        let newly_refused = self.storage.mark_credential_invalid(credential.0).await?;
        let current = self.storage.credential_of_user(task.user_id.0).await?;
        if current.is_some_and(|c| c.id != credential.0) {
            return Ok(true);
        }
        if !newly_refused {
            return Ok(false);
        }
        tracing::info!(
            task_id = task.id.0,
            "credential refused; holding its tasks for a re-login"
        );
        let texts = self.texts_for(task.user_id).await;
        let owner = self.storage.user(task.user_id.0).await?;
        // Privately when we can: a group should not read about someone's account.
        let chat = match owner {
            Some(user) if user.has_private_chat => user.id,
            _ => task.chat_id.0,
        };
        if let Err(e) = self
            .bot
            .send_message(ChatId(chat), texts.reconnect_account())
            .await
        {
            tracing::warn!(task_id = task.id.0, error = %e, "could not ask the owner to log in again");
        }
        Ok(false)
    }

    /// Parks a task whose owner must log in again; `/login` wakes it at once.
    pub(super) async fn hold(&self, lease: TaskLease) -> anyhow::Result<()> {
        let recheck = self.settings.credential_hold.min(Duration::from_secs(60));
        let task = lease.task().clone();
        lease
            .wait(WaitReason::Login, now_ms() + recheck.as_millis() as i64)
            .await?;
        let texts = self.texts_for(task.user_id).await;
        self.edit_progress(&task, texts.held_for_login(), Edit::Stage)
            .await;
        Ok(())
    }
}
