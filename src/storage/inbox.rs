//! The Telegram webhook inbox: every update is stored before Telegram gets its 200, and handed
//! to the dispatcher from here (see migrations/sqlite/0007_api.sql).

use super::{Storage, StorageError, now_ms};

/// Stored updates are kept this long after dispatch to recognise redeliveries (Telegram gives up
/// on an update after about a day).
const KEEP_DISPATCHED_MS: i64 = 48 * 60 * 60 * 1000;

impl Storage {
    /// Stores an update; `false` when this `update_id` was stored before (a redelivery).
    pub async fn store_update(&self, update_id: i64, body: &str) -> Result<bool, StorageError> {
        let done = on_pool!(&self.writer, |pool| sqlx::query(
            "insert into telegram_update (update_id, body, received_at) values ($1, $2, $3)
             on conflict (update_id) do nothing",
        )
        .bind(update_id)
        .bind(body)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Updates stored but not yet handed to the dispatcher, oldest first.
    pub async fn pending_updates(&self) -> Result<Vec<(i64, String)>, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            "select update_id, body from telegram_update where dispatched_at is null order by update_id",
        )
        .fetch_all(pool)
        .await)?)
    }

    /// Marks an update as handed to the dispatcher, and forgets old ones.
    pub async fn mark_update_dispatched(&self, update_id: i64) -> Result<(), StorageError> {
        let now = now_ms();
        on_pool!(&self.writer, |pool| sqlx::query(
            "update telegram_update set dispatched_at = $2 where update_id = $1"
        )
        .bind(update_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        if update_id % 100 == 0 {
            on_pool!(&self.writer, |pool| sqlx::query(
                "delete from telegram_update where dispatched_at < $1"
            )
            .bind(now - KEEP_DISPATCHED_MS)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        }
        Ok(())
    }
}
