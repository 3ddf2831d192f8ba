//! Deliver: download the finished video and send it to the chat, replying to the request.

use anyhow::Context;
use teloxide::{
    ApiError, RequestError,
    prelude::*,
    types::{ChatAction, InputFile},
};

use crate::{
    domain,
    pixverse::DownloadedVideo,
    storage::{DestinationKind, Resubmit, TaskLease, now_ms},
    telegram::result_keyboard,
};

use super::{
    Worker,
    chat_gate::Turn,
    progress::{Edit, elapsed, place_of},
};

/// Telegram's upload limit for bots.
pub const MAX_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;

impl Worker {
    /// Crash story (send, then mark): the video is sent first and `delivered` stored right after
    /// (in `lease.rs`). The deadline never drops a finished video: a delivery retries within its
    /// own bounded number of attempts (`retry_later`).
    #[tracing::instrument(skip_all, fields(task_id = lease.id().0))]
    pub(super) async fn deliver(&self, lease: TaskLease) -> anyhow::Result<()> {
        let task = lease.task().clone();
        let Some(url) = task.video_url.clone() else {
            anyhow::bail!("task {} is delivering without a video URL", task.id);
        };
        if task.destination == DestinationKind::Api {
            // The API's client fetches the recorded `video_url` itself: nothing to send.
            lease.delivered(None).await?;
            tracing::info!(task_id = task.id.0, "API task succeeded; result recorded");
            return Ok(());
        }
        // Telegram asked this chat to wait (a 429 on any task's call there): the delivery waits
        // too, without a call that would only meet another 429.
        if let Some(wait) = self.chat_gate.left(task.chat_id.0) {
            return self.wait_for_chat(lease, wait).await;
        }
        let texts = self.texts_for(task.user_id).await;
        let chat = ChatId(task.chat_id.0);
        if self.first_upload_attempt(task.id) {
            self.edit_progress(&task, texts.uploading(), Edit::Stage).await;
        }
        // The video passes through a temporary file, streamed in and out: a delivery holds a
        // chunk in memory, not the video (deleted when `spool` drops, after the send).
        let spool = tempfile::Builder::new()
            .prefix("pixverse-bot-")
            .suffix(".mp4")
            .tempfile()
            .context("a temporary file for the video")?;
        match self
            .pixverse
            .download_video(&url, MAX_UPLOAD_BYTES, spool.path())
            .await
        {
            Ok(DownloadedVideo::Saved { .. }) => {}
            Ok(DownloadedVideo::TooLarge { .. }) => return self.deliver_link(lease, &url).await,
            Err(error) => {
                return self
                    .retry_later(
                        lease,
                        &error.to_string(),
                        error.retry_after(),
                        Resubmit::SameTrace,
                    )
                    .await;
            }
        };
        // The chat's turn: another task's call may have met a 429 there while this one downloaded.
        let turn = match self.chat_gate.turn(task.chat_id.0).await {
            Ok(turn) => turn,
            Err(wait) => return self.wait_for_chat(lease, wait).await,
        };
        let _ = self.bot.send_chat_action(chat, ChatAction::UploadVideo).await;
        let video = InputFile::file(spool.path()).file_name(format!("pixverse-{}.mp4", task.id));
        let sent = place_of(&task)
            .video(&self.upload_bot, video)
            .caption(texts.caption(&task.prompt, task.params()))
            .supports_streaming(true)
            .reply_markup(result_keyboard(texts, task.id.0))
            .await;
        crate::telemetry::telegram_call("send_video", &sent);
        match sent {
            Ok(message) => {
                drop(turn);
                let file_id = message.video().map(|v| v.file.id.0.clone());
                lease.delivered(file_id.as_deref()).await?;
                tracing::info!(task_id = task.id.0, "video delivered");
                self.edit_progress(&task, texts.delivered(elapsed(&task)), Edit::Final)
                    .await;
                Ok(())
            }
            Err(error) => {
                let refused = self.telegram_failure(lease, error, &turn).await?;
                drop(turn);
                match refused {
                    Some(lease) => self.deliver_link(lease, &url).await,
                    None => Ok(()),
                }
            }
        }
    }

    /// Sends the link instead of the file (too large, or Telegram refused the upload for good).
    async fn deliver_link(&self, lease: TaskLease, url: &str) -> anyhow::Result<()> {
        let task = lease.task().clone();
        let texts = self.texts_for(task.user_id).await;
        let turn = match self.chat_gate.turn(task.chat_id.0).await {
            Ok(turn) => turn,
            Err(wait) => return self.wait_for_chat(lease, wait).await,
        };
        let sent = place_of(&task)
            .message(&self.bot, texts.video_link(&task.prompt, url))
            .await;
        match sent {
            Ok(_) => {
                drop(turn);
                lease.delivered(None).await?;
                self.edit_progress(&task, texts.delivered(elapsed(&task)), Edit::Final)
                    .await;
                Ok(())
            }
            Err(error) => match self.telegram_failure(lease, error, &turn).await? {
                Some(lease) => {
                    self.retry_later(lease, "telegram refused the link", None, Resubmit::SameTrace)
                        .await
                }
                None => Ok(()),
            },
        }
    }

    /// Gives the delivery back until the chat's 429 wait is over, plus a random part of it, so
    /// the chat's deliveries do not all return at the same instant. Uses up no attempt: a busy
    /// chat must not lose videos PixVerse already made.
    async fn wait_for_chat(&self, lease: TaskLease, wait: std::time::Duration) -> anyhow::Result<()> {
        let spread = wait.mul_f64(rand::random::<f64>() / 2.0);
        lease
            .release(now_ms() + (wait + spread).as_millis() as i64)
            .await?;
        Ok(())
    }

    /// Whether this is the task's first try at the upload since the process started (its
    /// "uploading" stage is not on screen yet). Entries are dropped after an hour.
    fn first_upload_attempt(&self, task: domain::TaskId) -> bool {
        const KEEP_MS: i64 = 60 * 60 * 1000;
        let now = now_ms();
        let mut shown = self.uploading_shown.lock().unwrap_or_else(|e| e.into_inner());
        if shown.len() > 1024 {
            shown.retain(|_, at| now - *at < KEEP_MS);
        }
        shown.insert(task, now).is_none()
    }

    /// What a failed send means for the task: handled here (rescheduled or ended, `None`), or
    /// refused for good by Telegram (the lease comes back for the fallback).
    async fn telegram_failure(
        &self,
        lease: TaskLease,
        error: RequestError,
        turn: &Turn,
    ) -> anyhow::Result<Option<TaskLease>> {
        let task = lease.task().clone();
        tracing::warn!(task_id = task.id.0, error = %error, "delivery to Telegram failed");
        match error {
            // Telegram's flood control asks us to wait. The 429 holds for the whole chat, so every
            // call of every task there waits as long (they would meet the same 429 and only
            // prolong it); not a failure, so it uses up no attempt.
            RequestError::RetryAfter(wait) => {
                let wait = wait.duration();
                turn.met_429(wait);
                self.wait_for_chat(lease, wait).await?;
            }
            RequestError::MigrateToChatId(new_chat) => {
                // The group became a supergroup: deliver there, right away.
                self.storage
                    .migrate_chat(task.chat_id, domain::ChatId(new_chat.0))
                    .await?;
                lease.release(now_ms()).await?;
            }
            RequestError::Api(
                ApiError::BotBlocked
                | ApiError::ChatNotFound
                | ApiError::BotKicked
                | ApiError::BotKickedFromSupergroup
                | ApiError::UserDeactivated
                | ApiError::CantInitiateConversation,
            ) => {
                // Nobody to deliver to: end quietly instead of retrying forever.
                lease.fail("chat unavailable").await?;
            }
            // Telegram refused this content for good (too big, bad format).
            RequestError::Api(_) => return Ok(Some(lease)),
            other => {
                self.retry_later(lease, &other.to_string(), None, Resubmit::SameTrace)
                    .await?;
            }
        }
        Ok(None)
    }
}
