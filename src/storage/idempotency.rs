//! `Idempotency-Key` of the API's task-creating POSTs (see migrations/sqlite/0007_api.sql).

use super::{Storage, StorageError, now_ms};

/// How long a key is remembered.
pub const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
/// A reservation without a task after this long was left by a request that died mid-accept
/// (a crash between the reservation and its task): the key is free again.
const ABANDONED_AFTER_MS: i64 = 60 * 1000;

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
    /// Reserves `key` for `user_id`, or says what it already stands for. The reservation is one
    /// conditional statement (not a read, then a write, in one transaction: in WAL mode such a
    /// transaction fails at once with SQLITE_BUSY when another request wrote in between).
    pub async fn reserve_idempotency(
        &self,
        user_id: i64,
        key: &str,
        request_hash: &[u8],
    ) -> Result<Reservation, StorageError> {
        // A row freed between the two statements (a refused request released it) is tried again.
        for _ in 0..3 {
            let now = now_ms();
            let reserved: Option<bool> = on_pool!(&self.writer, |pool| {
                sqlx::query_scalar(
                "insert into api_idempotency (user_id, key, request_hash, task_id, created_at)
                 values ($1, $2, $3, null, $4)
                 on conflict (user_id, key) do update set
                     request_hash = excluded.request_hash, task_id = null, created_at = excluded.created_at
                 where api_idempotency.created_at + $5 <= excluded.created_at
                    or (api_idempotency.task_id is null and api_idempotency.created_at + $6 <= excluded.created_at)
                 returning true",
            )
            .bind(user_id)
            .bind(key)
            .bind(request_hash)
            .bind(now)
            .bind(IDEMPOTENCY_WINDOW_MS)
            .bind(ABANDONED_AFTER_MS)
            .fetch_optional(pool)
            .await
            })?;
            if reserved.is_some() {
                return Ok(Reservation::Reserved);
            }
            let existing: Option<(Vec<u8>, Option<i64>)> = on_pool!(&self.engine, |pool| sqlx::query_as(
                "select request_hash, task_id from api_idempotency where user_id = $1 and key = $2",
            )
            .bind(user_id)
            .bind(key)
            .fetch_optional(pool)
            .await)?;
            match existing {
                Some((hash, _)) if hash != request_hash => return Ok(Reservation::OtherRequest),
                Some((_, Some(task_id))) => return Ok(Reservation::Existing(task_id)),
                Some((_, None)) => return Ok(Reservation::InProgress),
                None => continue,
            }
        }
        Ok(Reservation::InProgress)
    }

    /// Records the task a reserved key made.
    pub async fn complete_idempotency(
        &self,
        user_id: i64,
        key: &str,
        task_id: i64,
    ) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| sqlx::query(
            "update api_idempotency set task_id = $3 where user_id = $1 and key = $2"
        )
        .bind(user_id)
        .bind(key)
        .bind(task_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Forgets a reservation whose request was refused: the same key may be tried again.
    pub async fn release_idempotency(&self, user_id: i64, key: &str) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| sqlx::query(
            "delete from api_idempotency where user_id = $1 and key = $2 and task_id is null"
        )
        .bind(user_id)
        .bind(key)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }
}
