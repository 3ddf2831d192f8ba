//! Deliver: download the finished video and send it to the chat, replying to the request.

use teloxide::{
    ApiError, RequestError,
    prelude::*,
    types::{ChatAction, InputFile},
};

use crate::{
    domain::TaskState,
    pixverse::DownloadedVideo,
    storage::{DestinationKind, TaskRow},
    telegram::result_keyboard,
};

use super::{
    Worker,
    progress::{Edit, elapsed, place_of},
};

/// Telegram's upload limit for bots.
pub const MAX_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;

impl Worker {
    /// Crash story (send, then mark): the video is sent first and `delivered` stored right after.
    /// Dying between the two re-sends the video once after a restart; the other order could lose
    /// it for good. The window is one SQLite write.
    #[tracing::instrument(skip_all, fields(task_id = task.id))]
    pub(super) async fn deliver(&self, task: TaskRow) -> anyhow::Result<()> {
        let Some(url) = task.video_url.clone() else {
            anyhow::bail!("task {} is delivering without a video URL", task.id);
        };
        if task.destination() == DestinationKind::Api {
            // The API's client fetches the recorded `video_url` itself: nothing to send.
            self.storage.mark_delivered(task.id, None).await?;
            tracing::info!(task_id = task.id, "API task succeeded; result recorded");
            return Ok(());
        }
        let texts = self.texts_for(task.user_id).await;
        self.edit_progress(&task, texts.uploading(), Edit::Stage).await;
        let chat = ChatId(task.chat_id);
        let video = match self.pixverse.download_video(&url, MAX_UPLOAD_BYTES).await {
            Ok(DownloadedVideo::Bytes(bytes)) => bytes,
            Ok(DownloadedVideo::TooLarge { .. }) => return self.deliver_link(&task, &url).await,
            Err(error) => {
                return self
                    .retry_later(
                        &task,
                        TaskState::Delivering,
                        &error.to_string(),
                        error.retry_after(),
                    )
                    .await;
            }
        };
        let _ = self.bot.send_chat_action(chat, ChatAction::UploadVideo).await;
        let params = task.params()?;
        let video = InputFile::memory(video).file_name(format!("pixverse-{}.mp4", task.id));
        let sent = place_of(&task)
            .video(&self.upload_bot, video)
            .caption(texts.caption(&task.prompt, &params))
            .supports_streaming(true)
            .reply_markup(result_keyboard(texts, task.id))
            .await;
        crate::telemetry::telegram_call("send_video", &sent);
        match sent {
            Ok(message) => {
                let file_id = message.video().map(|v| v.file.id.0.clone());
                self.storage.mark_delivered(task.id, file_id.as_deref()).await?;
                tracing::info!(task_id = task.id, "video delivered");
                self.edit_progress(&task, texts.delivered(elapsed(&task)), Edit::Final)
                    .await;
                Ok(())
            }
            Err(error) => match self.telegram_failure(&task, error).await? {
                SendFailure::Refused => self.deliver_link(&task, &url).await,
                SendFailure::Handled => Ok(()),
            },
        }
    }

    /// Sends the link instead of the file (too large, or Telegram refused the upload for good).
    async fn deliver_link(&self, task: &TaskRow, url: &str) -> anyhow::Result<()> {
        let texts = self.texts_for(task.user_id).await;
        let sent = place_of(task)
            .message(&self.bot, texts.video_link(&task.prompt, url))
            .await;
        match sent {
            Ok(_) => {
                self.storage.mark_delivered(task.id, None).await?;
                self.edit_progress(task, texts.delivered(elapsed(task)), Edit::Final)
                    .await;
                Ok(())
            }
            Err(error) => match self.telegram_failure(task, error).await? {
                SendFailure::Refused => {
                    self.retry_later(task, TaskState::Delivering, "telegram refused the link", None)
                        .await
                }
                SendFailure::Handled => Ok(()),
            },
        }
    }

    /// What a failed send means for the task.
    async fn telegram_failure(&self, task: &TaskRow, error: RequestError) -> anyhow::Result<SendFailure> {
        tracing::warn!(task_id = task.id, error = %error, "delivery to Telegram failed");
        Ok(match error {
            // Telegram's flood control asks us to wait (a 429 holds for the whole chat, so other
            // tasks' sends there meet it too): not a failure, so it uses up no attempt; a busy
            // chat would otherwise lose videos PixVerse already made. The deadline still ends it.
            RequestError::RetryAfter(wait) if !self.past_deadline(task) => {
                let at = crate::storage::now_ms() + wait.duration().as_millis() as i64;
                self.storage
                    .reschedule_task(
                        task.id,
                        TaskState::Delivering,
                        at,
                        false,
                        Some("telegram rate limit"),
                    )
                    .await?;
                SendFailure::Handled
            }
            RequestError::RetryAfter(wait) => {
                self.retry_later(
                    task,
                    TaskState::Delivering,
                    "telegram rate limit",
                    Some(wait.duration()),
                )
                .await?;
                SendFailure::Handled
            }
            RequestError::MigrateToChatId(new_chat) => {
                // The group became a supergroup: deliver there, right away.
                self.storage.migrate_chat(task.chat_id, new_chat.0).await?;
                let now = crate::storage::now_ms();
                self.storage
                    .reschedule_task(task.id, TaskState::Delivering, now, false, None)
                    .await?;
                SendFailure::Handled
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
                self.storage.mark_failed(task.id, "chat unavailable").await?;
                SendFailure::Handled
            }
            // Telegram refused this content for good (too big, bad format).
            RequestError::Api(_) => SendFailure::Refused,
            other => {
                self.retry_later(task, TaskState::Delivering, &other.to_string(), None)
                    .await?;
                SendFailure::Handled
            }
        })
    }
}

enum SendFailure {
    /// Rescheduled or ended; nothing more to do now.
    Handled,
    /// Telegram will never take this upload: fall back to the link.
    Refused,
}
