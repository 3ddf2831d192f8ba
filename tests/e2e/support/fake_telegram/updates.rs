//! Updates: what users do (messages, photos, button presses) becomes an update that
//! `getUpdates` long-polls for, filtered by privacy mode and `allowed_updates`.

use std::{collections::VecDeque, time::Duration};

use axum::{body::Bytes, http::StatusCode};
use serde_json::{Map, Value, json};

use super::{
    ApiErr, BOT_USERNAME, FakeTelegram, TgChat, TgState, TgUser,
    messages::StoredMessage,
    params::{param_i64, param_str},
    unix_now,
};

/// `bot_command` entity for a leading `/command` or `/command@bot`, in UTF-16 units.
pub(super) fn command_entities(text: &str) -> Option<Value> {
    if !text.starts_with('/') {
        return None;
    }
    let word = text.split_whitespace().next()?;
    Some(json!([{ "type": "bot_command", "offset": 0, "length": word.encode_utf16().count() }]))
}

/// Whether a group message reaches a bot in privacy mode: commands (not addressed to another
/// bot) and mentions of the bot. Replies to the bot are checked by the caller.
pub(super) fn privacy_mode_lets_through(text: Option<&str>) -> bool {
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

impl TgState {
    pub(super) fn push_update(&mut self, kind: &str, payload: Value) {
        if self.next_update_id == 0 {
            self.next_update_id = 10_000;
        }
        let id = self.next_update_id;
        self.next_update_id += 1;
        let mut update = json!({ "update_id": id });
        update[kind] = payload;
        self.updates.push_back(update);
    }

    pub(super) fn answer_callback_query(&mut self, p: &Map<String, Value>) -> Result<Value, ApiErr> {
        let id = param_str(p, "callback_query_id").unwrap_or_default();
        if self.open_callbacks.remove(id) {
            Ok(json!(true))
        } else {
            Err(ApiErr::bad_request(
                "query is too old and response timeout expired or query id is invalid",
            ))
        }
    }
}

impl FakeTelegram {
    /// Stores a user message and, unless privacy mode withholds it, queues its update.
    pub(super) fn user_message(
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
                extra: Map::new(),
            };
            build(&mut st, &mut msg);
            let replies_to_bot = msg
                .reply_to
                .and_then(|r| st.message(chat_id, r))
                .is_some_and(|m| m.from_bot);
            let visible = matches!(chat, TgChat::Private(_))
                || st.privacy_off
                || replies_to_bot
                // Service messages (a migration, say) reach bots in privacy mode too.
                || msg.extra.keys().any(|k| k.starts_with("migrate_"))
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

    pub(super) fn photo(
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

    /// Photos sent together (an album, one message each, sharing a `media_group_id`), the
    /// caption on the first; returns their message ids.
    pub fn send_album(&self, chat: TgChat, from: &TgUser, caption: &str, photos: Vec<Vec<u8>>) -> Vec<i32> {
        let group = format!(
            "album-{}",
            from.id * 1000 + photos.len() as i64 + caption.len() as i64
        );
        photos
            .into_iter()
            .enumerate()
            .map(|(i, bytes)| {
                let size = bytes.len() as u64;
                self.user_message(chat, from, |st, msg| {
                    let (sizes, largest) = st.register_photo(size, Some(Bytes::from(bytes)));
                    msg.media = Some(("photo", sizes, largest));
                    // Telegram sends no caption rather than an empty one.
                    if i == 0 && !caption.is_empty() {
                        msg.caption = Some(caption.to_owned());
                        msg.caption_entities = command_entities(caption);
                    }
                    msg.extra.insert("media_group_id".into(), json!(group));
                })
            })
            .collect()
    }

    /// A voice message (Ogg Opus, as Telegram's clients record them) replying to `reply_to`.
    pub fn send_voice_reply(&self, chat: TgChat, from: &TgUser, bytes: Vec<u8>, reply_to: i32) -> i32 {
        self.user_message(chat, from, |st, msg| {
            let size = bytes.len() as u64;
            let file_id = st.register_file("voice", "oga", size, Some(Bytes::from(bytes)));
            let mut voice = st.file_meta(&file_id);
            voice["duration"] = json!(3);
            voice["mime_type"] = json!("audio/ogg");
            msg.media = Some(("voice", voice, file_id));
            msg.reply_to = Some(reply_to);
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

    /// Updates never delivered to the bot (privacy mode, or `allowed_updates` left them out).
    pub fn withheld_updates(&self) -> usize {
        self.state().withheld_updates.len()
    }

    /// Updates queued and not yet confirmed by a getUpdates offset: Telegram would send these
    /// again to a bot that restarts.
    pub fn unconfirmed_updates(&self) -> usize {
        self.state().updates.len()
    }

    /// `from` opens a forum topic in the (forum) supergroup `chat`; returns the topic's id, which
    /// is the id of its first message (the "topic created" service message).
    pub fn open_topic(&self, chat: TgChat, from: &TgUser, name: &str) -> i32 {
        let name = name.to_owned();
        self.user_message(chat, from, move |st, msg| {
            let id = st.chats.get(&chat.id()).map_or(0, |c| c.last_message_id) + 1;
            msg.extra.insert(
                "forum_topic_created".into(),
                json!({ "name": name, "icon_color": 7322096 }),
            );
            msg.extra.insert("message_thread_id".into(), json!(id));
            msg.extra.insert("is_topic_message".into(), json!(true));
        })
    }

    /// A text message written in forum topic `topic` of `chat`: like Telegram, it carries
    /// `message_thread_id` and, replying to nothing, the topic's first message as
    /// `reply_to_message`.
    pub fn send_text_in_topic(&self, chat: TgChat, from: &TgUser, text: &str, topic: i32) -> i32 {
        self.user_message(chat, from, |_, msg| {
            msg.text = Some(text.to_owned());
            msg.entities = command_entities(text);
            msg.reply_to = Some(topic);
            msg.extra.insert("message_thread_id".into(), json!(topic));
            msg.extra.insert("is_topic_message".into(), json!(true));
        })
    }

    /// The user deletes their own message `message_id` (the bot is not told, as on Telegram).
    pub fn delete_user_message(&self, chat: TgChat, message_id: i32) {
        if let Some(msg) = self.state().message_mut(chat.id(), message_id) {
            msg.deleted = true;
        }
        self.notify();
    }

    /// Queues an update exactly as given (`kind` → `payload`), even one teloxide cannot parse.
    pub fn send_raw_update(&self, kind: &str, payload: Value) {
        self.state().push_update(kind, payload);
        self.notify();
    }

    pub fn pending_updates(&self) -> usize {
        self.state().updates.len()
    }

    /// Privacy mode (on by default, as for every new bot): in groups only commands, mentions
    /// and replies to the bot reach it. Off: the bot sees every group message.
    pub fn set_privacy_mode(&self, on: bool) {
        self.state().privacy_off = !on;
    }

    /// How many getUpdates calls a newer one ended with 409 (two pollers at once).
    pub fn poll_conflicts(&self) -> usize {
        self.state().poll_conflicts
    }

    /// Long polling: answers at once if updates are pending, otherwise when one arrives or
    /// `timeout` seconds pass. A newer getUpdates ends this one with 409, like Telegram.
    pub(super) async fn get_updates(&self, p: &Map<String, Value>) -> Result<Value, ApiErr> {
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
                    st.poll_conflicts += 1;
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
