//! The one signer: any claims struct that names its token type becomes an RS256 JWT signed
//! with the active key. An access token (RFC 9068, `at+jwt`) is one such struct; an OpenID
//! Connect id token or a logout token is one more.

use jsonwebtoken::{Algorithm, Header};
use serde::Serialize;

use super::KeyRing;
use crate::error::{Error, Result};

/// Claims that are signed as a JWT of their own type.
pub trait SignedClaims: Serialize {
    /// The JOSE `typ` header (RFC 7515 §4.1.9): `at+jwt` for access tokens (RFC 9068 §2.1).
    const TYP: &'static str;
}

impl KeyRing {
    /// Signs `claims` with the active key: one RSA signature, the key parsed long before. The
    /// header names the key (`kid`), so verifiers pick it from the key set.
    pub fn sign<C: SignedClaims>(&self, claims: &C) -> Result<String> {
        let keys = self.snapshot();
        let key = keys.active();
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some(C::TYP.to_owned());
        header.kid = Some(key.kid().to_owned());
        jsonwebtoken::encode(&header, claims, key.encoding_key())
            .map_err(|e| Error::Internal(format!("signing a {} token: {e}", C::TYP)))
    }
}
