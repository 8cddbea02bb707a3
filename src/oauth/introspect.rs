//! Token introspection (RFC 7662) for resource servers: an active token's claims, or only
//! `{"active": false}` for anything expired, revoked, malformed or not ours (§2.2).

use mongodb::bson::oid::ObjectId;
use serde::Serialize;

use super::context::OAuthContext;
use super::error::OAuthError;
use crate::secrets::sha256_b64;
use crate::store::now;

/// RFC 7662 §2.2 response members.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

pub async fn introspect(
    ctx: &OAuthContext<'_>,
    token: &str,
    hint: Option<&str>,
) -> Result<Introspection, OAuthError> {
    // Access tokens cost no database round trip, so they are tried first unless the hint
    // says otherwise; a wrong hint still finds the token.
    if hint == Some("refresh_token") {
        if let Some(found) = refresh_token(ctx, token).await? {
            return Ok(found);
        }
        return Ok(access_token(ctx, token).unwrap_or_default());
    }
    if let Some(found) = access_token(ctx, token) {
        return Ok(found);
    }
    Ok(refresh_token(ctx, token).await?.unwrap_or_default())
}

fn access_token(ctx: &OAuthContext<'_>, token: &str) -> Option<Introspection> {
    let claims = ctx.verifier.verify(token).ok()?;
    Some(Introspection {
        active: true,
        scope: Some(claims.scope),
        client_id: Some(claims.client_id),
        username: claims.username,
        sub: Some(claims.sub),
        role: claims.role,
        token_type: Some("Bearer"),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        nbf: Some(claims.nbf),
        aud: Some(claims.aud),
        iss: Some(claims.iss),
        jti: Some(claims.jti),
    })
}

async fn refresh_token(
    ctx: &OAuthContext<'_>,
    token: &str,
) -> Result<Option<Introspection>, OAuthError> {
    let Some(doc) = ctx.store.find_refresh_token(&sha256_b64(token)).await? else {
        return Ok(None);
    };
    if doc.used || doc.revoked || doc.expires_at <= now() {
        return Ok(Some(Introspection::default()));
    }
    let user = match ObjectId::parse_str(&doc.user_id) {
        Ok(id) => ctx.store.find_user_by_id(id).await?,
        Err(_) => None,
    };
    let Some(user) = user.filter(|u| !u.disabled) else {
        return Ok(Some(Introspection::default()));
    };
    let seconds = |at: mongodb::bson::DateTime| u64::try_from(at.timestamp_millis() / 1000).ok();
    Ok(Some(Introspection {
        active: true,
        scope: Some(doc.scopes.join(" ")),
        client_id: Some(doc.client_id),
        username: Some(user.username),
        sub: Some(doc.user_id),
        role: Some(user.role),
        token_type: Some("refresh_token"),
        exp: seconds(doc.expires_at),
        iat: seconds(doc.issued_at),
        nbf: seconds(doc.issued_at),
        aud: None,
        iss: Some(ctx.config.issuer.clone()),
        jti: None,
    }))
}
