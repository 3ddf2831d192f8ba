//! Injected failures: queued per method, or sprinkled at random over sends and edits.

use std::collections::VecDeque;

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use rand::Rng as _;
use serde_json::{Map, Value, json};

use super::{ApiErr, FakeTelegram, TgState, params::param_i64};

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
        }
    }

    pub(super) fn description(&self) -> String {
        match self {
            TgFault::RetryAfter(secs) => format!("Too Many Requests: retry after {secs}"),
            TgFault::ServerError => "502 Bad Gateway (HTML body)".to_owned(),
            TgFault::Blocked => "Forbidden: bot was blocked by the user".to_owned(),
            TgFault::ChatNotFound => "Bad Request: chat not found".to_owned(),
            TgFault::Migrated(to) => format!("Bad Request: group chat was upgraded (to {to})"),
        }
    }
}

impl TgState {
    pub(super) fn pop_fault(&mut self, method: &str, p: &Map<String, Value>) -> Option<TgFault> {
        if let Some(fault) = self.faults.get_mut(method).and_then(VecDeque::pop_front) {
            return Some(fault);
        }
        let random_target = method.starts_with("send") || method.starts_with("edit");
        let limited = param_i64(p, "chat_id").and_then(|chat| self.rate_limited_chats.get(&chat));
        if let (true, Some(&retry_after)) = (random_target, limited) {
            return Some(TgFault::RetryAfter(retry_after));
        }
        if random_target && self.fault_rate > 0 && rand::thread_rng().gen_range(0..100) < self.fault_rate {
            return Some(TgFault::RetryAfter(1));
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

    /// From now on every send and edit to `chat` answers 429 "retry after `retry_after`", as
    /// Telegram does to a bot that floods one chat; `None` lifts it.
    pub fn rate_limit_chat(&self, chat: i64, retry_after: Option<u32>) {
        let mut st = self.state();
        match retry_after {
            Some(secs) => st.rate_limited_chats.insert(chat, secs),
            None => st.rate_limited_chats.remove(&chat),
        };
    }

    /// From now on `percent`% of send*/edit* calls fail with `RetryAfter(1)`. Only 429 is used:
    /// teloxide sleeps 10 s after any 5xx, which would make tests slow.
    pub fn set_fault_rate(&self, percent: u8) {
        self.state().fault_rate = percent.min(100);
    }
}
