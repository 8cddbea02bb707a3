//! The admin REST API under `/admin/v1`: what the command line does, over HTTP, for a token of
//! role `admin` carrying scope `admin`. Every handler calls the same `services` functions as
//! the CLI, so the rules (and the audit events, which name the administrator) are written once.
//!
//! Errors are JSON `{"error", "error_description"}` (see `http::error`): 400 `invalid_request`,
//! 404 `not_found`, 409 `conflict`, 503 `temporarily_unavailable`; a refused token answers as
//! RFC 6750 §3 says.

mod audit;
mod clients;
mod keys;
mod users;

use rocket::http::{ContentType, Status};
use rocket::outcome::{try_outcome, Outcome};
use rocket::request::{self, FromRequest};
use rocket::serde::json::Json;
use rocket::{Request, Route};

use super::error::HttpError;
use crate::services::Actor;
use portcullis_kit::rocket::reject;
use portcullis_kit::{AccessClaims, GuardError};

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

/// The admin guard as handlers take it, so a refusal answers as RFC 6750 §3 says.
pub type Caller = Result<AdminCaller, GuardError>;
/// A JSON body as handlers take it, checked by [`body`].
pub type Body<'r, T> = Result<Json<T>, rocket::serde::json::Error<'r>>;

/// The administrator making the call.
pub struct AdminCaller {
    pub actor: Actor,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminCaller {
    type Error = GuardError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, GuardError> {
        let claims = try_outcome!(request.guard::<&AccessClaims>().await);
        let Some(username) = claims.username.as_deref() else {
            return reject(GuardError::UserRequired);
        };
        if claims.role.as_deref() != Some(ADMIN) {
            return reject(GuardError::InsufficientRole(ADMIN));
        }
        if !claims.has_scope(ADMIN) {
            return reject(GuardError::InsufficientScope(ADMIN));
        }
        Outcome::Success(AdminCaller {
            actor: Actor::Admin {
                user_id: claims.sub.clone(),
                username: username.to_owned(),
            },
        })
    }
}

pub type AdminResult<T> = Result<T, HttpError>;

/// A JSON body: 415 unless the request says it is JSON, 400 with the reason when it is not
/// the JSON the operation takes.
pub fn body<T>(
    content_type: Option<&ContentType>,
    body: Result<Json<T>, rocket::serde::json::Error<'_>>,
) -> AdminResult<T> {
    if !content_type.is_some_and(|ct| ct.is_json()) {
        return Err(HttpError::with_status(
            Status::UnsupportedMediaType,
            "the body must be application/json",
        ));
    }
    match body {
        Ok(Json(value)) => Ok(value),
        Err(rocket::serde::json::Error::Parse(_, error)) => {
            let mut reason = format!("the body is not valid: {error}");
            reason.truncate(300);
            Err(HttpError::invalid_request(reason))
        }
        Err(rocket::serde::json::Error::Io(_)) => {
            Err(HttpError::invalid_request("the body could not be read"))
        }
    }
}

/// The page size of a listing: 1 to 100, 20 when not given.
pub fn page_size(limit: Option<&str>) -> AdminResult<i64> {
    match limit.map(str::parse::<i64>) {
        None => Ok(20),
        Some(Ok(limit)) if (1..=100).contains(&limit) => Ok(limit),
        Some(_) => Err(HttpError::invalid_request(
            "limit must be a number between 1 and 100",
        )),
    }
}

/// Where the page after `page` starts: the last item's key when the page is full.
pub fn next_after<T>(page: &[T], limit: i64, key: impl Fn(&T) -> String) -> Option<String> {
    let full = page.len() == usize::try_from(limit).unwrap_or(usize::MAX);
    full.then(|| page.last().map(key)).flatten()
}
