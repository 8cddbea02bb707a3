//! The one place an error becomes an HTTP answer. Handlers return [`HttpError`] (JSON for
//! clients and APIs) or [`PageError`] (an HTML page for a browser); this module alone
//! decides the status, the body and the headers: `Cache-Control: no-store` on every error,
//! `WWW-Authenticate` for a failed client authentication (RFC 6749 §5.2) or bearer token
//! (RFC 6750 §3), and `Retry-After` (RFC 9110 §10.2.3) when the client should wait.

use std::borrow::Cow;

use rocket::http::{Header, Status};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{Request, Response};

use crate::error::Error;
use crate::oauth::error::{ErrorCode, OAuthError};
use portcullis_kit::{GuardError, REALM};

mod page;
mod unbound;

pub use page::PageError;

/// Seconds a client is asked to wait when the service itself is unavailable.
const UNAVAILABLE_RETRY_SECS: u64 = 5;

/// The JSON body of every error answer (RFC 6749 §5.2, RFC 6750 §3, and the APIs): the
/// kit's, so the server and the APIs it protects answer alike.
pub use portcullis_kit::ErrorBody;

/// Why a request answered with JSON failed.
#[derive(Debug)]
pub enum HttpError {
    /// A protocol error; its status follows from its code (RFC 6749 §5.2).
    OAuth(OAuthError),
    /// A protocol error with the status an endpoint gives it: 403 for a client that may not
    /// use an endpoint, 405, 413 and 415 for what HTTP itself says about the request.
    WithStatus(Status, OAuthError),
    /// A refused bearer token (RFC 6750 §3).
    Bearer(GuardError),
    /// What the application could not do: a bad value, a missing or existing record, a
    /// refusal, or a failure of its own.
    App(Error),
}

impl HttpError {
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        HttpError::OAuth(OAuthError::invalid_request(description))
    }

    /// 404 `not_found` for a record that is not there.
    pub fn not_found(what: impl Into<String>) -> Self {
        HttpError::App(Error::NotFound(what.into()))
    }

    /// `invalid_request` with a status HTTP defines for the request's form.
    pub fn with_status(status: Status, description: impl Into<Cow<'static, str>>) -> Self {
        HttpError::WithStatus(status, OAuthError::invalid_request(description))
    }
}

impl From<OAuthError> for HttpError {
    fn from(error: OAuthError) -> Self {
        HttpError::OAuth(error)
    }
}

impl From<GuardError> for HttpError {
    fn from(error: GuardError) -> Self {
        HttpError::Bearer(error)
    }
}

impl From<Error> for HttpError {
    fn from(error: Error) -> Self {
        HttpError::App(error)
    }
}

/// RFC 6749 §5.2: 400 for every code but a failed client authentication (401); the two
/// server-side conditions take their HTTP meanings, and a throttled request 429 (RFC 6585 §4).
fn status_of(error: &OAuthError) -> Status {
    if error.throttled_for_secs.is_some() {
        return Status::TooManyRequests;
    }
    match error.code {
        ErrorCode::InvalidClient => Status::Unauthorized,
        ErrorCode::AccessDenied => Status::Forbidden,
        ErrorCode::ServerError => Status::InternalServerError,
        ErrorCode::TemporarilyUnavailable => Status::ServiceUnavailable,
        ErrorCode::InvalidRequest
        | ErrorCode::InvalidGrant
        | ErrorCode::UnauthorizedClient
        | ErrorCode::UnsupportedGrantType
        | ErrorCode::InvalidScope => Status::BadRequest,
    }
}

/// What an application failure tells the client. The cause of a failure of the service's
/// own is logged, never sent.
fn app_answer(error: &Error) -> (Status, &'static str, Cow<'static, str>) {
    match error {
        Error::Invalid { field, reason } => (
            Status::BadRequest,
            "invalid_request",
            format!("{field} {reason}").into(),
        ),
        Error::NotFound(what) => (
            Status::NotFound,
            "not_found",
            format!("{what} not found").into(),
        ),
        Error::Conflict(what) => (
            Status::Conflict,
            "conflict",
            format!("{what} already exists").into(),
        ),
        Error::Refused(reason) => (Status::Conflict, "conflict", reason.clone().into()),
        Error::Database(_) => {
            crate::limited!(error, %error, "a request failed on the database");
            (
                Status::ServiceUnavailable,
                "temporarily_unavailable",
                "the service is temporarily unavailable".into(),
            )
        }
        Error::Config(_) | Error::Keys(_) | Error::Internal(_) => {
            crate::limited!(error, %error, "a request failed");
            (
                Status::InternalServerError,
                "server_error",
                "the server could not complete the request".into(),
            )
        }
    }
}

/// A JSON error answer, never stored by a cache (RFC 6749 §5.1 asks `Pragma` too).
fn json_answer(
    request: &Request<'_>,
    status: Status,
    code: &str,
    description: &str,
) -> response::Result<'static> {
    let body = Json(ErrorBody {
        error: code,
        error_description: Cow::Borrowed(description),
    });
    Response::build_from(body.respond_to(request)?)
        .status(status)
        .header(Header::new("Cache-Control", "no-store"))
        .header(Header::new("Pragma", "no-cache"))
        .ok()
}

fn oauth_answer(
    request: &Request<'_>,
    status: Status,
    error: &OAuthError,
) -> response::Result<'static> {
    let mut response = json_answer(request, status, error.code.as_str(), &error.description)?;
    // RFC 6749 §5.2 with RFC 7235 §3.1: a 401 names the scheme to authenticate with.
    if status == Status::Unauthorized {
        response.set_header(Header::new(
            "WWW-Authenticate",
            format!("Basic realm=\"{REALM}\""),
        ));
    }
    if let Some(wait) = error.throttled_for_secs {
        response.set_header(Header::new("Retry-After", wait.to_string()));
    } else if error.code == ErrorCode::TemporarilyUnavailable {
        response.set_header(Header::new(
            "Retry-After",
            UNAVAILABLE_RETRY_SECS.to_string(),
        ));
    }
    Ok(response)
}

impl<'r> Responder<'r, 'static> for HttpError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        match self {
            HttpError::OAuth(error) => oauth_answer(request, status_of(&error), &error),
            HttpError::WithStatus(status, error) => oauth_answer(request, status, &error),
            HttpError::Bearer(error) => error.respond_to(request),
            HttpError::App(error) => {
                let (status, code, description) = app_answer(&error);
                let mut response = json_answer(request, status, code, &description)?;
                if status == Status::ServiceUnavailable {
                    response.set_header(Header::new(
                        "Retry-After",
                        UNAVAILABLE_RETRY_SECS.to_string(),
                    ));
                }
                Ok(response)
            }
        }
    }
}
