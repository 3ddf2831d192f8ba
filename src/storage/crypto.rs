//! Sealing credentials at rest with XChaCha20-Poly1305 (authenticated: a wrong key or a
//! tampered row is detected, never decrypted into garbage).

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use chacha20poly1305::{
    Key, XChaCha20Poly1305, XNonce,
    aead::{Aead, AeadCore, KeyInit, OsRng},
};
use secrecy::{ExposeSecret, SecretString};

const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("SECRET_KEY: must be base64 of exactly 32 bytes; generate one with `openssl rand -base64 32`")]
    BadSecretKey,
    #[error("key file {path}: {problem}")]
    KeyFile { path: PathBuf, problem: String },
}

/// The cipher that seals every stored secret. Cheap to clone.
#[derive(Clone)]
pub struct Cipher(Arc<XChaCha20Poly1305>);

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(..)")
    }
}

impl Cipher {
    /// From `SECRET_KEY` (base64 of 32 bytes).
    pub fn from_base64(key: &SecretString) -> Result<Cipher, KeyError> {
        let bytes = STANDARD
            .decode(key.expose_secret().trim())
            .map_err(|_| KeyError::BadSecretKey)?;
        Self::from_bytes(&bytes).ok_or(KeyError::BadSecretKey)
    }

    /// Reads the key file, or creates it (mode 0600) with a fresh random key when missing.
    pub fn from_key_file(path: &Path) -> Result<Cipher, KeyError> {
        let problem = |problem: String| KeyError::KeyFile {
            path: path.to_owned(),
            problem,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = STANDARD
                    .decode(text.trim())
                    .map_err(|_| problem("is not base64 of 32 bytes; restore the original file".into()))?;
                Self::from_bytes(&bytes)
                    .ok_or_else(|| problem("does not hold 32 bytes; restore the original file".into()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = XChaCha20Poly1305::generate_key(&mut OsRng);
                write_private(path, STANDARD.encode(key).as_bytes())
                    .map_err(|e| problem(format!("cannot be created: {e}")))?;
                tracing::info!(path = %path.display(), "generated a new credential key file");
                Ok(Cipher(Arc::new(XChaCha20Poly1305::new(&key))))
            }
            Err(e) => Err(problem(format!("cannot be read: {e}"))),
        }
    }

    /// A throwaway key, for an in-memory database.
    pub fn ephemeral() -> Cipher {
        Cipher(Arc::new(XChaCha20Poly1305::new(
            &XChaCha20Poly1305::generate_key(&mut OsRng),
        )))
    }

    fn from_bytes(bytes: &[u8]) -> Option<Cipher> {
        (bytes.len() == 32).then(|| Cipher(Arc::new(XChaCha20Poly1305::new(Key::from_slice(bytes)))))
    }

    /// nonce || ciphertext+tag. A random 192-bit nonce per message makes reuse negligible.
    pub fn seal(&self, plaintext: &str) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .0
            .encrypt(&nonce, plaintext.as_bytes())
            .expect("encrypting into memory cannot fail");
        [nonce.as_slice(), &ciphertext].concat()
    }

    /// None when the key is wrong or the data was altered.
    pub fn open(&self, sealed: &[u8]) -> Option<SecretString> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let plaintext = self.0.decrypt(XNonce::from_slice(nonce), ciphertext).ok()?;
        String::from_utf8(plaintext).ok().map(SecretString::from)
    }
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let cipher = Cipher::ephemeral();
        let sealed = cipher.seal("token-123");
        assert!(!sealed.windows(9).any(|w| w == b"token-123"));
        assert_eq!(cipher.open(&sealed).unwrap().expose_secret(), "token-123");
        assert!(Cipher::ephemeral().open(&sealed).is_none());
        assert!(cipher.open(&sealed[..10]).is_none());
    }

    #[test]
    fn a_bad_secret_key_is_a_clear_error() {
        assert!(matches!(
            Cipher::from_base64(&SecretString::from("short")),
            Err(KeyError::BadSecretKey)
        ));
        let ok = STANDARD.encode([7u8; 32]);
        assert!(Cipher::from_base64(&SecretString::from(ok)).is_ok());
    }

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bot.db.key");
        let first = Cipher::from_key_file(&path).unwrap();
        let sealed = first.seal("x");
        let again = Cipher::from_key_file(&path).unwrap();
        assert_eq!(again.open(&sealed).unwrap().expose_secret(), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        std::fs::write(&path, "garbage").unwrap();
        assert!(matches!(
            Cipher::from_key_file(&path),
            Err(KeyError::KeyFile { .. })
        ));
    }
}
