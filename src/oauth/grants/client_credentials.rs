//! The client credentials grant (RFC 6749 §4.4): a confidential client gets a token for
//! itself; no user, no refresh token (§4.4.3).

use super::GrantCall;
use crate::oauth::error::OAuthError;
use crate::oauth::grant_type::GrantType;
use crate::oauth::scope::{grantable, Asked};
use crate::oauth::tokens::{issue, IssuedTokens, RefreshPlan};
use crate::store::ClientKind;

pub async fn grant(call: GrantCall<'_, '_>) -> Result<IssuedTokens, OAuthError> {
    let (ctx, meta, client, request) = (call.ctx, call.meta, call.client, call.request);
    if client.kind != ClientKind::Confidential {
        return Err(OAuthError::unauthorized_client(
            "client_credentials needs a confidential client",
        ));
    }
    let requested = request.scope()?;
    let scope = grantable(Asked::Requested(requested.as_ref()), client, None)?;
    issue(
        ctx,
        meta,
        GrantType::ClientCredentials,
        client,
        None,
        &scope,
        RefreshPlan::None,
    )
    .await
}
