//! The one access-token check every verifier shares, Portcullis's own and the kit's remote
//! one: RS256 only, `typ` `at+jwt`, then `iss`, `aud`, `exp` and `nbf` with a small leeway
//! (RFC 9068 §4). Where the key comes from, and whether the token was revoked, is the
//! verifier's business.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};

use crate::claims::AccessClaims;

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

/// What a valid access token of one issuer, for one set of audiences, looks like.
#[derive(Clone)]
pub struct AccessTokenRules {
    validation: Validation,
}

impl AccessTokenRules {
    /// RFC 9068 §4 claim checks: `iss` and `aud` as given, `exp` and `nbf` with `leeway`
    /// seconds, `sub` present, and the algorithm pinned to RS256 (a header claiming `none`,
    /// HS256 or anything else fails).
    pub fn new(issuer: &str, audience: &[String], leeway_secs: u64) -> Self {
        crate::crypto::install();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(audience);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = leeway_secs;
        AccessTokenRules { validation }
    }

    /// The `kid` of a token whose header is an access token's: RS256 and `typ` `at+jwt`
    /// (RFC 9068 §2.1, §4), so the verifier can pick the key.
    pub fn key_id(&self, token: &str) -> Result<String, Rejection> {
        let header = decode_header(token).map_err(|_| Rejection::Invalid)?;
        let typ_ok = header.typ.as_deref().is_some_and(|typ| {
            typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
        });
        if header.alg != Algorithm::RS256 || !typ_ok {
            return Err(Rejection::Invalid);
        }
        header.kid.ok_or(Rejection::Invalid)
    }

    /// Signature and claims against the key `key_id` chose.
    pub fn claims(&self, token: &str, key: &DecodingKey) -> Result<AccessClaims, Rejection> {
        decode::<AccessClaims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => Rejection::Expired,
                _ => Rejection::Invalid,
            })
    }
}
