//! The 429 policy for answers sent from an update handler.
//!
//! Telegram answers "Too Many Requests: retry after N" per chat. teloxide hands one chat's
//! updates to one worker, one at a time, with 64 queued; when that queue is full the dispatcher
//! waits for it, and then no chat gets an answer. So a handler waits out a 429 only up to
//! [`HANDLER_PATIENCE`]; a longer wait moves the answer to a background task that sends it once
//! Telegram allows, and a chat known to be rate-limited is not even tried from the handler.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use teloxide::{
    RequestError,
    prelude::*,
    types::{MessageId, ReplyMarkup},
};
use tokio::time::Instant;

use super::Place;

/// The longest an update handler waits for Telegram's permission to send.
pub const HANDLER_PATIENCE: Duration = Duration::from_secs(1);
/// A deferred answer that would wait longer than this is dropped: the user has moved on.
const MAX_DEFERRED_WAIT: Duration = Duration::from_secs(60);
/// Answers waiting in the background per chat; past this a flood earns no more answers.
const MAX_DEFERRED_PER_CHAT: usize = 3;
/// Tries of one deferred answer (Telegram may answer 429 again after the wait).
const DEFERRED_TRIES: u32 = 3;

/// What became of an answer.
#[derive(Debug)]
pub enum Sent {
    /// Sent now, as this message.
    Now(MessageId),
    /// The chat is rate-limited: sent later from the background (or dropped then).
    Later,
    /// The chat is rate-limited and the answer was not kept (see [`Late`]).
    Dropped,
}

/// Per chat: until when Telegram asked us to wait, and how many answers wait in the background.
#[derive(Debug, Default)]
pub struct Cooldowns {
    chats: Mutex<HashMap<ChatId, Cooldown>>,
}

#[derive(Debug, Clone, Copy)]
struct Cooldown {
    until: Instant,
    deferred: usize,
}

impl Cooldowns {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ChatId, Cooldown>> {
        self.chats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long `chat` must still wait, if at all.
    fn wait_for(&self, chat: ChatId) -> Option<Duration> {
        let now = Instant::now();
        self.lock()
            .get(&chat)
            .and_then(|c| c.until.checked_duration_since(now))
            .filter(|wait| !wait.is_zero())
    }

    fn note_retry_after(&self, chat: ChatId, wait: Duration) {
        let now = Instant::now();
        let mut chats = self.lock();
        // Forget chats whose wait is over and that hold nothing, so the map stays small.
        chats.retain(|_, c| c.until > now || c.deferred > 0);
        let entry = chats.entry(chat).or_insert(Cooldown {
            until: now,
            deferred: 0,
        });
        entry.until = entry.until.max(now + wait);
    }

    /// Takes a background slot for `chat`; `false` when it has its share already.
    fn take_slot(&self, chat: ChatId) -> bool {
        let mut chats = self.lock();
        let entry = chats.entry(chat).or_insert(Cooldown {
            until: Instant::now(),
            deferred: 0,
        });
        if entry.deferred >= MAX_DEFERRED_PER_CHAT {
            return false;
        }
        entry.deferred += 1;
        true
    }

    fn free_slot(&self, chat: ChatId) {
        if let Some(entry) = self.lock().get_mut(&chat) {
            entry.deferred = entry.deferred.saturating_sub(1);
        }
    }
}

/// What to do with an answer the chat cannot take now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Late {
    /// Send it from the background once Telegram allows.
    SendLater,
    /// Drop it (someone else will say it: a progress message the worker replaces, say).
    Skip,
}

/// Sends `text` at `place` (with `markup` under it), waiting out a 429 only briefly: see the
/// module comment. Errors other than 429 are returned as they are.
pub async fn send_text(
    bot: &Bot,
    cooldowns: &Arc<Cooldowns>,
    place: Place,
    text: String,
    markup: Option<ReplyMarkup>,
    late: Late,
) -> Result<Sent, RequestError> {
    let request = |text: String| {
        let request = place.message(bot, text);
        match markup.clone() {
            Some(markup) => request.reply_markup(markup),
            None => request,
        }
    };
    let mut wait = cooldowns.wait_for(place.chat);
    for _ in 0..2 {
        match wait {
            Some(w) if w > HANDLER_PATIENCE => break,
            Some(w) => tokio::time::sleep(w).await,
            None => {}
        }
        let result = request(text.clone()).await;
        crate::telemetry::telegram_call("send_message", &result);
        match result {
            Err(RequestError::RetryAfter(after)) => {
                cooldowns.note_retry_after(place.chat, after.duration());
                wait = Some(after.duration());
            }
            other => return other.map(|sent| Sent::Now(sent.id)),
        }
    }
    let wait = wait.unwrap_or(HANDLER_PATIENCE);
    if late == Late::Skip || wait > MAX_DEFERRED_WAIT || !cooldowns.take_slot(place.chat) {
        tracing::debug!(chat_id = place.chat.0, "rate-limited chat: answer dropped");
        return Ok(Sent::Dropped);
    }
    let (bot, cooldowns, markup) = (bot.clone(), cooldowns.clone(), markup.clone());
    tokio::spawn(async move {
        send_later(&bot, &cooldowns, place, text, markup).await;
        cooldowns.free_slot(place.chat);
    });
    Ok(Sent::Later)
}

/// The background half of [`send_text`]: waits as Telegram asks, a few times at most.
async fn send_later(
    bot: &Bot,
    cooldowns: &Cooldowns,
    place: Place,
    text: String,
    markup: Option<ReplyMarkup>,
) {
    for _ in 0..DEFERRED_TRIES {
        if let Some(wait) = cooldowns.wait_for(place.chat) {
            if wait > MAX_DEFERRED_WAIT {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        let mut request = place.message(bot, text.clone());
        if let Some(markup) = markup.clone() {
            request = request.reply_markup(markup);
        }
        let result = request.await;
        crate::telemetry::telegram_call("send_message", &result);
        match result {
            Ok(_) => return,
            Err(RequestError::RetryAfter(after)) => {
                cooldowns.note_retry_after(place.chat, after.duration());
            }
            Err(e) => {
                tracing::warn!(chat_id = place.chat.0, error = %e, "a deferred answer failed");
                return;
            }
        }
    }
    tracing::info!(
        chat_id = place.chat.0,
        "a deferred answer was dropped: the chat stays rate-limited"
    );
}
