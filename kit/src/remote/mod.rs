//! [`RemoteVerifier`]: verifies Portcullis access tokens in another service that knows only
//! Portcullis's issuer URL.
//!
//! At start the verifier reads the issuer's RFC 8414 metadata (its `issuer` must be the
//! configured one, §3.3), then verifies tokens locally against the issuer's JWKS: RS256 only,
//! `typ` `at+jwt`, `iss`, `aud`, `exp`, `nbf` (RFC 9068 §4). The key set is cached and fetched
//! again when a token names an unknown `kid` — at most once per `jwks_refetch_interval`,
//! failed fetches included, so tokens with made-up key ids cannot make the service hammer
//! the issuer; known key ids never wait for a fetch. The kit follows no redirects, caps every
//! answer's size, and uses only endpoints on the issuer's own origin (https unless the issuer
//! is on loopback). With introspection credentials the kit also asks `/oauth/introspect`
//! whether each token is still active (RFC 7662), remembering each answer for
//! `introspection_cache`, so a revoked token is refused within that time.

mod fetch;
mod introspection;
mod keys;
mod verifier;

use std::time::Duration;

pub use fetch::{EndpointError, FetchError};
pub use verifier::{KitError, RemoteVerifier};

use crate::secret::SecretString;

/// What the kit needs to know; only the issuer is required.
#[derive(Debug, Clone)]
pub struct KitConfig {
    /// Portcullis's issuer URL, exactly as in its tokens' `iss`.
    pub issuer: String,
    /// Audiences this service accepts (one must be in the token's `aud`).
    pub audience: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// Least time between two fetches of the key set caused by unknown key ids.
    pub jwks_refetch_interval: Duration,
    /// Client credentials of a client allowed to introspect; `None` skips revocation checks
    /// (tokens are then trusted until they expire).
    pub introspection: Option<(String, SecretString)>,
    /// How long an introspection answer is reused.
    pub introspection_cache: Duration,
    /// Time limit of each request to the issuer.
    pub timeout: Duration,
}

impl KitConfig {
    pub fn new(issuer: impl Into<String>) -> Self {
        KitConfig {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            audience: vec!["portcullis-api".to_owned()],
            leeway: Duration::from_secs(10),
            jwks_refetch_interval: Duration::from_secs(30),
            introspection: None,
            introspection_cache: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
        }
    }
}
