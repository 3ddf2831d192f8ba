//! The Telegram side: commands, the handler tree and one file of handlers per feature.
//! Handlers validate, write, answer at once and return; they never wait on a generation.

pub mod admin_commands;
pub mod commands;
mod flood;
mod handlers;
pub mod schema;

use std::{collections::HashSet, future::Future, sync::Arc};

use teloxide::types::{Message, User};
use tokio::sync::Notify;

use crate::{
    pixverse::PixverseClient,
    service::Service,
    storage::{SeenUser, Storage},
    telegram::{Cooldowns, lang_of_sender},
    texts::{
        Lang, Texts,
        admin::{AdminTexts, admin_texts},
        texts,
    },
};

pub use admin_commands::AdminCommand;
pub use commands::Command;
pub use flood::PlainTextBudget;

/// What every handler needs; injected once into the dispatcher.
pub struct BotContext {
    pub storage: Storage,
    pub pixverse: PixverseClient,
    /// Wakes the worker as soon as a task is written.
    pub wake_worker: Arc<Notify>,
    /// The operator's PixVerse API key for users without their own credential.
    pub admin_ids: HashSet<i64>,
    /// The one way work is accepted (shared with the HTTP API): access, limits, quota, insert.
    pub service: Service,
    /// Chats Telegram asked us to wait for (429), shared by every handler.
    pub cooldowns: Arc<Cooldowns>,
    /// Plain-text answers per user (a flood is ignored quietly).
    pub plain_text: PlainTextBudget,
}

pub type HandlerResult = anyhow::Result<()>;

/// Runs a handler's slow part (a PixVerse call) off the update path: teloxide hands a chat's
/// updates over one at a time, so the chat's next message must not wait for PixVerse. The work
/// answers when it is done; its failure is logged like a handler's.
pub fn in_background(what: &'static str, work: impl Future<Output = HandlerResult> + Send + 'static) {
    tokio::spawn(async move {
        if let Err(e) = work.await {
            tracing::error!(error = format!("{e:#}"), handler = what, "a handler failed");
        }
    });
}

impl BotContext {
    /// Records the sender and returns the texts in their language.
    pub async fn remember_sender(&self, msg: &Message) -> &'static dyn Texts {
        let Some(user) = msg.from.as_ref() else {
            return texts(Lang::En);
        };
        self.remember_user(user, msg.chat.is_private()).await
    }

    /// Records `user` and returns the texts in their language: the one chosen with /language,
    /// else their Telegram language.
    pub async fn remember_user(&self, user: &User, in_private_chat: bool) -> &'static dyn Texts {
        let id = user.id.0 as i64;
        let seen = SeenUser {
            id,
            username: user.username.as_deref(),
            first_name: &user.first_name,
            language: user.language_code.as_deref(),
            in_private_chat,
        };
        let chosen = match self.storage.upsert_user(&seen).await {
            Ok(chosen) => chosen,
            Err(e) => {
                // Not worth failing the request over: the user row is refreshed on every message.
                tracing::warn!(error = %e, "could not record the user");
                self.storage.chosen_language(id).await.ok().flatten()
            }
        };
        texts(lang_of_sender(chosen.as_deref(), user))
    }

    /// [`Self::remember_sender`] for an admin command: the admin texts in the admin's language.
    pub async fn remember_admin(&self, msg: &Message) -> &'static dyn AdminTexts {
        admin_texts(self.remember_sender(msg).await.lang())
    }

    /// The language of `user` without recording them (for a refusal, say).
    pub async fn lang_of(&self, user: &User) -> Lang {
        let id = user.id.0 as i64;
        let chosen = self.storage.chosen_language(id).await.ok().flatten();
        lang_of_sender(chosen.as_deref(), user)
    }
}

/// The sender's Telegram id (0 for anonymous group admins and channels, which we ignore upstream).
pub fn sender_id(msg: &Message) -> i64 {
    msg.from.as_ref().map(|u| u.id.0 as i64).unwrap_or_default()
}
