//! Access-token verification, as every protected API does it: RS256 only, the key chosen by
//! `kid` from the key ring, `typ` = `at+jwt` (RFC 9068 §4), `iss`, `aud`, `exp` and `nbf` with
//! a small leeway, then the revocation set. No database round trip.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};

use std::sync::{Arc, Mutex};

use super::claims::{unix_now, AccessClaims};
use crate::config::Config;
use crate::keys::KeyRing;
use crate::revocation::RevocationSet;

/// Why a token was refused; each has its own RFC 6750 description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Invalid,
    Expired,
    Revoked,
}

impl Rejection {
    pub fn description(self) -> &'static str {
        match self {
            Rejection::Invalid => "the access token is invalid",
            Rejection::Expired => "the access token has expired",
            Rejection::Revoked => "the access token has been revoked",
        }
    }
}

/// Most tokens a verifier remembers as verified; past it the memory starts over.
const VERIFIED_CACHE_CAPACITY: usize = 50_000;

/// A token that verified: its claims and the key that signed it.
#[derive(Clone)]
struct Verified {
    claims: Arc<AccessClaims>,
    kid: Arc<str>,
}

/// Verifies access tokens against one issuer's keys and revocations.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: KeyRing,
    revocations: RevocationSet,
    validation: Validation,
    leeway: u64,
    /// SHA-256 of a token that verified → its claims, so a client presenting the same token
    /// again costs a hash and a look-up instead of an RSA verification. Expiry, the signing key
    /// still being loaded, and revocation are checked on every request all the same.
    verified: Arc<Mutex<foldhash::HashMap<[u8; 32], Verified>>>,
}

impl TokenVerifier {
    pub fn new(config: &Config, keys: KeyRing, revocations: RevocationSet) -> Self {
        let validation =
            access_token_validation(&config.issuer, &config.audience, config.token_leeway_secs);
        TokenVerifier {
            keys,
            revocations,
            validation,
            leeway: config.token_leeway_secs,
            verified: Arc::new(Mutex::new(foldhash::HashMap::default())),
        }
    }

    /// Signature and claims, from the cache when this exact token verified before.
    fn verified(&self, token: &str) -> Result<Arc<AccessClaims>, Rejection> {
        let key = crate::secrets::sha256(token);
        let cached = self
            .verified
            .lock()
            .ok()
            .and_then(|cache| cache.get(&key).cloned());
        if let Some(Verified { claims, kid }) = cached {
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
        if let Ok(mut cache) = self.verified.lock() {
            if cache.len() >= VERIFIED_CACHE_CAPACITY {
                let now = unix_now();
                cache.retain(|_, entry| entry.claims.exp.saturating_add(self.leeway) >= now);
                if cache.len() >= VERIFIED_CACHE_CAPACITY {
                    cache.clear();
                }
            }
            let entry = Verified {
                claims: claims.clone(),
                kid: kid.into(),
            };
            cache.insert(key, entry);
        }
        Ok(claims)
    }

    /// Checks signature and claims only; revocation is the caller's second question.
    pub fn verify_signed(&self, token: &str) -> Result<AccessClaims, Rejection> {
        self.verify_signed_with_kid(token).map(|(claims, _)| claims)
    }

    fn verify_signed_with_kid(&self, token: &str) -> Result<(AccessClaims, String), Rejection> {
        let kid = access_token_kid(token)?;
        let keys = self.keys.snapshot();
        let key = keys.find(&kid).ok_or(Rejection::Invalid)?;
        decode_claims(token, key.decoding_key(), &self.validation).map(|claims| (claims, kid))
    }

    /// The whole check: signature, claims, revocation. The claims are shared with the
    /// verified-token cache, not copied.
    pub fn verify(&self, token: &str) -> Result<Arc<AccessClaims>, Rejection> {
        let claims = self.verified(token)?;
        if self.revocations.is_revoked(claims.revocation_facts()) {
            return Err(Rejection::Revoked);
        }
        Ok(claims)
    }

    pub fn revocations(&self) -> &RevocationSet {
        &self.revocations
    }
}

/// RFC 9068 §4 claim checks: `iss` and `aud` as configured, `exp` and `nbf` with `leeway`
/// seconds, `sub` present, and the algorithm pinned to RS256 (a header claiming `none`, HS256
/// or anything else fails).
pub(crate) fn access_token_validation(
    issuer: &str,
    audience: &[String],
    leeway: u64,
) -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(audience);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = leeway;
    validation
}

/// The `kid` of a token whose header is an access token's: RS256 and `typ` `at+jwt`
/// (RFC 9068 §2.1, §4).
pub(crate) fn access_token_kid(token: &str) -> Result<String, Rejection> {
    let header = decode_header(token).map_err(|_| Rejection::Invalid)?;
    let typ_ok = header.typ.as_deref().is_some_and(|typ| {
        typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
    });
    if header.alg != Algorithm::RS256 || !typ_ok {
        return Err(Rejection::Invalid);
    }
    header.kid.ok_or(Rejection::Invalid)
}

/// Signature and claims against one key.
pub(crate) fn decode_claims(
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
) -> Result<AccessClaims, Rejection> {
    decode::<AccessClaims>(token, key, validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => Rejection::Expired,
            _ => Rejection::Invalid,
        })
}
