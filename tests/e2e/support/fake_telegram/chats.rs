//! The people and chats of a test: users who write to the bot, private chats and supergroups.

use serde_json::{Value, json};

use super::TgState;

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

    pub(super) fn to_json(&self) -> Value {
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

    pub(super) fn from_id(id: i64) -> Self {
        if id < 0 {
            TgChat::Group(id)
        } else {
            TgChat::Private(id)
        }
    }
}

impl TgState {
    pub(super) fn chat_json(&self, chat_id: i64) -> Value {
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
                let kind = if self.basic_groups.contains(&id) {
                    "group"
                } else {
                    "supergroup"
                };
                json!({ "id": id, "type": kind, "title": format!("Test group {id}") })
            }
        }
    }
}
