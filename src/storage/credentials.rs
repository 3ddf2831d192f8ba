//! PixVerse credentials that users connected, sealed with the bot's [`Cipher`](super::Cipher).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use secrecy::SecretString;

use super::{Storage, StorageError, now_ms};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    /// A PixVerse Platform API key.
    ApiKey,
    /// A token from the web app's login.
    Web,
}

impl CredentialKind {
    fn as_str(self) -> &'static str {
        match self {
            CredentialKind::ApiKey => "apikey",
            CredentialKind::Web => "web",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialStatus {
    Active,
    /// PixVerse refused it; its owner has to connect again.
    Invalid,
}

/// A decrypted credential. `Debug` shows no secret (SecretString redacts itself).
#[derive(Clone, Debug)]
pub struct Credential {
    pub id: i64,
    pub owner_id: i64,
    pub kind: CredentialKind,
    pub label: String,
    pub secret: SecretString,
    pub expires_at: Option<i64>,
    pub status: CredentialStatus,
    /// When PixVerse refused it (or it expired); null while active.
    pub invalid_at: Option<i64>,
    /// When a newer login of the same owner replaced it; tasks it submitted still poll with it.
    pub replaced_at: Option<i64>,
}

impl Credential {
    /// The form the PixVerse client takes.
    pub fn to_pixverse(&self) -> crate::pixverse::Credential {
        match self.kind {
            CredentialKind::ApiKey => crate::pixverse::Credential::ApiKey(self.secret.clone()),
            CredentialKind::Web => crate::pixverse::Credential::WebToken(self.secret.clone()),
        }
    }

    /// Active and, for a web token, not past its own expiry.
    pub fn is_usable(&self, now_ms: i64) -> bool {
        self.status == CredentialStatus::Active && self.expires_at.is_none_or(|at| at > now_ms)
    }
}

#[derive(sqlx::FromRow)]
struct CredentialRow {
    id: i64,
    owner_id: i64,
    kind: String,
    label: String,
    secret: Vec<u8>,
    expires_at: Option<i64>,
    status: String,
    invalid_at: Option<i64>,
    replaced_at: Option<i64>,
}

/// Decrypted credentials by id, shared by every clone of [`Storage`] (the handlers' and the
/// worker's). The worker reads a credential for every poll of an account, every round: from
/// here that is a map lookup instead of a statement and a decryption. Every write to the
/// `credential` table goes through this file and drops the entries it touches; `generation`
/// counts those drops, so a read that raced with a write does not store the old row.
#[derive(Clone, Default)]
pub(super) struct CredentialCache(Arc<Mutex<CacheInner>>);

#[derive(Default)]
struct CacheInner {
    by_id: HashMap<i64, Credential>,
    generation: u64,
}

impl CredentialCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, id: i64) -> Result<Option<Credential>, u64> {
        let inner = self.lock();
        inner.by_id.get(&id).cloned().map(Some).ok_or(inner.generation)
    }

    fn put(&self, generation: u64, credential: &Credential) {
        let mut inner = self.lock();
        if inner.generation == generation {
            inner.by_id.insert(credential.id, credential.clone());
        }
    }

    pub(super) fn forget(&self, matches: impl Fn(&Credential) -> bool) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.by_id.retain(|_, c| !matches(c));
    }
}

impl Storage {
    /// Stores `secret` for `owner_id` as a new credential that replaces the one they had. The
    /// old row stays (marked replaced): tasks PixVerse accepted with it keep polling with it, and
    /// PixVerse refusing the old token later never touches the new one.
    pub async fn save_credential(
        &self,
        owner_id: i64,
        kind: CredentialKind,
        label: &str,
        secret: &SecretString,
        expires_at: Option<i64>,
    ) -> Result<i64, StorageError> {
        use secrecy::ExposeSecret;
        let sealed = self.cipher.seal(secret.expose_secret());
        let now = now_ms();
        // One transaction: the owner never has two current credentials, nor none in between.
        let id: i64 = on_pool!(&self.writer, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("update credential set replaced_at = $2 where owner_id = $1 and replaced_at is null")
                .bind(owner_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let id = sqlx::query_scalar(
                "insert into credential (owner_id, kind, label, secret, expires_at, status, created_at)
             values ($1, $2, $3, $4, $5, 'active', $6)
             returning id",
            )
            .bind(owner_id)
            .bind(kind.as_str())
            .bind(label)
            .bind(sealed)
            .bind(expires_at)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            id
        });
        self.credentials.forget(|c| c.owner_id == owner_id);
        self.notify_credentials_changed().await?;
        Ok(id)
    }

    /// The user's current credential (the newest login), if any.
    pub async fn credential_of_user(&self, owner_id: i64) -> Result<Option<Credential>, StorageError> {
        let row: Option<CredentialRow> = on_pool!(&self.engine, |pool| sqlx::query_as(
            "select * from credential where owner_id = $1 and replaced_at is null"
        )
        .bind(owner_id)
        .fetch_optional(pool)
        .await)?;
        row.map(|row| self.decrypt(row)).transpose()
    }

    /// The credential with this id (from the cache when it was read before).
    pub async fn credential(&self, id: i64) -> Result<Option<Credential>, StorageError> {
        let generation = match self.credentials.get(id) {
            Ok(cached) => return Ok(cached),
            Err(generation) => generation,
        };
        let row: Option<CredentialRow> = on_pool!(&self.engine, |pool| sqlx::query_as(
            "select * from credential where id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        let credential = row.map(|row| self.decrypt(row)).transpose()?;
        if let Some(credential) = &credential {
            self.credentials.put(generation, credential);
        }
        Ok(credential)
    }

    /// Forgets the user's credentials, the replaced ones too (their tasks then end with a
    /// message). Returns whether there was a current one.
    pub async fn delete_credential_of_user(&self, owner_id: i64) -> Result<bool, StorageError> {
        let current = self.credential_of_user(owner_id).await?.is_some();
        on_pool!(&self.writer, |pool| sqlx::query(
            "delete from credential where owner_id = $1"
        )
        .bind(owner_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        self.credentials.forget(|c| c.owner_id == owner_id);
        self.notify_credentials_changed().await?;
        Ok(current)
    }

    /// PixVerse refused this credential. Returns true only for the call that changed it, so the
    /// owner is told once.
    pub async fn mark_credential_invalid(&self, id: i64) -> Result<bool, StorageError> {
        let done = on_pool!(&self.writer, |pool| {
            sqlx::query(
            "update credential set status = 'invalid', invalid_at = $2 where id = $1 and status = 'active'",
        )
        .bind(id)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        })?;
        self.credentials.forget(|c| c.id == id);
        self.notify_credentials_changed().await?;
        Ok(done > 0)
    }

    fn decrypt(&self, row: CredentialRow) -> Result<Credential, StorageError> {
        let kind = match row.kind.as_str() {
            "apikey" => CredentialKind::ApiKey,
            "web" => CredentialKind::Web,
            other => {
                return Err(StorageError::Corrupt(format!(
                    "credential {} has kind `{other}`",
                    row.id
                )));
            }
        };
        let status = match row.status.as_str() {
            "invalid" => CredentialStatus::Invalid,
            _ => CredentialStatus::Active,
        };
        Ok(Credential {
            id: row.id,
            owner_id: row.owner_id,
            kind,
            label: row.label,
            secret: self.cipher.open(&row.secret).ok_or(StorageError::Decrypt)?,
            expires_at: row.expires_at,
            status,
            invalid_at: row.invalid_at,
            replaced_at: row.replaced_at,
        })
    }
}
