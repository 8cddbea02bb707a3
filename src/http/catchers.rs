//! Error catchers: every status Rocket produces on its own (no route, unparsable body, a
//! handler failure) answers JSON in the RFC 6749 §5.2 shape and says nothing about internals.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{catch, catchers, Catcher, Request};

use super::error::ErrorBody;

pub fn catchers() -> Vec<Catcher> {
    catchers![default]
}

#[catch(default)]
fn default(status: Status, _request: &Request<'_>) -> (Status, Json<ErrorBody<'static>>) {
    let (error, description) = match status.code {
        400 | 422 => ("invalid_request", "the request is malformed"),
        401 => ("unauthorized", "authentication is required"),
        403 => ("forbidden", "not allowed"),
        404 => ("not_found", "no such resource"),
        405 => ("invalid_request", "method not allowed"),
        413 => ("invalid_request", "the request body is too large"),
        415 => ("invalid_request", "unsupported content type"),
        503 => (
            "temporarily_unavailable",
            "the service is temporarily unavailable",
        ),
        400..=499 => ("invalid_request", "the request was refused"),
        _ => ("server_error", "the server could not complete the request"),
    };
    let body = ErrorBody {
        error,
        error_description: description.into(),
    };
    (status, Json(body))
}
