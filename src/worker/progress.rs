//! The progress message: the bot's reply that the worker edits as the task moves.

use std::{collections::HashMap, time::Duration};

use teloxide::{
    ApiError, RequestError,
    prelude::*,
    types::{InlineKeyboardMarkup, MessageId},
};

use crate::{
    storage::{TaskRow, now_ms},
    telegram::Place,
};

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
    /// A ticker edit that already took its turn ([`Worker::routine_edit_ready`]), so the text
    /// is only built for edits that go out.
    Admitted,
}

/// The longest a final progress edit waits out a Telegram 429 before giving up on it.
const MAX_EDIT_WAIT: Duration = Duration::from_secs(10);

/// Telegram's pace within one chat: about a message a second in a private chat, 20 a minute in a
/// group. A chat with several tasks gets routine edits no closer than this (or than the edit
/// interval itself, when that is shorter).
const PRIVATE_CHAT_GAP: Duration = Duration::from_secs(1);
const GROUP_CHAT_GAP: Duration = Duration::from_secs(3);

/// The shared pace of routine edits: a token bucket over all chats (filled at this instance's
/// share of `TELEGRAM_ROUTINE_EDITS_PER_SEC`, see `edit_share.rs`: Telegram takes about 30
/// messages a second from one bot, and replies, stage and final edits and the videos need the
/// rest; with 10,000 tasks in flight a 5 s ticker alone would want 2,000 edits a second, so the
/// tickers share the budget and each message advances less often), the last routine edit per
/// chat, and how many tasks are generating (counted as the polls see them), which stretches
/// every task's interval so that all of them fit the budget, each in turn: a task is due once
/// its own message has gone unedited that long, so the oldest ones go first.
#[derive(Debug, Default)]
pub(super) struct EditBudget {
    tokens: f64,
    refilled_at: i64,
    /// Tasks seen generating since `window_start`, and in the whole window before it.
    counting: usize,
    window_start: i64,
    generating: usize,
    /// Per chat: no routine edit before this time (ms).
    chat_next: HashMap<i64, i64>,
}

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
        if !force
            && (!self.progress_edit_due(task)
                || self.chat_gate.left(task.chat_id.0).is_some()
                || !self.take_edit_turn(task))
        {
            return;
        }
        let (chat, message) = (ChatId(task.chat_id.0), MessageId(message_id as i32));
        let edit = |bot: &Bot, text: String, buttons: Option<InlineKeyboardMarkup>| {
            let mut edit = bot.edit_message_text(chat, message, text);
            if let Some(buttons) = buttons {
                edit = edit.reply_markup(buttons);
            }
            edit
        };
        // One call at a time per chat, none while Telegram's wait for it runs (see
        // `chat_gate.rs`): routine and stage edits are skipped then (a newer text follows), a
        // final one goes out in the background when it is the chat's turn (nothing edits the
        // message after a final text, so the late edit cannot overwrite a newer one).
        let turn = match self.chat_gate.try_turn(task.chat_id.0) {
            Ok(turn) => turn,
            Err(_) => {
                if kind == Edit::Final {
                    self.chat_gate
                        .send_later(task.chat_id.0, edit(&self.bot, text, buttons), MAX_EDIT_WAIT);
                }
                return;
            }
        };
        let result = edit(&self.bot, text.clone(), buttons.clone()).await;
        crate::telemetry::telegram_call("edit_message", &result);
        match result {
            Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => {}
            Err(RequestError::RetryAfter(wait)) => {
                // teloxide's Throttle does not cover edits: honour Telegram's 429 ourselves, for
                // every call of every task to this chat.
                turn.met_429(wait.duration());
                drop(turn);
                if kind == Edit::Final {
                    self.chat_gate
                        .send_later(task.chat_id.0, edit(&self.bot, text, buttons), MAX_EDIT_WAIT);
                }
            }
            Err(e) => tracing::debug!(task_id = task.id.0, error = %e, "progress edit failed"),
        }
        if let Err(e) = self.storage.touch_progress(task.id).await {
            tracing::warn!(task_id = task.id.0, error = %e, "could not record the progress edit");
        }
    }

    /// The task's routine edit interval: the configured one (doubled in groups), stretched while
    /// so many tasks generate that they would not fit this instance's routine edits per second.
    fn routine_interval(&self, task: &TaskRow) -> Duration {
        let mut interval = self.settings.progress_edit_interval;
        if task.chat_id.0 < 0 {
            interval *= 2;
        }
        let generating = {
            let budget = self.edit_budget.lock().unwrap_or_else(|e| e.into_inner());
            budget.generating.max(budget.counting)
        };
        interval.max(Duration::from_secs_f64(
            generating as f64 / self.edit_share.per_sec(),
        ))
    }

    pub(super) fn progress_edit_due(&self, task: &TaskRow) -> bool {
        let last = task.progress_edited_at.unwrap_or(0);
        now_ms() - last >= self.routine_interval(task).as_millis() as i64
    }

    /// Counts tasks a poll found still generating; a poll interval's worth is how many tickers
    /// share the edit budget.
    pub(super) fn note_generating(&self, tasks: usize) {
        let now = now_ms();
        let window = self.settings.poll_interval.as_millis().max(1) as i64;
        let mut budget = self.edit_budget.lock().unwrap_or_else(|e| e.into_inner());
        if now - budget.window_start >= window {
            budget.generating = budget.counting;
            budget.counting = 0;
            budget.window_start = now;
        }
        budget.counting += tasks;
    }

    /// For the elapsed-time ticker: the edit is due, the chat is not rate-limited, and it took
    /// its turn; the caller then sends it as [`Edit::Admitted`].
    pub(super) fn routine_edit_ready(&self, task: &TaskRow) -> bool {
        task.progress_message_id.is_some()
            && self.progress_edit_due(task)
            && self.chat_gate.left(task.chat_id.0).is_none()
            && self.take_edit_turn(task)
    }

    /// A routine edit may go now: the chat's last one is far enough back and the budget has a
    /// token (taken here). Otherwise the edit is skipped; the task stays due and tries again at
    /// its next poll.
    fn take_edit_turn(&self, task: &TaskRow) -> bool {
        let now = now_ms();
        let chat_gap = if task.chat_id.0 < 0 {
            GROUP_CHAT_GAP
        } else {
            PRIVATE_CHAT_GAP
        };
        let mut interval = self.settings.progress_edit_interval;
        if task.chat_id.0 < 0 {
            interval *= 2;
        }
        let chat_gap = chat_gap.min(interval).as_millis() as i64;
        let per_sec = self.edit_share.per_sec();
        let mut budget = self.edit_budget.lock().unwrap_or_else(|e| e.into_inner());
        if budget
            .chat_next
            .get(&task.chat_id.0)
            .is_some_and(|next| *next > now)
        {
            return false;
        }
        let elapsed = (now - budget.refilled_at).max(0) as f64 / 1000.0;
        // At most a second's worth saved up (and at least one edit, for a share below one a
        // second).
        budget.tokens = (budget.tokens + elapsed * per_sec).min(per_sec.max(1.0));
        budget.refilled_at = now;
        if budget.tokens < 1.0 {
            return false;
        }
        budget.tokens -= 1.0;
        if budget.chat_next.len() > 4096 {
            budget.chat_next.retain(|_, next| *next > now);
        }
        budget.chat_next.insert(task.chat_id.0, now + chat_gap);
        true
    }

    /// Tells the user something final: on the progress message when there is one, else as a reply
    /// to the request. Best effort: the task's state is already stored. `buttons` go under the
    /// message.
    pub(super) async fn announce(&self, task: &TaskRow, text: String, buttons: Option<InlineKeyboardMarkup>) {
        if task.destination == crate::storage::DestinationKind::Api {
            // The API's client reads the outcome from the task; there is no chat to tell.
            return;
        }
        if task.progress_message_id.is_some() {
            self.edit_progress_with(task, text, Edit::Final, buttons).await;
            return;
        }
        let mut send = place_of(task).message(&self.bot, text);
        if let Some(buttons) = buttons {
            send = send.reply_markup(buttons);
        }
        if let Err(e) = send.await {
            tracing::warn!(task_id = task.id.0, error = %e, "could not tell the user");
        }
    }
}

/// Where the task's messages go: its chat and topic, replying to the request.
pub(super) fn place_of(task: &TaskRow) -> Place {
    Place::of_request(
        task.chat_id.0,
        task.thread_id.map(|id| id as i32),
        task.request_message_id as i32,
    )
}

/// Time since PixVerse accepted the task (or since it was requested, before that).
pub(super) fn elapsed(task: &TaskRow) -> Duration {
    let since = task.submitted_at.unwrap_or(task.created_at);
    Duration::from_millis((now_ms() - since).max(0) as u64)
}
