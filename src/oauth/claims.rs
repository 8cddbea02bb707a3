//! The claims of Portcullis's access tokens (RFC 9068 §2.2), as the signer writes them and
//! every verifier reads them.

use serde::{Deserialize, Serialize};

use crate::keys::SignedClaims;
use crate::revocation::TokenFacts;

/// RFC 9068 §2.1: the `typ` header of JWT access tokens.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The claims of an access token (RFC 9068 §2.2, plus `role` and `username`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The user's id, or the client's id for client-credentials tokens.
    pub sub: String,
    pub aud: Vec<String>,
    pub exp: u64,
    pub iat: u64,
    pub nbf: u64,
    pub jti: String,
    pub client_id: String,
    /// Space-separated granted scopes (RFC 9068 §2.2.3).
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The refresh-token family the token was issued from, so revoking the family can revoke
    /// the access tokens it produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl SignedClaims for AccessClaims {
    const TYP: &'static str = ACCESS_TOKEN_TYP;
}

impl AccessClaims {
    /// What the revocation set checks: the token, its family, its user or client.
    pub fn revocation_facts(&self) -> TokenFacts<'_> {
        TokenFacts {
            jti: &self.jti,
            family: self.sid.as_deref(),
            user: self.username.is_some().then_some(self.sub.as_str()),
            client_id: &self.client_id,
            issued_at: self.iat,
        }
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
