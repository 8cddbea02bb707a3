//! Access-token verification, as every protected API does it: RS256 only, the key chosen by
//! `kid` from the key ring, `typ` = `at+jwt` (RFC 9068 §4), `iss`, `aud`, `exp` and `nbf` with
//! a small leeway, then the revocation set. No database round trip.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, Validation};

use super::tokens::AccessClaims;
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

/// Verifies access tokens against one issuer's keys and revocations.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: KeyRing,
    revocations: RevocationSet,
    validation: Validation,
}

impl TokenVerifier {
    pub fn new(config: &Config, keys: KeyRing, revocations: RevocationSet) -> Self {
        // The algorithm is pinned: a header claiming `none`, HS256 or anything else fails.
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[config.issuer.as_str()]);
        validation.set_audience(&config.audience);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = config.token_leeway_secs;
        TokenVerifier {
            keys,
            revocations,
            validation,
        }
    }

    /// Checks signature and claims only; revocation is the caller's second question.
    pub fn verify_signed(&self, token: &str) -> Result<AccessClaims, Rejection> {
        let header = decode_header(token).map_err(|_| Rejection::Invalid)?;
        let typ_ok = header.typ.as_deref().is_some_and(|typ| {
            typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
        });
        if header.alg != Algorithm::RS256 || !typ_ok {
            return Err(Rejection::Invalid);
        }
        let keys = self.keys.snapshot();
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| keys.find(kid))
            .ok_or(Rejection::Invalid)?;
        decode::<AccessClaims>(token, key.decoding_key(), &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => Rejection::Expired,
                _ => Rejection::Invalid,
            })
    }

    /// The whole check: signature, claims, revocation.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, Rejection> {
        let claims = self.verify_signed(token)?;
        if self
            .revocations
            .is_revoked(&claims.jti, claims.sid.as_deref())
        {
            return Err(Rejection::Revoked);
        }
        Ok(claims)
    }

    pub fn revocations(&self) -> &RevocationSet {
        &self.revocations
    }
}
