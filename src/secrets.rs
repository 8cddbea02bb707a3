//! Random secrets and how they are kept: generated from the OS CSPRNG, stored only as SHA-256,
//! compared in constant time, and never printed by `Debug`.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

/// `n` random bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Internal("the system random number generator failed".into()))?;
    Ok(bytes)
}

/// A 256-bit random value, base64url without padding (43 characters).
pub fn random_token() -> Result<String> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// A 128-bit random identifier, base64url without padding (22 characters).
pub fn random_id() -> Result<String> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<16>()?))
}

/// The base64url SHA-256 of a secret: how secrets are stored and looked up.
pub fn sha256_b64(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(secret))
}

/// SHA-256 of a secret as a fixed-size key, for in-memory caches of tokens.
pub fn sha256(secret: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    key.copy_from_slice(digest::digest(&digest::SHA256, secret.as_bytes()).as_ref());
    key
}

/// Compares two strings without leaking where they differ through timing.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// A secret value: a client secret, a token, a password, a database URI with credentials, a
/// cookie key. Its `Debug` is redacted; only `expose` shows it. (De)serializes as the plain
/// string, so configuration files and wire structs can hold one.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        SecretString(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// How the secret is stored at rest.
    pub fn hash(&self) -> String {
        sha256_b64(&self.0)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn hash_is_stable_and_comparison_exact() {
        assert_eq!(
            sha256_b64("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
        assert_eq!(
            format!("{:?}", SecretString::new("hunter2")),
            "SecretString(***)"
        );
    }
}
