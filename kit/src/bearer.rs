//! A request presenting a bearer token, the parsing of its `Authorization` header
//! (RFC 6750 §2.1), and the one trait every verifier implements. Nothing here knows a web
//! framework: the Rocket and axum adapters build a [`BearerRequest`] and ask a [`Verifier`].

use std::sync::Arc;

use crate::claims::AccessClaims;
use crate::error::GuardError;

/// Longest `Authorization` header accepted.
pub const MAX_AUTHORIZATION_LEN: usize = 8 * 1024;

/// The headers of a request, as a verifier may read them (a DPoP proof is one, RFC 9449 §4.1).
pub trait RequestHeaders: Sync {
    /// Every value of header `name` (case-insensitive), in order.
    fn values(&self, name: &str) -> Vec<&str>;
}

/// A request presenting an access token: the token, and the request it came with — its
/// method, target and headers — so a verifier can check what binds a token to its sender
/// (a DPoP proof, RFC 9449 §7) without any guard changing.
pub struct BearerRequest<'a> {
    pub token: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a dyn RequestHeaders,
}

/// Turns a presented access token into verified, unrevoked claims: Portcullis's own
/// verifier in the server, or [`RemoteVerifier`](crate::RemoteVerifier) in another service.
#[async_trait::async_trait]
pub trait BearerVerifier: Send + Sync + 'static {
    async fn verify_bearer(
        &self,
        request: &BearerRequest<'_>,
    ) -> Result<Arc<AccessClaims>, GuardError>;
}

/// The verifier the guards and extractors ask: Rocket managed state, or axum state.
#[derive(Clone)]
pub struct Verifier(pub Arc<dyn BearerVerifier>);

impl Verifier {
    pub fn new(verifier: impl BearerVerifier) -> Self {
        Verifier(Arc::new(verifier))
    }

    /// Reads the bearer token of a request and asks the verifier about it.
    pub async fn verify(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        headers: &dyn RequestHeaders,
    ) -> Result<Arc<AccessClaims>, GuardError> {
        let authorization = headers.values("Authorization");
        let request = BearerRequest {
            token: bearer_token(&authorization)?,
            method,
            path,
            query,
            headers,
        };
        self.0.verify_bearer(&request).await
    }
}

/// Extracts the token of `Authorization: Bearer <token>` (RFC 6750 §2.1) from the values of
/// the `Authorization` header: exactly one, the scheme case-insensitive, the token in
/// `b64token` syntax.
pub fn bearer_token<'a>(authorization: &[&'a str]) -> Result<&'a str, GuardError> {
    let value = match authorization {
        [] => return Err(GuardError::Missing),
        [value] => *value,
        _ => {
            return Err(GuardError::InvalidRequest(
                "more than one Authorization header",
            ))
        }
    };
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

#[cfg(test)]
mod tests {
    use super::{bearer_token, GuardError};

    #[test]
    fn bearer_parsing_follows_rfc_6750() {
        assert_eq!(
            bearer_token(&["Bearer abc.DEF-_~+/=="]),
            Ok("abc.DEF-_~+/==")
        );
        assert_eq!(bearer_token(&["bearer x"]), Ok("x"));
        assert_eq!(bearer_token(&[]), Err(GuardError::Missing));
        assert_eq!(bearer_token(&["Basic abc"]), Err(GuardError::Missing));
        for bad in ["Bearer a b", "Bearer ", "Bearer =abc", "Bearer a,b"] {
            assert!(
                matches!(bearer_token(&[bad]), Err(GuardError::InvalidRequest(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            bearer_token(&["Bearer a", "Bearer b"]),
            Err(GuardError::InvalidRequest(_))
        ));
        let huge = format!("Bearer {}", "a".repeat(super::MAX_AUTHORIZATION_LEN));
        assert!(matches!(
            bearer_token(&[&huge]),
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
            let value = format!("{scheme} {token}");
            proptest::prop_assert_eq!(bearer_token(&[&value]), Ok(token.as_str()));
        }

        #[test]
        fn arbitrary_headers_never_panic(value in ".{0,300}") {
            let _ = bearer_token(&[&value]);
        }
    }
}
