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

use super::{Storage, StorageError, now_ms};

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
        let now = now_ms();
        let sealed = STANDARD.encode(self.cipher.seal(body));
        let done = on_pool!(&self.writer, |pool| sqlx::query(
            "insert into telegram_update (update_id, body, received_at, claimed_by, claimed_until)
             values ($1, $2, $3, $4, $5)
             on conflict (update_id) do nothing",
        )
        .bind(update_id)
        .bind(&sealed)
        .bind(now)
        .bind(&claim.owner)
        .bind(claim.until(now))
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
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

    /// Marks an update handled (its body cleared) if `claim` still holds it, and forgets old
    /// ones; `false`: another instance took it over (the claim had lapsed) or handled it.
    pub async fn mark_update_handled(
        &self,
        update_id: i64,
        claim: &UpdateClaim,
    ) -> Result<bool, StorageError> {
        let now = now_ms();
        let marked = on_pool!(&self.writer, |pool| sqlx::query(
            "update telegram_update set handled_at = $2, body = ''
             where update_id = $1 and claimed_by = $3 and handled_at is null"
        )
        .bind(update_id)
        .bind(now)
        .bind(&claim.owner)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        if update_id % 100 == 0 {
            on_pool!(&self.writer, |pool| sqlx::query(
                "delete from telegram_update where handled_at < $1"
            )
            .bind(now - KEEP_HANDLED_MS)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        }
        Ok(marked == 1)
    }
}
