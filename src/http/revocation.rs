//! `POST /oauth/revoke` (RFC 7009), `POST /oauth/introspect` (RFC 7662) and
//! `POST /oauth/logout`: client-authenticated like the token endpoint, never cached.

use std::sync::Arc;

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{post, routes, Route};

use super::error::HttpError;
use super::form::OAuthForm;
use super::guards::ClientCall;
use super::responses::NoStore;
use crate::oauth::context::OAuthContext;
use crate::oauth::error::OAuthError;
use crate::oauth::introspect::{introspect as run_introspection, Introspection};
use crate::oauth::rate_limit::{within_limit, Bucket};
use crate::oauth::revoke;
use crate::store::{ClientDoc, ClientKind};
use portcullis_kit::{AccessClaims, GuardError};

/// Longest token accepted for revocation or introspection.
const MAX_TOKEN_LEN: usize = 8 * 1024;

pub fn routes() -> Vec<Route> {
    routes![revoke_token, introspect, logout]
}

/// The client authentication and `token` parameter both endpoints start with.
async fn authenticated_token(
    call: &mut ClientCall<'_>,
    form: Result<OAuthForm, HttpError>,
) -> Result<(Arc<ClientDoc>, String, Option<String>), HttpError> {
    let mut form = form?;
    let client = call.authenticate(&mut form).await?;
    let token = form
        .take("token")
        .ok_or_else(|| HttpError::invalid_request("missing token"))?;
    if token.len() > MAX_TOKEN_LEN {
        return Err(HttpError::invalid_request("token is too long"));
    }
    Ok((client, token, form.take("token_type_hint")))
}

/// RFC 7009 §2.2: 200 whether or not the token was valid, so nothing is learnt from it.
#[post("/oauth/revoke", data = "<form>")]
async fn revoke_token(
    mut call: ClientCall<'_>,
    form: Result<OAuthForm, HttpError>,
) -> Result<NoStore<Status>, HttpError> {
    within_limit(call.ctx.store, call.ctx.config, Bucket::Revoke, &call.meta).await?;
    let (client, token, hint) = authenticated_token(&mut call, form).await?;
    revoke::revoke(&call.ctx, &client, &token, hint.as_deref()).await?;
    Ok(NoStore(Status::Ok))
}

/// RFC 7662 §2: only clients registered as resource servers may ask.
#[post("/oauth/introspect", data = "<form>")]
async fn introspect(
    mut call: ClientCall<'_>,
    form: Result<OAuthForm, HttpError>,
) -> Result<NoStore<Json<Introspection>>, HttpError> {
    let (client, token, hint) = authenticated_token(&mut call, form).await?;
    // A public client authenticated with nothing but its id (§2.1 requires authentication),
    // so a record that predates the registration rule still gets no answer.
    if !client.can_introspect || client.kind == ClientKind::Public {
        return Err(HttpError::WithStatus(
            Status::Forbidden,
            OAuthError::unauthorized_client("the client may not introspect tokens"),
        ));
    }
    let answer = run_introspection(&call.ctx, &token, hint.as_deref()).await?;
    Ok(NoStore(Json(answer)))
}

/// Ends the session behind a bearer token: the token and its refresh-token family.
#[post("/oauth/logout")]
async fn logout(
    ctx: OAuthContext<'_>,
    claims: Result<AccessClaims, GuardError>,
) -> Result<NoStore<Status>, HttpError> {
    revoke::logout(&ctx, &claims?).await?;
    Ok(NoStore(Status::NoContent))
}
