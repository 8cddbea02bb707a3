//! The authorization code grant's token request (RFC 6749 §4.1.3, PKCE per RFC 7636 §4.6):
//! the code is spent atomically, and only by the client it was issued to; a second redemption
//! is refused and revokes what the first one issued (RFC 6749 §4.1.2).

use super::{first_refresh, user_scope, with_id_token, GrantCall, SignedInFor};
use crate::oauth::authorize::{pkce_for, verify_pkce};
use crate::oauth::error::OAuthError;
use crate::oauth::grant_type::GrantType;
use crate::oauth::scope::{Asked, Scope};
use crate::oauth::tokens::{issue, IssuedTokens};
use crate::secrets::sha256_b64;
use crate::store::{in_secs, AuditEvent, AuditKind, AuthCodeDoc, CodeUse};

const INVALID: &str = "authorization code is invalid, expired or already used";

pub async fn grant(call: GrantCall<'_, '_>) -> Result<IssuedTokens, OAuthError> {
    let (ctx, meta, client, request) = (call.ctx, call.meta, call.client, call.request);
    let code = request.require("code", 512)?;
    let hash = sha256_b64(code);
    let doc = match ctx.store.redeem_code(&hash, &client.client_id).await? {
        CodeUse::Redeemed(doc) => doc,
        CodeUse::Reused(doc) => {
            // Recorded before the revocations, and they happen whether or not it could be,
            // as for refresh-token reuse.
            let mut event = AuditEvent::new(AuditKind::AuthorizationCodeReuse);
            event.client_id = Some(doc.client_id.to_string());
            event.user_id = Some(doc.user_id.to_hex());
            event.remote_addr = meta.remote_addr.clone();
            let recorded = ctx.store.audit(event).await;
            if let Some(family) = &doc.family_id {
                ctx.revocations.family(family).await?;
            }
            if let (Some(jti), Some(expiry)) = (&doc.jti, doc.access_expires_at) {
                ctx.revocations.access_token(jti, expiry).await?;
            }
            recorded?;
            return Err(OAuthError::invalid_grant(INVALID));
        }
        CodeUse::OtherClient(doc) => {
            // The code leaked to another client (RFC 9700 §4.5). It stays redeemable by its
            // own client; the record names the presenting client and the user it was for.
            let mut event = AuditEvent::new(AuditKind::AuthorizationCodeWrongClient);
            event.client_id = Some(client.client_id.to_string());
            event.user_id = Some(doc.user_id.to_hex());
            event.reason = Some("issued_to_another_client".into());
            event.remote_addr = meta.remote_addr.clone();
            ctx.store.audit(event).await?;
            return Err(OAuthError::invalid_grant(INVALID));
        }
        CodeUse::Invalid => return Err(OAuthError::invalid_grant(INVALID)),
    };
    if !redirect_uri_matches(&doc, request.get("redirect_uri")) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    let pkce = pkce_for(Some(client.kind), ctx.config.require_pkce);
    if !verify_pkce(&pkce, doc.pkce.as_deref(), request.get("code_verifier")) {
        return Err(OAuthError::invalid_grant("PKCE verification failed"));
    }

    let user = ctx.store.find_user_by_id(doc.user_id).await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        return Err(OAuthError::invalid_grant(INVALID));
    };
    let approved = Scope::from_tokens(doc.scopes.iter().cloned());
    let scope = user_scope(ctx, Asked::Earlier(&approved), client, &user)?;
    let issued = issue(
        ctx,
        meta,
        GrantType::AuthorizationCode,
        client,
        Some(&user),
        &scope,
        first_refresh(client, doc.sign_in.as_ref()),
    )
    .await?;
    ctx.store
        .record_code_tokens(
            &hash,
            issued.family_id.as_ref(),
            &issued.jti,
            in_secs(issued.expires_in + ctx.config.token_leeway_secs),
        )
        .await?;
    let by = SignedInFor {
        user: &user,
        sign_in: doc.sign_in.as_ref(),
        nonce: doc.nonce.as_deref(),
    };
    with_id_token(ctx, client, issued, by)
}

/// RFC 6749 §4.1.3: `redirect_uri` is REQUIRED when the authorization request included it, and
/// then identical to it (no normalisation: the same string). When that request left it out,
/// which the registrar allows only for a client with a single registered URI (§3.1.2.3), the
/// token request may leave it out too; if it sends one anyway, it must name that URI.
fn redirect_uri_matches(code: &AuthCodeDoc, given: Option<&str>) -> bool {
    match (code.requested_redirect_uri.as_deref(), given) {
        (Some(sent), Some(given)) => sent == given,
        (Some(_), None) => false,
        (None, Some(given)) => {
            url::Url::parse(given).ok() == url::Url::parse(&code.redirect_uri).ok()
        }
        (None, None) => true,
    }
}
