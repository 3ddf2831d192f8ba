//! Telegram's flood control, per chat, for every call the worker makes there (progress edits,
//! videos, links): one call at a time per chat, and none while a 429's `retry_after` runs.
//!
//! A 429 holds for the whole chat, so a call of another task meanwhile would only meet another
//! 429 (and Telegram counts those against the bot). Taking turns closes the race in which two
//! deliveries check "no wait", and both send, one of them into the wait the other just met.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use teloxide::{RequestError, requests::Request};
use tokio::sync::OwnedMutexGuard;

use crate::storage::now_ms;

#[derive(Clone, Debug, Default)]
pub(super) struct ChatGate(Arc<Mutex<HashMap<i64, Chat>>>);

#[derive(Debug, Default)]
struct Chat {
    /// Nothing goes to the chat before this time (ms).
    paused_until: i64,
    /// Held by the call under way.
    turn: Arc<tokio::sync::Mutex<()>>,
}

/// The chat's turn: hold it while calling Telegram there, and record a 429 with it.
pub(super) struct Turn {
    gate: ChatGate,
    chat_id: i64,
    _held: OwnedMutexGuard<()>,
}

impl Turn {
    /// Telegram answered 429: nothing goes to the chat for `wait`.
    pub(super) fn met_429(&self, wait: Duration) {
        self.gate.pause(self.chat_id, wait);
    }
}

impl Drop for Turn {
    /// Forgets a chat nobody else waits for and with no wait left, so the map holds only the
    /// chats with calls under way or waits running.
    fn drop(&mut self) {
        let mut chats = self.gate.lock();
        if let Some(chat) = chats.get(&self.chat_id)
            && chat.paused_until <= now_ms()
            // The map's handle and this turn's guard: nobody else holds or waits for it.
            && Arc::strong_count(&chat.turn) <= 2
        {
            chats.remove(&self.chat_id);
        }
    }
}

impl ChatGate {
    /// How much of the chat's wait is left, if any.
    pub(super) fn left(&self, chat_id: i64) -> Option<Duration> {
        let until = self.lock().get(&chat_id)?.paused_until;
        let left = until - now_ms();
        (left > 0).then(|| Duration::from_millis(left as u64))
    }

    /// Waits for the chat's turn; `Err` with the time left while Telegram's wait runs.
    pub(super) async fn turn(&self, chat_id: i64) -> Result<Turn, Duration> {
        let turn = self.lock().entry(chat_id).or_default().turn.clone();
        let held = turn.lock_owned().await;
        self.admit(chat_id, held)
    }

    /// The chat's turn if it is free now; `Err` with the time left of a wait, or `None` when
    /// another call is under way.
    pub(super) fn try_turn(&self, chat_id: i64) -> Result<Turn, Option<Duration>> {
        let turn = self.lock().entry(chat_id).or_default().turn.clone();
        let held = turn.try_lock_owned().map_err(|_| None)?;
        self.admit(chat_id, held).map_err(Some)
    }

    fn admit(&self, chat_id: i64, held: OwnedMutexGuard<()>) -> Result<Turn, Duration> {
        match self.left(chat_id) {
            Some(wait) => Err(wait),
            None => Ok(Turn {
                gate: self.clone(),
                chat_id,
                _held: held,
            }),
        }
    }

    fn pause(&self, chat_id: i64, wait: Duration) {
        let now = now_ms();
        let mut chats = self.lock();
        // Forget the chats nobody waits for any more (no wait left, no call under way).
        chats.retain(|_, c| c.paused_until > now || Arc::strong_count(&c.turn) > 1);
        let chat = chats.entry(chat_id).or_default();
        chat.paused_until = chat.paused_until.max(now + wait.as_millis() as i64);
    }

    /// Sends `request` to the chat in the background, once its wait (if any) is over and it is
    /// the chat's turn: a little after the wait, spread so that the chat's other late calls do
    /// not all return at the same instant. Gives up after `max_wait` in all.
    pub(super) fn send_later<R>(&self, chat_id: i64, request: R, max_wait: Duration)
    where
        R: Request<Err = RequestError> + Send + 'static,
        R::Send: Send,
    {
        let gate = self.clone();
        let started = now_ms();
        tokio::spawn(async move {
            loop {
                match gate.turn(chat_id).await {
                    Ok(turn) => {
                        if let Err(RequestError::RetryAfter(wait)) = request.send().await {
                            turn.met_429(wait.duration());
                        }
                        return;
                    }
                    Err(wait) => {
                        let spread = wait.mul_f64(rand::random::<f64>() / 2.0);
                        if now_ms() - started + (wait + spread).as_millis() as i64
                            > max_wait.as_millis() as i64
                        {
                            return;
                        }
                        tokio::time::sleep(wait + spread).await;
                    }
                }
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Chat>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
