//! `GET /`: what this server is, for a person who opens its address (sign-in, and for
//! developers the metadata, keys and API description), and the same pointers as JSON for a
//! client that asks for JSON.

use rocket::http::{Accept, Status};
use rocket::serde::json::Json;
use rocket::{get, routes, Either, Route, State};
use rocket_dyn_templates::{context, Template};
use serde::Serialize;

use super::Page;
use crate::http::AppState;

pub fn routes() -> Vec<Route> {
    routes![landing]
}

/// Where a client finds everything else.
#[derive(Serialize)]
struct Landing {
    issuer: String,
    authorization_server_metadata: String,
    jwks_uri: String,
    openapi: String,
    sign_in: String,
}

/// JSON only for a client whose most preferred type is JSON: a browser, or `curl` with its
/// `Accept: */*`, gets the page.
#[get("/")]
fn landing(
    accept: Option<&Accept>,
    app: &State<AppState>,
) -> Either<Json<Landing>, Page<(Status, Template)>> {
    let config = &app.config;
    let wants_json = accept.is_some_and(|accept| accept.preferred().media_type().is_json());
    let issuer = &config.issuer;
    if wants_json {
        return Either::Left(Json(Landing {
            issuer: issuer.clone(),
            authorization_server_metadata: format!(
                "{issuer}/.well-known/oauth-authorization-server"
            ),
            jwks_uri: format!("{issuer}/.well-known/jwks.json"),
            openapi: format!("{issuer}/openapi.json"),
            sign_in: format!("{issuer}/login"),
        }));
    }
    Either::Right(Page((
        Status::Ok,
        Template::render(
            "landing",
            context! {
                issuer,
                registration_open: crate::services::registration::is_open(config),
            },
        ),
    )))
}
