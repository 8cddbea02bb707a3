//! `POST /register`: self-registration of `user`-role accounts, when the configuration allows
//! it. The role is never taken from the request.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::serde::{Deserialize, Serialize};
use rocket::{post, routes, Route, State};

use super::error::HttpError;
use super::state::AppState;
use crate::error::Error;
use crate::oauth::context::RequestMeta;
use crate::oauth::error::OAuthError;
use crate::oauth::rate_limit::{within_limit, Bucket};
use crate::services::profile::ProfileChange;
use crate::services::registration;

pub fn routes() -> Vec<Route> {
    routes![register, register_unsupported]
}

#[derive(Deserialize)]
#[serde(crate = "rocket::serde", deny_unknown_fields)]
struct Registration {
    username: String,
    password: String,
    #[serde(default)]
    profile: ProfileChange,
}

/// The account just opened.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct Registered {
    id: String,
    username: String,
    role: String,
}

#[post("/register", format = "json", data = "<body>")]
async fn register(
    meta: RequestMeta,
    body: Result<Json<Registration>, rocket::serde::json::Error<'_>>,
    app: &State<AppState>,
) -> Result<(Status, Json<Registered>), HttpError> {
    let (store, config) = (&app.store, &app.config);
    within_limit(store, config, Bucket::Register, &meta).await?;
    if let Some(why) = registration::closed_because(config) {
        return Err(OAuthError::access_denied(why).into());
    }
    let Ok(Json(body)) = body else {
        return Err(HttpError::invalid_request(
            "body must be JSON with username, password and optionally profile",
        ));
    };
    let Registration {
        username,
        password,
        profile,
    } = &body;
    match registration::register(store, &app.hasher, config, username, password, profile).await {
        Ok(user) => Ok((
            Status::Created,
            Json(Registered {
                id: user.id.to_hex(),
                username: user.username,
                role: user.role,
            }),
        )),
        Err(Error::Refused(why)) => Err(OAuthError::access_denied(why).into()),
        Err(other) => Err(other.into()),
    }
}

/// Neither JSON nor the registration form: say so rather than 404.
#[post("/register", rank = 3)]
fn register_unsupported() -> HttpError {
    HttpError::with_status(
        Status::UnsupportedMediaType,
        "the body must be JSON (or the registration form)",
    )
}
