//! The chats' message store: what the bot sends, edits and deletes, checked against Telegram's
//! limits, and the Message JSON Telegram would return.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::{
    ApiErr, CALLBACK_DATA_LIMIT, CAPTION_LIMIT, FakeTelegram, TEXT_LIMIT, TgChat, TgState, UPLOAD_LIMIT,
    bot_user_json,
    files::mime_for,
    params::{Upload, param_bool, param_i64, param_str},
    unix_now,
};

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

pub(super) struct ChatState {
    pub(super) last_message_id: i32,
    pub(super) messages: Vec<StoredMessage>,
}

#[derive(Clone, Debug)]
pub(super) struct StoredMessage {
    pub(super) id: i32,
    pub(super) from: Value,
    pub(super) from_bot: bool,
    pub(super) date: i64,
    pub(super) edit_date: Option<i64>,
    pub(super) text: Option<String>,
    pub(super) entities: Option<Value>,
    pub(super) caption: Option<String>,
    pub(super) caption_entities: Option<Value>,
    /// ("photo" | "video" | "document", the JSON Telegram puts under that key, file id).
    pub(super) media: Option<(&'static str, Value, String)>,
    pub(super) reply_to: Option<i32>,
    pub(super) reply_markup: Option<Value>,
    pub(super) deleted: bool,
    pub(super) edits: u32,
    /// Further top-level fields as Telegram sends them (`sender_chat`, `migrate_to_chat_id`, ...).
    pub(super) extra: Map<String, Value>,
}

/// The inline keyboard of a `reply_markup` parameter. Telegram echoes only inline keyboards in
/// the returned Message; reply keyboards and `remove_keyboard` are accepted and not stored.
pub(super) fn inline_markup(p: &Map<String, Value>) -> Result<Option<Value>, ApiErr> {
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
    pub(super) fn chat_mut(&mut self, chat_id: i64) -> &mut ChatState {
        self.chats.entry(chat_id).or_insert_with(|| ChatState {
            last_message_id: 0,
            messages: Vec::new(),
        })
    }

    pub(super) fn message(&self, chat_id: i64, message_id: i32) -> Option<&StoredMessage> {
        self.chats
            .get(&chat_id)?
            .messages
            .iter()
            .find(|m| m.id == message_id)
    }

    pub(super) fn message_mut(&mut self, chat_id: i64, message_id: i32) -> Option<&mut StoredMessage> {
        self.chats
            .get_mut(&chat_id)?
            .messages
            .iter_mut()
            .find(|m| m.id == message_id)
    }

    /// The Message JSON Telegram would return; `reply_to_message` carries the original without
    /// its own `reply_to_message`, as Telegram does.
    pub(super) fn render(&self, chat_id: i64, msg: &StoredMessage, with_reply: bool) -> Value {
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
        for (key, value) in &msg.extra {
            m[key] = value.clone();
        }
        if with_reply && let Some(original) = msg.reply_to.and_then(|id| self.message(chat_id, id)) {
            m["reply_to_message"] = self.render(chat_id, original, false);
        }
        m
    }

    pub(super) fn store(&mut self, chat_id: i64, mut msg: StoredMessage) -> i32 {
        let chat = self.chat_mut(chat_id);
        chat.last_message_id += 1;
        msg.id = chat.last_message_id;
        chat.messages.push(msg);
        chat.last_message_id
    }

    /// The reply target of a send, from `reply_parameters` or the legacy `reply_to_message_id`.
    pub(super) fn reply_target(&self, chat_id: i64, p: &Map<String, Value>) -> Result<Option<i32>, ApiErr> {
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

    pub(super) fn chat_param(&self, p: &Map<String, Value>) -> Result<i64, ApiErr> {
        match p.get("chat_id") {
            None => Err(ApiErr::bad_request("chat_id is empty")),
            Some(_) => param_i64(p, "chat_id").ok_or_else(|| ApiErr::bad_request("chat not found")),
        }
    }

    pub(super) fn bot_message(text: Option<String>, caption: Option<String>) -> StoredMessage {
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
            extra: Map::new(),
        }
    }

    pub(super) fn send_message(&mut self, p: &Map<String, Value>) -> Result<Value, ApiErr> {
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
    pub(super) fn send_media(
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
    pub(super) fn store_media(
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
    pub(super) fn edit(&mut self, method: &str, p: &Map<String, Value>) -> Result<Value, ApiErr> {
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

    pub(super) fn delete_message(&mut self, p: &Map<String, Value>) -> Result<Value, ApiErr> {
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
}

impl FakeTelegram {
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

    /// Stores a message as if the bot had sent it to `chat` earlier (the progress message of a
    /// seeded task, say), without a recorded call. Returns its message_id.
    pub fn seed_bot_message(&self, chat: TgChat, text: &str) -> i32 {
        let mut st = self.state();
        st.store(chat.id(), TgState::bot_message(Some(text.to_owned()), None))
    }
}
