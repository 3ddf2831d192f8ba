//! The Telegram update inbox: every update is stored before Telegram may forget it (before the
//! webhook's 200, before long polling asks for the next batch), and kept until its handler has
//! run (see migrations/sqlite/0007_api.sql, 0014_inbox_claims.sql and 0016_updates_handled.sql).
//!
//! With several instances on one database the inbox is their queue: the instance that stores an
//! update claims it for a lease, renews the claim while the update waits in its dispatcher or is
//! being handled, and marks it handled when its handler returns. An update whose claim lapsed (its
//! instance died before the handler finished) is taken over by any instance. Marking an update
//! handled is fenced by the claim.
//!
//! A body may hold a password (`/login`): it is sealed with the credentials' key while stored and
//! cleared once handled; a handled row only remembers its `update_id`, to recognise redeliveries.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::STANDARD};

use super::{Storage, StorageError, engine::json_ids, now_ms};

/// Handled updates are remembered this long to recognise redeliveries (Telegram gives up on an
/// update after about a day).
const KEEP_HANDLED_MS: i64 = 48 * 60 * 60 * 1000;

/// One instance's claim on the updates it hands to its dispatcher.
#[derive(Clone, Debug)]
pub struct UpdateClaim {
    /// Who holds the claim: unique per running inbox.
    pub owner: String,
    /// How long a claim holds unless renewed.
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
        Ok(!self.store_updates(&[(update_id, body)], claim).await?.is_empty())
    }

    /// Stores a batch of updates in one statement, claimed by `claim`; the ids of those not
    /// stored before (one commit for a whole `getUpdates` answer: on PostgreSQL each commit waits
    /// for a disk flush).
    pub async fn store_updates(
        &self,
        updates: &[(i64, &str)],
        claim: &UpdateClaim,
    ) -> Result<Vec<i64>, StorageError> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let rows = (0..updates.len())
            .map(|i| format!("(${}, ${}, $1, $2, $3)", 4 + 2 * i, 5 + 2 * i))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "insert into telegram_update (update_id, body, received_at, claimed_by, claimed_until)
             values {rows}
             on conflict (update_id) do nothing
             returning update_id"
        );
        let sealed: Vec<(i64, String)> = updates
            .iter()
            .map(|(update_id, body)| (*update_id, STANDARD.encode(self.cipher.seal(body))))
            .collect();
        Ok(on_pool!(&self.writer, |pool| {
            // The SQL holds placeholders only; every value is bound.
            let mut insert = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(now)
                .bind(&claim.owner)
                .bind(claim.until(now));
            for (update_id, body) in &sealed {
                insert = insert.bind(*update_id).bind(body);
            }
            insert.fetch_all(pool).await
        })?)
    }

    /// Claims the stored updates not handled whose claim lapsed (or was released), oldest first,
    /// with their bodies. A cheap read first: most calls find nothing, and on SQLite an update
    /// statement is a write transaction even when it changes no row. On PostgreSQL two instances
    /// claiming at once cannot both take a row: the second's update re-reads it after the first
    /// commits and finds the claim live. A body that cannot be opened (another key) comes back
    /// empty and is skipped by the caller.
    pub async fn claim_lapsed_updates(
        &self,
        claim: &UpdateClaim,
    ) -> Result<Vec<(i64, String)>, StorageError> {
        let now = now_ms();
        let lapsed: Option<i64> = on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select update_id from telegram_update
             where handled_at is null and (claimed_until is null or claimed_until < $1) limit 1",
        )
        .bind(now)
        .fetch_optional(pool)
        .await)?;
        if lapsed.is_none() {
            return Ok(Vec::new());
        }
        let mut claimed: Vec<(i64, String)> = on_pool!(&self.writer, |pool| sqlx::query_as(
            "update telegram_update set claimed_by = $1, claimed_until = $2
             where handled_at is null and (claimed_until is null or claimed_until < $3)
             returning update_id, body",
        )
        .bind(&claim.owner)
        .bind(claim.until(now))
        .bind(now)
        .fetch_all(pool)
        .await)?;
        claimed.sort_unstable_by_key(|(update_id, _)| *update_id);
        Ok(claimed
            .into_iter()
            .map(|(update_id, body)| (update_id, self.open_update_body(&body)))
            .collect())
    }

    /// A stored body as JSON: sealed (base64), or plain from before bodies were sealed.
    fn open_update_body(&self, stored: &str) -> String {
        use secrecy::ExposeSecret;
        if stored.starts_with('{') {
            return stored.to_owned();
        }
        STANDARD
            .decode(stored)
            .ok()
            .and_then(|sealed| self.cipher.open(&sealed))
            .map(|body| body.expose_secret().to_owned())
            .unwrap_or_default()
    }

    /// Extends `claim` on every update it holds that is not handled yet: they wait in the
    /// dispatcher's queues or are being handled, and must not be taken over meanwhile.
    pub async fn renew_update_claims(&self, claim: &UpdateClaim) -> Result<u64, StorageError> {
        Ok(on_pool!(&self.writer, |pool| sqlx::query(
            "update telegram_update set claimed_until = $1
             where claimed_by = $2 and handled_at is null",
        )
        .bind(claim.until(now_ms()))
        .bind(&claim.owner)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }

    /// Releases every claim on updates not handled: at a start with no other instance running,
    /// every claim is a crashed run's leftover.
    pub async fn release_update_claims(&self) -> Result<u64, StorageError> {
        Ok(on_pool!(&self.writer, |pool| sqlx::query(
            "update telegram_update set claimed_by = null, claimed_until = null
             where handled_at is null and claimed_by is not null",
        )
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }

    /// Marks updates handled (their bodies cleared) where `claim` still holds them; how many were
    /// marked (fewer: another instance took some over, as their claim had
    /// lapsed, or handled them).
    pub async fn mark_updates_handled(
        &self,
        update_ids: &[i64],
        claim: &UpdateClaim,
    ) -> Result<usize, StorageError> {
        if update_ids.is_empty() {
            return Ok(0);
        }
        let now = now_ms();
        let ids_in = self.engine.dialect().id_list("$3");
        let marked = on_pool!(&self.writer, |pool| sqlx::query(sqlx::AssertSqlSafe(format!(
            "update telegram_update set handled_at = $1, body = ''
             where claimed_by = $2 and handled_at is null and update_id in ({ids_in})"
        )))
        .bind(now)
        .bind(&claim.owner)
        .bind(json_ids(update_ids)?)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(usize::try_from(marked).unwrap_or(usize::MAX))
    }

    /// Forgets the updates handled longer ago than Telegram redelivers (an indexed delete); how
    /// many.
    pub async fn forget_old_updates(&self) -> Result<u64, StorageError> {
        Ok(on_pool!(&self.writer, |pool| sqlx::query(
            "delete from telegram_update where handled_at < $1"
        )
        .bind(now_ms() - KEEP_HANDLED_MS)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }
}
