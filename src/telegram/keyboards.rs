//! The inline keyboards under the bot's messages that more than one part of the bot sends.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::{
    domain::Callback,
    texts::{Texts, modes::mode_texts},
};

/// Under a delivered video (and a re-sent one): the same request again, and again with a new
/// seed; a continuation of the video, and a sound for it. A reply to the video finds its task by
/// these buttons (see [`result_task_of`]).
pub fn result_keyboard(texts: &dyn Texts, task_id: i64) -> InlineKeyboardMarkup {
    let modes = mode_texts(texts.lang());
    InlineKeyboardMarkup::new([
        [
            InlineKeyboardButton::callback(texts.button_again(), Callback::Again(task_id).encode()),
            InlineKeyboardButton::callback(texts.button_new_seed(), Callback::NewSeed(task_id).encode()),
        ],
        [
            InlineKeyboardButton::callback(modes.button_extend(), Callback::Extend(task_id).encode()),
            InlineKeyboardButton::callback(modes.button_sound(), Callback::Sound(task_id).encode()),
        ],
    ])
}

/// The task behind a delivered video, from the result buttons under it.
pub fn result_task_of(markup: &InlineKeyboardMarkup) -> Option<i64> {
    markup
        .inline_keyboard
        .iter()
        .flatten()
        .find_map(|button| match &button.kind {
            teloxide::types::InlineKeyboardButtonKind::CallbackData(data) => {
                Callback::parse(data).and_then(|callback| callback.result_task())
            }
            _ => None,
        })
}

/// Under a failure that trying again can fix.
pub fn retry_keyboard(texts: &dyn Texts, task_id: i64) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[InlineKeyboardButton::callback(
        texts.button_retry(),
        Callback::Retry(task_id).encode(),
    )]])
}
