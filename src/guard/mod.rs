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

use std::sync::Arc;

use rocket::http::uri::Origin;
use rocket::http::HeaderMap;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::Request;

pub use error::{GuardError, REALM};
pub use require::{
    Admin, AdminScope, DataRead, DataWrite, Profile, RequireRole, RequireScope, RequiredRole,
    RequiredScope,
};

pub use crate::oauth::claims::AccessClaims;
pub use crate::oauth::verify::TokenVerifier;

/// Longest `Authorization` header accepted.
pub const MAX_AUTHORIZATION_LEN: usize = 8 * 1024;

/// A request presenting an access token: the token, and the request it came with — its
/// method, target and headers — so a verifier can check what binds a token to its sender
/// (a DPoP proof, RFC 9449 §7) without any guard changing.
pub struct BearerRequest<'a> {
    pub token: &'a str,
    pub method: &'a str,
    /// The request target: path and query.
    pub uri: &'a Origin<'a>,
    pub headers: &'a HeaderMap<'a>,
}

/// Turns a presented access token into verified, unrevoked claims: Portcullis's own
/// [`TokenVerifier`], or, in another service, the resource-server kit's `RemoteVerifier`.
#[rocket::async_trait]
pub trait BearerVerifier: Send + Sync + 'static {
    async fn verify_bearer(
        &self,
        request: &BearerRequest<'_>,
    ) -> Result<Arc<AccessClaims>, GuardError>;
}

/// The verifier the guards ask, as Rocket managed state (`rocket.manage(Verifier(...))`).
#[derive(Clone)]
pub struct Verifier(pub Arc<dyn BearerVerifier>);

#[rocket::async_trait]
impl BearerVerifier for TokenVerifier {
    async fn verify_bearer(
        &self,
        request: &BearerRequest<'_>,
    ) -> Result<Arc<AccessClaims>, GuardError> {
        self.verify(request.token).map_err(GuardError::Token)
    }
}

/// The verdict on a request's bearer token, reached once per request however many guards ask.
async fn verdict<'r>(request: &'r Request<'_>) -> &'r Result<Arc<AccessClaims>, GuardError> {
    request
        .local_cache_async(async {
            let verifier = request
                .rocket()
                .state::<Verifier>()
                .ok_or(GuardError::Misconfigured)?;
            let headers = request.headers();
            let presented = BearerRequest {
                token: bearer_token(headers)?,
                method: request.method().as_str(),
                uri: request.uri(),
                headers,
            };
            verifier.0.verify_bearer(&presented).await
        })
        .await
}

/// A verified, unrevoked access token, borrowed from the request: the cheapest guard.
#[rocket::async_trait]
impl<'r> FromRequest<'r> for &'r AccessClaims {
    type Error = GuardError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, GuardError> {
        match verdict(request).await {
            Ok(claims) => Outcome::Success(claims),
            Err(error) => reject(error.clone()),
        }
    }
}

/// A verified, unrevoked access token, owned by the handler.
#[rocket::async_trait]
impl<'r> FromRequest<'r> for AccessClaims {
    type Error = GuardError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, GuardError> {
        match verdict(request).await {
            Ok(claims) => Outcome::Success(AccessClaims::clone(claims)),
            Err(error) => reject(error.clone()),
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
    !body.is_empty() && body.bytes().all(|b| B64TOKEN_CHARS[usize::from(b)])
}

/// The characters of `b64token` before the padding, as a table: this runs on every request.
const B64TOKEN_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] =
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        b += 1;
    }
    table
};

/// The status a rejected request gets, for guards built on this one.
pub(crate) fn reject<T>(error: GuardError) -> request::Outcome<T, GuardError> {
    Outcome::Error((error.status(), error))
}

#[cfg(test)]
mod tests {
    use rocket::http::{Header, HeaderMap};

    use super::{bearer_token, GuardError};

    fn headers(values: &[&str]) -> HeaderMap<'static> {
        let mut map = HeaderMap::new();
        for value in values {
            map.add(Header::new("Authorization", value.to_string()));
        }
        map
    }

    #[test]
    fn bearer_parsing_follows_rfc_6750() {
        assert_eq!(
            bearer_token(&headers(&["Bearer abc.DEF-_~+/=="])),
            Ok("abc.DEF-_~+/==")
        );
        assert_eq!(bearer_token(&headers(&["bearer x"])), Ok("x"));
        assert_eq!(bearer_token(&headers(&[])), Err(GuardError::Missing));
        assert_eq!(
            bearer_token(&headers(&["Basic abc"])),
            Err(GuardError::Missing)
        );
        for bad in ["Bearer a b", "Bearer ", "Bearer =abc", "Bearer a,b"] {
            assert!(
                matches!(
                    bearer_token(&headers(&[bad])),
                    Err(GuardError::InvalidRequest(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            bearer_token(&headers(&["Bearer a", "Bearer b"])),
            Err(GuardError::InvalidRequest(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn b64tokens_are_accepted_in_any_scheme_case(
            token in "[A-Za-z0-9._~+/-]{1,100}={0,2}", upper in proptest::collection::vec(proptest::bool::ANY, 6)
        ) {
            let scheme: String = "bearer"
                .chars()
                .zip(upper)
                .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
                .collect();
            let map = headers(&[&format!("{scheme} {token}")]);
            proptest::prop_assert_eq!(bearer_token(&map), Ok(token.as_str()));
        }

        #[test]
        fn arbitrary_headers_never_panic(value in ".{0,300}") {
            let map = headers(&[&value]);
            let _ = bearer_token(&map);
        }
    }
}
