//! Argon2id password hashing. Hashing is deliberately slow, so it always runs on the blocking
//! thread pool, never on the async workers that serve token verification.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::config::Argon2Config;
use crate::error::{Error, Result};
use crate::secrets::random_bytes;

/// Longest password accepted, so nobody can make the server hash megabytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Shortest password accepted for new accounts.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Hashes and verifies passwords with one set of Argon2id parameters.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Arc<Argon2<'static>>,
    /// At most one Argon2 computation per core: each takes `memory_kib` of memory and a core for
    /// its whole run, so more at once only adds memory and steals the cores that verify tokens.
    permits: Arc<tokio::sync::Semaphore>,
    /// A real hash of a random password, verified against when the user does not exist so an
    /// unknown username costs the same time as a wrong password.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// Parameters were checked when the configuration loaded; out-of-range ones fall back to
    /// the defaults rather than fail here.
    pub fn new(config: Argon2Config) -> Self {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .unwrap_or_default();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        // The dummy hash only has to cost what a real one costs; it guards nothing, since
        // `verify` never reports a match against it.
        let dummy_hash = SaltString::encode_b64(b"portcullis-dummy")
            .ok()
            .and_then(|salt| {
                let hash = argon2.hash_password(b"dummy", &salt).ok()?;
                Some(hash.to_string())
            })
            .unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        PasswordHasher {
            argon2: Arc::new(argon2),
            permits: Arc::new(tokio::sync::Semaphore::new(cores)),
            dummy_hash: dummy_hash.into(),
        }
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, password: &str) -> Result<String> {
        let argon2 = self.argon2.clone();
        let password = password.to_owned();
        let _permit = self.permit().await?;
        tokio::task::spawn_blocking(move || hash_with(&argon2, &password))
            .await
            .map_err(|e| Error::Internal(format!("password hashing task: {e}")))?
    }

    /// Checks a password against a stored hash; `None` checks against the dummy hash and
    /// always fails, taking the same time.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool> {
        let argon2 = self.argon2.clone();
        let password = password.to_owned();
        let is_real = stored.is_some();
        let hash = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let _permit = self.permit().await?;
        let matches = tokio::task::spawn_blocking(move || {
            // A stored hash keeps the parameters it was made with, so raising the cost in the
            // configuration does not lock existing users out.
            PasswordHash::new(&hash)
                .map(|parsed| argon2.verify_password(password.as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await
        .map_err(|e| Error::Internal(format!("password verification task: {e}")))?;
        Ok(is_real && matches)
    }
}

impl PasswordHasher {
    async fn permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>> {
        self.permits
            .acquire()
            .await
            .map_err(|_| Error::Internal("password hashing is shut down".into()))
    }
}

fn hash_with(argon2: &Argon2<'_>, password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| Error::Internal(format!("salt: {e}")))?;
    argon2
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Internal(format!("password hashing: {e}")))
}

/// Checks the rules a new password must meet.
pub fn check_new_password(password: &str) -> Result<()> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::invalid("password", "must be at most 1024 bytes"));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid("password", "must be at least 8 characters"));
    }
    Ok(())
}
