//! `Idempotency-Key` of the API's task-creating POSTs (see migrations/0007_api.sql).

use super::{Storage, StorageError, now_ms};

/// How long a key is remembered.
pub const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// What a key already stands for.
#[derive(Debug, PartialEq, Eq)]
pub enum Reservation {
    /// The key is new (or older than the window): the caller accepts the request, then calls
    /// [`Storage::complete_idempotency`] or [`Storage::release_idempotency`].
    Reserved,
    /// The same key and body made this task.
    Existing(i64),
    /// The same key with another body.
    OtherRequest,
    /// The first request with this key is still being accepted.
    InProgress,
}

impl Storage {
    /// Reserves `key` for `user_id`, or says what it already stands for. One transaction.
    pub async fn reserve_idempotency(
        &self,
        user_id: i64,
        key: &str,
        request_hash: &[u8],
    ) -> Result<Reservation, StorageError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let existing: Option<(Vec<u8>, Option<i64>, i64)> = sqlx::query_as(
            "select request_hash, task_id, created_at from api_idempotency where user_id = ?1 and key = ?2",
        )
        .bind(user_id)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        let answer = match existing {
            Some((_, _, created_at)) if created_at + IDEMPOTENCY_WINDOW_MS <= now => None,
            Some((hash, _, _)) if hash != request_hash => Some(Reservation::OtherRequest),
            Some((_, Some(task_id), _)) => Some(Reservation::Existing(task_id)),
            Some((_, None, _)) => Some(Reservation::InProgress),
            None => None,
        };
        if let Some(answer) = answer {
            return Ok(answer);
        }
        sqlx::query(
            "insert into api_idempotency (user_id, key, request_hash, task_id, created_at)
             values (?1, ?2, ?3, null, ?4)
             on conflict (user_id, key) do update set
                 request_hash = excluded.request_hash, task_id = null, created_at = excluded.created_at",
        )
        .bind(user_id)
        .bind(key)
        .bind(request_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Reservation::Reserved)
    }

    /// Records the task a reserved key made.
    pub async fn complete_idempotency(
        &self,
        user_id: i64,
        key: &str,
        task_id: i64,
    ) -> Result<(), StorageError> {
        sqlx::query("update api_idempotency set task_id = ?3 where user_id = ?1 and key = ?2")
            .bind(user_id)
            .bind(key)
            .bind(task_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets a reservation whose request was refused: the same key may be tried again.
    pub async fn release_idempotency(&self, user_id: i64, key: &str) -> Result<(), StorageError> {
        sqlx::query("delete from api_idempotency where user_id = ?1 and key = ?2 and task_id is null")
            .bind(user_id)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
