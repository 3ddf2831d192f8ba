//! The progress message: the bot's reply that the worker edits as the task moves.

use std::time::Duration;

use teloxide::{
    ApiError, RequestError,
    prelude::*,
    types::{InlineKeyboardMarkup, MessageId, ReplyParameters},
};

use crate::storage::{TaskRow, now_ms};

use super::Worker;

/// How an edit of the progress message is paced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Edit {
    /// The elapsed-time ticker: at most once per edit interval per task (twice that in groups,
    /// where many people share Telegram's per-chat limits), skipped while the chat is rate-limited.
    Routine,
    /// A new stage (generating, sending, waiting): sent now; lost if Telegram answers 429.
    Stage,
    /// The last word (delivered, failed): sent now and, after a 429, once more when allowed.
    Final,
}

/// The longest a final progress edit waits out a Telegram 429 before giving up on it.
const MAX_EDIT_WAIT: Duration = Duration::from_secs(10);

impl Worker {
    /// Edits the progress message to `text`, paced as `kind` says.
    pub(super) async fn edit_progress(&self, task: &TaskRow, text: String, kind: Edit) {
        self.edit_progress_with(task, text, kind, None).await
    }

    /// [`Self::edit_progress`] with buttons under the message.
    async fn edit_progress_with(
        &self,
        task: &TaskRow,
        text: String,
        kind: Edit,
        buttons: Option<InlineKeyboardMarkup>,
    ) {
        let force = kind != Edit::Routine;
        let Some(message_id) = task.progress_message_id else {
            return;
        };
        if !force && (!self.progress_edit_due(task) || self.edits_paused(task.chat_id)) {
            return;
        }
        let (chat, message) = (ChatId(task.chat_id), MessageId(message_id as i32));
        let edit = |bot: &Bot, text: String, buttons: Option<InlineKeyboardMarkup>| {
            let mut edit = bot.edit_message_text(chat, message, text);
            if let Some(buttons) = buttons {
                edit = edit.reply_markup(buttons);
            }
            edit
        };
        let result = edit(&self.bot, text.clone(), buttons.clone()).await;
        match result {
            Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => {}
            Err(RequestError::RetryAfter(wait)) => {
                // teloxide's Throttle does not cover edits: honour Telegram's 429 ourselves.
                // Routine edits pause for this chat; a final one is tried again once the wait is
                // over, in the background so this step does not stall (nothing edits the message
                // after a final text, so the late edit cannot overwrite a newer one).
                let wait = wait.duration();
                self.pause_edits(task.chat_id, wait);
                if kind == Edit::Final && wait <= MAX_EDIT_WAIT {
                    let bot = self.bot.clone();
                    let late = edit(&bot, text, buttons);
                    tokio::spawn(async move {
                        tokio::time::sleep(wait).await;
                        let _ = late.await;
                    });
                }
            }
            Err(e) => tracing::debug!(task_id = task.id, error = %e, "progress edit failed"),
        }
        if let Err(e) = self.storage.touch_progress(task.id).await {
            tracing::warn!(task_id = task.id, error = %e, "could not record the progress edit");
        }
    }

    fn edits_paused(&self, chat_id: i64) -> bool {
        let paused = self.edit_pause.lock().unwrap_or_else(|e| e.into_inner());
        paused.get(&chat_id).is_some_and(|until| *until > now_ms())
    }

    fn pause_edits(&self, chat_id: i64, wait: Duration) {
        let mut paused = self.edit_pause.lock().unwrap_or_else(|e| e.into_inner());
        let now = now_ms();
        paused.retain(|_, until| *until > now);
        paused.insert(chat_id, now + wait.as_millis() as i64);
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
    /// to the request. Best effort: the task's state is already stored. `buttons` go under the
    /// message.
    pub(super) async fn announce(&self, task: &TaskRow, text: String, buttons: Option<InlineKeyboardMarkup>) {
        if task.progress_message_id.is_some() {
            self.edit_progress_with(task, text, Edit::Final, buttons).await;
            return;
        }
        let mut send = self
            .bot
            .send_message(ChatId(task.chat_id), text)
            .reply_parameters(
                ReplyParameters::new(MessageId(task.request_message_id as i32)).allow_sending_without_reply(),
            );
        if let Some(buttons) = buttons {
            send = send.reply_markup(buttons);
        }
        if let Err(e) = send.await {
            tracing::warn!(task_id = task.id, error = %e, "could not tell the user");
        }
    }
}

/// Time since PixVerse accepted the task (or since it was requested, before that).
pub(super) fn elapsed(task: &TaskRow) -> Duration {
    let since = task.submitted_at.unwrap_or(task.created_at);
    Duration::from_millis((now_ms() - since).max(0) as u64)
}
