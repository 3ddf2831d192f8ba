//! A stateful fake of the Telegram Bot API, good enough that teloxide 0.17 cannot tell it from
//! api.telegram.org for the methods this bot uses.
//!
//! - `POST /bot<token>/<Method>` (teloxide sends PascalCase; matched case-insensitively) with a
//!   JSON, url-encoded or multipart body. Every request is recorded as a [`TgCall`].
//! - `GET /file/bot<token>/<file_path>` serves files registered by `send_photo`/`send_document`
//!   and files the bot uploaded.
//! - `getUpdates` long-polls like Telegram: it holds the request until an update is queued or
//!   `timeout` seconds pass, confirms updates through `offset`, honours `allowed_updates`, and a
//!   newer `getUpdates` terminates an older waiting one with 409 (as Telegram does).
//! - Group chats behave as with privacy mode on (the default for bots): only commands, mentions of
//!   the bot and replies to the bot's messages reach it. See [`FakeTelegram::set_privacy_mode`].
//!
//! Tests wait on state with [`FakeTelegram::wait_for`], which wakes on every change.
//!
//! Split by concern: `server` (routing, the method table), `params` (request decoding),
//! `updates` (user actions and `getUpdates`), `messages` (the chats' message store), `files`,
//! `chats` (users and chats), `faults` (injected failures) and `record` (calls and dumps).
#![allow(dead_code)] // each test uses a different part of the API

mod chat_events;
mod chats;
mod faults;
mod files;
mod flood;
mod messages;
mod params;
mod record;
mod server;
mod updates;

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use tokio::sync::watch;

// The benchmark includes this module too and uses only a part of it.
#[allow(unused_imports)]
pub use {
    chat_events::OnBehalf,
    chats::{TgChat, TgUser},
    faults::TgFault,
    flood::{FloodControl, Rate, Scope, Throttled},
    messages::BotMessage,
    record::TgCall,
};

use files::FileEntry;
use messages::ChatState;

/// The token the fake accepts; anything else gets 401 Unauthorized.
pub const BOT_TOKEN: &str = "123456:TEST-TOKEN-abcdefghijklmnop";
/// The bot's username, as returned by `getMe`.
pub const BOT_USERNAME: &str = "pixverse_test_bot";
/// The bot's user id (the number before the colon in the token, as with Telegram).
pub const BOT_ID: i64 = 123456;
/// The bot's display name.
pub const BOT_FIRST_NAME: &str = "PixVerse Test Bot";

/// Telegram's `getFile` limit for bots on the public Bot API.
const GET_FILE_LIMIT: u64 = 20 * 1024 * 1024;
/// Telegram's upload limit for bots on the public Bot API.
const UPLOAD_LIMIT: usize = 50 * 1024 * 1024;
const TEXT_LIMIT: usize = 4096;
const CAPTION_LIMIT: usize = 1024;
const CALLBACK_DATA_LIMIT: usize = 64;

/// The fake server. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct FakeTelegram {
    inner: Arc<Inner>,
}

struct Inner {
    addr: std::net::SocketAddr,
    started: Instant,
    state: Mutex<TgState>,
    /// Bumped on every state change; `wait_for` and long polls subscribe to it.
    changed: watch::Sender<u64>,
}

#[derive(Default)]
struct TgState {
    calls: Vec<TgCall>,
    next_update_id: u32,
    updates: VecDeque<Value>,
    /// `allowed_updates` from the last getUpdates that set it (Telegram keeps it until changed).
    allowed_updates: Option<Vec<String>>,
    /// Updates that were never delivered (privacy mode, or `allowed_updates` excluded them).
    withheld_updates: Vec<(String, Value)>,
    /// Incremented by every getUpdates; a waiting poll that sees a newer one answers 409.
    poll_generation: u64,
    /// getUpdates calls ended by a newer one (409): more than one bot instance polls.
    poll_conflicts: usize,
    chats: HashMap<i64, ChatState>,
    users: HashMap<i64, TgUser>,
    files: HashMap<String, FileEntry>,
    next_file_seq: u64,
    faults: HashMap<String, VecDeque<TgFault>>,
    /// Per method: how long the next calls' answers are held back after they were handled.
    answer_delays: HashMap<String, VecDeque<Duration>>,
    fault_rate: u8,
    answer_drop_rate: u8,
    /// Chats whose every call fails this way (blocked the bot, migrated, not found).
    chat_fates: HashMap<i64, TgFault>,
    flood: flood::Flood,
    /// Chats every send and edit to which answers 429 with this `retry_after` (seconds).
    rate_limited_chats: HashMap<i64, u32>,
    /// Methods whose calls wait unanswered (and unhandled) until the stall ends.
    stalled_methods: HashSet<String>,
    next_callback_seq: u64,
    open_callbacks: HashSet<String>,
    commands: HashMap<String, Value>,
    privacy_off: bool,
    /// Chats that are basic groups (type "group"), not supergroups, until they migrate.
    basic_groups: HashSet<i64>,
}

/// An error response: HTTP status, description and optional `parameters`.
struct ApiErr {
    status: StatusCode,
    description: String,
    parameters: Option<Value>,
}

impl ApiErr {
    fn bad_request(what: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            description: format!("Bad Request: {what}"),
            parameters: None,
        }
    }

    fn into_response(self) -> Response {
        let mut body = json!({
            "ok": false,
            "error_code": self.status.as_u16(),
            "description": self.description,
        });
        if let Some(parameters) = self.parameters {
            body["parameters"] = parameters;
        }
        (self.status, Json(body)).into_response()
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn bot_user_json() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME })
}

impl FakeTelegram {
    /// Starts the server on 127.0.0.1 with a random port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Telegram");
        let addr = listener.local_addr().expect("local addr");
        let (changed, _) = watch::channel(0u64);
        let fake = FakeTelegram {
            inner: Arc::new(Inner {
                addr,
                started: Instant::now(),
                state: Mutex::new(TgState::default()),
                changed,
            }),
        };
        let app = server::router(fake.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake Telegram server");
        });
        fake
    }

    /// The Bot API base URL, for `TELOXIDE_API_URL` or `Bot::set_api_url`.
    pub fn api_url(&self) -> String {
        format!("http://{}/", self.inner.addr)
    }

    fn state(&self) -> MutexGuard<'_, TgState> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn notify(&self) {
        self.inner.changed.send_modify(|v| *v += 1);
    }

    /// Waits until `pred` holds, re-checking on every state change. Panics after `deadline`
    /// with `what` and a dump of every call.
    pub async fn wait_for(&self, what: &str, deadline: Duration, pred: impl Fn(&FakeTelegram) -> bool) {
        let mut changes = self.inner.changed.subscribe();
        let waiting = async {
            loop {
                if pred(self) {
                    return;
                }
                if changes.changed().await.is_err() {
                    return;
                }
            }
        };
        if tokio::time::timeout(deadline, waiting).await.is_err() {
            panic!("timed out after {deadline:?} waiting for {what}\n{}", self.dump());
        }
    }
}
