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
        let texts = self.texts_for(task.user_id).await;
        let chat = ChatId(task.chat_id.0);
        self.edit_progress(&task, texts.uploading(), Edit::Stage).await;
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
                let file_id = message.video().map(|v| v.file.id.0.clone());
                lease.delivered(file_id.as_deref()).await?;
                tracing::info!(task_id = task.id.0, "video delivered");
                self.edit_progress(&task, texts.delivered(elapsed(&task)), Edit::Final)
                    .await;
                Ok(())
            }
            Err(error) => match self.telegram_failure(lease, error).await? {
                Some(lease) => self.deliver_link(lease, &url).await,
                None => Ok(()),
            },
        }
    }

    /// Sends the link instead of the file (too large, or Telegram refused the upload for good).
    async fn deliver_link(&self, lease: TaskLease, url: &str) -> anyhow::Result<()> {
        let task = lease.task().clone();
        let texts = self.texts_for(task.user_id).await;
        let sent = place_of(&task)
            .message(&self.bot, texts.video_link(&task.prompt, url))
            .await;
        match sent {
            Ok(_) => {
                lease.delivered(None).await?;
                self.edit_progress(&task, texts.delivered(elapsed(&task)), Edit::Final)
                    .await;
                Ok(())
            }
            Err(error) => match self.telegram_failure(lease, error).await? {
                Some(lease) => {
                    self.retry_later(lease, "telegram refused the link", None, Resubmit::SameTrace)
                        .await
                }
                None => Ok(()),
            },
        }
    }

    /// What a failed send means for the task: handled here (rescheduled or ended, `None`), or
    /// refused for good by Telegram (the lease comes back for the fallback).
    async fn telegram_failure(
        &self,
        lease: TaskLease,
        error: RequestError,
    ) -> anyhow::Result<Option<TaskLease>> {
        let task = lease.task().clone();
        tracing::warn!(task_id = task.id.0, error = %error, "delivery to Telegram failed");
        match error {
            // Telegram's flood control asks us to wait (a 429 holds for the whole chat, so other
            // tasks' sends there meet it too): not a failure, so it uses up no attempt; a busy
            // chat would otherwise lose videos PixVerse already made.
            // The progress edits of the chat pause as long (they would meet the same 429 and
            // only prolong it), and the retry comes a little after the wait, spread so that the
            // chat's other deliveries do not all return at the same instant.
            RequestError::RetryAfter(wait) => {
                let wait = wait.duration();
                self.pause_edits(task.chat_id.0, wait);
                let spread = wait.mul_f64(rand::random::<f64>() / 2.0);
                lease
                    .release(now_ms() + (wait + spread).as_millis() as i64)
                    .await?;
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
