//! /settings and /language: inline-keyboard menus that edit themselves in place.

use std::sync::Arc;

use teloxide::{
    ApiError, RequestError,
    prelude::*,
    types::{InlineKeyboardButton, InlineKeyboardMarkup, Me, MessageId},
};

use super::{answer_with, buttons::Answer, reply};
use crate::{
    bot::{BotContext, HandlerResult, sender_id},
    domain::{Callback, GenerationParams, SettingField},
    texts::{Lang, Texts, texts},
};

/// Buttons per row in a list of choices.
const CHOICES_PER_ROW: usize = 4;

pub async fn settings(bot: Bot, msg: Message, ctx: Arc<BotContext>, me: Me) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    if !msg.chat.is_private() {
        reply(&bot, &ctx, &msg, texts.settings_private_only(me.username())).await?;
        return Ok(());
    }
    let params = ctx.storage.settings_of(sender_id(&msg)).await?;
    answer_with(
        &bot,
        &ctx,
        &msg,
        texts.settings_menu(&params),
        home_keyboard(texts, &params),
    )
    .await?;
    Ok(())
}

pub async fn language(bot: Bot, msg: Message, ctx: Arc<BotContext>) -> HandlerResult {
    let texts = ctx.remember_sender(&msg).await;
    let buttons = Lang::ALL.map(|lang| {
        InlineKeyboardButton::callback(
            lang.native_name(),
            Callback::Language(lang.code().to_owned()).encode(),
        )
    });
    answer_with(
        &bot,
        &ctx,
        &msg,
        texts.language_menu(),
        InlineKeyboardMarkup::new([buttons]),
    )
    .await?;
    Ok(())
}

/// A tap in the settings menu: open a page, or choose a value (saved when the combination is
/// valid, explained when not). The menu message is edited in place.
pub(super) async fn on_settings(
    bot: &Bot,
    ctx: &BotContext,
    texts: &'static dyn Texts,
    user_id: i64,
    menu: (ChatId, MessageId),
    callback: Callback,
) -> anyhow::Result<Answer> {
    let params = ctx.storage.settings_of(user_id).await?;
    let (text, keyboard, answer) = match callback {
        Callback::SettingsOpen(field) if field.applies_to(&params) => (
            texts.settings_choose(field),
            choices_keyboard(texts, field, &params),
            Answer::Silent,
        ),
        Callback::SettingsChoose(field, value) => match field.apply(&params, &value) {
            Some(next) => match next.validate() {
                Ok(()) => {
                    ctx.storage.save_settings(user_id, &next).await?;
                    (
                        texts.settings_menu(&next),
                        home_keyboard(texts, &next),
                        Answer::Toast(texts.settings_saved()),
                    )
                }
                // Explained, not saved; the menu stays where it is.
                Err(error) => return Ok(Answer::Alert(texts.param_error(&error))),
            },
            None => (
                texts.settings_menu(&params),
                home_keyboard(texts, &params),
                Answer::Silent,
            ),
        },
        _ => (
            texts.settings_menu(&params),
            home_keyboard(texts, &params),
            Answer::Silent,
        ),
    };
    edit_in_place(bot, menu, text, keyboard).await?;
    Ok(answer)
}

/// A tap in the language menu: store the choice and answer in the new language.
pub(super) async fn on_language(
    bot: &Bot,
    ctx: &BotContext,
    user_id: i64,
    menu: (ChatId, MessageId),
    code: &str,
) -> anyhow::Result<Answer> {
    let Some(lang) = Lang::ALL.into_iter().find(|l| l.code() == code) else {
        return Ok(Answer::Silent);
    };
    ctx.storage.save_language(user_id, lang.code()).await?;
    let texts = texts(lang);
    let (chat, message) = menu;
    match bot.edit_message_text(chat, message, texts.language_set()).await {
        Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(Answer::Toast(texts.language_set()))
}

async fn edit_in_place(
    bot: &Bot,
    (chat, message): (ChatId, MessageId),
    text: String,
    keyboard: InlineKeyboardMarkup,
) -> anyhow::Result<()> {
    match bot
        .edit_message_text(chat, message, text)
        .reply_markup(keyboard)
        .await
    {
        // Tapping the value that is already chosen changes nothing: fine.
        Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// One button per setting with its current value, two per row.
fn home_keyboard(texts: &dyn Texts, params: &GenerationParams) -> InlineKeyboardMarkup {
    let buttons: Vec<InlineKeyboardButton> = SettingField::ALL
        .into_iter()
        .filter(|field| field.applies_to(params))
        .map(|field| {
            let label = format!(
                "{}: {}",
                texts.setting_name(field),
                display(texts, field, &field.value_of(params))
            );
            InlineKeyboardButton::callback(label, Callback::SettingsOpen(field).encode())
        })
        .collect();
    InlineKeyboardMarkup::new(buttons.chunks(2).map(<[_]>::to_vec))
}

/// The choices for `field`, the current one marked, and a way back.
fn choices_keyboard(
    texts: &dyn Texts,
    field: SettingField,
    params: &GenerationParams,
) -> InlineKeyboardMarkup {
    let current = field.value_of(params);
    let buttons: Vec<InlineKeyboardButton> = field
        .choices(params)
        .into_iter()
        .map(|value| {
            let shown = display(texts, field, &value);
            let label = if value == current {
                format!("✅ {shown}")
            } else {
                shown
            };
            InlineKeyboardButton::callback(label, Callback::SettingsChoose(field, value).encode())
        })
        .collect();
    let mut rows: Vec<Vec<InlineKeyboardButton>> =
        buttons.chunks(CHOICES_PER_ROW).map(<[_]>::to_vec).collect();
    rows.push(vec![InlineKeyboardButton::callback(
        texts.button_back(),
        Callback::SettingsHome.encode(),
    )]);
    InlineKeyboardMarkup::new(rows)
}

/// A value as the user reads it: `5 s`, `fast`/`быстрое`, `on`/`вкл`.
fn display(texts: &dyn Texts, field: SettingField, value: &str) -> String {
    match field {
        SettingField::Duration => value.parse().map(|n| texts.seconds(n)).unwrap_or_default(),
        SettingField::Motion => crate::domain::MotionMode::parse(value)
            .map(|m| texts.motion_name(m).to_owned())
            .unwrap_or_default(),
        SettingField::Audio => texts.on_off(value == "on").to_owned(),
        _ => value.to_owned(),
    }
}
