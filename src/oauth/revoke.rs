//! Token revocation (RFC 7009) and logout. A refresh token takes its whole family with it, and
//! the family's access tokens; an access token is revoked by `jti` until it would have expired.
//! A client revokes only its own tokens; anything else is quietly ignored (§2.2).

use mongodb::bson::DateTime;

use super::context::OAuthContext;
use super::error::OAuthError;
use super::tokens::AccessClaims;
use super::verify::Rejection;
use crate::secrets::sha256_b64;
use crate::store::{AuditEvent, AuditKind, ClientDoc, RefreshLookup, RevocationDoc};

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
        revoke_family(ctx, &family.family_id).await?;
        audit(ctx, client, Some(family.user_id), None, "refresh_token").await?;
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

/// Records an access token as revoked until its expiry.
pub async fn revoke_access_claims(
    ctx: &OAuthContext<'_>,
    claims: &AccessClaims,
) -> Result<(), OAuthError> {
    let expiry_ms = i64::try_from(claims.exp.saturating_mul(1000)).unwrap_or(i64::MAX);
    revoke_access_claims_by_id(ctx, &claims.jti, DateTime::from_millis(expiry_ms)).await
}

/// Records an access token as revoked by `jti` for as long as it can verify: verification
/// accepts it through the whole second of its `exp` and the leeway after it, so the record
/// lasts a second and the leeway past `expires_at`.
pub async fn revoke_access_claims_by_id(
    ctx: &OAuthContext<'_>,
    jti: &str,
    expires_at: DateTime,
) -> Result<(), OAuthError> {
    let margin_secs = ctx.config.token_leeway_secs.saturating_add(1);
    let margin_ms = i64::try_from(margin_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let until = DateTime::from_millis(expires_at.timestamp_millis().saturating_add(margin_ms));
    let revocation = RevocationDoc::access_token(jti, until);
    ctx.store.insert_revocation(&revocation).await?;
    Ok(())
}

/// Revokes a refresh-token family and, through the record, the access tokens it produced.
pub async fn revoke_family(ctx: &OAuthContext<'_>, family_id: &str) -> Result<(), OAuthError> {
    let access_expiry = crate::services::access_token_horizon(ctx.config);
    ctx.store
        .revoke_refresh_family(family_id, access_expiry)
        .await?;
    Ok(())
}

/// Logout: the presented access token and, when it came from one, its refresh family.
pub async fn logout(ctx: &OAuthContext<'_>, claims: &AccessClaims) -> Result<(), OAuthError> {
    revoke_access_claims(ctx, claims).await?;
    if let Some(family) = &claims.sid {
        revoke_family(ctx, family).await?;
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
    event.client_id = Some(client.client_id.clone());
    event.user_id = user_id;
    event.jti = jti;
    event.reason = Some(what.to_owned());
    ctx.store.audit(event).await?;
    Ok(())
}
