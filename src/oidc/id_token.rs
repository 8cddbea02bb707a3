//! The id token (OIDC Core §2): who signed in, when and how, for one client. Signed like an
//! access token, by the active key with RS256, but typed `JWT` and addressed to the client
//! alone, so neither can pass for the other.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, Validation};
use portcullis_kit::claims::unix_now;
use serde::{Deserialize, Serialize};

use super::claims::UserClaims;
use crate::config::Config;
use crate::error::Result;
use crate::keys::{KeyRing, SignedClaims};
use crate::scope::Scope;
use crate::secrets::{sha256, SecretString};
use crate::store::{SignInRecord, UserDoc};

/// The JOSE `typ` of an id token. OIDC Core leaves it open; `JWT` (RFC 7519 §5.1) keeps an id
/// token from verifying as an `at+jwt` access token (RFC 9068 §4).
pub const ID_TOKEN_TYP: &str = "JWT";

/// An id token's claims (OIDC Core §2), with the user's claims its scope releases beside them.
#[derive(Debug, Clone, Serialize)]
pub struct IdTokenClaims {
    pub iss: String,
    /// The same subject as the user's access tokens: the account id.
    pub sub: String,
    /// The client, alone (§2: `aud` MUST contain the client id).
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    /// When the user signed in (§2); unknown only for grants recorded before it was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    /// The authorization request's `nonce`, exactly as sent (§3.1.3.6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The party the token was issued to (§2), the sole audience here.
    pub azp: String,
    /// The access token's hash (§3.1.3.6), binding the two.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// The browser session (Front-Channel Logout 1.0 §3), which logout can name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// How the user signed in (RFC 8176).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    #[serde(flatten)]
    pub user: UserClaims,
}

impl SignedClaims for IdTokenClaims {
    const TYP: &'static str = ID_TOKEN_TYP;
}

/// What an id token is issued for.
pub struct IdTokenFor<'a> {
    pub user: &'a UserDoc,
    pub client_id: &'a str,
    pub scope: &'a Scope,
    pub sign_in: Option<&'a SignInRecord>,
    pub nonce: Option<&'a str>,
    /// The access token issued with it, for `at_hash`.
    pub access_token: &'a SecretString,
}

/// Signs the id token for a grant whose scope holds `openid`; valid as long as the access
/// token beside it.
pub fn sign(config: &Config, keys: &KeyRing, id: &IdTokenFor<'_>) -> Result<SecretString> {
    let now = unix_now();
    let sign_in = id.sign_in;
    let claims = IdTokenClaims {
        iss: config.issuer.clone(),
        sub: id.user.id.to_hex(),
        aud: id.client_id.to_owned(),
        exp: now + config.access_token_ttl_secs,
        iat: now,
        auth_time: sign_in.and_then(|s| s.auth_time.unix_secs()),
        nonce: id.nonce.map(str::to_owned),
        azp: id.client_id.to_owned(),
        at_hash: Some(at_hash(id.access_token.expose())),
        sid: sign_in
            .and_then(|s| s.sid.as_ref())
            .map(|sid| sid.to_string()),
        amr: sign_in.map(|s| s.amr.clone()).unwrap_or_default(),
        user: UserClaims::of(id.user, id.scope),
    };
    keys.sign(&claims).map(SecretString::new)
}

/// What an id token this server issued says, read back from an `id_token_hint` (OIDC Core
/// §3.1.2.1, RP-Initiated Logout 1.0 §2).
#[derive(Debug, Clone, Deserialize)]
pub struct HintedIdToken {
    pub sub: String,
    /// The client it was issued to.
    pub aud: String,
    pub sid: Option<String>,
}

/// Reads an id token this server signed: RS256 with a key of the ring, `typ` `JWT`, this
/// issuer. An expired one still names its user (the hint is often an old token), so `exp` is
/// not checked; `None` for anything else.
pub fn read_hint(config: &Config, keys: &KeyRing, token: &str) -> Option<HintedIdToken> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != Algorithm::RS256 || header.typ.as_deref() != Some(ID_TOKEN_TYP) {
        return None;
    }
    let keys = keys.snapshot();
    let key = keys.find(header.kid.as_deref()?)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[config.issuer.as_str()]);
    validation.set_required_spec_claims(&["iss", "sub", "aud"]);
    validation.validate_exp = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<HintedIdToken>(token, key.decoding_key(), &validation)
        .ok()
        .map(|data| data.claims)
}

/// OIDC Core §3.1.3.6: the base64url of the left half of the access token's hash, the hash
/// being the one the signature uses (SHA-256 for RS256).
pub fn at_hash(access_token: &str) -> String {
    let digest = sha256(access_token);
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::at_hash;

    #[test]
    fn at_hash_is_the_left_half_of_the_sha256() {
        // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 | b00361a3 ...; the left 16
        // bytes, base64url without padding.
        assert_eq!(at_hash("abc"), "ungWv48Bz-pBQUDeXa4iIw");
    }
}
