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
#![allow(dead_code)] // each test uses a different part of the API

use std::{
    collections::{HashMap, HashSet, VecDeque},
    fmt::Write as _,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Form, Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State},
    http::{Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{any, get},
};
use rand::Rng;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

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

/// A Telegram user who talks to the bot.
#[derive(Clone, Debug)]
pub struct TgUser {
    pub id: i64,
    pub first_name: String,
    pub username: Option<String>,
    pub language_code: Option<String>,
}

impl TgUser {
    /// A user named `User<id>` with username `user<id>` and language `en`.
    pub fn new(id: i64) -> Self {
        Self {
            id,
            first_name: format!("User{id}"),
            username: Some(format!("user{id}")),
            language_code: Some("en".to_owned()),
        }
    }

    /// The same user with another `language_code`.
    pub fn lang(mut self, code: &str) -> Self {
        self.language_code = Some(code.to_owned());
        self
    }

    fn to_json(&self) -> Value {
        let mut user = json!({ "id": self.id, "is_bot": false, "first_name": self.first_name });
        if let Some(username) = &self.username {
            user["username"] = json!(username);
        }
        if let Some(code) = &self.language_code {
            user["language_code"] = json!(code);
        }
        user
    }
}

/// A chat: a private chat with a user, or a supergroup (negative id, e.g. `-1001234567890`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TgChat {
    Private(i64),
    /// Type "supergroup"; the id must be negative, as Telegram's are.
    Group(i64),
}

impl TgChat {
    /// The chat id the bot sees.
    pub fn id(self) -> i64 {
        match self {
            TgChat::Private(id) | TgChat::Group(id) => id,
        }
    }

    fn from_id(id: i64) -> Self {
        if id < 0 {
            TgChat::Group(id)
        } else {
            TgChat::Private(id)
        }
    }
}

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

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct TgCall {
    /// Lower-case method name, e.g. "sendmessage"; "download" for a file download.
    pub method: String,
    /// All parameters as one JSON object. Fields that arrive as JSON strings in multipart or
    /// url-encoded bodies (`reply_markup`, `reply_parameters`, ...) are decoded to JSON, and
    /// integer ids to numbers, so a parameter looks the same whichever encoding teloxide chose.
    pub params: Value,
    /// Uploaded file parts: (parameter name, file name, byte length). For teloxide's
    /// `attach://<id>` uploads the parameter name is the one that referenced the part
    /// (e.g. "video"), not the random part name.
    pub files: Vec<(String, String, usize)>,
    pub at: Instant,
    /// The error description returned, if the call failed (a fault or a natural error).
    pub error: Option<String>,
    /// The injected fault, if one was returned.
    pub fault: Option<TgFault>,
}

/// A message the bot sent, as it stands now (after edits and deletes).
#[derive(Clone, Debug, PartialEq)]
pub struct BotMessage {
    pub message_id: i32,
    pub text: Option<String>,
    pub caption: Option<String>,
    pub reply_to: Option<i32>,
    pub deleted: bool,
    pub video_file_id: Option<String>,
    /// The inline keyboard (`{"inline_keyboard": [...]}`), if any.
    pub reply_markup: Option<Value>,
    pub edits: u32,
    /// "video", "photo" or "document" for media messages.
    pub media_kind: Option<String>,
    /// The file id of the media (the largest size for photos).
    pub file_id: Option<String>,
}

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
    chats: HashMap<i64, ChatState>,
    users: HashMap<i64, TgUser>,
    files: HashMap<String, FileEntry>,
    next_file_seq: u64,
    faults: HashMap<String, VecDeque<TgFault>>,
    fault_rate: u8,
    next_callback_seq: u64,
    open_callbacks: HashSet<String>,
    commands: HashMap<String, Value>,
    privacy_off: bool,
}

struct ChatState {
    last_message_id: i32,
    messages: Vec<StoredMessage>,
}

#[derive(Clone, Debug)]
struct StoredMessage {
    id: i32,
    from: Value,
    from_bot: bool,
    date: i64,
    edit_date: Option<i64>,
    text: Option<String>,
    entities: Option<Value>,
    caption: Option<String>,
    caption_entities: Option<Value>,
    /// ("photo" | "video" | "document", the JSON Telegram puts under that key, file id).
    media: Option<(&'static str, Value, String)>,
    reply_to: Option<i32>,
    reply_markup: Option<Value>,
    deleted: bool,
    edits: u32,
}

struct FileEntry {
    unique_id: String,
    path: String,
    size: u64,
    /// None for files that only report a size (`send_big_photo`, send-by-URL).
    bytes: Option<Bytes>,
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

impl TgFault {
    fn into_response(self) -> Response {
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

    fn description(&self) -> String {
        match self {
            TgFault::RetryAfter(secs) => format!("Too Many Requests: retry after {secs}"),
            TgFault::ServerError => "502 Bad Gateway (HTML body)".to_owned(),
            TgFault::Blocked => "Forbidden: bot was blocked by the user".to_owned(),
            TgFault::ChatNotFound => "Bad Request: chat not found".to_owned(),
            TgFault::Migrated(to) => format!("Bad Request: group chat was upgraded (to {to})"),
        }
    }
}

/// A file part of a multipart request.
struct Upload {
    /// The parameter it belongs to (resolved through `attach://`).
    field: String,
    file_name: String,
    bytes: Bytes,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn bot_user_json() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME })
}

/// `bot_command` entity for a leading `/command` or `/command@bot`, in UTF-16 units.
fn command_entities(text: &str) -> Option<Value> {
    if !text.starts_with('/') {
        return None;
    }
    let word = text.split_whitespace().next()?;
    Some(json!([{ "type": "bot_command", "offset": 0, "length": word.encode_utf16().count() }]))
}

/// Whether a group message reaches a bot in privacy mode: commands (not addressed to another
/// bot) and mentions of the bot. Replies to the bot are checked by the caller.
fn privacy_mode_lets_through(text: Option<&str>) -> bool {
    let Some(text) = text else { return false };
    if text.contains(&format!("@{BOT_USERNAME}")) {
        return true;
    }
    match text.split_whitespace().next() {
        Some(word) if word.starts_with('/') => match word.split_once('@') {
            Some((_, bot)) => bot.eq_ignore_ascii_case(BOT_USERNAME),
            None => true,
        },
        _ => false,
    }
}

fn mime_for(file_name: &str) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "mp4" => "video/mp4",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// Parameters that hold integers; url-encoded and multipart bodies send them as text.
const INT_PARAMS: &[&str] = &[
    "chat_id",
    "message_id",
    "reply_to_message_id",
    "message_thread_id",
    "from_chat_id",
    "user_id",
    "offset",
    "limit",
    "timeout",
    "duration",
    "width",
    "height",
    "cache_time",
];
const BOOL_PARAMS: &[&str] = &[
    "supports_streaming",
    "disable_notification",
    "protect_content",
    "has_spoiler",
    "show_alert",
    "show_caption_above_media",
    "disable_content_type_detection",
    "drop_pending_updates",
    "allow_sending_without_reply",
];

/// A text field as JSON: objects/arrays are decoded, known integer/bool params converted.
fn decode_text_value(key: &str, value: &str) -> Value {
    let trimmed = value.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(v) = serde_json::from_str(value)
    {
        return v;
    }
    if INT_PARAMS.contains(&key)
        && let Ok(n) = value.parse::<i64>()
    {
        return json!(n);
    }
    if BOOL_PARAMS.contains(&key)
        && let Ok(b) = value.parse::<bool>()
    {
        return json!(b);
    }
    json!(value)
}

/// JSON bodies may still carry JSON-in-a-string fields (other clients do that); decode them.
fn normalize_json_params(params: &mut Map<String, Value>) {
    for (key, value) in params.iter_mut() {
        if let Value::String(s) = value {
            let decoded = decode_text_value(key, s);
            if !decoded.is_string() {
                *value = decoded;
            }
        }
    }
}

fn param_i64(p: &Map<String, Value>, key: &str) -> Option<i64> {
    match p.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn param_str<'a>(p: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    p.get(key)?.as_str()
}

fn param_bool(p: &Map<String, Value>, key: &str) -> bool {
    match p.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// The inline keyboard of a `reply_markup` parameter. Telegram echoes only inline keyboards in
/// the returned Message; reply keyboards and `remove_keyboard` are accepted and not stored.
fn inline_markup(p: &Map<String, Value>) -> Result<Option<Value>, ApiErr> {
    let Some(markup) = p.get("reply_markup") else {
        return Ok(None);
    };
    let Some(rows) = markup.get("inline_keyboard") else {
        return Ok(None);
    };
    for button in rows
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r.as_array().into_iter().flatten())
    {
        if let Some(data) = button.get("callback_data").and_then(Value::as_str)
            && (data.is_empty() || data.len() > CALLBACK_DATA_LIMIT)
        {
            return Err(ApiErr::bad_request("BUTTON_DATA_INVALID"));
        }
    }
    Ok(Some(markup.clone()))
}

impl TgState {
    fn chat_mut(&mut self, chat_id: i64) -> &mut ChatState {
        self.chats.entry(chat_id).or_insert_with(|| ChatState {
            last_message_id: 0,
            messages: Vec::new(),
        })
    }

    fn chat_json(&self, chat_id: i64) -> Value {
        match TgChat::from_id(chat_id) {
            TgChat::Private(id) => {
                let mut chat = json!({ "id": id, "type": "private" });
                match self.users.get(&id) {
                    Some(user) => {
                        chat["first_name"] = json!(user.first_name);
                        if let Some(username) = &user.username {
                            chat["username"] = json!(username);
                        }
                    }
                    None => chat["first_name"] = json!(format!("User{id}")),
                }
                chat
            }
            TgChat::Group(id) => {
                json!({ "id": id, "type": "supergroup", "title": format!("Test group {id}") })
            }
        }
    }

    fn message(&self, chat_id: i64, message_id: i32) -> Option<&StoredMessage> {
        self.chats
            .get(&chat_id)?
            .messages
            .iter()
            .find(|m| m.id == message_id)
    }

    fn message_mut(&mut self, chat_id: i64, message_id: i32) -> Option<&mut StoredMessage> {
        self.chats
            .get_mut(&chat_id)?
            .messages
            .iter_mut()
            .find(|m| m.id == message_id)
    }

    /// The Message JSON Telegram would return; `reply_to_message` carries the original without
    /// its own `reply_to_message`, as Telegram does.
    fn render(&self, chat_id: i64, msg: &StoredMessage, with_reply: bool) -> Value {
        let mut m = json!({
            "message_id": msg.id,
            "from": msg.from,
            "chat": self.chat_json(chat_id),
            "date": msg.date,
        });
        if let Some(text) = &msg.text {
            m["text"] = json!(text);
        }
        if let Some(entities) = &msg.entities {
            m["entities"] = entities.clone();
        }
        if let Some((key, media, _)) = &msg.media {
            m[*key] = media.clone();
        }
        if let Some(caption) = &msg.caption {
            m["caption"] = json!(caption);
        }
        if let Some(entities) = &msg.caption_entities {
            m["caption_entities"] = entities.clone();
        }
        if let Some(markup) = &msg.reply_markup {
            m["reply_markup"] = markup.clone();
        }
        if let Some(edit_date) = msg.edit_date {
            m["edit_date"] = json!(edit_date);
        }
        if with_reply && let Some(original) = msg.reply_to.and_then(|id| self.message(chat_id, id)) {
            m["reply_to_message"] = self.render(chat_id, original, false);
        }
        m
    }

    fn store(&mut self, chat_id: i64, mut msg: StoredMessage) -> i32 {
        let chat = self.chat_mut(chat_id);
        chat.last_message_id += 1;
        msg.id = chat.last_message_id;
        chat.messages.push(msg);
        chat.last_message_id
    }

    fn push_update(&mut self, kind: &str, payload: Value) {
        if self.next_update_id == 0 {
            self.next_update_id = 10_000;
        }
        let id = self.next_update_id;
        self.next_update_id += 1;
        let mut update = json!({ "update_id": id });
        update[kind] = payload;
        self.updates.push_back(update);
    }

    fn register_file(&mut self, dir: &str, ext: &str, size: u64, bytes: Option<Bytes>) -> String {
        self.next_file_seq += 1;
        let seq = self.next_file_seq;
        let file_id = format!("AgAD{dir}{seq:06}-fake-file-id");
        self.files.insert(
            file_id.clone(),
            FileEntry {
                unique_id: format!("AQAD{seq:06}"),
                path: format!("{dir}/file_{seq}.{ext}"),
                size,
                bytes,
            },
        );
        file_id
    }

    fn file_meta(&self, file_id: &str) -> Value {
        let file = &self.files[file_id];
        json!({ "file_id": file_id, "file_unique_id": file.unique_id, "file_size": file.size })
    }

    /// Three sizes like Telegram's `photo` arrays; only the largest holds the real bytes.
    fn register_photo(&mut self, size: u64, bytes: Option<Bytes>) -> (Value, String) {
        let mut sizes = Vec::new();
        for (w, h, small) in [(90u32, 51u32, 1_200u64), (320, 180, 12_000)] {
            let small = small.min(size.max(1));
            let id = self.register_file(
                "photos",
                "jpg",
                small,
                Some(Bytes::from(vec![0u8; small as usize])),
            );
            let mut meta = self.file_meta(&id);
            meta["width"] = json!(w);
            meta["height"] = json!(h);
            sizes.push(meta);
        }
        let id = self.register_file("photos", "jpg", size, bytes);
        let mut meta = self.file_meta(&id);
        meta["width"] = json!(1280);
        meta["height"] = json!(720);
        sizes.push(meta);
        (Value::Array(sizes), id)
    }

    fn pop_fault(&mut self, method: &str) -> Option<TgFault> {
        if let Some(fault) = self.faults.get_mut(method).and_then(VecDeque::pop_front) {
            return Some(fault);
        }
        let random_target = method.starts_with("send") || method.starts_with("edit");
        if random_target && self.fault_rate > 0 && rand::thread_rng().gen_range(0..100) < self.fault_rate {
            return Some(TgFault::RetryAfter(1));
        }
        None
    }

    /// The reply target of a send, from `reply_parameters` or the legacy `reply_to_message_id`.
    fn reply_target(&self, chat_id: i64, p: &Map<String, Value>) -> Result<Option<i32>, ApiErr> {
        let (id, allow_missing) = match p.get("reply_parameters") {
            Some(rp) => {
                let Some(rp) = rp.as_object() else {
                    return Ok(None);
                };
                (
                    param_i64(rp, "message_id"),
                    param_bool(rp, "allow_sending_without_reply"),
                )
            }
            None => (
                param_i64(p, "reply_to_message_id"),
                param_bool(p, "allow_sending_without_reply"),
            ),
        };
        let Some(id) = id else { return Ok(None) };
        let id = id as i32;
        match self.message(chat_id, id) {
            Some(m) if !m.deleted => Ok(Some(id)),
            _ if allow_missing => Ok(None),
            _ => Err(ApiErr::bad_request("message to be replied not found")),
        }
    }

    fn chat_param(&self, p: &Map<String, Value>) -> Result<i64, ApiErr> {
        match p.get("chat_id") {
            None => Err(ApiErr::bad_request("chat_id is empty")),
            Some(_) => param_i64(p, "chat_id").ok_or_else(|| ApiErr::bad_request("chat not found")),
        }
    }

    fn bot_message(text: Option<String>, caption: Option<String>) -> StoredMessage {
        StoredMessage {
            id: 0,
            from: bot_user_json(),
            from_bot: true,
            date: unix_now(),
            edit_date: None,
            text,
            entities: None,
            caption,
            caption_entities: None,
            media: None,
            reply_to: None,
            reply_markup: None,
            deleted: false,
            edits: 0,
        }
    }

    fn send_message(&mut self, p: &Map<String, Value>) -> Result<Value, ApiErr> {
        let chat_id = self.chat_param(p)?;
        let text = param_str(p, "text").unwrap_or_default();
        if text.trim().is_empty() {
            return Err(ApiErr::bad_request("message text is empty"));
        }
        if text.chars().count() > TEXT_LIMIT {
            return Err(ApiErr::bad_request("message is too long"));
        }
        let reply_to = self.reply_target(chat_id, p)?;
        let markup = inline_markup(p)?;
        let mut msg = Self::bot_message(Some(text.to_owned()), None);
        msg.reply_to = reply_to;
        msg.reply_markup = markup;
        let id = self.store(chat_id, msg);
        Ok(self.render(chat_id, self.message(chat_id, id).expect("just stored"), true))
    }

    /// sendVideo / sendPhoto / sendDocument.
    fn send_media(
        &mut self,
        kind: &'static str,
        p: &Map<String, Value>,
        uploads: &[Upload],
    ) -> Result<Value, ApiErr> {
        let chat_id = self.chat_param(p)?;
        let caption = param_str(p, "caption").map(str::to_owned);
        if caption
            .as_ref()
            .is_some_and(|c| c.chars().count() > CAPTION_LIMIT)
        {
            return Err(ApiErr::bad_request("message caption is too long"));
        }
        let reply_to = self.reply_target(chat_id, p)?;
        let markup = inline_markup(p)?;
        let Some(input) = param_str(p, kind) else {
            return Err(ApiErr::bad_request(&format!("there is no {kind} in the request")));
        };

        // Resolve the input: an uploaded part, a known file id, or a URL Telegram would fetch.
        let (file_id, file_name) = if input.starts_with("attach://") {
            let Some(upload) = uploads.iter().find(|u| u.field == kind) else {
                return Err(ApiErr::bad_request(&format!("there is no {kind} in the request")));
            };
            if upload.bytes.len() > UPLOAD_LIMIT {
                return Err(ApiErr {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    description: "Request Entity Too Large".to_owned(),
                    parameters: None,
                });
            }
            let ext = upload
                .file_name
                .rsplit_once('.')
                .map_or("bin", |(_, e)| e)
                .to_owned();
            let dir = format!("{kind}s");
            let id = self.register_file(&dir, &ext, upload.bytes.len() as u64, Some(upload.bytes.clone()));
            (id, Some(upload.file_name.clone()))
        } else if self.files.contains_key(input) {
            (input.to_owned(), None)
        } else if input.starts_with("http://") || input.starts_with("https://") {
            let dir = format!("{kind}s");
            let file_name = input.rsplit('/').next().unwrap_or("file").to_owned();
            (self.register_file(&dir, "bin", 1_048_576, None), Some(file_name))
        } else {
            return Err(ApiErr::bad_request("wrong file identifier/HTTP URL specified"));
        };

        let media = match kind {
            "photo" => {
                let size = self.files[&file_id].size;
                let bytes = self.files[&file_id].bytes.clone();
                let (sizes, largest) = self.register_photo(size, bytes);
                return self.store_media(chat_id, "photo", sizes, largest, caption, reply_to, markup);
            }
            "video" => {
                let mut video = self.file_meta(&file_id);
                video["width"] = json!(param_i64(p, "width").unwrap_or(1280));
                video["height"] = json!(param_i64(p, "height").unwrap_or(720));
                video["duration"] = json!(param_i64(p, "duration").unwrap_or(5));
                video["mime_type"] = json!("video/mp4");
                if let Some(name) = &file_name {
                    video["file_name"] = json!(name);
                }
                video
            }
            _ => {
                let mut document = self.file_meta(&file_id);
                let name = file_name.unwrap_or_else(|| "file".to_owned());
                document["mime_type"] = json!(mime_for(&name));
                document["file_name"] = json!(name);
                document
            }
        };
        self.store_media(chat_id, kind, media, file_id, caption, reply_to, markup)
    }

    #[allow(clippy::too_many_arguments)]
    fn store_media(
        &mut self,
        chat_id: i64,
        kind: &'static str,
        media: Value,
        file_id: String,
        caption: Option<String>,
        reply_to: Option<i32>,
        markup: Option<Value>,
    ) -> Result<Value, ApiErr> {
        let mut msg = Self::bot_message(None, caption);
        msg.media = Some((kind, media, file_id));
        msg.reply_to = reply_to;
        msg.reply_markup = markup;
        let id = self.store(chat_id, msg);
        Ok(self.render(chat_id, self.message(chat_id, id).expect("just stored"), true))
    }

    /// editMessageText / editMessageCaption / editMessageReplyMarkup.
    fn edit(&mut self, method: &str, p: &Map<String, Value>) -> Result<Value, ApiErr> {
        if p.contains_key("inline_message_id") {
            return Err(ApiErr::bad_request("message to edit not found"));
        }
        let chat_id = self.chat_param(p)?;
        let message_id = param_i64(p, "message_id")
            .ok_or_else(|| ApiErr::bad_request("message identifier is not specified"))?
            as i32;
        let markup = inline_markup(p)?;
        let new_text = param_str(p, "text").map(str::to_owned);
        let new_caption = param_str(p, "caption").map(str::to_owned);
        let Some(msg) = self.message_mut(chat_id, message_id).filter(|m| !m.deleted) else {
            return Err(ApiErr::bad_request("message to edit not found"));
        };
        if !msg.from_bot {
            return Err(ApiErr::bad_request("message can't be edited"));
        }
        let not_modified = || {
            ApiErr::bad_request(
                "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
            )
        };
        // Telegram: an edit without reply_markup removes the inline keyboard.
        match method {
            "editmessagetext" => {
                let text = new_text.unwrap_or_default();
                if text.trim().is_empty() {
                    return Err(ApiErr::bad_request("message text is empty"));
                }
                if text.chars().count() > TEXT_LIMIT {
                    return Err(ApiErr::bad_request("MESSAGE_TOO_LONG"));
                }
                if msg.text.is_none() {
                    return Err(ApiErr::bad_request("there is no text in the message to edit"));
                }
                if msg.text.as_deref() == Some(text.as_str()) && msg.reply_markup == markup {
                    return Err(not_modified());
                }
                msg.text = Some(text);
                msg.entities = None;
            }
            "editmessagecaption" => {
                if msg.media.is_none() {
                    return Err(ApiErr::bad_request("there is no caption in the message to edit"));
                }
                if new_caption
                    .as_ref()
                    .is_some_and(|c| c.chars().count() > CAPTION_LIMIT)
                {
                    return Err(ApiErr::bad_request("message caption is too long"));
                }
                if msg.caption == new_caption && msg.reply_markup == markup {
                    return Err(not_modified());
                }
                msg.caption = new_caption;
                msg.caption_entities = None;
            }
            _ => {
                if msg.reply_markup == markup {
                    return Err(not_modified());
                }
            }
        }
        msg.reply_markup = markup;
        msg.edits += 1;
        msg.edit_date = Some(unix_now());
        let msg = msg.clone();
        Ok(self.render(chat_id, &msg, true))
    }

    fn delete_message(&mut self, p: &Map<String, Value>) -> Result<Value, ApiErr> {
        let chat_id = self.chat_param(p)?;
        let message_id = param_i64(p, "message_id").unwrap_or_default() as i32;
        match self.message_mut(chat_id, message_id) {
            Some(msg) if !msg.deleted => {
                msg.deleted = true;
                Ok(json!(true))
            }
            _ => Err(ApiErr::bad_request("message to delete not found")),
        }
    }

    fn get_file(&self, p: &Map<String, Value>) -> Result<Value, ApiErr> {
        let file_id = param_str(p, "file_id").unwrap_or_default();
        let Some(file) = self.files.get(file_id) else {
            return Err(ApiErr::bad_request("invalid file id"));
        };
        if file.size > GET_FILE_LIMIT {
            return Err(ApiErr::bad_request("file is too big"));
        }
        let mut result = self.file_meta(file_id);
        result["file_path"] = json!(file.path);
        Ok(result)
    }

    fn answer_callback_query(&mut self, p: &Map<String, Value>) -> Result<Value, ApiErr> {
        let id = param_str(p, "callback_query_id").unwrap_or_default();
        if self.open_callbacks.remove(id) {
            Ok(json!(true))
        } else {
            Err(ApiErr::bad_request(
                "query is too old and response timeout expired or query id is invalid",
            ))
        }
    }

    fn commands_key(p: &Map<String, Value>) -> String {
        let scope = p
            .get("scope")
            .cloned()
            .unwrap_or_else(|| json!({ "type": "default" }));
        format!("{scope}|{}", param_str(p, "language_code").unwrap_or_default())
    }

    /// Every method except getUpdates (which waits).
    fn handle(&mut self, method: &str, p: &Map<String, Value>, uploads: &[Upload]) -> Result<Value, ApiErr> {
        match method {
            "getme" => Ok(json!({
                "id": BOT_ID,
                "is_bot": true,
                "first_name": BOT_FIRST_NAME,
                "username": BOT_USERNAME,
                "can_join_groups": true,
                "can_read_all_group_messages": self.privacy_off,
                "supports_inline_queries": false,
                "can_connect_to_business": false,
                "has_main_web_app": false,
            })),
            "getwebhookinfo" => Ok(json!({
                "url": "",
                "has_custom_certificate": false,
                "pending_update_count": self.updates.len(),
            })),
            "sendmessage" => self.send_message(p),
            "sendvideo" => self.send_media("video", p, uploads),
            "sendphoto" => self.send_media("photo", p, uploads),
            "senddocument" => self.send_media("document", p, uploads),
            "editmessagetext" | "editmessagecaption" | "editmessagereplymarkup" => self.edit(method, p),
            "deletemessage" => self.delete_message(p),
            "getfile" => self.get_file(p),
            "answercallbackquery" => self.answer_callback_query(p),
            "setmycommands" => {
                let mut commands = p.get("commands").cloned().unwrap_or_else(|| json!([]));
                // teloxide's `BotCommands::bot_commands()` keeps the "/"; Telegram stores
                // commands without it (and getMyCommands returns them without it).
                for command in commands.as_array_mut().into_iter().flatten() {
                    if let Some(name) = command.get("command").and_then(Value::as_str) {
                        command["command"] = json!(name.trim_start_matches('/'));
                    }
                }
                self.commands.insert(Self::commands_key(p), commands);
                Ok(json!(true))
            }
            "deletemycommands" => {
                self.commands.remove(&Self::commands_key(p));
                Ok(json!(true))
            }
            "getmycommands" => Ok(self
                .commands
                .get(&Self::commands_key(p))
                .cloned()
                .unwrap_or_else(|| json!([]))),
            // sendChatAction, deleteWebhook, setMyDescription, ...: Telegram answers `true`.
            _ => Ok(json!(true)),
        }
    }
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
        let app = Router::new()
            .route("/{bot}/{method}", any(handle_method))
            .route("/file/{bot}/{*path}", get(handle_download))
            // Telegram takes uploads up to 50 MB; the handler answers 413 above that.
            .layer(DefaultBodyLimit::max(UPLOAD_LIMIT + 1024 * 1024))
            .with_state(fake.clone());
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

    /// Stores a user message and, unless privacy mode withholds it, queues its update.
    fn user_message(
        &self,
        chat: TgChat,
        from: &TgUser,
        build: impl FnOnce(&mut TgState, &mut StoredMessage),
    ) -> i32 {
        let chat_id = chat.id();
        if let TgChat::Group(id) = chat {
            assert!(
                id < 0,
                "TgChat::Group ids are negative, like Telegram's supergroups (got {id})"
            );
        }
        let id = {
            let mut st = self.state();
            st.users.insert(from.id, from.clone());
            let mut msg = StoredMessage {
                id: 0,
                from: from.to_json(),
                from_bot: false,
                date: unix_now(),
                edit_date: None,
                text: None,
                entities: None,
                caption: None,
                caption_entities: None,
                media: None,
                reply_to: None,
                reply_markup: None,
                deleted: false,
                edits: 0,
            };
            build(&mut st, &mut msg);
            let replies_to_bot = msg
                .reply_to
                .and_then(|r| st.message(chat_id, r))
                .is_some_and(|m| m.from_bot);
            let visible = matches!(chat, TgChat::Private(_))
                || st.privacy_off
                || replies_to_bot
                || privacy_mode_lets_through(msg.text.as_deref().or(msg.caption.as_deref()));
            let id = st.store(chat_id, msg);
            let rendered = st.render(chat_id, st.message(chat_id, id).expect("just stored"), true);
            if visible {
                st.push_update("message", rendered);
            } else {
                st.withheld_updates.push(("privacy mode".to_owned(), rendered));
            }
            id
        };
        self.notify();
        id
    }

    /// A text message from `from`; returns its message_id.
    pub fn send_text(&self, chat: TgChat, from: &TgUser, text: &str) -> i32 {
        self.user_message(chat, from, |_, msg| {
            msg.text = Some(text.to_owned());
            msg.entities = command_entities(text);
        })
    }

    /// A text message replying to `reply_to` (its `reply_to_message` carries the original).
    pub fn send_reply(&self, chat: TgChat, from: &TgUser, text: &str, reply_to: i32) -> i32 {
        self.user_message(chat, from, |st, msg| {
            assert!(
                st.message(chat.id(), reply_to).is_some(),
                "send_reply: no message {reply_to} in {chat:?}"
            );
            msg.text = Some(text.to_owned());
            msg.entities = command_entities(text);
            msg.reply_to = Some(reply_to);
        })
    }

    /// A photo (three sizes; the largest holds `bytes`) with an optional caption.
    pub fn send_photo(&self, chat: TgChat, from: &TgUser, caption: Option<&str>, bytes: Vec<u8>) -> i32 {
        let size = bytes.len() as u64;
        self.photo(chat, from, caption, size, Some(Bytes::from(bytes)))
    }

    /// A photo whose largest size reports `size` bytes (over 20 MB: getFile refuses it).
    pub fn send_big_photo(&self, chat: TgChat, from: &TgUser, caption: Option<&str>, size: u64) -> i32 {
        self.photo(chat, from, caption, size, None)
    }

    fn photo(
        &self,
        chat: TgChat,
        from: &TgUser,
        caption: Option<&str>,
        size: u64,
        bytes: Option<Bytes>,
    ) -> i32 {
        self.user_message(chat, from, |st, msg| {
            let (sizes, largest) = st.register_photo(size, bytes);
            msg.media = Some(("photo", sizes, largest));
            msg.caption = caption.map(str::to_owned);
            msg.caption_entities = caption.and_then(command_entities);
        })
    }

    /// A document (a file sent "without compression").
    pub fn send_document(
        &self,
        chat: TgChat,
        from: &TgUser,
        caption: Option<&str>,
        file_name: &str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> i32 {
        self.user_message(chat, from, |st, msg| {
            let ext = file_name.rsplit_once('.').map_or("bin", |(_, e)| e).to_owned();
            let size = bytes.len() as u64;
            let file_id = st.register_file("documents", &ext, size, Some(Bytes::from(bytes)));
            let mut document = st.file_meta(&file_id);
            document["file_name"] = json!(file_name);
            document["mime_type"] = json!(mime);
            msg.media = Some(("document", document, file_id));
            msg.caption = caption.map(str::to_owned);
            msg.caption_entities = caption.and_then(command_entities);
        })
    }

    /// `from` presses an inline button with `data` under the bot's message; returns the
    /// callback query id (answer it with answerCallbackQuery).
    pub fn press_button(&self, chat: TgChat, from: &TgUser, message_id: i32, data: &str) -> String {
        let id = {
            let mut st = self.state();
            st.users.insert(from.id, from.clone());
            let msg = match st.message(chat.id(), message_id) {
                Some(m) if !m.deleted => st.render(chat.id(), m, true),
                _ => panic!("press_button: no live message {message_id} in {chat:?}"),
            };
            st.next_callback_seq += 1;
            let id = format!("{}{:08}", from.id, st.next_callback_seq);
            st.open_callbacks.insert(id.clone());
            let query = json!({
                "id": id,
                "from": from.to_json(),
                "message": msg,
                "chat_instance": format!("ci{}", chat.id().unsigned_abs()),
                "data": data,
            });
            st.push_update("callback_query", query);
            id
        };
        self.notify();
        id
    }

    /// Every request so far, in arrival order.
    pub fn calls(&self) -> Vec<TgCall> {
        self.state().calls.clone()
    }

    /// The calls to one method (any case: "sendMessage", "SendMessage", "sendmessage").
    pub fn calls_to(&self, method: &str) -> Vec<TgCall> {
        let method = method.to_ascii_lowercase();
        self.state()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Updates queued and not yet confirmed by a getUpdates offset.
    pub fn pending_updates(&self) -> usize {
        self.state().updates.len()
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

    /// A readable dump of calls, chats and undelivered updates, for failure messages.
    /// Takes the queued updates, as Telegram does when it posts them to a webhook instead of
    /// answering getUpdates.
    pub fn drain_updates(&self) -> Vec<Value> {
        self.state().updates.drain(..).collect()
    }

    pub fn dump(&self) -> String {
        let st = self.state();
        let mut out = format!("--- fake Telegram: {} calls ---\n", st.calls.len());
        for (i, call) in st.calls.iter().enumerate() {
            let at = call.at.duration_since(self.inner.started).as_millis();
            let mut params = call.params.to_string();
            if params.chars().count() > 400 {
                params = params.chars().take(400).collect::<String>() + "…";
            }
            let _ = write!(out, "#{i} +{at}ms {} {params}", call.method);
            if !call.files.is_empty() {
                let _ = write!(out, " files={:?}", call.files);
            }
            if let Some(error) = &call.error {
                let _ = write!(out, " -> ERROR {error}");
            }
            out.push('\n');
        }
        let mut chats: Vec<_> = st.chats.keys().copied().collect();
        chats.sort_unstable();
        for chat_id in chats {
            let _ = writeln!(out, "--- chat {chat_id} ---");
            for m in &st.chats[&chat_id].messages {
                let who = if m.from_bot { "bot" } else { "user" };
                let body = m.text.as_deref().or(m.caption.as_deref()).unwrap_or("");
                let media = m.media.as_ref().map_or("", |(k, _, _)| *k);
                let _ = writeln!(
                    out,
                    "  [{}] {who}{}{} reply_to={:?} edits={} markup={} {body:?}",
                    m.id,
                    if media.is_empty() {
                        String::new()
                    } else {
                        format!(" {media}")
                    },
                    if m.deleted { " DELETED" } else { "" },
                    m.reply_to,
                    m.edits,
                    m.reply_markup.is_some(),
                );
            }
        }
        let _ = writeln!(
            out,
            "--- {} pending updates, {} withheld ---",
            st.updates.len(),
            st.withheld_updates.len()
        );
        for (why, update) in &st.withheld_updates {
            let _ = writeln!(out, "  withheld ({why}): {update}");
        }
        out
    }

    /// The bot's messages in `chat`, oldest first, as they stand now.
    pub fn bot_messages(&self, chat: TgChat) -> Vec<BotMessage> {
        let st = self.state();
        let Some(chat) = st.chats.get(&chat.id()) else {
            return Vec::new();
        };
        chat.messages
            .iter()
            .filter(|m| m.from_bot)
            .map(|m| {
                let (media_kind, file_id) = match &m.media {
                    Some((kind, _, file_id)) => (Some((*kind).to_owned()), Some(file_id.clone())),
                    None => (None, None),
                };
                BotMessage {
                    message_id: m.id,
                    text: m.text.clone(),
                    caption: m.caption.clone(),
                    reply_to: m.reply_to,
                    deleted: m.deleted,
                    video_file_id: file_id.clone().filter(|_| media_kind.as_deref() == Some("video")),
                    reply_markup: m.reply_markup.clone(),
                    edits: m.edits,
                    media_kind,
                    file_id,
                }
            })
            .collect()
    }

    /// Whether message `message_id` in `chat` was deleted (false if it never existed).
    pub fn is_deleted(&self, chat: TgChat, message_id: i32) -> bool {
        self.state()
            .message(chat.id(), message_id)
            .is_some_and(|m| m.deleted)
    }

    /// The next call to `method` (any case) fails with `fault`; queue several for several calls.
    pub fn fail_next(&self, method: &str, fault: TgFault) {
        self.state()
            .faults
            .entry(method.to_ascii_lowercase())
            .or_default()
            .push_back(fault);
    }

    /// From now on `percent`% of send*/edit* calls fail with `RetryAfter(1)`. Only 429 is used:
    /// teloxide sleeps 10 s after any 5xx, which would make tests slow.
    pub fn set_fault_rate(&self, percent: u8) {
        self.state().fault_rate = percent.min(100);
    }

    /// Privacy mode (on by default, as for every new bot): in groups only commands, mentions
    /// and replies to the bot reach it. Off: the bot sees every group message.
    pub fn set_privacy_mode(&self, on: bool) {
        self.state().privacy_off = !on;
    }

    fn record(&self, method: String, params: Value, files: Vec<(String, String, usize)>) -> usize {
        let idx = {
            let mut st = self.state();
            st.calls.push(TgCall {
                method,
                params,
                files,
                at: Instant::now(),
                error: None,
                fault: None,
            });
            st.calls.len() - 1
        };
        self.notify();
        idx
    }

    fn finish(&self, idx: usize, result: Result<Value, ApiErr>) -> Response {
        match result {
            Ok(result) => {
                self.notify();
                Json(json!({ "ok": true, "result": result })).into_response()
            }
            Err(err) => {
                self.state().calls[idx].error = Some(err.description.clone());
                self.notify();
                err.into_response()
            }
        }
    }

    /// Long polling: answers at once if updates are pending, otherwise when one arrives or
    /// `timeout` seconds pass. A newer getUpdates ends this one with 409, like Telegram.
    async fn get_updates(&self, p: &Map<String, Value>) -> Result<Value, ApiErr> {
        let offset = param_i64(p, "offset").unwrap_or(0);
        let limit = param_i64(p, "limit").unwrap_or(100).clamp(1, 100) as usize;
        let timeout = Duration::from_secs(param_i64(p, "timeout").unwrap_or(0).max(0) as u64);
        let mut changes = self.inner.changed.subscribe();
        let generation = {
            let mut st = self.state();
            if let Some(allowed) = p.get("allowed_updates").and_then(Value::as_array) {
                let allowed: Vec<String> = allowed
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
                st.allowed_updates = if allowed.is_empty() { None } else { Some(allowed) };
            }
            // Confirm: positive offsets drop older updates; negative keep the last -offset.
            if offset > 0 {
                st.updates
                    .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            } else if offset < 0 {
                let keep = offset.unsigned_abs() as usize;
                while st.updates.len() > keep {
                    st.updates.pop_front();
                }
            }
            st.poll_generation += 1;
            st.poll_generation
        };
        self.notify();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            {
                let mut st = self.state();
                if st.poll_generation != generation {
                    return Err(ApiErr {
                        status: StatusCode::CONFLICT,
                        description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running".to_owned(),
                        parameters: None,
                    });
                }
                // Updates of kinds the bot did not ask for are never delivered.
                if let Some(allowed) = st.allowed_updates.clone() {
                    let (keep, drop): (VecDeque<Value>, VecDeque<Value>) =
                        st.updates.drain(..).partition(|u| {
                            u.as_object()
                                .is_some_and(|o| o.keys().any(|k| allowed.contains(k)))
                        });
                    st.updates = keep;
                    for update in drop {
                        st.withheld_updates
                            .push(("not in allowed_updates".to_owned(), update));
                    }
                }
                if !st.updates.is_empty() || tokio::time::Instant::now() >= deadline {
                    return Ok(Value::Array(st.updates.iter().take(limit).cloned().collect()));
                }
            }
            tokio::select! {
                res = changes.changed() => if res.is_err() { return Ok(json!([])) },
                () = tokio::time::sleep_until(deadline) => {}
            }
        }
    }
}

/// 401 Unauthorized unless the path segment is `bot<BOT_TOKEN>`.
fn unauthorized(bot: &str) -> Option<Response> {
    (bot.strip_prefix("bot") != Some(BOT_TOKEN)).then(|| {
        ApiErr {
            status: StatusCode::UNAUTHORIZED,
            description: "Unauthorized".to_owned(),
            parameters: None,
        }
        .into_response()
    })
}

/// Reads the parameters and file parts of a request, whatever its encoding.
async fn read_params(req: Request) -> Result<(Map<String, Value>, Vec<Upload>), ApiErr> {
    let bad = |e: String| ApiErr::bad_request(&format!("can't parse request: {e}"));
    if req.method() == Method::GET {
        let Query(pairs) =
            Query::<Vec<(String, String)>>::try_from_uri(req.uri()).map_err(|e| bad(e.to_string()))?;
        return Ok((
            pairs
                .into_iter()
                .map(|(k, v)| (k.clone(), decode_text_value(&k, &v)))
                .collect(),
            Vec::new(),
        ));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(req, &())
            .await
            .map_err(|e| bad(e.to_string()))?;
        let mut parts = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(|e| bad(e.to_string()))? {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let bytes = field.bytes().await.map_err(|e| bad(e.to_string()))?;
            parts.push((name, file_name, bytes));
        }
        // teloxide sends `video=attach://<id>` plus a part named `<id>`.
        let attached: HashMap<String, String> = parts
            .iter()
            .filter(|(_, file_name, _)| file_name.is_none())
            .filter_map(|(name, _, bytes)| {
                let value = std::str::from_utf8(bytes).ok()?;
                Some((value.strip_prefix("attach://")?.to_owned(), name.clone()))
            })
            .collect();
        let mut params = Map::new();
        let mut uploads = Vec::new();
        for (name, file_name, bytes) in parts {
            if file_name.is_some() || attached.contains_key(&name) {
                let field = attached.get(&name).cloned().unwrap_or(name);
                uploads.push(Upload {
                    field,
                    file_name: file_name.unwrap_or_default(),
                    bytes,
                });
            } else {
                let value = String::from_utf8_lossy(&bytes);
                params.insert(name.clone(), decode_text_value(&name, &value));
            }
        }
        return Ok((params, uploads));
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(req, &())
            .await
            .map_err(|e| bad(e.to_string()))?;
        return Ok((
            pairs
                .into_iter()
                .map(|(k, v)| (k.clone(), decode_text_value(&k, &v)))
                .collect(),
            Vec::new(),
        ));
    }
    let body = Bytes::from_request(req, &())
        .await
        .map_err(|e| bad(e.to_string()))?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((Map::new(), Vec::new()));
    }
    let mut params: Map<String, Value> = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
    normalize_json_params(&mut params);
    Ok((params, Vec::new()))
}

async fn handle_method(
    State(fake): State<FakeTelegram>,
    Path((bot, method)): Path<(String, String)>,
    req: Request,
) -> Response {
    if let Some(response) = unauthorized(&bot) {
        return response;
    }
    let method = method.to_ascii_lowercase();
    let (params, uploads) = match read_params(req).await {
        Ok(parsed) => parsed,
        Err(err) => return err.into_response(),
    };
    let files = uploads
        .iter()
        .map(|u| (u.field.clone(), u.file_name.clone(), u.bytes.len()))
        .collect();
    let idx = fake.record(method.clone(), Value::Object(params.clone()), files);

    let fault = fake.state().pop_fault(&method);
    if let Some(fault) = fault {
        {
            let mut st = fake.state();
            st.calls[idx].error = Some(fault.description());
            st.calls[idx].fault = Some(fault.clone());
        }
        fake.notify();
        return fault.into_response();
    }

    let result = if method == "getupdates" {
        fake.get_updates(&params).await
    } else {
        fake.state().handle(&method, &params, &uploads)
    };
    fake.finish(idx, result)
}

async fn handle_download(
    State(fake): State<FakeTelegram>,
    Path((bot, path)): Path<(String, String)>,
) -> Response {
    if let Some(response) = unauthorized(&bot) {
        return response;
    }
    // axum has already percent-decoded `photos%2Ffile_1.jpg` into `photos/file_1.jpg`.
    let idx = fake.record("download".to_owned(), json!({ "file_path": path }), Vec::new());
    let bytes = {
        let st = fake.state();
        st.files
            .values()
            .find(|f| f.path == path)
            .and_then(|f| f.bytes.clone())
    };
    match bytes {
        Some(bytes) => {
            fake.notify();
            ([(header::CONTENT_TYPE, mime_for(&path))], bytes).into_response()
        }
        None => {
            let err = ApiErr {
                status: StatusCode::NOT_FOUND,
                description: "Not Found".to_owned(),
                parameters: None,
            };
            fake.finish(idx, Err(err))
        }
    }
}

/// Helpers for the benchmark (`benches/bot.rs`), which seeds thousands of tasks at once.
impl FakeTelegram {
    /// Stores a message as if the bot had sent it to `chat` earlier (the progress message of a
    /// seeded task, say), without a recorded call. Returns its message_id.
    pub fn seed_bot_message(&self, chat: TgChat, text: &str) -> i32 {
        let mut st = self.state();
        st.store(chat.id(), TgState::bot_message(Some(text.to_owned()), None))
    }

    /// How many calls the fake has received, cheaply (no copy of them).
    pub fn call_count(&self) -> usize {
        self.state().calls.len()
    }

    /// `(method, chat_id, when)` of the calls from the `from`-th on.
    pub fn call_times_since(&self, from: usize) -> Vec<(String, Option<i64>, Instant)> {
        let st = self.state();
        st.calls
            .iter()
            .skip(from)
            .map(|c| {
                (
                    c.method.clone(),
                    c.params.get("chat_id").and_then(Value::as_i64),
                    c.at,
                )
            })
            .collect()
    }
}
