//! One file per feature.

pub mod access;
pub mod account;
pub mod admin;
pub mod albums;
pub mod buttons;
pub mod effects;
pub mod generate;
pub mod history;
pub mod modes;
pub mod pool;
pub mod settings;
pub mod start;
pub mod status;
pub mod token;
pub mod voices;

use teloxide::{
    prelude::*,
    types::{Message, ReplyMarkup},
};

use crate::{
    bot::BotContext,
    telegram::{Late, Place, Sent, send_text},
};

/// Sends `text` as a reply to `msg`, in its topic (plainly if that message is gone). A chat that
/// Telegram rate-limits gets it later, from the background: see `telegram::send_text`.
pub async fn reply(
    bot: &Bot,
    ctx: &BotContext,
    msg: &Message,
    text: String,
) -> Result<Sent, teloxide::RequestError> {
    send_text(
        bot,
        &ctx.cooldowns,
        Place::reply_to(msg),
        text,
        None,
        Late::SendLater,
    )
    .await
}

/// Sends `text` in `msg`'s chat and topic without replying to it (it is deleted: it held a
/// secret).
pub async fn say(
    bot: &Bot,
    ctx: &BotContext,
    msg: &Message,
    text: String,
) -> Result<Sent, teloxide::RequestError> {
    send_text(
        bot,
        &ctx.cooldowns,
        Place::beside(msg),
        text,
        None,
        Late::SendLater,
    )
    .await
}

/// Sends `text` with `markup` under it in `msg`'s chat and topic (a menu, a list with buttons).
pub async fn answer_with(
    bot: &Bot,
    ctx: &BotContext,
    msg: &Message,
    text: String,
    markup: impl Into<ReplyMarkup>,
) -> Result<Sent, teloxide::RequestError> {
    send_text(
        bot,
        &ctx.cooldowns,
        Place::beside(msg),
        text,
        Some(markup.into()),
        Late::SendLater,
    )
    .await
}
