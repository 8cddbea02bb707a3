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

use rocket::data::{self, Data, FromData};
use rocket::http::Status;
use rocket::outcome::{try_outcome, Outcome};
use rocket::request::{self, FromRequest};
use rocket::serde::json::{self, Json};
use rocket::serde::DeserializeOwned;
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
/// A JSON body as handlers take it.
pub type Body<T> = Result<JsonBody<T>, HttpError>;

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
/// the JSON the operation takes. Handlers take it as [`Body`] and answer its error as it is.
pub struct JsonBody<T>(pub T);

#[rocket::async_trait]
impl<'r, T: DeserializeOwned> FromData<'r> for JsonBody<T> {
    type Error = HttpError;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        // Handlers take the guard as a `Result`, so the error answers with its own status.
        let refuse = |error: HttpError| data::Outcome::Error((Status::BadRequest, error));
        if !request.content_type().is_some_and(|ct| ct.is_json()) {
            return refuse(HttpError::with_status(
                Status::UnsupportedMediaType,
                "the body must be application/json",
            ));
        }
        match Json::<T>::from_data(request, data).await {
            Outcome::Success(Json(value)) => Outcome::Success(JsonBody(value)),
            Outcome::Forward(forward) => Outcome::Forward(forward),
            Outcome::Error((_, json::Error::Parse(_, error))) => {
                let mut reason = format!("the body is not valid: {error}");
                reason.truncate(300);
                refuse(HttpError::invalid_request(reason))
            }
            Outcome::Error((_, json::Error::Io(_))) => {
                refuse(HttpError::invalid_request("the body could not be read"))
            }
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
