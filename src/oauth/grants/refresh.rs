//! The refresh token grant (RFC 6749 §6) with rotation: each use spends the token atomically
//! and issues its successor in the same family. Presenting a spent token is reuse
//! (RFC 9700 §4.14.2): the whole family is revoked.

use super::{user_scope, with_id_token, GrantCall, SignedInFor};
use crate::oauth::error::OAuthError;
use crate::oauth::grant_type::GrantType;
use crate::oauth::scope::{Asked, Scope};
use crate::oauth::tokens::{issue, unix_now, IssuedTokens, RefreshPlan};
use crate::secrets::{random_token, sha256_b64, SecretString};
use std::time::Duration;

use crate::store::{
    in_secs, AuditEvent, AuditKind, RefreshFamilyDoc, RefreshUse, Successor, UserDoc,
};

const INVALID: &str = "refresh token is invalid, expired or revoked";

/// The reuse grace period (`refresh_token_reuse_grace_secs`): a token spent moments ago,
/// presented again, gets a successor that replaces the one its first answer carried, so the
/// family keeps one live token. Off (`None` for every retry) when the period is 0. The price:
/// for those seconds a stolen copy of the token just spent can take the family's live token
/// from its owner, whose next refresh (with the replaced one) is then reuse and revokes the
/// family, so the theft is still found, a refresh later.
async fn retry(
    call: GrantCall<'_, '_>,
    hash: &str,
    scopes: Option<&[String]>,
    successor: &Successor<'_>,
) -> Result<Option<RefreshFamilyDoc>, OAuthError> {
    let grace = call.ctx.config.refresh_token_reuse_grace_secs;
    if grace == 0 {
        return Ok(None);
    }
    let client_id = &call.client.client_id;
    let grace = Duration::from_secs(grace);
    let retried = call
        .ctx
        .store
        .retry_within_grace(hash, client_id, scopes, grace, successor)
        .await?;
    if retried.is_some() {
        tracing::info!(client_id = %client_id, "refresh token retried within the grace period");
    }
    Ok(retried)
}

pub async fn grant(call: GrantCall<'_, '_>) -> Result<IssuedTokens, OAuthError> {
    let (ctx, meta, client, request) = (call.ctx, call.meta, call.client, call.request);
    let token = request.require("refresh_token", 512)?;
    let requested = request.scope()?;
    let narrowed = requested.as_ref().map(Scope::to_vec);
    // The successor is drawn first: the spend stores it in the same atomic step.
    let successor = SecretString::new(random_token()?);
    let successor_hash = successor.hash();
    let spent_at = unix_now();
    let next = || Successor {
        hash: &successor_hash,
        idle_expires_at: in_secs(ctx.config.refresh_token_idle_ttl_secs),
    };
    let hash = sha256_b64(token);
    let spent = ctx
        .store
        .rotate_refresh_token(&hash, &client.client_id, narrowed.as_deref(), next())
        .await?;
    let spent = match spent {
        RefreshUse::Rotated(family) => family,
        RefreshUse::ScopeExceeded => {
            // RFC 6749 §6: the scope may only narrow.
            return Err(OAuthError::invalid_scope(
                "scope exceeds the refresh token's scope",
            ));
        }
        RefreshUse::Reused(family) => match retry(call, &hash, narrowed.as_deref(), &next()).await?
        {
            // A lost answer retried, or two tabs at once, within the grace period.
            Some(family) => family,
            None => {
                // Recorded first, so a family revoked for reuse has its event; revoked
                // whether or not the record could be written, since the response to the
                // attack must not wait on the trail.
                let mut event = AuditEvent::new(AuditKind::RefreshTokenReuse);
                event.client_id = Some(family.client_id.to_string());
                event.user_id = Some(family.user_id.to_hex());
                event.remote_addr = meta.remote_addr.clone();
                event.reason = Some("family_revoked".into());
                let recorded = ctx.store.audit(event).await;
                ctx.revocations.family(&family.family_id).await?;
                recorded?;
                return Err(OAuthError::invalid_grant(INVALID));
            }
        },
        RefreshUse::Invalid => return Err(OAuthError::invalid_grant(INVALID)),
    };

    // The account may have changed since the family began: a recent copy will do if it is at
    // least as new as the account the family last saw (every change stamps its families; a
    // disabled account's are revoked, so the spend above already refused those).
    let user = ctx
        .store
        .find_user_cached(spent.user_id, spent.account_version)
        .await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        ctx.revocations.family(&spent.family_id).await?;
        return Err(OAuthError::invalid_grant(INVALID));
    };
    let user: &UserDoc = &user;
    // The request's scope is within the family's (the spend checked it); the client or the
    // role may have lost some scopes since, and those are dropped.
    let base = requested.unwrap_or_else(|| Scope::from_tokens(spent.scopes.iter().cloned()));
    let scope = user_scope(ctx, Asked::Earlier(&base), client, user)?;
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
        Some(user),
        &scope,
        plan,
    )
    .await?;
    // OIDC Core §12.2: the same subject, a fresh `iat`, `auth_time` as at sign-in; no nonce.
    let by = SignedInFor {
        user,
        sign_in: spent.sign_in.as_ref(),
        nonce: None,
    };
    with_id_token(ctx, client, issued, by)
}
