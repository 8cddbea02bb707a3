//! What every answer of a kind carries: no caching (RFC 6749 §5.1 says token responses are
//! not cached, and nothing that carries a token, a secret or one user's data should be), and
//! the security headers of every page. Errors are `http::error`'s.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::response::{self, Responder};
use rocket::{Request, Response};

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

/// The headers every page carries.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A page response with the security headers.
pub struct Page<R>(pub R);

impl<'r, R: Responder<'r, 'static>> Responder<'r, 'static> for Page<R> {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        Response::build_from(self.0.respond_to(request)?)
            .header(Header::new(
                "Content-Security-Policy",
                CONTENT_SECURITY_POLICY,
            ))
            .header(Header::new("X-Content-Type-Options", "nosniff"))
            .header(Header::new("Referrer-Policy", "no-referrer"))
            .header(Header::new("X-Frame-Options", "DENY"))
            .header(Header::new("Cache-Control", "no-store"))
            .ok()
    }
}
