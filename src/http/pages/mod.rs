//! The browser pages: the landing page, sign-in, sign-out, registration, the consent page's
//! shell, and the stylesheet. Pages are tera templates from `templates/`, served with a strict
//! Content-Security-Policy (no script at all), never cached, never framed.

mod assets;
mod landing;
mod login;
pub mod origin;
mod register;
pub mod session;
mod unbound;

use std::borrow::Cow;

use rocket::http::{Header, Status};
use rocket::response::{self, Responder};
use rocket::{Request, Response, Route};
use rocket_dyn_templates::{context, Template};

use crate::oauth::authorize::UnboundRequest;
use unbound::unbound_page;

pub fn routes() -> Vec<Route> {
    [
        landing::routes(),
        login::routes(),
        register::routes(),
        assets::routes(),
    ]
    .concat()
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

/// Why a page could not be served; each renders the error page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    /// Unknown client or unregistered redirect URI: never redirected (RFC 6749 §4.1.2.1).
    BadClient,
    /// The same, with the reason known.
    Unbound(UnboundRequest),
    /// A malformed request.
    BadRequest(&'static str),
    /// A form without the right CSRF token.
    Forbidden,
    /// A form posted by a page of another site.
    CrossSite,
    /// The database is unreachable.
    Unavailable,
    /// Too many attempts from this address; retry after this many seconds.
    TooManyRequests(u64),
    /// Anything else.
    Internal,
}

impl PageError {
    fn parts(&self) -> (Status, &'static str, Cow<'static, str>) {
        match self {
            PageError::BadClient => (
                Status::BadRequest,
                "Unknown application",
                "The application that sent you here is not registered for this address, so it cannot be trusted with a sign-in. Close this page and contact the application's provider.".into(),
            ),
            PageError::Unbound(unbound) => {
                let (title, message) = unbound_page(unbound);
                (Status::BadRequest, title, message)
            }
            PageError::BadRequest(why) => (Status::BadRequest, "Invalid request", (*why).into()),
            PageError::Forbidden => (
                Status::Forbidden,
                "Form expired",
                "This form is no longer valid. Go back, reload the page and try again.".into(),
            ),
            PageError::CrossSite => (
                Status::Forbidden,
                "Request from another site",
                "This form was sent from another website, so it was not accepted. Open this site directly and try again.".into(),
            ),
            PageError::Unavailable => (
                Status::ServiceUnavailable,
                "Temporarily unavailable",
                "Sign-in is temporarily unavailable. Please try again in a moment.".into(),
            ),
            PageError::TooManyRequests(_) => (
                Status::TooManyRequests,
                "Too many attempts",
                "There were too many attempts from your network. Please wait a minute and try again.".into(),
            ),
            PageError::Internal => (
                Status::InternalServerError,
                "Something went wrong",
                "The server could not complete the request. Please try again.".into(),
            ),
        }
    }
}

impl From<crate::error::Error> for PageError {
    fn from(error: crate::error::Error) -> Self {
        crate::limited!(error, %error, "page request failed");
        match error {
            crate::error::Error::Database(_) => PageError::Unavailable,
            _ => PageError::Internal,
        }
    }
}

impl<'r> Responder<'r, 'static> for PageError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let (status, title, message) = self.parts();
        Page((
            status,
            Template::render("error", context! { title, message }),
        ))
        .respond_to(request)
    }
}
