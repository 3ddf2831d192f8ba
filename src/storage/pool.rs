//! The pool: shared PixVerse accounts that users without their own credential generate on, and
//! the choice of an account for a task at submit time.

use secrecy::SecretString;
use sqlx::AssertSqlSafe;

use super::{CredentialKind, Storage, StorageError, now_ms};

/// The name PIXVERSE_API_KEY gets in the pool.
pub const OPERATOR_ACCOUNT: &str = "operator";

/// Why a pool account is (or is not) in rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolStatus {
    Active,
    OutOfCredits,
    Invalid,
}

impl PoolStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PoolStatus::Active => "active",
            PoolStatus::OutOfCredits => "out_of_credits",
            PoolStatus::Invalid => "invalid",
        }
    }

    fn parse(text: &str) -> PoolStatus {
        match text {
            "out_of_credits" => PoolStatus::OutOfCredits,
            "invalid" => PoolStatus::Invalid,
            _ => PoolStatus::Active,
        }
    }
}

/// A pool account with its secret opened. `Debug` shows no secret.
#[derive(Clone, Debug)]
pub struct PoolAccount {
    pub id: i64,
    pub name: String,
    pub kind: CredentialKind,
    pub label: String,
    pub secret: SecretString,
    pub expires_at: Option<i64>,
    pub status: PoolStatus,
    pub enabled: bool,
    pub max_concurrency: i64,
    pub credits: Option<i64>,
    pub last_error: Option<String>,
    /// Its tasks submitting or generating now.
    pub in_flight: i64,
}

impl PoolAccount {
    pub fn to_pixverse(&self) -> crate::pixverse::Credential {
        match self.kind {
            CredentialKind::ApiKey => crate::pixverse::Credential::ApiKey(self.secret.clone()),
            CredentialKind::Web => crate::pixverse::Credential::WebToken(self.secret.clone()),
        }
    }

    /// In rotation: enabled, active, not known to be empty, and (web) not expired.
    pub fn is_usable(&self, now_ms: i64) -> bool {
        self.enabled
            && self.status == PoolStatus::Active
            && self.credits.is_none_or(|c| c > 0)
            && self.expires_at.is_none_or(|at| at > now_ms)
    }
}

/// The outcome of choosing a pool account for a task.
#[derive(Debug)]
pub enum PoolPick {
    /// The task now holds a slot of this account (and is `submitting`).
    Assigned(PoolAccount),
    /// Usable accounts exist, but each has all its slots taken: wait.
    AllBusy,
    /// No account is usable; `out_of_credits` when at least one is out for lack of credits.
    NoneUsable { out_of_credits: bool },
}

#[derive(sqlx::FromRow)]
struct PoolRow {
    id: i64,
    name: String,
    kind: String,
    label: String,
    secret: Vec<u8>,
    expires_at: Option<i64>,
    status: String,
    enabled: bool,
    max_concurrency: i64,
    credits: Option<i64>,
    last_error: Option<String>,
    in_flight: i64,
}

/// Every column plus its in-flight count.
const SELECT: &str = "select p.id, p.name, p.kind, p.label, p.secret, p.expires_at, p.status, p.enabled,
        p.max_concurrency, p.credits, p.last_error,
        (select count(*) from task t where t.pool_account_id = p.id
                                       and t.state in ('submitting', 'generating')) as in_flight
    from pool_account p";

/// The condition of an account in rotation; `now` names the parameter that holds the time.
pub(super) fn usable(now: &str) -> String {
    format!(
        "p.enabled = true and p.status = 'active' and (p.credits is null or p.credits > 0)
         and (p.expires_at is null or p.expires_at > {now})"
    )
}

/// `…abcd`: enough for an admin to recognise a key, useless to anyone else.
pub fn api_key_label(key: &SecretString) -> String {
    use secrecy::ExposeSecret;
    let chars: Vec<char> = key.expose_secret().chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("API key …{tail}")
}

impl Storage {
    /// Adds a pool account, or replaces the secret of the one with this name (back in rotation).
    pub async fn save_pool_account(
        &self,
        name: &str,
        kind: CredentialKind,
        label: &str,
        secret: &SecretString,
        expires_at: Option<i64>,
        credits: Option<i64>,
    ) -> Result<i64, StorageError> {
        use secrecy::ExposeSecret;
        let sealed = self.cipher.seal(secret.expose_secret());
        let kind = match kind {
            CredentialKind::ApiKey => "apikey",
            CredentialKind::Web => "web",
        };
        let id = on_pool!(&self.writer, |pool| sqlx::query_scalar(
            "insert into pool_account (name, kind, secret, label, expires_at, credits, created_at)
             values ($1, $2, $3, $4, $5, $6, $7)
             on conflict (name) do update set kind = excluded.kind, secret = excluded.secret,
                 label = excluded.label, expires_at = excluded.expires_at, credits = excluded.credits,
                 status = 'active', last_error = null
             returning id",
        )
        .bind(name)
        .bind(kind)
        .bind(sealed)
        .bind(label)
        .bind(expires_at)
        .bind(credits)
        .bind(now_ms())
        .fetch_one(pool)
        .await)?;
        // A new account (or one back in rotation) brings free slots for the waiting pool tasks.
        self.wake_tasks_waiting_for_slot(None).await?;
        Ok(id)
    }

    /// PIXVERSE_API_KEY as the pool account `operator`: created at start, its key kept current.
    /// An admin's `disable` survives restarts; a changed key puts it back in rotation.
    pub async fn upsert_operator_account(&self, key: &SecretString) -> Result<(), StorageError> {
        use secrecy::ExposeSecret;
        if let Some(existing) = self.pool_account(OPERATOR_ACCOUNT).await?
            && existing.secret.expose_secret() == key.expose_secret()
        {
            return Ok(());
        }
        let label = api_key_label(key);
        self.save_pool_account(OPERATOR_ACCOUNT, CredentialKind::ApiKey, &label, key, None, None)
            .await?;
        Ok(())
    }

    /// Free generation slots across the usable pool accounts, so the worker hands them out in
    /// fair order instead of letting every waiting task race for them. `None` when no account is
    /// usable at all (the submit step then tells the user why).
    pub async fn pool_free_slots(&self) -> Result<Option<i64>, StorageError> {
        let usable = usable("$1");
        let (accounts, free): (i64, i64) =
            on_pool!(&self.engine, |pool| sqlx::query_as(AssertSqlSafe(format!(
                "select count(*), cast(coalesce(sum(case when free > 0 then free else 0 end), 0) as bigint)
             from (select p.max_concurrency - (select count(*) from task t
                       where t.pool_account_id = p.id and t.state in ('submitting', 'generating')) as free
                   from pool_account p where {usable}) as usable_account"
            )))
            .bind(now_ms())
            .fetch_one(pool)
            .await)?;
        Ok((accounts > 0).then_some(free))
    }

    /// Applies `PIXVERSE_ACCOUNT_CONCURRENCY` to every pool account.
    pub async fn set_pool_concurrency(&self, limit: u32) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| sqlx::query(
            "update pool_account set max_concurrency = $1"
        )
        .bind(i64::from(limit))
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Whether the pool has any account at all (usable or not), without decrypting them.
    pub async fn pool_is_empty(&self) -> Result<bool, StorageError> {
        let count: i64 = on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select count(*) from pool_account"
        )
        .fetch_one(pool)
        .await)?;
        Ok(count == 0)
    }

    pub async fn pool_accounts(&self) -> Result<Vec<PoolAccount>, StorageError> {
        let rows: Vec<PoolRow> = on_pool!(&self.engine, |pool| sqlx::query_as(AssertSqlSafe(format!(
            "{SELECT} order by p.id"
        )))
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(|r| self.open_pool_row(r)).collect()
    }

    pub async fn pool_account(&self, name: &str) -> Result<Option<PoolAccount>, StorageError> {
        let row: Option<PoolRow> = on_pool!(&self.engine, |pool| sqlx::query_as(AssertSqlSafe(format!(
            "{SELECT} where p.name = $1"
        )))
        .bind(name)
        .fetch_optional(pool)
        .await)?;
        row.map(|r| self.open_pool_row(r)).transpose()
    }

    pub async fn pool_account_by_id(&self, id: i64) -> Result<Option<PoolAccount>, StorageError> {
        let row: Option<PoolRow> = on_pool!(&self.engine, |pool| sqlx::query_as(AssertSqlSafe(format!(
            "{SELECT} where p.id = $1"
        )))
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        row.map(|r| self.open_pool_row(r)).transpose()
    }

    /// Whether any pool account is in rotation (busy or not): users without their own credential
    /// can generate.
    pub async fn pool_has_usable(&self) -> Result<bool, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_scalar(AssertSqlSafe(
            format!(
                "select exists (select 1 from pool_account p where {})",
                usable("$1")
            )
        ))
        .bind(now_ms())
        .fetch_one(pool)
        .await)?)
    }

    pub async fn remove_pool_account(&self, name: &str) -> Result<bool, StorageError> {
        let done = on_pool!(&self.writer, |pool| sqlx::query(
            "delete from pool_account where name = $1"
        )
        .bind(name)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// `/pool enable` also puts an account that ran out back in rotation (the admin topped it up);
    /// its credits are checked again before it is shown.
    pub async fn set_pool_account_enabled(&self, name: &str, enabled: bool) -> Result<bool, StorageError> {
        let done = on_pool!(&self.writer, |pool| sqlx::query(
            "update pool_account set enabled = $2,
                 status = case when $2 then 'active' else status end,
                 credits = case when $2 then null else credits end
             where name = $1",
        )
        .bind(name)
        .bind(enabled)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        if enabled && done > 0 {
            self.wake_tasks_waiting_for_slot(None).await?;
        }
        Ok(done > 0)
    }

    pub async fn set_pool_credits(&self, id: i64, credits: i64) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| sqlx::query(
            "update pool_account set credits = $2 where id = $1"
        )
        .bind(id)
        .bind(credits)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Takes the account out of rotation. True only for the call that changed it, so the admins
    /// are told once.
    pub async fn mark_pool_account_down(
        &self,
        id: i64,
        status: PoolStatus,
        error: &str,
    ) -> Result<bool, StorageError> {
        let done = on_pool!(&self.writer, |pool| sqlx::query(
            "update pool_account set status = $2, last_error = $3 where id = $1 and status = 'active'",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(error)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done > 0)
    }

    /// Pool videos the user asked for since `since` (failed ones cost nothing and do not count).
    pub async fn pool_tasks_since(&self, user_id: i64, since: i64) -> Result<i64, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_scalar(
            "select count(*) from task where user_id = $1 and credential_id is null and created_at >= $2
                 and state != 'failed'",
        )
        .bind(user_id)
        .bind(since)
        .fetch_one(pool)
        .await)?)
    }

    fn open_pool_row(&self, row: PoolRow) -> Result<PoolAccount, StorageError> {
        let kind = match row.kind.as_str() {
            "web" => CredentialKind::Web,
            _ => CredentialKind::ApiKey,
        };
        Ok(PoolAccount {
            id: row.id,
            name: row.name,
            kind,
            label: row.label,
            secret: self.cipher.open(&row.secret).ok_or(StorageError::Decrypt)?,
            expires_at: row.expires_at,
            status: PoolStatus::parse(&row.status),
            enabled: row.enabled,
            max_concurrency: row.max_concurrency,
            credits: row.credits,
            last_error: row.last_error,
            in_flight: row.in_flight,
        })
    }
}
