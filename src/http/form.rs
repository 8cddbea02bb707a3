//! The `application/x-www-form-urlencoded` bodies of the OAuth endpoints, parsed strictly:
//! the right content type, a size limit, UTF-8 only, and no parameter twice (RFC 6749 §3.1,
//! §3.2: "Request and response parameters MUST NOT be included more than once").

use std::collections::HashMap;

use percent_encoding::percent_decode_str;
use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::http::Status;
use rocket::Request;

use super::error::HttpError;
use crate::oauth::error::OAuthError;

/// A parsed form body: each parameter once. Its `Debug` names the parameters only: a form
/// carries passwords, client secrets, codes and tokens.
#[derive(Default)]
pub struct OAuthForm(pub HashMap<String, String>);

impl std::fmt::Debug for OAuthForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.0.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("OAuthForm")
            .field("parameters", &names)
            .finish()
    }
}

impl OAuthForm {
    /// Removes and returns a parameter; empty values count as absent (RFC 6749 §3.1).
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.0.remove(name).filter(|v| !v.is_empty())
    }
}

#[rocket::async_trait]
impl<'r> FromData<'r> for OAuthForm {
    type Error = HttpError;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let is_form = request.content_type().is_some_and(|ct| ct.is_form());
        if !is_form {
            return data::Outcome::Error((
                Status::BadRequest,
                HttpError::invalid_request(
                    "content type must be application/x-www-form-urlencoded",
                ),
            ));
        }
        let limit = request.limits().get("form").unwrap_or(16.kibibytes());
        let body = match data.open(limit).into_bytes().await {
            Ok(body) if body.is_complete() => body.into_inner(),
            Ok(_) => {
                return data::Outcome::Error((
                    Status::PayloadTooLarge,
                    HttpError::with_status(Status::PayloadTooLarge, "request body is too large"),
                ))
            }
            Err(_) => {
                return data::Outcome::Error((
                    Status::BadRequest,
                    HttpError::invalid_request("request body could not be read"),
                ))
            }
        };
        match parse(&body) {
            Ok(params) => data::Outcome::Success(OAuthForm(params)),
            Err(error) => data::Outcome::Error((Status::BadRequest, error.into())),
        }
    }
}

/// Parses a form body, refusing invalid encodings and repeated parameters.
pub fn parse(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| OAuthError::invalid_request("request body is not UTF-8"))?;
    let mut params = HashMap::new();
    for pair in text.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(name)?;
        let value = decode(value)?;
        if params.contains_key(&name) {
            return Err(OAuthError::invalid_request(repeated(&name)));
        }
        params.insert(name, value);
    }
    Ok(params)
}

/// One form-urlencoded component: `+` is a space, then percent-decoding, then UTF-8.
pub fn decode(component: &str) -> Result<String, OAuthError> {
    // Tokens, codes and client ids need no decoding: one fast scan and one copy.
    if memchr::memchr2(b'+', b'%', component.as_bytes()).is_none() {
        return Ok(component.to_owned());
    }
    let spaced = component.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| OAuthError::invalid_request("parameter is not valid UTF-8"))
}

/// Names the repeated parameter only when it is a plain name, so input is never echoed.
fn repeated(name: &str) -> String {
    let plain = name.len() <= 32 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if plain {
        format!("parameter {name} is repeated")
    } else {
        "a parameter is repeated".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_decodes() {
        let params = parse(b"grant_type=password&username=a%20b+c&scope=&x").unwrap();
        assert_eq!(params["username"], "a b c");
        assert_eq!(params["scope"], "");
        assert_eq!(params["x"], "");
    }

    #[test]
    fn refuses_repetition_and_bad_encoding() {
        assert_eq!(
            parse(b"a=1&a=2").unwrap_err().description,
            "parameter a is repeated"
        );
        assert!(parse(b"a=%FF").is_err());
        assert!(parse(&[b'a', b'=', 0xFF]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn encoded_forms_parse_back(
            params in proptest::collection::hash_map("[^\\x00]{1,12}", ".{0,24}", 0..8)
        ) {
            let mut body = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in &params {
                body.append_pair(name, value);
            }
            let parsed = parse(body.finish().as_bytes()).unwrap();
            proptest::prop_assert_eq!(parsed, params);
        }

        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = parse(&body);
        }
    }
}
