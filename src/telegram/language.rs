//! One way to learn a user's language: the one chosen with /language, else the language of their
//! Telegram client, else English. Every text a user reads (answers, refusals, quota and admin
//! notices, broadcasts, the worker's messages) is chosen through here.

use teloxide::types::User;

use crate::{storage::Storage, texts::Lang};

/// The language of someone who just wrote: `chosen` is their /language choice (the user upsert
/// returns it), else their Telegram client's language.
pub fn lang_of_sender(chosen: Option<&str>, user: &User) -> Lang {
    Lang::from_code(chosen.or(user.language_code.as_deref()))
}

/// The language of a user we write to unprompted (the worker, an admin's notice, a broadcast):
/// read from storage. A database error falls back to English rather than not telling them.
pub async fn lang_of_user(storage: &Storage, user_id: i64) -> Lang {
    match storage.preferred_language(user_id).await {
        Ok(language) => Lang::from_code(language.as_deref()),
        Err(e) => {
            tracing::warn!(user_id, error = %e, "could not read a user's language");
            Lang::En
        }
    }
}
