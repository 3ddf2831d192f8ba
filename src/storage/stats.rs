//! Figures for admins: /stats and /tasks.

use super::{Storage, StorageError, TaskRow};
use crate::domain::{ChatId, TaskId, TaskState, UserId};

/// What `/stats` shows. Times are milliseconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    pub users_total: i64,
    /// Users seen since the start of the UTC day.
    pub users_active_today: i64,
    /// Tasks created today, per state (`delivered`, `failed`, `generating`, ...).
    pub tasks_today: Vec<(String, i64)>,
    /// Tasks delivered in the last 24 hours and their time from request to delivery.
    pub delivered_24h: i64,
    pub avg_delivery_ms: Option<i64>,
    pub p95_delivery_ms: Option<i64>,
    /// Tasks waiting for PixVerse to accept them (`queued`, `submitting`).
    pub queue_length: i64,
    /// Tasks PixVerse is generating or we are delivering.
    pub in_progress: i64,
}

impl Storage {
    /// `day_start` is the start of today (UTC), `now` the current time.
    pub async fn stats(&self, day_start: i64, now: i64) -> Result<Stats, StorageError> {
        let users_total = on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select count(*) from \"user\""
        )
        .fetch_one(pool)
        .await)?;
        let users_active_today = on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select count(*) from \"user\" where last_seen_at >= $1"
        )
        .bind(day_start)
        .fetch_one(pool)
        .await)?;
        let tasks_today = on_pool!(&self.engine, |pool| sqlx::query_as(
            "select state, count(*) from task where created_at >= $1 group by state order by state",
        )
        .bind(day_start)
        .fetch_all(pool)
        .await)?;
        let durations: Vec<i64> = on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select finished_at - created_at from task
             where state = 'delivered' and finished_at >= $1 order by 1",
        )
        .bind(now - 24 * 3600 * 1000)
        .fetch_all(pool)
        .await)?;
        let (queue_length, in_progress): (i64, i64) = on_pool!(&self.engine, |pool| sqlx::query_as(
            "select count(*) filter (where state in ('queued', 'submitting')),
                    count(*) filter (where state in ('generating', 'delivering'))
             from task where state not in ('delivered', 'failed')",
        )
        .fetch_one(pool)
        .await)?;
        Ok(Stats {
            users_total,
            users_active_today,
            tasks_today,
            delivered_24h: durations.len() as i64,
            avg_delivery_ms: average(&durations),
            p95_delivery_ms: percentile(&durations, 95),
            queue_length,
            in_progress,
        })
    }

    /// The most recent tasks, newest first; of one user if given, and requested in `chat` if
    /// given (a group sees only what was asked for there).
    pub async fn recent_tasks(
        &self,
        user_id: Option<UserId>,
        chat: Option<ChatId>,
        limit: i64,
    ) -> Result<Vec<TaskRow>, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            "select * from task where ($1 is null or user_id = $1) and ($3 is null or chat_id = $3)
             order by id desc limit $2",
        )
        .bind(user_id)
        .bind(limit)
        .bind(chat)
        .fetch_all(pool)
        .await)?)
    }

    /// Stops tracking an unfinished task: it ends as failed with `reason`. Returns the task as it
    /// was, or `None` if there is no such task or it had already finished. Clearing the lease
    /// token fences off a step that holds the task: its next write changes nothing.
    pub async fn cancel_task(&self, id: TaskId, reason: &str) -> Result<Option<TaskRow>, StorageError> {
        let before = self.task(id).await?;
        let now = super::now_ms();
        let done = on_pool!(&self.writer, |pool| sqlx::query(
            "update task set state = 'failed', last_error = $2, lease_until = null, lease_token = null,
                 wait_reason = null, finished_at = $3,
                 updated_at = $3
             where id = $1 and state not in ('delivered', 'failed')",
        )
        .bind(id)
        .bind(reason)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        let cancelled = before.filter(|_| done > 0);
        // A cancelled generation frees its account's slot for the tasks waiting for one.
        if let Some(task) = &cancelled
            && matches!(task.state, TaskState::Submitting | TaskState::Generating)
        {
            self.wake_tasks_waiting_for_slot(task.credential_id).await?;
        }
        Ok(cancelled)
    }
}

fn average(sorted: &[i64]) -> Option<i64> {
    (!sorted.is_empty()).then(|| sorted.iter().sum::<i64>() / sorted.len() as i64)
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p95_is_the_nearest_rank() {
        let values: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&values, 95), Some(95));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[1, 2], 95), Some(2));
        assert_eq!(percentile(&[], 95), None);
        assert_eq!(average(&[1, 2, 3, 6]), Some(3));
    }
}
