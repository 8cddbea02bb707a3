//! Request guards shared by the OAuth endpoints: the managed state as an `OAuthContext`, the
//! request facts the audit trail records, and a `ClientCall` bundling both with the HTTP Basic
//! client credentials.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rocket::http::Status;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::Request;

use super::form::{decode, OAuthForm};
use super::state::AppState;
use crate::oauth::client_auth::{self, PresentedClient};
use crate::oauth::context::{OAuthContext, RequestMeta};
use crate::oauth::error::OAuthError;
use crate::secrets::SecretString;
use crate::store::ClientDoc;
use portcullis_kit::MAX_AUTHORIZATION_LEN;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for OAuthContext<'r> {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match AppState::of(request) {
            Some(app) => Outcome::Success(app.oauth()),
            None => Outcome::Error((Status::InternalServerError, ())),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RequestMeta {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        Outcome::Success(meta_of(request))
    }
}

fn meta_of(request: &Request<'_>) -> RequestMeta {
    RequestMeta {
        remote_addr: request.client_ip().map(|ip| ip.to_string()),
    }
}

/// What a form-posting OAuth endpoint (token, revocation, introspection) starts from: the
/// server's state, the request's facts, and the client credentials of an `Authorization:
/// Basic` header, if the request carries one (a malformed header is kept as its error, so the
/// endpoint answers it in its own shape).
pub struct ClientCall<'r> {
    pub ctx: OAuthContext<'r>,
    pub meta: RequestMeta,
    basic: Result<Option<(String, SecretString)>, OAuthError>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientCall<'r> {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let Some(app) = AppState::of(request) else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        Outcome::Success(ClientCall {
            ctx: app.oauth(),
            meta: meta_of(request),
            basic: basic_credentials(request),
        })
    }
}

impl ClientCall<'_> {
    /// Authenticates the client from the Basic header or the form, taking its credentials
    /// out of the form.
    pub async fn authenticate(
        &mut self,
        form: &mut OAuthForm,
    ) -> Result<Arc<ClientDoc>, OAuthError> {
        let presented = PresentedClient {
            basic: std::mem::replace(&mut self.basic, Ok(None))?,
            body_id: form.take("client_id"),
            body_secret: form.take("client_secret").map(SecretString::new),
        };
        client_auth::authenticate(&self.ctx, presented, &self.meta).await
    }
}

/// One `Authorization: Basic` header at most.
fn basic_credentials(request: &Request<'_>) -> Result<Option<(String, SecretString)>, OAuthError> {
    let mut headers = request.headers().get("Authorization");
    match (headers.next(), headers.next()) {
        (None, _) => Ok(None),
        (Some(header), None) => parse_basic(header).map(Some),
        (Some(_), Some(_)) => Err(OAuthError::invalid_request("repeated Authorization header")),
    }
}

/// RFC 6749 §2.3.1 and RFC 7617: `Basic base64(urlencode(id) ":" urlencode(secret))`, the
/// scheme name case-insensitive.
pub fn parse_basic(header: &str) -> Result<(String, SecretString), OAuthError> {
    let malformed = || OAuthError::invalid_request("malformed Basic authorization header");
    if header.len() > MAX_AUTHORIZATION_LEN {
        return Err(OAuthError::invalid_request(
            "Authorization header is too large",
        ));
    }
    let (scheme, encoded) = header.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_request(
            "client authentication must use the Basic scheme",
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let id = decode(id).map_err(|_| malformed())?;
    let secret = decode(secret).map_err(|_| malformed())?;
    if id.is_empty() {
        return Err(malformed());
    }
    Ok((id, SecretString::new(secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        // id "a b", secret "p:w+%"; RFC 6749 §2.3.1 encodes both before base64.
        let header = format!("basic {}", STANDARD.encode("a+b:p%3Aw%2B%25"));
        let (id, secret) = parse_basic(&header).unwrap();
        assert_eq!(id, "a b");
        assert_eq!(secret.expose(), "p:w+%");
    }

    proptest::proptest! {
        #[test]
        fn encoded_credentials_parse_back(id in ".{1,40}", secret in ".{0,60}") {
            let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let header = format!("Basic {}", STANDARD.encode(format!("{}:{}", encode(&id), encode(&secret))));
            let (parsed_id, parsed_secret) = parse_basic(&header).unwrap();
            proptest::prop_assert_eq!(parsed_id, id);
            proptest::prop_assert_eq!(parsed_secret.expose(), secret.as_str());
        }

        #[test]
        fn arbitrary_headers_never_panic(header in ".{0,200}") {
            let _ = parse_basic(&header);
        }
    }

    #[test]
    fn malformed_basic_is_refused() {
        for header in [
            "Basic",
            "Basic !!!",
            "Bearer abc",
            &format!("Basic {}", STANDARD.encode("nocolon")),
        ] {
            assert!(parse_basic(header).is_err(), "{header}");
        }
    }
}
