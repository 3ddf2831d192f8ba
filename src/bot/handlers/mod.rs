//! One file per feature.

pub mod access;
pub mod account;
pub mod admin;
pub mod buttons;
pub mod generate;
pub mod history;
pub mod pool;
pub mod settings;
pub mod start;
pub mod status;
pub mod token;

use std::time::Duration;

use teloxide::{
    prelude::*,
    types::{Message, MessageId, ReplyParameters},
};

/// Sends `text` as a reply to `msg` (or plainly, if that message is gone).
pub async fn reply(bot: &Bot, msg: &Message, text: String) -> Result<Message, teloxide::RequestError> {
    reply_to(bot, msg.chat.id, msg.id, text).await
}

/// Sends `text` to `chat` as a reply to `message_id` (or plainly, if that message is gone).
/// Honours Telegram's 429 by waiting it out (a few seconds at most) and trying again: an answer
/// that arrives a little late beats none.
pub async fn reply_to(
    bot: &Bot,
    chat: ChatId,
    message_id: MessageId,
    text: String,
) -> Result<Message, teloxide::RequestError> {
    const MAX_TRIES: u32 = 3;
    const MAX_WAIT: Duration = Duration::from_secs(10);
    let mut tries = 0;
    loop {
        tries += 1;
        let sent = bot
            .send_message(chat, text.clone())
            .reply_parameters(ReplyParameters::new(message_id).allow_sending_without_reply())
            .await;
        match sent {
            Err(teloxide::RequestError::RetryAfter(wait))
                if tries < MAX_TRIES && wait.duration() <= MAX_WAIT =>
            {
                tokio::time::sleep(wait.duration()).await;
            }
            other => return other,
        }
    }
}
