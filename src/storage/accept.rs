//! What the accept path (`/t2v`, `/i2v`, a captioned photo) needs to know, in as few statements
//! as possible: each statement is a round trip to sqlx's SQLite thread (~80 µs of CPU with the
//! wake-ups), and accepting ~1,000 requests/s on two cores leaves no room for a dozen of them.

use std::sync::{
    Arc,
    atomic::{AtomicU8, Ordering},
};

use super::{AccessMode, Storage, StorageError, UserAccess};

/// Everything `generate::enqueue` checks before it stores a task, read in one statement.
#[derive(Clone, Copy, Debug, sqlx::FromRow)]
pub struct AcceptFacts {
    /// The user's unfinished tasks (the per-user limit).
    pub in_flight: i64,
    /// Tasks requested since the start of the rolling hour, and the oldest of them.
    pub last_hour: i64,
    pub oldest_in_hour: Option<i64>,
    /// The user's own credential, if any: id, whether it is `invalid`, and its expiry. Not
    /// decrypted here (nothing on the accept path needs the secret; the worker opens it).
    pub credential_id: Option<i64>,
    pub credential_invalid: Option<bool>,
    pub credential_expires_at: Option<i64>,
    pub pool_is_empty: bool,
    /// The user's own daily pool quota (`None`: the default) and pool videos asked for today.
    pub daily_quota: Option<i64>,
    pub pool_used_today: i64,
}

impl AcceptFacts {
    /// As [`super::Credential::is_usable`]: active and not past its own expiry.
    pub fn credential_usable(&self, now_ms: i64) -> bool {
        self.credential_invalid == Some(false) && self.credential_expires_at.is_none_or(|at| at > now_ms)
    }
}

/// The access mode, cached: every message passes the gate, and the mode changes only through
/// [`Storage::set_access_mode`] (which refreshes this). 0 = not read yet.
#[derive(Clone, Default)]
pub(super) struct AccessModeCache(Arc<AtomicU8>);

impl AccessModeCache {
    pub(super) fn get(&self) -> Option<AccessMode> {
        match self.0.load(Ordering::Acquire) {
            1 => Some(AccessMode::Open),
            2 => Some(AccessMode::Allowlist),
            _ => None,
        }
    }

    pub(super) fn put(&self, mode: AccessMode) {
        let code = match mode {
            AccessMode::Open => 1,
            AccessMode::Allowlist => 2,
        };
        self.0.store(code, Ordering::Release);
    }
}

impl Storage {
    /// The per-user limits, the user's credential and the pool quota in one statement (it was
    /// seven). `hour_start` and `day_start` are the windows' starts in ms.
    pub async fn accept_facts(
        &self,
        user_id: i64,
        hour_start: i64,
        day_start: i64,
    ) -> Result<AcceptFacts, StorageError> {
        Ok(sqlx::query_as(
            "select
                 (select count(*) from task where user_id = ?1 and state not in ('delivered', 'failed'))
                     as in_flight,
                 h.n as last_hour, h.oldest as oldest_in_hour,
                 c.id as credential_id, c.status = 'invalid' as credential_invalid,
                 c.expires_at as credential_expires_at,
                 not exists (select 1 from pool_account) as pool_is_empty,
                 (select daily_quota from user_access where user_id = ?1) as daily_quota,
                 (select count(*) from task where user_id = ?1 and credential_id is null
                      and created_at >= ?3 and state != 'failed') as pool_used_today
             from (select count(*) as n, min(created_at) as oldest from task
                   where user_id = ?1 and created_at >= ?2) h
             left join credential c on c.owner_id = ?1 and c.replaced_at is null",
        )
        .bind(user_id)
        .bind(hour_start)
        .bind(day_start)
        .fetch_one(&self.pool)
        .await?)
    }

    /// [`Storage::user_access`] and whether the user is marked as blocking the bot, in one read:
    /// the gate clears the mark on every private message, and a write that finds nothing to
    /// clear costs as much as a read (`clear_user_blocked` runs only when there is a mark).
    pub async fn user_access_and_blocked(&self, user_id: i64) -> Result<(UserAccess, bool), StorageError> {
        let (allowed, banned, daily_quota, blocked): (Option<bool>, Option<bool>, Option<i64>, bool) =
            sqlx::query_as(
                "select a.allowed, a.banned, a.daily_quota,
                        exists (select 1 from user where id = ?1 and blocked_at is not null)
                 from (select 1) left join user_access a on a.user_id = ?1",
            )
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?;
        let access = UserAccess {
            allowed: allowed.unwrap_or_default(),
            banned: banned.unwrap_or_default(),
            daily_quota,
        };
        Ok((access, blocked))
    }
}
