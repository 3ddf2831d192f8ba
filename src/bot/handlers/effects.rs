//! /effects: PixVerse's effect templates as buttons, a page at a time (◀ ▶). Picking one
//! remembers it (stored, for a while) for the presser in that chat; their next photo there
//! becomes an image-to-video with that template (see `generate::accept`). /cancel or ✖ forgets
//! the pick. Button data is checked against the templates PixVerse listed: it can be forged.

use std::sync::Arc;

use teloxide::{
    ApiError, RequestError,
    prelude::*,
    types::{InlineKeyboardButton, InlineKeyboardMarkup, MessageId},
};

use super::{answer_with, buttons::Answer, reply};
use crate::{
    bot::{BotContext, HandlerResult, in_background, sender_id},
    domain::Callback,
    pixverse::{Credential, ErrorKind},
    service::{EffectsError, EffectsPage, effects_page, listing_key},
    storage::EFFECT_PICK_LIFETIME_MS,
    texts::{Texts, effects::effect_texts},
};

/// Asks PixVerse off the update path (see `in_background`).
pub async fn effects(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    in_background("effects", list_effects(bot, msg, ctx));
    Ok(())
}

async fn list_effects(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    // A new /effects replaces an earlier pick.
    ctx.storage
        .clear_effect_pick(msg.chat.id.0, sender_id(&msg))
        .await?;
    match page_of(&ctx, texts, sender_id(&msg), 1).await? {
        Ok((text, markup)) => answer_with(&bot, &ctx, &msg, text, markup).await?,
        Err(why) => reply(&bot, &ctx, &msg, why).await?,
    };
    Ok(())
}

/// /cancel: forgets the sender's picked effect in this chat.
pub async fn cancel(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    let had_one = ctx
        .storage
        .clear_effect_pick(msg.chat.id.0, sender_id(&msg))
        .await?;
    reply(
        &bot,
        &ctx,
        &msg,
        effect_texts(texts.lang()).effect_cancelled(had_one),
    )
    .await?;
    Ok(())
}

/// ◀ / ▶: the list's message shows page `page` (edited from the background; the tap is
/// answered at once).
pub(super) fn on_page(
    bot: &Bot,
    ctx: Arc<BotContext>,
    texts: &'static dyn Texts,
    user_id: i64,
    (chat, message): (ChatId, MessageId),
    page: u32,
) -> Answer {
    let bot = bot.clone();
    in_background("effects page", async move {
        let (text, markup) = match page_of(&ctx, texts, user_id, page).await? {
            Ok(page) => page,
            Err(why) => (why, InlineKeyboardMarkup::default()),
        };
        match bot
            .edit_message_text(chat, message, text)
            .reply_markup(markup)
            .await
        {
            Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    });
    Answer::Silent
}

/// A template button: remembered for the presser (only) in this chat, if PixVerse listed it.
pub(super) async fn on_pick(
    ctx: &BotContext,
    texts: &'static dyn Texts,
    user_id: i64,
    chat: ChatId,
    template_id: i64,
) -> anyhow::Result<Answer> {
    let words = effect_texts(texts.lang());
    let Some(template) = ctx.storage.effect_template(template_id).await? else {
        return Ok(Answer::Alert(words.effect_unknown()));
    };
    ctx.storage.pick_effect(chat.0, user_id, template_id).await?;
    let minutes = EFFECT_PICK_LIFETIME_MS / 60_000;
    Ok(Answer::Toast(words.effect_picked(&template.name, minutes)))
}

/// ✖: forgets the presser's pick in this chat.
pub(super) async fn on_cancel(
    ctx: &BotContext,
    texts: &'static dyn Texts,
    user_id: i64,
    chat: ChatId,
) -> anyhow::Result<Answer> {
    let had_one = ctx.storage.clear_effect_pick(chat.0, user_id).await?;
    Ok(Answer::Toast(
        effect_texts(texts.lang()).effect_cancelled(had_one),
    ))
}

/// Page `page` as a text and its buttons, or what to say instead (no key, PixVerse failed).
async fn page_of(
    ctx: &BotContext,
    texts: &'static dyn Texts,
    user_id: i64,
    page: u32,
) -> anyhow::Result<Result<(String, InlineKeyboardMarkup), String>> {
    let words = effect_texts(texts.lang());
    let Some(credential): Option<Credential> = listing_key(&ctx.storage, user_id).await? else {
        return Ok(Err(words.effects_need_api_key()));
    };
    let EffectsPage { templates, has_next } =
        match effects_page(&ctx.storage, &ctx.pixverse, &credential, page).await {
            Ok(listed) => listed,
            Err(EffectsError::Pixverse(e)) if e.kind() == ErrorKind::CredentialInvalid => {
                return Ok(Err(texts.reconnect_account()));
            }
            Err(EffectsError::Pixverse(e)) => {
                tracing::warn!(error = %e, page, "effect templates failed");
                return Ok(Err(texts.pixverse_unreachable()));
            }
            Err(e) => return Err(e.into()),
        };
    let mut rows: Vec<Vec<InlineKeyboardButton>> = templates
        .iter()
        .map(|t| InlineKeyboardButton::callback(t.name.clone(), Callback::Effect(t.template_id).encode()))
        .collect::<Vec<_>>()
        .chunks(2)
        .map(<[_]>::to_vec)
        .collect();
    let mut nav = Vec::new();
    if page > 1 {
        nav.push(InlineKeyboardButton::callback(
            words.button_previous(),
            Callback::EffectsPage(page - 1).encode(),
        ));
    }
    if has_next {
        nav.push(InlineKeyboardButton::callback(
            words.button_next(),
            Callback::EffectsPage(page + 1).encode(),
        ));
    }
    rows.push(nav);
    rows.push(vec![InlineKeyboardButton::callback(
        words.button_cancel(),
        Callback::EffectCancel.encode(),
    )]);
    let text = words.effects_list(page, templates.is_empty());
    Ok(Ok((
        text,
        InlineKeyboardMarkup::new(rows.into_iter().filter(|row| !row.is_empty())),
    )))
}
