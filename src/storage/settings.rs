//! Per-user settings: default generation parameters (/settings) and the chosen language
//! (/language). Also the few task queries only the buttons and /history need.

use crate::domain::GenerationParams;

use super::{Storage, StorageError, now_ms};

impl Storage {
    /// The user's saved default parameters; the bot's defaults when none are saved or the saved
    /// ones no longer make a valid combination.
    pub async fn settings_of(&self, user_id: i64) -> Result<GenerationParams, StorageError> {
        let saved: Option<Option<String>> = on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select params from user_settings where user_id = $1"
        )
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
        Ok(saved
            .flatten()
            .and_then(|json| serde_json::from_str::<GenerationParams>(&json).ok())
            .filter(|p| p.validate().is_ok())
            .unwrap_or_default())
    }

    /// Saves the user's default parameters. Per-request values (seed, negative prompt, style)
    /// are not kept. The user row must exist.
    pub async fn save_settings(&self, user_id: i64, params: &GenerationParams) -> Result<(), StorageError> {
        let params = GenerationParams {
            seed: None,
            negative_prompt: None,
            style: None,
            template_id: None,
            ..params.clone()
        };
        let json = serde_json::to_string(&params).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        on_pool!(&self.writer, |pool| sqlx::query(
            "insert into user_settings (user_id, params, updated_at) values ($1, $2, $3)
             on conflict (user_id) do update set params = excluded.params, updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(json)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Stores the language chosen with /language (`en`, `ru`). The user row must exist.
    pub async fn save_language(&self, user_id: i64, code: &str) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| {
            sqlx::query(
            "insert into user_settings (user_id, language, updated_at) values ($1, $2, $3)
             on conflict (user_id) do update set language = excluded.language, updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(code)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        })?;
        Ok(())
    }

    /// Stores the TTS voice picked with /voices. The user row must exist.
    pub async fn save_voice(&self, user_id: i64, speaker_id: &str) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| sqlx::query(
            "insert into user_settings (user_id, voice, updated_at) values ($1, $2, $3)
             on conflict (user_id) do update set voice = excluded.voice, updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(speaker_id)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The TTS voice picked with /voices, if any.
    pub async fn chosen_voice(&self, user_id: i64) -> Result<Option<String>, StorageError> {
        let voice: Option<Option<String>> = on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select voice from user_settings where user_id = $1"
        )
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
        Ok(voice.flatten())
    }

    /// The language chosen with /language, if any.
    pub async fn chosen_language(&self, user_id: i64) -> Result<Option<String>, StorageError> {
        let chosen: Option<Option<String>> = on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select language from user_settings where user_id = $1"
        )
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
        Ok(chosen.flatten())
    }

    /// The language to answer the user in: the one chosen with /language, else Telegram's.
    pub async fn preferred_language(&self, user_id: i64) -> Result<Option<String>, StorageError> {
        let language: Option<Option<String>> = on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select coalesce(s.language, u.language) from \"user\" u
             left join user_settings s on s.user_id = u.id where u.id = $1",
        )
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
        Ok(language.flatten())
    }
}
