//! [`SecretString`]: a secret that never shows in `Debug` or logs.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::digest;

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

    /// How the secret is stored at rest: base64url SHA-256.
    pub fn hash(&self) -> String {
        sha256_b64(&self.0)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
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
