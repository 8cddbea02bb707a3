//! The claims of Portcullis's access tokens (RFC 9068 §2.2): the kit's [`AccessClaims`], which
//! this server signs and every verifier reads, and what the server adds to them.

pub use portcullis_kit::claims::{unix_now, AccessClaims, ACCESS_TOKEN_TYP};

use crate::keys::SignedClaims;
use crate::revocation::TokenFacts;

impl SignedClaims for AccessClaims {
    const TYP: &'static str = ACCESS_TOKEN_TYP;
}

/// What the revocation set checks of a token: the token, its family, its user or client.
pub fn revocation_facts(claims: &AccessClaims) -> TokenFacts<'_> {
    TokenFacts {
        jti: &claims.jti,
        family: claims.sid.as_deref(),
        user: claims.is_users().then_some(claims.sub.as_str()),
        client_id: &claims.client_id,
        issued_at: claims.iat,
    }
}
