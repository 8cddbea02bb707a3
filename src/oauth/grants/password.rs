//! The resource owner password credentials grant (RFC 6749 §4.3), for first-party clients
//! registered for it. An unknown user, a wrong password and a disabled account give the same
//! answer after the same work (a verification against a dummy hash), so the endpoint does not
//! reveal which usernames exist.

use super::{decide_scope, offers_refresh, TokenRequest};
use crate::oauth::context::{OAuthContext, RequestMeta};
use crate::oauth::error::OAuthError;
use crate::oauth::grant_type::PASSWORD;
use crate::oauth::tokens::{issue, IssuedTokens, RefreshPlan};
use crate::password::MAX_PASSWORD_BYTES;
use crate::services::users::find_user;
use crate::store::{AuditEvent, AuditKind, ClientDoc};

const BAD_CREDENTIALS: &str = "invalid username or password";

pub async fn grant(
    ctx: &OAuthContext<'_>,
    meta: &RequestMeta,
    client: &ClientDoc,
    request: &TokenRequest,
) -> Result<IssuedTokens, OAuthError> {
    let username = request.require("username", 256)?;
    let password = request.require("password", MAX_PASSWORD_BYTES)?;
    let requested = request.scope()?;

    let user = find_user(ctx.store, username).await?;
    let matches = ctx
        .hasher
        .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await?;
    let failure = match &user {
        None => Some("unknown_user"),
        Some(_) if !matches => Some("bad_password"),
        Some(u) if u.disabled => Some("disabled"),
        Some(_) => None,
    };
    let user = match (failure, user) {
        (None, Some(user)) => user,
        (reason, user) => {
            let mut event = AuditEvent::new(AuditKind::LoginFailed);
            event.username = Some(username.chars().take(64).collect());
            event.user_id = user.map(|u| u.id.to_hex());
            event.client_id = Some(client.client_id.clone());
            event.grant_type = Some(PASSWORD.into());
            event.reason = reason.map(str::to_owned);
            event.remote_addr = meta.remote_addr.clone();
            ctx.store.audit(event).await?;
            return Err(OAuthError::invalid_grant(BAD_CREDENTIALS));
        }
    };

    let role_scopes = ctx.config.role_scopes(&user.role).unwrap_or_default();
    let scope = decide_scope(requested, client, Some(&role_scopes))?;
    let plan = if offers_refresh(client) {
        RefreshPlan::NewFamily
    } else {
        RefreshPlan::None
    };
    issue(ctx, meta, PASSWORD, client, Some(&user), &scope, plan).await
}
