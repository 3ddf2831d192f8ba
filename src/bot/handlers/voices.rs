//! /voices: PixVerse's text-to-speech voices as buttons; the one picked is remembered and
//! `/say` speaks with it (else PixVerse's automatic voice).

use std::sync::Arc;

use teloxide::{
    prelude::*,
    types::{InlineKeyboardButton, InlineKeyboardMarkup},
};

use super::{answer_with, buttons::Answer, reply};
use crate::{
    bot::{BotContext, HandlerResult, in_background, sender_id},
    domain::{Callback, MAX_CALLBACK_DATA, TaskKind},
    pixverse::ErrorKind,
    service::listing_key,
    texts::{Texts, modes::mode_texts},
};

/// The most voices listed (one button each).
const MAX_VOICES: usize = 24;

/// Asks PixVerse off the update path (see `in_background`).
pub async fn voices(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    in_background("voices", list_voices(bot, msg, ctx));
    Ok(())
}

async fn list_voices(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    let modes = mode_texts(texts.lang());
    let Some(credential) = listing_key(&ctx.storage, sender_id(&msg)).await? else {
        reply(&bot, &ctx, &msg, modes.needs_api_key(TaskKind::LipSync)).await?;
        return Ok(());
    };
    let voices = match ctx.pixverse.tts_voices(&credential).await {
        Ok(voices) => voices,
        Err(e) if e.kind() == ErrorKind::CredentialInvalid => {
            reply(&bot, &ctx, &msg, texts.reconnect_account()).await?;
            return Ok(());
        }
        Err(e) => {
            tracing::warn!(error = %e, "TTS voices failed");
            reply(&bot, &ctx, &msg, texts.pixverse_unreachable()).await?;
            return Ok(());
        }
    };
    let chosen = ctx.storage.chosen_voice(sender_id(&msg)).await?;
    let buttons: Vec<Vec<InlineKeyboardButton>> = voices
        .iter()
        .filter(|voice| Callback::Voice(voice.speaker_id.clone()).encode().len() <= MAX_CALLBACK_DATA)
        .take(MAX_VOICES)
        .map(|voice| {
            let mark = if chosen.as_deref() == Some(voice.speaker_id.as_str()) {
                "✅ "
            } else {
                ""
            };
            InlineKeyboardButton::callback(
                format!("{mark}{}", voice.name),
                Callback::Voice(voice.speaker_id.clone()).encode(),
            )
        })
        .collect::<Vec<_>>()
        .chunks(3)
        .map(<[_]>::to_vec)
        .collect();
    let markup = InlineKeyboardMarkup::new(buttons);
    answer_with(&bot, &ctx, &msg, modes.voices(voices.len()), markup).await?;
    Ok(())
}

/// A voice button: remembered for `/say`.
pub(super) async fn on_voice(
    ctx: &BotContext,
    texts: &'static dyn Texts,
    user_id: i64,
    speaker_id: &str,
) -> anyhow::Result<Answer> {
    ctx.storage.save_voice(user_id, speaker_id).await?;
    Ok(Answer::Toast(mode_texts(texts.lang()).voice_chosen(speaker_id)))
}
