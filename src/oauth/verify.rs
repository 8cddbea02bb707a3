//! Access-token verification in the server: the kit's check ([`AccessTokenRules`]: RS256,
//! `typ` `at+jwt`, `iss`, `aud`, `exp`, `nbf`, RFC 9068 §4) with the key chosen by `kid` from
//! the key ring, then the revocation set. No database round trip.

use std::sync::Arc;

use portcullis_kit::{AccessTokenRules, BearerRequest, BearerVerifier, GuardError};

pub use portcullis_kit::Rejection;

use super::claims::{revocation_facts, unix_now, AccessClaims};
use super::verified_cache::{Verified, VerifiedCache};
use crate::config::Config;
use crate::keys::KeyRing;
use crate::revocation::RevocationSet;

/// Verifies access tokens against one issuer's keys and revocations.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: KeyRing,
    revocations: RevocationSet,
    rules: AccessTokenRules,
    leeway: u64,
    /// Tokens that verified before, by SHA-256. Expiry, the signing key still being loaded,
    /// and revocation are checked on every request all the same.
    verified: VerifiedCache,
}

impl TokenVerifier {
    pub fn new(config: &Config, keys: KeyRing, revocations: RevocationSet) -> Self {
        let rules =
            AccessTokenRules::new(&config.issuer, &config.audience, config.token_leeway_secs);
        TokenVerifier {
            keys,
            revocations,
            rules,
            leeway: config.token_leeway_secs,
            verified: VerifiedCache::new(config.verified_token_cache_mb, config.token_leeway_secs),
        }
    }

    /// Signature and claims, from the cache when this exact token verified before.
    fn verified(&self, token: &str) -> Result<Arc<AccessClaims>, Rejection> {
        let key = crate::secrets::sha256(token);
        if let Some(Verified { claims, kid }) = self.verified.get(&key) {
            if claims.exp.saturating_add(self.leeway) < unix_now() {
                return Err(Rejection::Expired);
            }
            // A key removed from the folder takes its tokens with it.
            if self.keys.snapshot().find(&kid).is_none() {
                return Err(Rejection::Invalid);
            }
            return Ok(claims);
        }
        let (claims, kid) = self.verify_signed_with_kid(token)?;
        let claims = Arc::new(claims);
        let entry = Verified {
            claims: claims.clone(),
            kid: kid.into(),
        };
        self.verified.insert(key, entry);
        Ok(claims)
    }

    /// Checks signature and claims only; revocation is the caller's second question.
    pub fn verify_signed(&self, token: &str) -> Result<AccessClaims, Rejection> {
        self.verify_signed_with_kid(token).map(|(claims, _)| claims)
    }

    fn verify_signed_with_kid(&self, token: &str) -> Result<(AccessClaims, String), Rejection> {
        let kid = self.rules.key_id(token)?;
        let keys = self.keys.snapshot();
        let key = keys.find(&kid).ok_or(Rejection::Invalid)?;
        self.rules
            .claims(token, key.decoding_key())
            .map(|claims| (claims, kid))
    }

    /// The whole check: signature, claims, revocation. The claims are shared with the
    /// verified-token cache, not copied.
    pub fn verify(&self, token: &str) -> Result<Arc<AccessClaims>, Rejection> {
        let claims = self.verified(token)?;
        if self.revocations.is_revoked(revocation_facts(&claims)) {
            return Err(Rejection::Revoked);
        }
        Ok(claims)
    }

    pub fn revocations(&self) -> &RevocationSet {
        &self.revocations
    }

    /// Whether tokens can be checked at all: not before the revocation set has been read
    /// whole once, since until then a revoked token would look live. Callers answer 503.
    pub fn ready(&self) -> bool {
        self.revocations.is_loaded()
    }
}

/// The server's own APIs ask this verifier through the kit's guards.
#[async_trait::async_trait]
impl BearerVerifier for TokenVerifier {
    async fn verify_bearer(
        &self,
        request: &BearerRequest<'_>,
    ) -> Result<Arc<AccessClaims>, GuardError> {
        if !self.ready() {
            return Err(GuardError::Unavailable);
        }
        self.verify(request.token).map_err(GuardError::Token)
    }
}
