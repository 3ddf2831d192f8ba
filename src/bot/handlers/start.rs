//! /start, /help, unknown commands and plain text.

use std::sync::Arc;

use teloxide::{prelude::*, types::Me};

use super::reply;
use crate::bot::{BotContext, HandlerResult, sender_id};

pub async fn start(bot: Bot, msg: Message, ctx: Arc<BotContext>, me: Me, param: String) -> HandlerResult {
    // A deep-link parameter (t.me/bot?start=...) is accepted; `settings` (the link /settings
    // gives in groups) opens the settings menu, anything else is the plain welcome.
    tracing::debug!(has_param = !param.is_empty(), "start");
    if param == "settings" && msg.chat.is_private() {
        return super::settings::settings(bot, msg, ctx, me).await;
    }
    let texts = ctx.remember_sender(&msg).await;
    let own = ctx.storage.credential_of_user(sender_id(&msg)).await?.is_some();
    let first_name = msg
        .from
        .as_ref()
        .map(|u| u.first_name.as_str())
        .unwrap_or_default();
    reply(
        &bot,
        &ctx,
        &msg,
        texts.start(first_name, own, ctx.storage.pool_has_usable().await?),
    )
    .await?;
    Ok(())
}

pub async fn help(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    reply(&bot, &ctx, &msg, texts.help()).await?;
    Ok(())
}

pub async fn unknown_command(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    reply(&bot, &ctx, &msg, texts.unknown_command()).await?;
    Ok(())
}

/// Plain text in a private chat: a hint how to ask for a video, a few times a minute at most.
pub async fn text_hint(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    if !ctx.plain_text.admit(sender_id(&msg)) {
        return Ok(());
    }
    let texts = ctx.remember_sender(&msg).await;
    reply(&bot, &ctx, &msg, texts.text_hint()).await?;
    Ok(())
}
