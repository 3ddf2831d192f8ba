//! One file per feature.

pub mod access;
pub mod account;
pub mod admin;
pub mod generate;
pub mod pool;
pub mod start;
pub mod status;

use teloxide::{
    prelude::*,
    types::{Message, ReplyParameters},
};

/// Sends `text` as a reply to `msg` (or plainly, if that message is gone).
pub async fn reply(bot: &Bot, msg: &Message, text: String) -> Result<Message, teloxide::RequestError> {
    bot.send_message(msg.chat.id, text)
        .reply_parameters(ReplyParameters::new(msg.id).allow_sending_without_reply())
        .await
}
