//! The resource owner password credentials grant (RFC 6749 §4.3), for first-party clients
//! registered for it. Which of unknown user, wrong password or disabled account it was is
//! never revealed (see `oauth::login`).

use super::{first_refresh, user_scope, with_id_token, GrantCall, SignedInFor};
use crate::oauth::error::OAuthError;
use crate::oauth::grant_type::GrantType;
use crate::oauth::login::{check_password, unchanged_since_check, Attempt, PasswordCheck};
use crate::oauth::scope::Asked;
use crate::oauth::tokens::{issue, IssuedTokens};
use crate::password::MAX_PASSWORD_BYTES;
use crate::signin::SignIn;
use crate::store::ClientKind;

pub async fn grant(call: GrantCall<'_, '_>) -> Result<IssuedTokens, OAuthError> {
    let (ctx, meta, client, request) = (call.ctx, call.meta, call.client, call.request);
    let username = request.require("username", 256)?;
    let password = request.require("password", MAX_PASSWORD_BYTES)?;
    let requested = request.scope()?;
    let attempt = Attempt {
        client_id: Some(&client.client_id),
        channel: GrantType::Password.as_str(),
        meta,
    };
    // RFC 9700 §2.4: the password grant is for trusted first-party confidential clients
    // only; a public client's id is no secret, so it would let anyone guess passwords. (A
    // registration that predates the rule is refused here.)
    if client.kind == ClientKind::Public {
        return Err(OAuthError::unauthorized_client(
            "a public client may not use the password grant",
        ));
    }
    let signed_in = match check_password(ctx, username, password, attempt).await? {
        PasswordCheck::Valid(user) => match SignIn::after_password(*user) {
            SignIn::SignedIn(authenticated) => authenticated,
            SignIn::FactorsPending { next, .. } => match next {},
        },
        PasswordCheck::Invalid => {
            return Err(OAuthError::invalid_grant("invalid username or password"))
        }
        PasswordCheck::Throttled { retry_after_secs } => {
            return Err(OAuthError::too_many_requests(retry_after_secs))
        }
    };
    let user = signed_in.user();
    let scope = user_scope(ctx, Asked::Requested(requested.as_ref()), client, user)?;
    let sign_in = signed_in.record(None);
    let issued = issue(
        ctx,
        meta,
        GrantType::Password,
        client,
        Some(user),
        &scope,
        first_refresh(client, Some(&sign_in)),
    )
    .await?;
    if !unchanged_since_check(ctx.store, user).await? {
        // The account changed while its password was checked: nothing issued is handed out,
        // and the new family goes (its access token never left this function).
        if let Some(family) = &issued.family_id {
            ctx.revocations.family(family).await?;
        }
        return Err(OAuthError::invalid_grant("invalid username or password"));
    }
    let by = SignedInFor {
        user,
        sign_in: Some(&sign_in),
        nonce: None,
    };
    with_id_token(ctx, client, issued, by)
}
