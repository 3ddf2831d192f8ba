//! The inline keyboards under the bot's messages that more than one part of the bot sends.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::{domain::Callback, texts::Texts};

/// Under a delivered video (and a re-sent one): the same request again, and again with a new
/// seed.
pub fn result_keyboard(texts: &dyn Texts, task_id: i64) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[
        InlineKeyboardButton::callback(texts.button_again(), Callback::Again(task_id).encode()),
        InlineKeyboardButton::callback(texts.button_new_seed(), Callback::NewSeed(task_id).encode()),
    ]])
}

/// Under a failure that trying again can fix.
pub fn retry_keyboard(texts: &dyn Texts, task_id: i64) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[InlineKeyboardButton::callback(
        texts.button_retry(),
        Callback::Retry(task_id).encode(),
    )]])
}
