//! The Telegram webhook inbox: every update is stored before Telegram gets its 200, and handed
//! to a dispatcher from here (see migrations/sqlite/0007_api.sql and 0014_inbox_claims.sql).
//!
//! With several instances on one database the inbox is their queue: the instance that stores an
//! update claims it for a lease and hands it to its own dispatcher; an update whose claim lapsed
//! (that instance died before handing it over) is taken over by any instance. Marking an update
//! dispatched is fenced by the claim, so of two instances that both had it in hand, one hands it
//! over.

use std::time::Duration;

use super::{Storage, StorageError, now_ms};

/// Stored updates are kept this long after dispatch to recognise redeliveries (Telegram gives up
/// on an update after about a day).
const KEEP_DISPATCHED_MS: i64 = 48 * 60 * 60 * 1000;

/// One instance's claim on the updates it hands to its dispatcher.
#[derive(Clone, Debug)]
pub struct UpdateClaim {
    /// Who holds the claim: unique per running inbox.
    pub owner: String,
    /// How long a claim holds without the update being dispatched.
    pub lease: Duration,
}

impl UpdateClaim {
    /// A claim of a new owner (a fresh random name).
    pub fn new(lease: Duration) -> UpdateClaim {
        UpdateClaim {
            owner: uuid::Uuid::new_v4().to_string(),
            lease,
        }
    }

    fn until(&self, now: i64) -> i64 {
        now + i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX / 2)
    }
}

impl Storage {
    /// Stores an update, claimed by `claim`; `false` when this `update_id` was stored before (a
    /// redelivery, whichever instance it reached first).
    pub async fn store_update(
        &self,
        update_id: i64,
        body: &str,
        claim: &UpdateClaim,
    ) -> Result<bool, StorageError> {
        let now = now_ms();
        let done = on_pool!(&self.writer, |pool| sqlx::query(
            "insert into telegram_update (update_id, body, received_at, claimed_by, claimed_until)
             values ($1, $2, $3, $4, $5)
             on conflict (update_id) do nothing",
        )
        .bind(update_id)
        .bind(body)
        .bind(now)
        .bind(&claim.owner)
        .bind(claim.until(now))
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Claims the updates stored but not dispatched whose claim lapsed (or was released), oldest
    /// first. A cheap read first: most calls find nothing, and on SQLite an update statement is a
    /// write transaction even when it changes no row. On PostgreSQL two instances claiming at once
    /// cannot both take a row: the second's update re-reads it after the first commits and finds
    /// the claim live.
    pub async fn claim_lapsed_updates(
        &self,
        claim: &UpdateClaim,
    ) -> Result<Vec<(i64, String)>, StorageError> {
        let now = now_ms();
        let lapsed: Option<i64> = on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select update_id from telegram_update
             where dispatched_at is null and (claimed_until is null or claimed_until < $1) limit 1",
        )
        .bind(now)
        .fetch_optional(pool)
        .await)?;
        if lapsed.is_none() {
            return Ok(Vec::new());
        }
        let mut claimed: Vec<(i64, String)> = on_pool!(&self.writer, |pool| sqlx::query_as(
            "update telegram_update set claimed_by = $1, claimed_until = $2
             where dispatched_at is null and (claimed_until is null or claimed_until < $3)
             returning update_id, body",
        )
        .bind(&claim.owner)
        .bind(claim.until(now))
        .bind(now)
        .fetch_all(pool)
        .await)?;
        claimed.sort_unstable_by_key(|(update_id, _)| *update_id);
        Ok(claimed)
    }

    /// Releases every claim on undispatched updates: at a start with no other instance running,
    /// every claim is a crashed run's leftover.
    pub async fn release_update_claims(&self) -> Result<u64, StorageError> {
        Ok(on_pool!(&self.writer, |pool| sqlx::query(
            "update telegram_update set claimed_by = null, claimed_until = null
             where dispatched_at is null and claimed_by is not null",
        )
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }

    /// Marks an update as handed to the dispatcher if `claim` still holds it, and forgets old
    /// ones; `false`: another instance took it over (its claim had lapsed) or dispatched it.
    pub async fn mark_update_dispatched(
        &self,
        update_id: i64,
        claim: &UpdateClaim,
    ) -> Result<bool, StorageError> {
        let now = now_ms();
        let marked = on_pool!(&self.writer, |pool| sqlx::query(
            "update telegram_update set dispatched_at = $2
             where update_id = $1 and claimed_by = $3 and dispatched_at is null"
        )
        .bind(update_id)
        .bind(now)
        .bind(&claim.owner)
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
        Ok(marked == 1)
    }
}
