//! `GET` and `POST /oauth/userinfo` (OpenID Connect Core §5.3): the claims about the signed-in
//! user that the access token's scope releases, as JSON. The token is a Bearer token in the
//! `Authorization` header (RFC 6750 §2.1) carrying `openid`; every refusal is RFC 6750's
//! (§3.1: 401 `invalid_token`, 403 `insufficient_scope`, each with its `WWW-Authenticate`).

use rocket::serde::json::Json;
use rocket::serde::Serialize;
use rocket::{get, post, routes, Route, State};

use super::error::HttpError;
use super::responses::NoStore;
use super::state::AppState;
use crate::ids::UserId;
use crate::oidc::claims::UserClaims;
use crate::scope::Scope;
use portcullis_kit::{GuardError, Rejection, RequireScope};

pub fn routes() -> Vec<Route> {
    routes![userinfo_get, userinfo_post]
}

portcullis_kit::scope_requirement!(
    /// The `openid` scope: the token came from an OpenID Connect request.
    OpenId = "openid"
);

/// §5.3.2: `sub` always, the rest as the scope allows.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct UserInfo {
    sub: String,
    #[serde(flatten)]
    claims: UserClaims,
}

type Answer = Result<NoStore<Json<UserInfo>>, HttpError>;

#[get("/oauth/userinfo")]
async fn userinfo_get(
    auth: Result<RequireScope<OpenId>, GuardError>,
    app: &State<AppState>,
) -> Answer {
    userinfo(auth, app).await
}

/// §5.3.1: the same answer for `POST`; a body, if any, is not read.
#[post("/oauth/userinfo")]
async fn userinfo_post(
    auth: Result<RequireScope<OpenId>, GuardError>,
    app: &State<AppState>,
) -> Answer {
    userinfo(auth, app).await
}

async fn userinfo(auth: Result<RequireScope<OpenId>, GuardError>, app: &AppState) -> Answer {
    let RequireScope(claims, _) = auth?;
    let Some(id) = UserId::parse(&claims.sub) else {
        // A client's own token names no user.
        return Err(GuardError::UserRequired.into());
    };
    // A deleted account's tokens are revoked with it; one read between the deletion and the
    // revocation finds nothing, and the token is as good as revoked.
    let Some(user) = app.store.find_user_by_id(id).await?.filter(|u| !u.disabled) else {
        return Err(GuardError::Token(Rejection::Revoked).into());
    };
    let scope = Scope::from_tokens(claims.scope.split(' ').map(str::to_owned));
    Ok(NoStore(Json(UserInfo {
        sub: claims.sub.clone(),
        claims: UserClaims::of(&user, &scope),
    })))
}
