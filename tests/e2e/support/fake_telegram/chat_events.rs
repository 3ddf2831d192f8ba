//! Messages no single person sends: requests made on behalf of a chat (an anonymous group admin,
//! a channel) and the service messages of a group that becomes a supergroup.

use serde_json::{Value, json};

use super::{FakeTelegram, TgChat, TgUser, updates::command_entities};

/// Who a message on behalf of a chat comes from. Telegram puts a placeholder user in `from`
/// (shared by everyone who writes that way) and the real author's chat in `sender_chat`.
#[derive(Clone, Copy, Debug)]
pub enum OnBehalf {
    /// An anonymous admin of the group itself: `from` GroupAnonymousBot (1087968824).
    AnonymousAdmin,
    /// A user writing as their channel `channel_id`: `from` Channel_Bot (136817688).
    Channel(i64),
    /// A post of the linked channel `channel_id` forwarded into its discussion group:
    /// `from` Telegram (777000).
    LinkedChannelPost(i64),
}

impl OnBehalf {
    fn placeholder(self) -> (TgUser, &'static str) {
        let (id, first_name, username) = match self {
            OnBehalf::AnonymousAdmin => (1087968824, "Group", "GroupAnonymousBot"),
            OnBehalf::Channel(_) => (136817688, "Channel", "Channel_Bot"),
            OnBehalf::LinkedChannelPost(_) => (777000, "Telegram", ""),
        };
        let user = TgUser {
            id,
            first_name: first_name.to_owned(),
            username: (!username.is_empty()).then(|| username.to_owned()),
            language_code: None,
        };
        (user, username)
    }

    fn sender_chat(self, chat: TgChat) -> Value {
        match self {
            OnBehalf::AnonymousAdmin => {
                json!({ "id": chat.id(), "type": "supergroup", "title": format!("Test group {}", chat.id()) })
            }
            OnBehalf::Channel(id) | OnBehalf::LinkedChannelPost(id) => {
                json!({ "id": id, "type": "channel", "title": format!("Test channel {id}") })
            }
        }
    }
}

impl FakeTelegram {
    /// A text message in the group `chat` on behalf of a chat (see [`OnBehalf`]); returns its
    /// message_id.
    pub fn send_on_behalf(&self, chat: TgChat, who: OnBehalf, text: &str) -> i32 {
        let (placeholder, _) = who.placeholder();
        self.user_message(chat, &placeholder, |_, msg| {
            msg.from["is_bot"] = json!(!matches!(who, OnBehalf::LinkedChannelPost(_)));
            msg.text = Some(text.to_owned());
            msg.entities = command_entities(text);
            msg.extra.insert("sender_chat".into(), who.sender_chat(chat));
            if matches!(who, OnBehalf::LinkedChannelPost(_)) {
                msg.extra.insert("is_automatic_forward".into(), json!(true));
            }
        })
    }

    /// Makes `chat` a basic group (type "group"), as every group starts out.
    pub fn make_basic_group(&self, chat: TgChat) {
        self.state().basic_groups.insert(chat.id());
    }

    /// `by` upgrades the basic group `old` to the supergroup `new`: Telegram sends a service
    /// message with `migrate_to_chat_id` in the old chat and one with `migrate_from_chat_id` in
    /// the new one (service messages reach bots in privacy mode too).
    pub fn migrate_to_supergroup(&self, old: TgChat, new: TgChat, by: &TgUser) {
        self.user_message(old, by, |_, msg| {
            msg.extra.insert("migrate_to_chat_id".into(), json!(new.id()));
        });
        self.state().basic_groups.remove(&old.id());
        self.user_message(new, by, |_, msg| {
            msg.extra.insert("migrate_from_chat_id".into(), json!(old.id()));
        });
    }
}
