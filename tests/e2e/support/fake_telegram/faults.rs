//! Injected failures: queued per method, or sprinkled at random over sends and edits. A failure
//! that says something about a chat outlasts the call that revealed it, as on Telegram: a user
//! who blocked the bot stays blocked, a migrated group's old id keeps failing, a chat that was not
//! found stays missing, and a 429 keeps answering until its `retry_after` has passed.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use axum::{
    body::{Body, Bytes},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use rand::Rng as _;
use serde_json::{Map, Value, json};

use super::{
    ApiErr, FakeTelegram, TgChat, TgState,
    flood::{self, Throttled},
    params::param_i64,
};

/// A failure the fake returns instead of handling a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TgFault {
    /// 429 with `parameters.retry_after`: teloxide's `RequestError::RetryAfter`.
    RetryAfter(u32),
    /// 502 with an HTML body: teloxide sleeps 10 s, then returns `RequestError::InvalidJson`.
    ServerError,
    /// 403 "Forbidden: bot was blocked by the user": `ApiError::BotBlocked`.
    Blocked,
    /// 400 "Bad Request: chat not found": `ApiError::ChatNotFound`.
    ChatNotFound,
    /// 400 with `parameters.migrate_to_chat_id`: `RequestError::MigrateToChatId`.
    Migrated(i64),
    /// The connection drops before the call is handled: nothing happened, the client sees a
    /// network error.
    Reset,
    /// The call is handled (the message is sent), then the connection drops before the answer
    /// arrives: the one way a client can send the same message twice.
    AnswerDropped,
}

/// What happens to a call before it is handled.
pub(super) enum Verdict {
    /// Handle it; with `drop_answer`, then drop the connection instead of answering.
    Handle { drop_answer: bool },
    /// Answer with `fault`'s error instead (recorded with `injected` and `throttled`).
    Refuse {
        fault: TgFault,
        injected: bool,
        throttled: Option<Throttled>,
    },
}

impl TgFault {
    pub(super) fn into_response(self) -> Response {
        match self {
            TgFault::ServerError => (
                StatusCode::BAD_GATEWAY,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            )
                .into_response(),
            TgFault::RetryAfter(secs) => ApiErr {
                status: StatusCode::TOO_MANY_REQUESTS,
                description: format!("Too Many Requests: retry after {secs}"),
                parameters: Some(json!({ "retry_after": secs })),
            }
            .into_response(),
            TgFault::Blocked => ApiErr {
                status: StatusCode::FORBIDDEN,
                description: "Forbidden: bot was blocked by the user".to_owned(),
                parameters: None,
            }
            .into_response(),
            TgFault::ChatNotFound => ApiErr::bad_request("chat not found").into_response(),
            TgFault::Migrated(to) => ApiErr {
                status: StatusCode::BAD_REQUEST,
                description: "Bad Request: group chat was upgraded to a supergroup chat".to_owned(),
                parameters: Some(json!({ "migrate_to_chat_id": to })),
            }
            .into_response(),
            TgFault::Reset => dropped_connection(),
            TgFault::AnswerDropped => unreachable!("a dropped answer is handled first"),
        }
    }

    pub(super) fn description(&self) -> String {
        match self {
            TgFault::RetryAfter(secs) => format!("Too Many Requests: retry after {secs}"),
            TgFault::ServerError => "502 Bad Gateway (HTML body)".to_owned(),
            TgFault::Blocked => "Forbidden: bot was blocked by the user".to_owned(),
            TgFault::ChatNotFound => "Bad Request: chat not found".to_owned(),
            TgFault::Migrated(to) => format!("Bad Request: group chat was upgraded (to {to})"),
            TgFault::Reset => "connection dropped before handling".to_owned(),
            TgFault::AnswerDropped => "handled, then the connection dropped".to_owned(),
        }
    }
}

impl TgState {
    /// Decides a call's fate before it is handled: the chat's lasting state first, then a fault
    /// queued for this method, then a 429 still running, then a random fault, then the limits.
    /// A fault may change the chat's lasting state or start a 429.
    pub(super) fn verdict(&mut self, method: &str, p: &Map<String, Value>) -> Verdict {
        let chat_id = param_i64(p, "chat_id");
        let now = Instant::now();
        if let Some(fate) = chat_id.and_then(|id| self.chat_fates.get(&id)) {
            return Verdict::Refuse {
                fault: fate.clone(),
                injected: false,
                throttled: None,
            };
        }
        let counted = flood::counts(method);
        let random_target = method.starts_with("send") || method.starts_with("edit");
        let limited = chat_id
            .and_then(|chat| self.rate_limited_chats.get(&chat))
            .copied();
        let queued = self
            .faults
            .get_mut(method)
            .and_then(VecDeque::pop_front)
            .or(limited.filter(|_| random_target).map(TgFault::RetryAfter));
        if queued.is_none()
            && counted
            && let Err((secs, throttled)) = self.flood.check_penalty(chat_id, now)
        {
            return Verdict::Refuse {
                fault: TgFault::RetryAfter(secs),
                injected: false,
                throttled: Some(throttled),
            };
        }
        if let Some(fault) = queued.or_else(|| self.random_fault(method)) {
            match (&fault, chat_id) {
                (TgFault::AnswerDropped, _) => return Verdict::Handle { drop_answer: true },
                (TgFault::RetryAfter(secs), _) if counted => {
                    self.flood.penalize_call(chat_id, now, *secs);
                }
                (TgFault::Blocked | TgFault::ChatNotFound | TgFault::Migrated(_), Some(id)) => {
                    self.chat_fates.insert(id, fault.clone());
                }
                _ => {}
            }
            return Verdict::Refuse {
                fault,
                injected: true,
                throttled: None,
            };
        }
        if counted && let Err((secs, throttled)) = self.flood.admit(chat_id, now) {
            return Verdict::Refuse {
                fault: TgFault::RetryAfter(secs),
                injected: false,
                throttled: Some(throttled),
            };
        }
        Verdict::Handle { drop_answer: false }
    }

    fn random_fault(&mut self, method: &str) -> Option<TgFault> {
        let random_target = method.starts_with("send") || method.starts_with("edit");
        if !random_target {
            return None;
        }
        let mut rng = rand::thread_rng();
        if self.fault_rate > 0 && rng.gen_range(0..100) < self.fault_rate {
            return Some(if rng.gen_bool(0.5) {
                TgFault::RetryAfter(1)
            } else {
                TgFault::Reset
            });
        }
        if method.starts_with("send")
            && self.answer_drop_rate > 0
            && rng.gen_range(0..100) < self.answer_drop_rate
        {
            return Some(TgFault::AnswerDropped);
        }
        None
    }
}

impl FakeTelegram {
    /// The next call to `method` (any case) fails with `fault`; queue several for several calls.
    pub fn fail_next(&self, method: &str, fault: TgFault) {
        self.state()
            .faults
            .entry(method.to_ascii_lowercase())
            .or_default()
            .push_back(fault);
    }

    /// The next call to `method` (any case) is handled at once (a message is in the chat), but
    /// its answer reaches the bot only `delay` later, as over a slow network; queue several
    /// for several calls.
    pub fn delay_next_answer(&self, method: &str, delay: Duration) {
        self.state()
            .answer_delays
            .entry(method.to_ascii_lowercase())
            .or_default()
            .push_back(delay);
    }

    /// From now on every send and edit to `chat` answers 429 "retry after `retry_after`", as
    /// Telegram does to a bot that floods one chat; `None` lifts it.
    pub fn rate_limit_chat(&self, chat: i64, retry_after: Option<u32>) {
        let mut st = self.state();
        match retry_after {
            Some(secs) => st.rate_limited_chats.insert(chat, secs),
            None => st.rate_limited_chats.remove(&chat),
        };
    }

    /// From now on `percent`% of send*/edit* calls fail before they are handled: half with
    /// `RetryAfter(1)` (whose wait then holds for the whole chat), half with a dropped
    /// connection. No 5xx: teloxide sleeps 10 s after one, which would make tests slow.
    pub fn set_fault_rate(&self, percent: u8) {
        self.state().fault_rate = percent.min(100);
    }

    /// From now on `percent`% of send* calls are handled but their answer is lost
    /// ([`TgFault::AnswerDropped`]).
    pub fn set_answer_drop_rate(&self, percent: u8) {
        self.state().answer_drop_rate = percent.min(100);
    }

    /// From now on calls to `method` (any case) hang: recorded, neither handled nor answered,
    /// as if Telegram were slow to take them, until [`FakeTelegram::drop_stalled_calls`].
    pub fn stall_calls(&self, method: &str) {
        self.state().stalled_methods.insert(method.to_ascii_lowercase());
        self.notify();
    }

    /// Ends the stall of [`FakeTelegram::stall_calls`]: the calls that hung fail with a dropped
    /// connection, never handled (as when the process that made them died); later ones are
    /// handled as usual.
    pub fn drop_stalled_calls(&self, method: &str) {
        self.state().stalled_methods.remove(&method.to_ascii_lowercase());
        self.notify();
    }

    /// The user blocked the bot: every later call to their chat answers 403, as on Telegram.
    pub fn block_bot(&self, chat: TgChat) {
        self.state().chat_fates.insert(chat.id(), TgFault::Blocked);
    }

    /// The group became a supergroup: every later call to its old id answers 400 with
    /// `migrate_to_chat_id`, as on Telegram.
    pub fn migrate_group(&self, old: TgChat, new: TgChat) {
        self.state()
            .chat_fates
            .insert(old.id(), TgFault::Migrated(new.id()));
    }
}

/// Headers, then a body that breaks off: the client sees a network error, not an answer.
pub(super) fn dropped_connection() -> Response {
    let body = Body::from_stream(futures_util::stream::once(async {
        Err::<Bytes, _>(std::io::Error::other("connection dropped by the fake"))
    }));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .expect("a valid response")
}
