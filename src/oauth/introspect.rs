//! Token introspection (RFC 7662) for resource servers: an active token's claims, or only
//! `{"active": false}` for anything expired, revoked, malformed or not ours (§2.2).

use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::claims::AccessClaims;
use super::context::OAuthContext;
use super::error::OAuthError;
use crate::secrets::sha256_b64;
use crate::store::RefreshLookup;

/// What the endpoint answers about one token.
#[derive(Debug)]
pub enum Introspection {
    /// Expired, revoked, malformed, unknown or not ours: `{"active": false}` and nothing else.
    Inactive,
    /// An access token; its claims are shared with the verified-token cache, not copied.
    Access(Arc<AccessClaims>),
    /// A live refresh token and the user it belongs to.
    Refresh(RefreshTokenFacts),
}

/// The members an active refresh token is described by.
#[derive(Debug)]
pub struct RefreshTokenFacts {
    scope: String,
    client_id: String,
    username: String,
    user_id: String,
    role: String,
    expires: Option<u64>,
    issued: Option<u64>,
    issuer: String,
}

/// RFC 7662 §2.2 response members, borrowed from whichever token was found.
#[derive(Default, Serialize)]
struct Members<'a> {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<&'a str>,
}

impl Serialize for Introspection {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let members = match self {
            Introspection::Inactive => Members::default(),
            Introspection::Access(claims) => Members {
                active: true,
                scope: Some(&claims.scope),
                client_id: Some(&claims.client_id),
                username: claims.username.as_deref(),
                sub: Some(&claims.sub),
                role: claims.role.as_deref(),
                token_type: Some("Bearer"),
                exp: Some(claims.exp),
                iat: Some(claims.iat),
                nbf: Some(claims.nbf),
                aud: Some(&claims.aud),
                iss: Some(&claims.iss),
                jti: Some(&claims.jti),
            },
            Introspection::Refresh(facts) => Members {
                active: true,
                scope: Some(&facts.scope),
                client_id: Some(&facts.client_id),
                username: Some(&facts.username),
                sub: Some(&facts.user_id),
                role: Some(&facts.role),
                token_type: Some("refresh_token"),
                exp: facts.expires,
                iat: facts.issued,
                nbf: facts.issued,
                aud: None,
                iss: Some(&facts.issuer),
                jti: None,
            },
        };
        members.serialize(serializer)
    }
}

pub async fn introspect(
    ctx: &OAuthContext<'_>,
    token: &str,
    hint: Option<&str>,
) -> Result<Introspection, OAuthError> {
    // Access tokens cost no database round trip, so they are tried first unless the hint
    // says otherwise; a wrong hint still finds the token.
    // Until the revocation set is read, only a refresh token (checked in the database) can
    // be answered for.
    if hint == Some("refresh_token") || !ctx.verifier.ready() {
        if let Some(found) = refresh_token(ctx, token).await? {
            return Ok(found);
        }
        return Ok(access_token(ctx, token)?.unwrap_or(Introspection::Inactive));
    }
    if let Some(found) = access_token(ctx, token)? {
        return Ok(found);
    }
    Ok(refresh_token(ctx, token)
        .await?
        .unwrap_or(Introspection::Inactive))
}

/// An access token's answer; `None` when it is not a live one. Before the revocation set has
/// been read, no access token can be said to be active: 503.
fn access_token(ctx: &OAuthContext<'_>, token: &str) -> Result<Option<Introspection>, OAuthError> {
    if !ctx.verifier.ready() {
        return Err(OAuthError::temporarily_unavailable());
    }
    Ok(ctx.verifier.verify(token).ok().map(Introspection::Access))
}

/// A refresh token's answer: `None` when it is not one of ours at all.
async fn refresh_token(
    ctx: &OAuthContext<'_>,
    token: &str,
) -> Result<Option<Introspection>, OAuthError> {
    let doc = match ctx.store.find_refresh_token(&sha256_b64(token)).await? {
        Some(RefreshLookup::Current(family)) if family.is_live() => family,
        Some(_) => return Ok(Some(Introspection::Inactive)),
        None => return Ok(None),
    };
    let user = ctx.store.find_user_by_id(doc.user_id).await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        return Ok(Some(Introspection::Inactive));
    };
    let (expires, issued) = (
        doc.token_expires_at().unix_secs(),
        doc.rotated_at.unix_secs(),
    );
    Ok(Some(Introspection::Refresh(RefreshTokenFacts {
        scope: doc.scopes.join(" "),
        client_id: doc.client_id.to_string(),
        username: user.username,
        user_id: doc.user_id.to_hex(),
        role: user.role,
        expires,
        issued,
        issuer: ctx.config.issuer.clone(),
    })))
}
