//! Who may use the bot: the access mode, per-user decisions (allowed, banned, quota) and allowed
//! groups with the members seen in them.

use super::{Storage, StorageError, now_ms};

/// Who may use the bot, set by an admin with `/access`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessMode {
    /// Anyone (banned users excepted).
    Open,
    /// Only allowed users and members of allowed groups.
    Allowlist,
}

impl AccessMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::Open => "open",
            AccessMode::Allowlist => "allowlist",
        }
    }

    pub fn parse(text: &str) -> Option<AccessMode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "open" => Some(AccessMode::Open),
            "allowlist" => Some(AccessMode::Allowlist),
            _ => None,
        }
    }
}

/// What admins decided about one user (all false / none when nothing was decided).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct UserAccess {
    pub allowed: bool,
    pub banned: bool,
    pub daily_quota: Option<i64>,
}

impl Storage {
    pub async fn access_mode(&self) -> Result<AccessMode, StorageError> {
        // Cached: the gate asks on every message; only `set_access_mode` changes it.
        if let Some(mode) = self.access_mode.get() {
            return Ok(mode);
        }
        let value: Option<String> = on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select value from setting where key = 'access_mode'"
        )
        .fetch_optional(pool)
        .await)?;
        let mode = value
            .as_deref()
            .and_then(AccessMode::parse)
            .unwrap_or(AccessMode::Open);
        self.access_mode.put(mode);
        Ok(mode)
    }

    pub async fn set_access_mode(&self, mode: AccessMode) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| sqlx::query(
            "insert into setting (key, value) values ('access_mode', $1)
             on conflict (key) do update set value = excluded.value",
        )
        .bind(mode.as_str())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        self.access_mode.put(mode);
        Ok(())
    }

    pub async fn user_access(&self, user_id: i64) -> Result<UserAccess, StorageError> {
        let row: Option<UserAccess> = on_pool!(&self.engine, |pool| sqlx::query_as(
            "select allowed, banned, daily_quota from user_access where user_id = $1"
        )
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.unwrap_or_default())
    }

    /// Sets `allowed` for the user.
    pub async fn set_allowed(&self, user_id: i64, allowed: bool) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| {
            sqlx::query(
            "insert into user_access (user_id, allowed, updated_at) values ($1, $2, $3)
             on conflict (user_id) do update set allowed = excluded.allowed, updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(allowed)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        })?;
        Ok(())
    }

    /// Bans or unbans the user. Either way the one refusal a banned user gets is owed again.
    pub async fn set_banned(&self, user_id: i64, banned: bool) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| sqlx::query(
            "insert into user_access (user_id, banned, updated_at) values ($1, $2, $3)
             on conflict (user_id) do update set banned = excluded.banned, ban_notified = false,
                 updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(banned)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// True only for the first call after a ban: the banned user is told once, then ignored.
    /// One statement, so two messages handled at once cannot both be answered.
    pub async fn take_ban_notice(&self, user_id: i64) -> Result<bool, StorageError> {
        let done = on_pool!(&self.writer, |pool| {
            sqlx::query(
            "update user_access set ban_notified = true where user_id = $1 and banned = true and ban_notified = false",
        )
        .bind(user_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// The user's own daily pool quota (`None`: back to the default).
    pub async fn set_daily_quota(&self, user_id: i64, quota: Option<i64>) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| sqlx::query(
            "insert into user_access (user_id, daily_quota, updated_at) values ($1, $2, $3)
             on conflict (user_id) do update set daily_quota = excluded.daily_quota,
                 updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(quota)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    pub async fn allow_group(&self, chat_id: i64, admin_id: i64) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| sqlx::query(
            "insert into allowed_group (chat_id, allowed_by, created_at) values ($1, $2, $3)
             on conflict (chat_id) do nothing",
        )
        .bind(chat_id)
        .bind(admin_id)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    pub async fn is_group_allowed(&self, chat_id: i64) -> Result<bool, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select exists (select 1 from allowed_group where chat_id = $1)"
        )
        .bind(chat_id)
        .fetch_one(pool)
        .await)?)
    }

    /// Remembers that `user_id` wrote in the group `chat_id`.
    pub async fn record_group_member(&self, chat_id: i64, user_id: i64) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| sqlx::query(
            "insert into group_member (chat_id, user_id, last_seen_at) values ($1, $2, $3)
             on conflict (chat_id, user_id) do update set last_seen_at = excluded.last_seen_at",
        )
        .bind(chat_id)
        .bind(user_id)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The group `old` became the supergroup `new`: its allowlist entry and its members move
    /// with it. Idempotent (Telegram announces the move in both chats).
    pub async fn migrate_group(&self, old: i64, new: i64) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "insert into allowed_group (chat_id, allowed_by, created_at)
             select $2, allowed_by, created_at from allowed_group where chat_id = $1
             on conflict (chat_id) do nothing",
            )
            .bind(old)
            .bind(new)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "insert into group_member (chat_id, user_id, last_seen_at)
             select $2, user_id, last_seen_at from group_member where chat_id = $1
             on conflict (chat_id, user_id) do nothing",
            )
            .bind(old)
            .bind(new)
            .execute(&mut *tx)
            .await?;
            // The old chat is gone for good: Telegram refuses every message to it.
            sqlx::query("delete from allowed_group where chat_id = $1")
                .bind(old)
                .execute(&mut *tx)
                .await?;
            sqlx::query("delete from group_member where chat_id = $1")
                .bind(old)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Whether the user was seen in a group that is allowed.
    pub async fn member_of_allowed_group(&self, user_id: i64) -> Result<bool, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select exists (select 1 from group_member m join allowed_group g on g.chat_id = m.chat_id
                            where m.user_id = $1)",
        )
        .bind(user_id)
        .fetch_one(pool)
        .await)?)
    }

    /// A known user by `@username` (case-insensitive, with or without the `@`).
    pub async fn user_id_by_username(&self, username: &str) -> Result<Option<i64>, StorageError> {
        let username = username.trim().trim_start_matches('@');
        Ok(on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select id from \"user\" where lower(username) = lower($1) order by last_seen_at desc limit 1",
        )
        .bind(username)
        .fetch_optional(pool)
        .await)?)
    }

    /// A send to the user's private chat failed because they blocked the bot.
    pub async fn mark_user_blocked(&self, user_id: i64) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| sqlx::query(
            "update \"user\" set blocked_at = $2 where id = $1"
        )
        .bind(user_id)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The user wrote to us in private again, so they no longer block the bot.
    pub async fn clear_user_blocked(&self, user_id: i64) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| sqlx::query(
            "update \"user\" set blocked_at = null where id = $1 and blocked_at is not null"
        )
        .bind(user_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Users a broadcast goes to, with their language (chosen with /language, else Telegram's):
    /// seen in a private chat, not known to block the bot, and not banned.
    pub async fn broadcast_recipients(&self) -> Result<Vec<(i64, Option<String>)>, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            "select u.id, coalesce(s.language, u.language) from \"user\" u
             left join user_settings s on s.user_id = u.id
             left join user_access a on a.user_id = u.id
             where u.has_private_chat = true and u.blocked_at is null and coalesce(a.banned, false) = false
             order by u.id",
        )
        .fetch_all(pool)
        .await)?)
    }
}
