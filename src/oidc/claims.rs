//! The claims about a user that a token's scope releases (OIDC Core §5.4), for the id token and
//! UserInfo alike: `profile` the names, locale, zone and `updated_at`, `email` the address and
//! whether it is verified. Portcullis's `role` goes with every one, as it goes with every access
//! token.

use serde::Serialize;

use crate::scope::Scope;
use crate::store::UserDoc;

/// The `profile` scope (OIDC Core §5.4).
pub const PROFILE: &str = "profile";
/// The `email` scope (OIDC Core §5.4).
pub const EMAIL: &str = "email";

/// Every claim name a user's claims may carry, for the discovery document's
/// `claims_supported`, the token's own claims included.
pub const SUPPORTED: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "azp",
    "at_hash",
    "sid",
    "amr",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "locale",
    "zoneinfo",
    "updated_at",
    "email",
    "email_verified",
    "role",
];

/// What the scope lets a relying party know about the user; members the user has not set are
/// left out (OIDC Core §5.3.2: a claim without a value is omitted, not `null`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zoneinfo: Option<String>,
    /// Unix seconds of the last change to the account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    pub role: String,
}

impl UserClaims {
    /// The claims `scope` releases about `user`.
    pub fn of(user: &UserDoc, scope: &Scope) -> UserClaims {
        let mut claims = UserClaims {
            role: user.role.clone(),
            ..UserClaims::default()
        };
        let profile = &user.profile;
        if scope.contains(PROFILE) {
            claims.preferred_username = Some(user.username.clone());
            claims.name = profile.name.clone();
            claims.given_name = profile.given_name.clone();
            claims.family_name = profile.family_name.clone();
            claims.locale = profile.locale.clone();
            claims.zoneinfo = profile.zoneinfo.clone();
            claims.updated_at = user.updated_at.unix_secs();
        }
        if scope.contains(EMAIL) {
            if let Some(email) = &profile.email {
                claims.email = Some(email.clone());
                claims.email_verified = Some(profile.email_verified);
            }
        }
        claims
    }
}
