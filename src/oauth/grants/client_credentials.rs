//! The client credentials grant (RFC 6749 §4.4): a confidential client gets a token for
//! itself; no user, no refresh token (§4.4.3).

use super::TokenRequest;
use crate::oauth::context::{OAuthContext, RequestMeta};
use crate::oauth::error::OAuthError;
use crate::oauth::grant_type::GrantType;
use crate::oauth::scope::{grantable, Asked};
use crate::oauth::tokens::{issue, IssuedTokens, RefreshPlan};
use crate::store::{ClientDoc, ClientKind};

pub async fn grant(
    ctx: &OAuthContext<'_>,
    meta: &RequestMeta,
    client: &ClientDoc,
    request: &TokenRequest,
) -> Result<IssuedTokens, OAuthError> {
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
