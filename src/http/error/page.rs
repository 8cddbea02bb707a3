//! The error page: what a browser is shown when a page cannot be served, with the page
//! headers every page carries.

use std::borrow::Cow;

use rocket::http::{Header, Status};
use rocket::response::{self, Responder};
use rocket::Request;
use rocket_dyn_templates::{context, Template};

use super::app_answer;
use super::unbound::unbound_page;
use crate::error::Error;
use crate::http::responses::Page;
use crate::oauth::authorize::UnboundRequest;

/// Why a page could not be served; each is shown as the error page.
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

impl From<Error> for PageError {
    fn from(error: Error) -> Self {
        let (status, _, _) = app_answer(&error);
        if status == Status::ServiceUnavailable {
            PageError::Unavailable
        } else {
            PageError::Internal
        }
    }
}

impl PageError {
    /// The status the page is served with.
    pub fn status(&self) -> Status {
        self.parts().0
    }

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

impl<'r> Responder<'r, 'static> for PageError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let (status, title, message) = self.parts();
        let mut response = Page((
            status,
            Template::render("error", context! { title, message }),
        ))
        .respond_to(request)?;
        if let PageError::TooManyRequests(wait) = self {
            response.set_header(Header::new("Retry-After", wait.to_string()));
        }
        Ok(response)
    }
}
