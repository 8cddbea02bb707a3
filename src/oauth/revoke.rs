//! Token revocation (RFC 7009) and logout. A refresh token takes its whole family with it, and
//! the family's access tokens; an access token is revoked by `jti` until it would have expired.
//! A client revokes only its own tokens; anything else is quietly ignored (§2.2).

use super::claims::AccessClaims;
use super::context::OAuthContext;
use super::error::OAuthError;
use super::verify::Rejection;
use crate::ids::{FamilyId, Jti};
use crate::secrets::sha256_b64;
use crate::store::{AuditEvent, AuditKind, ClientDoc, RefreshLookup, Timestamp};

/// RFC 7009 §2.1: the hint only orders the look-ups; a wrong hint still finds the token.
pub async fn revoke(
    ctx: &OAuthContext<'_>,
    client: &ClientDoc,
    token: &str,
    hint: Option<&str>,
) -> Result<(), OAuthError> {
    if hint == Some("access_token") {
        if !revoke_access_token(ctx, client, token).await? {
            revoke_refresh_token(ctx, client, token).await?;
        }
    } else if !revoke_refresh_token(ctx, client, token).await? {
        revoke_access_token(ctx, client, token).await?;
    }
    Ok(())
}

/// Revokes the family of a refresh token of this client; `true` if the token is one of ours.
async fn revoke_refresh_token(
    ctx: &OAuthContext<'_>,
    client: &ClientDoc,
    token: &str,
) -> Result<bool, OAuthError> {
    let family = match ctx.store.find_refresh_token(&sha256_b64(token)).await? {
        Some(RefreshLookup::Current(family) | RefreshLookup::Spent(family)) => family,
        None => return Ok(false),
    };
    if family.client_id == client.client_id {
        ctx.revocations.family(&family.family_id).await?;
        audit(
            ctx,
            client,
            Some(family.user_id.to_hex()),
            None,
            "refresh_token",
        )
        .await?;
    }
    Ok(true)
}

/// Revokes an access token of this client; `true` if the token was signed by us.
async fn revoke_access_token(
    ctx: &OAuthContext<'_>,
    client: &ClientDoc,
    token: &str,
) -> Result<bool, OAuthError> {
    match ctx.verifier.verify_signed(token) {
        Ok(claims) if claims.client_id == client.client_id => {
            revoke_access_claims(ctx, &claims).await?;
            let user = claims.role.is_some().then(|| claims.sub.clone());
            audit(ctx, client, user, Some(claims.jti), "access_token").await?;
            Ok(true)
        }
        // Another client's token, or one that has expired: nothing to do.
        Ok(_) | Err(Rejection::Expired) => Ok(true),
        Err(_) => Ok(false),
    }
}

/// Records an access token as revoked until it would have expired.
pub async fn revoke_access_claims(
    ctx: &OAuthContext<'_>,
    claims: &AccessClaims,
) -> Result<(), OAuthError> {
    let jti = Jti::carried(claims.jti.as_str());
    ctx.revocations
        .access_token(&jti, Timestamp::from_unix_secs(claims.exp))
        .await?;
    Ok(())
}

/// Logout: the presented access token and, when it came from one, its refresh family.
pub async fn logout(ctx: &OAuthContext<'_>, claims: &AccessClaims) -> Result<(), OAuthError> {
    revoke_access_claims(ctx, claims).await?;
    if let Some(family) = &claims.sid {
        ctx.revocations
            .family(&FamilyId::carried(family.as_str()))
            .await?;
    }
    let mut event = AuditEvent::new(AuditKind::TokenRevoked);
    event.client_id = Some(claims.client_id.clone());
    event.user_id = claims.role.is_some().then(|| claims.sub.clone());
    event.jti = Some(claims.jti.clone());
    event.reason = Some("logout".into());
    ctx.store.audit(event).await?;
    Ok(())
}

async fn audit(
    ctx: &OAuthContext<'_>,
    client: &ClientDoc,
    user_id: Option<String>,
    jti: Option<String>,
    what: &str,
) -> Result<(), OAuthError> {
    let mut event = AuditEvent::new(AuditKind::TokenRevoked);
    event.client_id = Some(client.client_id.to_string());
    event.user_id = user_id;
    event.jti = jti;
    event.reason = Some(what.to_owned());
    ctx.store.audit(event).await?;
    Ok(())
}
