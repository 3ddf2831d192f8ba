//! The progress message: the bot's reply that the worker edits as the task moves.

use std::time::Duration;

use teloxide::{
    ApiError, RequestError,
    prelude::*,
    types::{MessageId, ReplyParameters},
};

use crate::storage::{TaskRow, now_ms};

use super::Worker;

impl Worker {
    /// Edits the progress message to `text`. Unless `force`, at most once per edit interval per
    /// task (twice that in groups, where many people share Telegram's per-chat limits).
    pub(super) async fn edit_progress(&self, task: &TaskRow, text: String, force: bool) {
        let Some(message_id) = task.progress_message_id else {
            return;
        };
        if !force && !self.progress_edit_due(task) {
            return;
        }
        let result = self
            .bot
            .edit_message_text(ChatId(task.chat_id), MessageId(message_id as i32), text)
            .await;
        match result {
            Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => {}
            Err(e) => tracing::debug!(task_id = task.id, error = %e, "progress edit failed"),
        }
        if let Err(e) = self.storage.touch_progress(task.id).await {
            tracing::warn!(task_id = task.id, error = %e, "could not record the progress edit");
        }
    }

    pub(super) fn progress_edit_due(&self, task: &TaskRow) -> bool {
        let mut interval = self.settings.progress_edit_interval;
        if task.chat_id < 0 {
            interval *= 2;
        }
        let last = task.progress_edited_at.unwrap_or(0);
        now_ms() - last >= interval.as_millis() as i64
    }

    /// Tells the user something final: on the progress message when there is one, else as a reply
    /// to the request. Best effort: the task's state is already stored.
    pub(super) async fn announce(&self, task: &TaskRow, text: String) {
        if task.progress_message_id.is_some() {
            self.edit_progress(task, text, true).await;
            return;
        }
        let sent = self
            .bot
            .send_message(ChatId(task.chat_id), text)
            .reply_parameters(
                ReplyParameters::new(MessageId(task.request_message_id as i32)).allow_sending_without_reply(),
            )
            .await;
        if let Err(e) = sent {
            tracing::warn!(task_id = task.id, error = %e, "could not tell the user");
        }
    }
}

/// Time since PixVerse accepted the task (or since it was requested, before that).
pub(super) fn elapsed(task: &TaskRow) -> Duration {
    let since = task.submitted_at.unwrap_or(task.created_at);
    Duration::from_millis((now_ms() - since).max(0) as u64)
}
