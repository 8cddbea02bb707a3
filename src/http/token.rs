//! `POST /oauth/token` (RFC 6749 §3.2): client authentication, then the grant, answered with
//! the §5.1 token response or a §5.2 error, never cached.

use rocket::http::{Header, Status};
use rocket::serde::json::Json;
use rocket::serde::Serialize;
use rocket::{get, post, routes, Responder, Route};

use super::error::HttpError;
use super::form::OAuthForm;
use super::guards::ClientCall;
use super::responses::NoStore;
use crate::oauth::grants::{self, TokenRequest};
use crate::oauth::rate_limit::{within_limit, Bucket};
use crate::oauth::tokens::IssuedTokens;

pub fn routes() -> Vec<Route> {
    routes![token, token_wrong_method]
}

/// RFC 6749 §5.1.
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    scope: String,
    /// OpenID Connect Core §3.1.3.3, when the scope holds `openid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl From<IssuedTokens> for TokenResponse {
    fn from(issued: IssuedTokens) -> Self {
        TokenResponse {
            access_token: issued.access_token.expose().to_owned(),
            token_type: "Bearer",
            expires_in: issued.expires_in,
            refresh_token: issued.refresh_token.map(|t| t.expose().to_owned()),
            scope: issued.scope.to_string(),
            id_token: issued.id_token.map(|t| t.expose().to_owned()),
        }
    }
}

#[post("/oauth/token", data = "<form>")]
async fn token(
    mut call: ClientCall<'_>,
    form: Result<OAuthForm, HttpError>,
) -> Result<NoStore<Json<TokenResponse>>, HttpError> {
    within_limit(call.ctx.store, call.ctx.config, Bucket::Token, &call.meta).await?;
    let mut form = form?;
    let client = call.authenticate(&mut form).await?;
    let request = TokenRequest::new(form.0);
    let issued = grants::run(&call.ctx, &call.meta, &client, &request).await?;
    Ok(NoStore(Json(issued.into())))
}

#[derive(Responder)]
struct MethodNotAllowed {
    error: HttpError,
    allow: Header<'static>,
}

/// RFC 6749 §3.2: the token endpoint takes POST only.
#[get("/oauth/token")]
fn token_wrong_method() -> MethodNotAllowed {
    MethodNotAllowed {
        error: HttpError::with_status(
            Status::MethodNotAllowed,
            "the token endpoint accepts POST only",
        ),
        allow: Header::new("Allow", "POST"),
    }
}
