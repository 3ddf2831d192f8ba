//! What the worker reads to hand out generation slots fairly, and the one write that takes a
//! slot of a user's own key.

use crate::domain::{CredentialId, UserId};

use super::super::engine::json_ids;
use super::super::{Storage, StorageError, now_ms};
use super::Held;

impl Storage {
    /// Generations started or running on each credential of `users` (`None`: a pool task), for
    /// the per-account limit. Only the users whose tasks a round claimed: through the `task_user`
    /// index instead of a scan of every task (a credential is one user's, so its tasks are theirs).
    pub async fn generating_per_credential(
        &self,
        users: &[UserId],
    ) -> Result<Vec<(Option<CredentialId>, i64)>, StorageError> {
        let users_in = self.engine.dialect().id_list("$1");
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(format!(
                "select credential_id, count(*) from task
             where user_id in ({users_in}) and state in ('submitting', 'generating')
             group by credential_id",
            ))
        )
        .bind(json_ids(users)?)
        .fetch_all(pool)
        .await)?)
    }

    /// Per user of `users`: generations started since `since_ms` or still running. The worker
    /// serves users with fewer first, so one user's backlog cannot crowd out another user's
    /// single task.
    pub async fn recent_starts_per_user(
        &self,
        users: &[UserId],
        since_ms: i64,
    ) -> Result<Vec<(UserId, i64)>, StorageError> {
        let users_in = self.engine.dialect().id_list("$1");
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(format!(
                "select user_id, count(*) from task
             where user_id in ({users_in})
               and (state in ('submitting', 'generating') or submitted_at >= $2)
             group by user_id",
            ))
        )
        .bind(json_ids(users)?)
        .bind(since_ms)
        .fetch_all(pool)
        .await)?)
    }

    /// A generation slot of this credential (`None`: the pool) freed up: every task waiting for
    /// one (not those waiting for a login or a retry's backoff) is due now, so the next round picks among all of them fairly instead of whichever
    /// timer fires first.
    pub async fn wake_tasks_waiting_for_slot(
        &self,
        credential_id: Option<CredentialId>,
    ) -> Result<u64, StorageError> {
        let now = now_ms();
        let done = on_pool!(&self.writer, |pool| {
            sqlx::query(
                "update task set next_run_at = $2
             where credential_id is not distinct from $1 and state = 'queued' and wait_reason = 'slot'
               and lease_token is null and next_run_at > $2",
            )
            .bind(credential_id)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        if done > 0 {
            self.notify_work().await?;
        }
        Ok(done)
    }

    /// Takes a generation slot of the user's own key `credential` for the queued task `held`:
    /// moves it to `submitting` (which counts as a slot from here) only while the key has fewer
    /// than `limit` generations submitting or running. `false`: every slot is taken (or the lease
    /// was lost), the task stays queued.
    ///
    /// The round's plan counts slots too, but from a read taken before its submits run: two
    /// instances planning at once would both see the last slot free. This write counts and takes
    /// in one statement, and on PostgreSQL under the owner's transaction lock (a key is one
    /// user's), so instances take a key's slots in turns and the limit holds across them.
    pub async fn take_own_slot(
        &self,
        held: Held,
        owner: UserId,
        credential: CredentialId,
        limit: u32,
    ) -> Result<bool, StorageError> {
        let take = "update task set state = 'submitting', wait_reason = null, updated_at = $4
             where id = $1 and lease_token = $2 and state = 'queued'
               and (select count(*) from task t where t.credential_id = $3 and t.id != $1
                      and t.state in ('submitting', 'generating')) < $5";
        let user_lock = self.engine.dialect().user_lock();
        let taken = on_pool!(&self.writer, |pool| {
            let take = sqlx::query(take)
                .bind(held.id)
                .bind(held.token)
                .bind(credential)
                .bind(now_ms())
                .bind(i64::from(limit));
            match user_lock {
                None => take.execute(pool).await?.rows_affected(),
                Some(lock) => {
                    let mut tx = pool.begin().await?;
                    sqlx::query(lock).bind(owner.0).execute(&mut *tx).await?;
                    let taken = take.execute(&mut *tx).await?.rows_affected();
                    tx.commit().await?;
                    taken
                }
            }
        });
        Ok(taken == 1)
    }
}
