//! `POST /register`: self-registration of `user`-role accounts, when the configuration allows
//! it. The role is never taken from the request.

use rocket::http::Status;
use rocket::serde::json::{json, Json, Value};
use rocket::serde::Deserialize;
use rocket::{post, routes, Route, State};

use crate::config::Config;
use crate::error::Error;
use crate::http::responses::RetryAfter;
use crate::oauth::context::RequestMeta;
use crate::oauth::rate_limit::{over_limit, Bucket};
use crate::password::PasswordHasher;
use crate::services::users::create_user;
use crate::services::Actor;
use crate::store::Store;

/// The role self-registered accounts get.
pub const SELF_REGISTERED_ROLE: &str = "user";

pub fn routes() -> Vec<Route> {
    routes![register, register_unsupported]
}

#[derive(Deserialize)]
#[serde(crate = "rocket::serde", deny_unknown_fields)]
struct Registration {
    username: String,
    password: String,
}

type Answer = (Status, Json<Value>);

fn error(status: Status, code: &str, description: &str) -> Answer {
    (
        status,
        Json(json!({ "error": code, "error_description": description })),
    )
}

#[post("/register", format = "json", data = "<body>")]
async fn register(
    meta: RequestMeta,
    body: Result<Json<Registration>, rocket::serde::json::Error<'_>>,
    config: &State<Config>,
    store: &State<Store>,
    hasher: &State<PasswordHasher>,
) -> RetryAfter<Answer> {
    match over_limit(store, config, Bucket::Register, &meta).await {
        Ok(None) => {}
        Ok(Some(wait)) => {
            let answer = error(
                Status::TooManyRequests,
                "temporarily_unavailable",
                "too many requests",
            );
            return RetryAfter(answer, Some(wait));
        }
        Err(other) => {
            crate::limited!(error, error = %other, "registration rate limit check failed");
            let answer = error(
                Status::ServiceUnavailable,
                "temporarily_unavailable",
                "try again later",
            );
            return RetryAfter(answer, Some(5));
        }
    }
    RetryAfter(create(body, config, store, hasher).await, None)
}

async fn create(
    body: Result<Json<Registration>, rocket::serde::json::Error<'_>>,
    config: &Config,
    store: &Store,
    hasher: &PasswordHasher,
) -> Answer {
    if !config.self_registration {
        return error(
            Status::Forbidden,
            "access_denied",
            "self-registration is disabled",
        );
    }
    let Ok(Json(body)) = body else {
        return error(
            Status::BadRequest,
            "invalid_request",
            "body must be JSON with exactly username and password",
        );
    };
    if !config.roles.contains_key(SELF_REGISTERED_ROLE) {
        return error(
            Status::Forbidden,
            "access_denied",
            "no role for self-registered users",
        );
    }
    match create_user(
        store,
        hasher,
        config,
        &Actor::SelfService,
        &body.username,
        &body.password,
        SELF_REGISTERED_ROLE,
    )
    .await
    {
        Ok(user) => (
            Status::Created,
            Json(json!({ "id": user.id.to_hex(), "username": user.username, "role": user.role })),
        ),
        Err(Error::Conflict(_)) => error(Status::Conflict, "conflict", "username is taken"),
        Err(Error::Invalid { field, reason }) => error(
            Status::BadRequest,
            "invalid_request",
            &format!("{field} {reason}"),
        ),
        Err(other) => {
            crate::limited!(error, error = %other, "registration failed");
            let status = match other {
                Error::Database(_) => Status::ServiceUnavailable,
                _ => Status::InternalServerError,
            };
            error(
                status,
                "temporarily_unavailable",
                "registration failed; try again",
            )
        }
    }
}

/// Neither JSON nor the registration form: say so rather than 404.
#[post("/register", rank = 3)]
fn register_unsupported() -> Answer {
    error(
        Status::UnsupportedMediaType,
        "invalid_request",
        "the body must be JSON (or the registration form)",
    )
}
