//! The HTTP API's view of a user's tasks: one by id, and the history page by page.

use super::{Storage, StorageError, TaskRow};

impl Storage {
    /// `user_id`'s tasks, newest first, with ids below `before` (a cursor from the previous page).
    pub async fn tasks_of_user_page(
        &self,
        user_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<TaskRow>, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            "select * from task where user_id = $1 and id < $2 order by id desc limit $3"
        )
        .bind(user_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(pool)
        .await)?)
    }
}
