//! Guard failures and their RFC 6750 §3 answers: the status, a `WWW-Authenticate: Bearer`
//! challenge, and a JSON body repeating `error` and `error_description`.

use rocket::http::{Header, Status};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::serde::Serialize;
use rocket::{Request, Response};

use crate::oauth::verify::Rejection;

/// The realm named in every `WWW-Authenticate` challenge (Bearer and Basic).
pub const REALM: &str = "portcullis";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardError {
    /// No bearer credentials: 401 with a bare challenge (RFC 6750 §3.1: no error code).
    Missing,
    /// A malformed request: 400 `invalid_request`.
    InvalidRequest(&'static str),
    /// Invalid, expired or revoked: 401 `invalid_token`.
    Token(Rejection),
    /// The token lacks a scope: 403 `insufficient_scope` naming it.
    InsufficientScope(&'static str),
    /// The token's role is not the one required: 403 `insufficient_scope`.
    InsufficientRole(&'static str),
    /// A client's own token where a user's is needed: 403 `insufficient_scope`.
    UserRequired,
    /// The service has no token verifier configured: 500.
    Misconfigured,
    /// The token could not be checked right now (the authorization server is unreachable).
    Unavailable,
}

impl GuardError {
    pub fn status(&self) -> Status {
        match self {
            GuardError::Missing | GuardError::Token(_) => Status::Unauthorized,
            GuardError::InvalidRequest(_) => Status::BadRequest,
            GuardError::InsufficientScope(_)
            | GuardError::InsufficientRole(_)
            | GuardError::UserRequired => Status::Forbidden,
            GuardError::Misconfigured => Status::InternalServerError,
            GuardError::Unavailable => Status::ServiceUnavailable,
        }
    }

    fn code(&self) -> Option<&'static str> {
        match self {
            GuardError::Missing | GuardError::Misconfigured | GuardError::Unavailable => None,
            GuardError::InvalidRequest(_) => Some("invalid_request"),
            GuardError::Token(_) => Some("invalid_token"),
            GuardError::InsufficientScope(_)
            | GuardError::InsufficientRole(_)
            | GuardError::UserRequired => Some("insufficient_scope"),
        }
    }

    pub fn description(&self) -> String {
        match self {
            GuardError::Missing => "an access token is required".into(),
            GuardError::InvalidRequest(why) => (*why).into(),
            GuardError::Token(rejection) => rejection.description().into(),
            GuardError::InsufficientScope(scope) => format!("the {scope} scope is required"),
            GuardError::InsufficientRole(role) => format!("the {role} role is required"),
            GuardError::UserRequired => "a user's access token is required".into(),
            GuardError::Misconfigured => "the server cannot verify tokens".into(),
            GuardError::Unavailable => "the token cannot be verified right now".into(),
        }
    }

    /// RFC 6750 §3: `Bearer realm="...", error="...", error_description="...", scope="..."`.
    pub fn challenge(&self) -> String {
        let mut challenge = format!("Bearer realm=\"{REALM}\"");
        if let Some(code) = self.code() {
            challenge.push_str(&format!(
                ", error=\"{code}\", error_description=\"{}\"",
                self.description()
            ));
        }
        if let GuardError::InsufficientScope(scope) = self {
            challenge.push_str(&format!(", scope=\"{scope}\""));
        }
        challenge
    }
}

/// The JSON body repeating the challenge's code and description.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct Body {
    error: &'static str,
    error_description: String,
}

impl<'r> Responder<'r, 'static> for GuardError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let body = Json(Body {
            error: self.code().unwrap_or(match self {
                GuardError::Unavailable => "temporarily_unavailable",
                GuardError::Misconfigured => "server_error",
                _ => "unauthorized",
            }),
            error_description: self.description(),
        });
        let mut response = Response::build_from(body.respond_to(request)?);
        response.status(self.status());
        response.header(Header::new("Cache-Control", "no-store"));
        if !matches!(self, GuardError::Misconfigured | GuardError::Unavailable) {
            response.header(Header::new("WWW-Authenticate", self.challenge()));
        }
        response.ok()
    }
}
