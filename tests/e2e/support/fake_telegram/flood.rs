//! Flood control as Telegram does it: limits per chat, per group and per bot that can be switched
//! on, and a 429 that keeps answering until its `retry_after` has passed (Telegram counts calls
//! made during that wait as further flooding; the fake records them, see [`Throttled`]).
//!
//! Only calls that put or change a message in a chat count: `send*` (not `sendChatAction`),
//! `edit*`, `copyMessage` and `forwardMessage`.

use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, Instant},
};

use super::FakeTelegram;

/// At most `messages` in any window of `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub messages: usize,
    pub per: Duration,
}

impl Rate {
    pub fn per_second(messages: usize) -> Self {
        Self {
            messages,
            per: Duration::from_secs(1),
        }
    }

    pub fn per_minute(messages: usize) -> Self {
        Self {
            messages,
            per: Duration::from_secs(60),
        }
    }
}

/// Which limits are on. Off (all `None`) by default, so tests that do not look at pacing are not
/// slowed down by it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FloodControl {
    /// Every chat, private or group (Telegram: about one message a second).
    pub per_chat: Option<Rate>,
    /// Groups, on top of `per_chat` (Telegram: about 20 messages a minute).
    pub per_group: Option<Rate>,
    /// All chats together (Telegram: about 30 messages a second).
    pub global: Option<Rate>,
}

impl FloodControl {
    /// Telegram's documented limits: 1/s per chat, 20/min per group, 30/s in all.
    pub fn telegram() -> Self {
        Self {
            per_chat: Some(Rate::per_second(1)),
            per_group: Some(Rate::per_minute(20)),
            global: Some(Rate::per_second(30)),
        }
    }
}

/// What a 429 was about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Chat(i64),
    Group(i64),
    Global,
}

/// Why a call got a 429 from flood control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Throttled {
    /// The call went over a limit: the bot sent too fast.
    OverLimit(Scope),
    /// The call came while an earlier 429's `retry_after` had not passed: the bot did not wait.
    DuringPenalty(Scope),
}

#[derive(Default)]
pub(super) struct Flood {
    pub(super) control: FloodControl,
    /// Accepted counted calls per scope, oldest first (pruned to the longest window).
    sent: HashMap<Scope, VecDeque<Instant>>,
    /// Scope -> until when every counted call in it gets a 429.
    penalties: HashMap<Scope, Instant>,
}

/// Whether a call counts against flood limits.
pub(super) fn counts(method: &str) -> bool {
    (method.starts_with("send") && method != "sendchataction")
        || method.starts_with("edit")
        || method == "copymessage"
        || method == "forwardmessage"
}

fn scopes(chat_id: Option<i64>) -> Vec<Scope> {
    match chat_id {
        Some(id) if id < 0 => vec![Scope::Chat(id), Scope::Group(id), Scope::Global],
        Some(id) => vec![Scope::Chat(id), Scope::Global],
        None => vec![Scope::Global],
    }
}

/// Whole seconds, rounded up, at least 1: Telegram's `retry_after` is an integer.
fn whole_seconds(wait: Duration) -> u32 {
    (wait.as_secs_f64().ceil() as u32).max(1)
}

impl Flood {
    /// A 429 still running for `chat_id` (or the bot): how much longer, and about what.
    pub(super) fn check_penalty(&self, chat_id: Option<i64>, now: Instant) -> Result<(), (u32, Throttled)> {
        for scope in scopes(chat_id) {
            if let Some(until) = self.penalties.get(&scope).filter(|until| **until > now) {
                return Err((whole_seconds(*until - now), Throttled::DuringPenalty(scope)));
            }
        }
        Ok(())
    }

    /// Admits a counted call to `chat_id` at `now` under the limits, or answers how long to wait.
    pub(super) fn admit(&mut self, chat_id: Option<i64>, now: Instant) -> Result<(), (u32, Throttled)> {
        let scopes = scopes(chat_id);
        for scope in &scopes {
            let Some(rate) = self.rate(*scope) else { continue };
            let sent = self.sent.entry(*scope).or_default();
            while sent.front().is_some_and(|at| now.duration_since(*at) >= rate.per) {
                sent.pop_front();
            }
            if sent.len() >= rate.messages {
                let free_at = sent[sent.len() - rate.messages] + rate.per;
                let wait = whole_seconds(free_at.saturating_duration_since(now));
                self.penalize(*scope, now, wait);
                return Err((wait, Throttled::OverLimit(*scope)));
            }
        }
        for scope in scopes {
            if self.rate(scope).is_some() {
                self.sent.entry(scope).or_default().push_back(now);
            }
        }
        Ok(())
    }

    /// A 429 with `retry_after` was answered for a call to `chat_id`: its chat (or the whole bot,
    /// for a call without a chat) waits that long.
    pub(super) fn penalize_call(&mut self, chat_id: Option<i64>, now: Instant, retry_after: u32) {
        let scope = chat_id.map_or(Scope::Global, Scope::Chat);
        self.penalize(scope, now, retry_after);
    }

    fn penalize(&mut self, scope: Scope, now: Instant, retry_after: u32) {
        let until = now + Duration::from_secs(retry_after.into());
        let entry = self.penalties.entry(scope).or_insert(until);
        *entry = (*entry).max(until);
    }

    fn rate(&self, scope: Scope) -> Option<Rate> {
        match scope {
            Scope::Chat(_) => self.control.per_chat,
            Scope::Group(_) => self.control.per_group,
            Scope::Global => self.control.global,
        }
    }
}

impl FakeTelegram {
    /// Switches flood limits on (or off, with `FloodControl::default()`). 429s already answered
    /// keep their `retry_after` either way.
    pub fn set_flood_control(&self, control: FloodControl) {
        self.state().flood.control = control;
    }

    /// Calls that got a 429 from flood control, with why.
    pub fn throttled_calls(&self) -> Vec<(super::TgCall, Throttled)> {
        self.state()
            .calls
            .iter()
            .filter_map(|c| c.throttled.map(|t| (c.clone(), t)))
            .collect()
    }

    /// Calls made while an earlier 429's `retry_after` had not passed for their chat (or the
    /// bot): each is a `retry_after` the bot did not honour.
    pub fn calls_ignoring_retry_after(&self) -> Vec<super::TgCall> {
        self.throttled_calls()
            .into_iter()
            .filter(|(_, t)| matches!(t, Throttled::DuringPenalty(_)))
            .map(|(c, _)| c)
            .collect()
    }
}
