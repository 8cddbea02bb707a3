//! The admin REST API under `/admin/v1`: what the command line does, over HTTP, for a token of
//! role `admin` carrying scope `admin`. Every handler calls the same `services` functions as
//! the CLI, so the rules (and the audit events, which name the administrator) are written once.
//!
//! Errors are JSON `{"error", "error_description"}`: 400 `invalid_request`, 404 `not_found`,
//! 409 `conflict`, 503 `temporarily_unavailable`; a refused token answers as RFC 6750 §3 says.

mod audit;
mod clients;
mod keys;
mod users;

use rocket::http::{ContentType, Status};
use rocket::outcome::{try_outcome, Outcome};
use rocket::request::{self, FromRequest};
use rocket::serde::json::{json, Json, Value};
use rocket::{Request, Route};

use crate::error::Error;
use crate::guard::{AccessClaims, GuardError};
use crate::services::Actor;
use crate::store::UserDoc;

pub fn routes() -> Vec<Route> {
    [
        users::routes(),
        clients::routes(),
        keys::routes(),
        audit::routes(),
    ]
    .concat()
}

/// The role and the scope an admin call needs, both.
const ADMIN: &str = "admin";

/// The administrator making the call.
pub struct AdminCaller {
    pub actor: Actor,
}

impl AdminCaller {
    /// Whether `user` is the administrator's own account.
    pub fn is(&self, user: &UserDoc) -> bool {
        matches!(&self.actor, Actor::Admin { user_id, .. } if *user_id == user.id.to_hex())
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminCaller {
    type Error = GuardError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, GuardError> {
        let claims = try_outcome!(request.guard::<&AccessClaims>().await);
        let refuse = |error: GuardError| Outcome::Error((error.status(), error));
        let Some(username) = claims.username.as_deref() else {
            return refuse(GuardError::UserRequired);
        };
        if claims.role.as_deref() != Some(ADMIN) {
            return refuse(GuardError::InsufficientRole(ADMIN));
        }
        if !claims.scope.split(' ').any(|scope| scope == ADMIN) {
            return refuse(GuardError::InsufficientScope(ADMIN));
        }
        Outcome::Success(AdminCaller {
            actor: Actor::Admin {
                user_id: claims.sub.clone(),
                username: username.to_owned(),
            },
        })
    }
}

/// Why an admin call failed.
#[derive(rocket::Responder)]
pub enum AdminError {
    Guard(GuardError),
    Api((Status, Json<Value>)),
}

impl AdminError {
    fn new(status: Status, code: &str, description: &str) -> Self {
        AdminError::Api((
            status,
            Json(json!({ "error": code, "error_description": description })),
        ))
    }

    pub fn bad_request(description: &str) -> Self {
        AdminError::new(Status::BadRequest, "invalid_request", description)
    }

    pub fn not_found(what: &str) -> Self {
        AdminError::new(Status::NotFound, "not_found", &format!("no such {what}"))
    }

    pub fn conflict(description: &str) -> Self {
        AdminError::new(Status::Conflict, "conflict", description)
    }
}

impl From<GuardError> for AdminError {
    fn from(error: GuardError) -> Self {
        AdminError::Guard(error)
    }
}

impl From<Error> for AdminError {
    fn from(error: Error) -> Self {
        match error {
            Error::Invalid { field, reason } => Self::bad_request(&format!("{field} {reason}")),
            Error::NotFound(what) => {
                AdminError::new(Status::NotFound, "not_found", &format!("{what} not found"))
            }
            Error::Conflict(what) => Self::conflict(&format!("{what} already exists")),
            Error::Refused(reason) => Self::conflict(&reason),
            other => {
                crate::limited!(error, error = %other, "admin request failed");
                let status = match other {
                    Error::Database(_) => Status::ServiceUnavailable,
                    _ => Status::InternalServerError,
                };
                AdminError::new(status, "temporarily_unavailable", "try again later")
            }
        }
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

/// A JSON body: 415 unless the request says it is JSON, 400 with the reason when it is not
/// the JSON the operation takes.
pub fn body<T>(
    content_type: Option<&ContentType>,
    body: Result<Json<T>, rocket::serde::json::Error<'_>>,
) -> AdminResult<T> {
    if !content_type.is_some_and(|ct| ct.is_json()) {
        return Err(AdminError::new(
            Status::UnsupportedMediaType,
            "invalid_request",
            "the body must be application/json",
        ));
    }
    match body {
        Ok(Json(value)) => Ok(value),
        Err(rocket::serde::json::Error::Parse(_, error)) => {
            let mut reason = format!("the body is not valid: {error}");
            reason.truncate(300);
            Err(AdminError::bad_request(&reason))
        }
        Err(rocket::serde::json::Error::Io(_)) => {
            Err(AdminError::bad_request("the body could not be read"))
        }
    }
}

/// The page size of a listing: 1 to 100, 20 when not given.
pub fn page_size(limit: Option<&str>) -> AdminResult<i64> {
    match limit.map(str::parse::<i64>) {
        None => Ok(20),
        Some(Ok(limit)) if (1..=100).contains(&limit) => Ok(limit),
        Some(_) => Err(AdminError::bad_request(
            "limit must be a number between 1 and 100",
        )),
    }
}

/// RFC 3339, as every time in the admin API is written.
pub use crate::services::views::rfc3339;
