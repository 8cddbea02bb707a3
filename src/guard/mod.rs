//! Request guards that protect Rocket handlers with Portcullis access tokens, usable by any
//! Rocket service that manages a [`TokenVerifier`].
//!
//! ```ignore
//! #[get("/reports")]
//! fn reports(auth: Result<RequireScope<DataRead>, GuardError>) -> Result<String, GuardError> {
//!     let RequireScope(claims, _) = auth?;
//!     Ok(format!("hello {}", claims.sub))
//! }
//! ```
//!
//! Failures answer as RFC 6750 §3 says, with `WWW-Authenticate: Bearer ...` (see [`GuardError`]).

mod error;
mod require;

use rocket::http::HeaderMap;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::Request;

pub use error::GuardError;
pub use require::{
    Admin, AdminScope, DataRead, DataWrite, Profile, RequireRole, RequireScope, RequiredRole,
    RequiredScope,
};

pub use crate::oauth::tokens::AccessClaims;
pub use crate::oauth::verify::TokenVerifier;

/// Longest `Authorization` header accepted.
pub const MAX_AUTHORIZATION_LEN: usize = 8 * 1024;

/// A verified, unrevoked access token. Verification runs once per request, however many
/// guards ask for it.
#[rocket::async_trait]
impl<'r> FromRequest<'r> for AccessClaims {
    type Error = GuardError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, GuardError> {
        let verdict: &Result<AccessClaims, GuardError> = request.local_cache(|| {
            let verifier = request
                .rocket()
                .state::<TokenVerifier>()
                .ok_or(GuardError::Misconfigured)?;
            let token = bearer_token(request.headers())?;
            verifier.verify(token).map_err(GuardError::Token)
        });
        match verdict {
            Ok(claims) => Outcome::Success(claims.clone()),
            Err(error) => Outcome::Error((error.status(), error.clone())),
        }
    }
}

/// Extracts the token of `Authorization: Bearer <token>` (RFC 6750 §2.1): exactly one
/// header, the scheme case-insensitive, the token in `b64token` syntax.
pub fn bearer_token<'a>(headers: &'a HeaderMap<'_>) -> Result<&'a str, GuardError> {
    let mut values = headers.get("Authorization");
    let Some(value) = values.next() else {
        return Err(GuardError::Missing);
    };
    if values.next().is_some() {
        return Err(GuardError::InvalidRequest(
            "more than one Authorization header",
        ));
    }
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err(GuardError::InvalidRequest(
            "the Authorization header is too large",
        ));
    }
    let Some((scheme, token)) = value.split_once(' ') else {
        return Err(GuardError::Missing);
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Some other scheme: no bearer credentials were offered.
        return Err(GuardError::Missing);
    }
    let token = token.trim_matches(' ');
    if !is_b64token(token) {
        return Err(GuardError::InvalidRequest("malformed bearer token"));
    }
    Ok(token)
}

/// RFC 6750 §2.1: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// The status a rejected request gets, for guards built on this one.
pub(crate) fn reject<T>(error: GuardError) -> request::Outcome<T, GuardError> {
    Outcome::Error((error.status(), error))
}
