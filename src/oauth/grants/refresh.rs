//! The refresh token grant (RFC 6749 §6) with rotation: each use spends the token atomically
//! and issues its successor in the same family. Presenting a spent token is reuse
//! (RFC 9700 §4.14.2): the whole family is revoked.

use super::{user_scope, with_id_token, GrantCall, SignedInFor};
use crate::oauth::error::OAuthError;
use crate::oauth::grant_type::GrantType;
use crate::oauth::scope::{Asked, Scope};
use crate::oauth::tokens::{issue, unix_now, IssuedTokens, RefreshPlan};
use crate::secrets::{random_token, sha256_b64, SecretString};
use crate::store::{in_secs, AuditEvent, AuditKind, RefreshUse, Successor};

const INVALID: &str = "refresh token is invalid, expired or revoked";

pub async fn grant(call: GrantCall<'_, '_>) -> Result<IssuedTokens, OAuthError> {
    let (ctx, meta, client, request) = (call.ctx, call.meta, call.client, call.request);
    let token = request.require("refresh_token", 512)?;
    let requested = request.scope()?;
    let narrowed = requested.as_ref().map(Scope::to_vec);
    // The successor is drawn first: the spend stores it in the same atomic step.
    let successor = SecretString::new(random_token()?);
    let successor_hash = successor.hash();
    let spent_at = unix_now();
    let spent = ctx
        .store
        .rotate_refresh_token(
            &sha256_b64(token),
            &client.client_id,
            narrowed.as_deref(),
            Successor {
                hash: &successor_hash,
                idle_expires_at: in_secs(ctx.config.refresh_token_idle_ttl_secs),
            },
        )
        .await?;
    let spent = match spent {
        RefreshUse::Rotated(family) => family,
        RefreshUse::ScopeExceeded => {
            // RFC 6749 §6: the scope may only narrow.
            return Err(OAuthError::invalid_scope(
                "scope exceeds the refresh token's scope",
            ));
        }
        RefreshUse::Reused(family) => {
            ctx.revocations.family(&family.family_id).await?;
            let mut event = AuditEvent::new(AuditKind::RefreshTokenReuse);
            event.client_id = Some(family.client_id.to_string());
            event.user_id = Some(family.user_id.to_hex());
            event.remote_addr = meta.remote_addr.clone();
            event.reason = Some("family_revoked".into());
            ctx.store.audit(event).await?;
            return Err(OAuthError::invalid_grant(INVALID));
        }
        RefreshUse::Invalid => return Err(OAuthError::invalid_grant(INVALID)),
    };

    // The account may have changed since the family began.
    let user = ctx.store.find_user_by_id(spent.user_id).await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        ctx.revocations.family(&spent.family_id).await?;
        return Err(OAuthError::invalid_grant(INVALID));
    };
    // The request's scope is within the family's (the spend checked it); the client or the
    // role may have lost some scopes since, and those are dropped.
    let base = requested.unwrap_or_else(|| Scope::from_tokens(spent.scopes.iter().cloned()));
    let scope = user_scope(ctx, Asked::Earlier(&base), client, &user)?;
    let plan = RefreshPlan::Rotated {
        family_id: spent.family_id,
        token: successor,
        spent_at,
    };
    let issued = issue(
        ctx,
        meta,
        GrantType::RefreshToken,
        client,
        Some(&user),
        &scope,
        plan,
    )
    .await?;
    // OIDC Core §12.2: the same subject, a fresh `iat`, `auth_time` as at sign-in; no nonce.
    let by = SignedInFor {
        user: &user,
        sign_in: spent.sign_in.as_ref(),
        nonce: None,
    };
    with_id_token(ctx, client, issued, by)
}
