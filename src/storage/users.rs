//! Telegram users we have seen.

use super::{Storage, StorageError, now_ms};

/// What a message tells us about its sender.
#[derive(Clone, Debug)]
pub struct SeenUser<'a> {
    pub id: i64,
    pub username: Option<&'a str>,
    pub first_name: &'a str,
    pub language: Option<&'a str>,
    pub in_private_chat: bool,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: Option<String>,
    pub first_name: String,
    pub language: Option<String>,
    pub has_private_chat: bool,
}

impl Storage {
    /// Records that the user was seen now, creating the row on first contact. Returns the
    /// language chosen with /language, if any: every handler wants it right after, and one
    /// statement is cheaper than two (see `accept.rs`).
    pub async fn upsert_user(&self, seen: &SeenUser<'_>) -> Result<Option<String>, StorageError> {
        let now = now_ms();
        let chosen: Option<String> = on_pool!(&self.writer, |pool| {
            sqlx::query_scalar(
            "insert into \"user\" (id, username, first_name, language, has_private_chat, first_seen_at, last_seen_at)
             values ($1, $2, $3, $4, $5, $6, $6)
             on conflict (id) do update set
                 username = excluded.username,
                 first_name = excluded.first_name,
                 language = coalesce(excluded.language, \"user\".language),
                 has_private_chat = \"user\".has_private_chat or excluded.has_private_chat,
                 last_seen_at = excluded.last_seen_at
             returning (select language from user_settings where user_id = $1)",
        )
        .bind(seen.id)
        .bind(seen.username)
        .bind(seen.first_name)
        .bind(seen.language)
        .bind(seen.in_private_chat)
        .bind(now)
        .fetch_one(pool)
        .await
        })?;
        Ok(chosen)
    }

    pub async fn user(&self, id: i64) -> Result<Option<User>, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            "select id, username, first_name, language, has_private_chat from \"user\" where id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }
}
