//! Response shapes shared by the OAuth endpoints: RFC 6749 §5.1 says token responses are not
//! cached, and §5.2 errors are JSON with an `error` code.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Status};
use rocket::response::{self, Responder};
use rocket::serde::json::{json, Json};
use rocket::{Request, Response};

use crate::guard::REALM;
use crate::oauth::error::{ErrorCode, OAuthError};

/// Marks every answer `Cache-Control: no-store` unless its route chose a caching policy (the
/// key set, the metadata and the stylesheet do). The rest carries tokens, a client secret
/// shown once, one user's data or a decision that may change at any moment, none of which a
/// browser or proxy should keep (RFC 9111 §5.2.2.5).
pub struct NoStoreByDefault;

#[rocket::async_trait]
impl Fairing for NoStoreByDefault {
    fn info(&self) -> Info {
        Info {
            name: "no-store unless a route chose a caching policy",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, _: &'r Request<'_>, response: &mut Response<'r>) {
        if !response.headers().contains("Cache-Control") {
            response.set_header(Header::new("Cache-Control", "no-store"));
        }
    }
}

/// Wraps a response with `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
pub struct NoStore<R>(pub R);

impl<'r, R: Responder<'r, 'static>> Responder<'r, 'static> for NoStore<R> {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        Response::build_from(self.0.respond_to(request)?)
            .header(Header::new("Cache-Control", "no-store"))
            .header(Header::new("Pragma", "no-cache"))
            .ok()
    }
}

impl<'r> Responder<'r, 'static> for OAuthError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let body = Json(json!({
            "error": self.code.as_str(),
            "error_description": self.description,
        }));
        let mut response = Response::build_from(NoStore(body).respond_to(request)?);
        response.status(Status::new(self.status()));
        // RFC 6749 §5.2 with RFC 7235 §3.1: a 401 names the scheme to authenticate with.
        if self.code == ErrorCode::InvalidClient {
            response.header(Header::new(
                "WWW-Authenticate",
                format!("Basic realm=\"{REALM}\""),
            ));
        }
        if self.code == ErrorCode::TemporarilyUnavailable {
            let wait = self.retry_after_secs.unwrap_or(5);
            response.header(Header::new("Retry-After", wait.to_string()));
        }
        response.ok()
    }
}

/// Adds `Retry-After` (RFC 9110 §10.2.3) when a wait is known.
pub struct RetryAfter<R>(pub R, pub Option<u64>);

impl<'r, R: Responder<'r, 'static>> Responder<'r, 'static> for RetryAfter<R> {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let mut response = self.0.respond_to(request)?;
        if let Some(wait) = self.1 {
            response.set_raw_header("Retry-After", wait.to_string());
        }
        Ok(response)
    }
}
