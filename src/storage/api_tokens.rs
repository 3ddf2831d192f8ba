//! API accounts and the bearer tokens of this service (see migrations/sqlite/0007_api.sql for why an
//! API account is a `user` row with a negative id).

use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{Storage, StorageError, now_ms};

/// Where a token was issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// `POST /v1/auth`.
    Auth,
    /// `/token` in a private chat with the bot.
    Telegram,
}

impl TokenSource {
    fn as_str(self) -> &'static str {
        match self {
            TokenSource::Auth => "auth",
            TokenSource::Telegram => "telegram",
        }
    }
}

/// A new token, shown to its holder once. Not `Debug`: it must not reach a log.
pub struct IssuedToken(pub String);

/// The prefix makes a leaked token recognisable (secret scanners, logs); the rest is 256 bits.
const TOKEN_PREFIX: &str = "pvb_";

/// The SHA-256 of a token: what is stored and looked up.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The identity of an API account that logged in with a PixVerse web account.
pub fn web_identity(username: &str) -> String {
    format!("web:{}", username.trim().to_lowercase())
}

/// The identity of an API account that logged in with a Platform key (a hash, never the key).
pub fn api_key_identity(key: &str) -> String {
    let digest = Sha256::digest(key.trim().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("apikey:{hex}")
}

impl Storage {
    /// The user behind an API identity, creating the account (a `user` row with the next
    /// negative id) on first login. Two simultaneous first logins make one account: the loser's
    /// transaction finds the identity taken, rolls back its user row and reads the winner's.
    pub async fn api_account(&self, identity: &str, display_name: &str) -> Result<i64, StorageError> {
        let find = || async {
            on_pool!(&self.engine, |pool| sqlx::query_scalar::<_, i64>(
                "select user_id from api_account where identity = $1"
            )
            .bind(identity)
            .fetch_optional(pool)
            .await)
        };
        if let Some(user_id) = find().await? {
            return Ok(user_id);
        }
        let now = now_ms();
        let lock = self.engine.dialect().api_account_lock();
        let linked = on_pool!(&self.writer, |pool| {
            // SQLite: the transaction starts with a write, so it takes the write lock first (waiting
            // out the busy timeout) instead of failing to upgrade a read.
            let mut tx = pool.begin().await?;
            if let Some(lock) = lock {
                sqlx::query(lock).execute(&mut *tx).await?;
            }
            let user_id: i64 = sqlx::query_scalar(
                "insert into \"user\" (id, username, first_name, first_seen_at, last_seen_at)
             values ((select case when min(id) < 0 then min(id) else 0 end - 1 from \"user\"), $1, $1, $2, $2)
             returning id",
            )
            .bind(display_name)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let linked = sqlx::query(
                "insert into api_account (identity, user_id, created_at) values ($1, $2, $3)
             on conflict (identity) do nothing",
            )
            .bind(identity)
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if linked.rows_affected() == 1 {
                tx.commit().await?;
                Some(user_id)
            } else {
                tx.rollback().await?;
                None
            }
        });
        if let Some(user_id) = linked {
            return Ok(user_id);
        }
        find()
            .await?
            .ok_or_else(|| StorageError::Corrupt(format!("API account {identity} vanished")))
    }

    /// Issues a new token for `user_id` (earlier tokens stay valid).
    pub async fn issue_api_token(
        &self,
        user_id: i64,
        source: TokenSource,
    ) -> Result<IssuedToken, StorageError> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = format!("{TOKEN_PREFIX}{}", base64_url(&bytes));
        on_pool!(&self.writer, |pool| sqlx::query(
            "insert into api_token (user_id, token_hash, source, created_at) values ($1, $2, $3, $4)",
        )
        .bind(user_id)
        .bind(token_hash(&token))
        .bind(source.as_str())
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(IssuedToken(token))
    }

    /// `(token id, user id)` of a valid token.
    pub async fn api_token_owner(&self, token: &str) -> Result<Option<(i64, i64)>, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            "select id, user_id from api_token where token_hash = $1"
        )
        .bind(token_hash(token))
        .fetch_optional(pool)
        .await)?)
    }

    /// Revokes every token of `user_id`; returns how many there were.
    pub async fn revoke_api_tokens(&self, user_id: i64) -> Result<u64, StorageError> {
        let done = on_pool!(&self.writer, |pool| sqlx::query(
            "delete from api_token where user_id = $1"
        )
        .bind(user_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done)
    }
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_never_contain_the_key_and_ignore_username_case() {
        assert_eq!(web_identity(" Alice "), "web:alice");
        let id = api_key_identity("sk-very-secret");
        assert!(id.starts_with("apikey:") && !id.contains("sk-very-secret"));
        assert_eq!(id.len(), "apikey:".len() + 64);
    }
}
