//! Effect templates and picks (see `migrations/sqlite/0013_effects.sql`): the templates /effects
//! listed, so a button's template id can be checked, and each user's pending pick per chat.

use super::{Storage, StorageError, now_ms};

/// A pick left unused this long is forgotten: the next photo is an ordinary one again.
pub const EFFECT_PICK_LIFETIME_MS: i64 = 10 * 60 * 1000;

/// An effect template as PixVerse listed it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct EffectTemplateRow {
    pub template_id: i64,
    pub name: String,
}

impl Storage {
    /// Remembers templates PixVerse listed (a newer name replaces an older one).
    pub async fn remember_effect_templates(
        &self,
        templates: &[EffectTemplateRow],
    ) -> Result<(), StorageError> {
        let now = now_ms();
        for template in templates {
            on_pool!(&self.writer, |pool| {
                sqlx::query(
                "insert into effect_template (template_id, name, listed_at) values ($1, $2, $3)
                 on conflict (template_id) do update set name = excluded.name, listed_at = excluded.listed_at",
            )
            .bind(template.template_id)
            .bind(&template.name)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
            })?;
        }
        Ok(())
    }

    /// A template PixVerse listed, by id; `None` for one never listed.
    pub async fn effect_template(&self, template_id: i64) -> Result<Option<EffectTemplateRow>, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            "select template_id, name from effect_template where template_id = $1"
        )
        .bind(template_id)
        .fetch_optional(pool)
        .await)?)
    }

    /// `user_id`'s next photo in `chat_id` gets this template (replacing an earlier pick).
    pub async fn pick_effect(
        &self,
        chat_id: i64,
        user_id: i64,
        template_id: i64,
    ) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| sqlx::query(
            "insert into effect_pick (chat_id, user_id, template_id, picked_at) values ($1, $2, $3, $4)
             on conflict (chat_id, user_id) do update
                 set template_id = excluded.template_id, picked_at = excluded.picked_at",
        )
        .bind(chat_id)
        .bind(user_id)
        .bind(template_id)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The template `user_id` picked in `chat_id`, unless the pick has expired.
    pub async fn pending_effect(
        &self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Option<EffectTemplateRow>, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            "select t.template_id, t.name from effect_pick p
             join effect_template t on t.template_id = p.template_id
             where p.chat_id = $1 and p.user_id = $2 and p.picked_at > $3",
        )
        .bind(chat_id)
        .bind(user_id)
        .bind(now_ms() - EFFECT_PICK_LIFETIME_MS)
        .fetch_optional(pool)
        .await)?)
    }

    /// Forgets `user_id`'s pick in `chat_id`; whether there was a live one.
    pub async fn clear_effect_pick(&self, chat_id: i64, user_id: i64) -> Result<bool, StorageError> {
        let live = self.pending_effect(chat_id, user_id).await?.is_some();
        on_pool!(&self.writer, |pool| sqlx::query(
            "delete from effect_pick where chat_id = $1 and user_id = $2"
        )
        .bind(chat_id)
        .bind(user_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(live)
    }
}
