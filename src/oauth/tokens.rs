//! Token issuing, one path for every grant: an RS256 JWT access token (RFC 9068) signed with
//! the active key, and, where the grant allows, an opaque rotating refresh token of which only
//! the SHA-256 is stored.

pub use super::claims::{unix_now, AccessClaims, ACCESS_TOKEN_TYP};
use super::context::{OAuthContext, RequestMeta};
use super::error::OAuthError;
use super::grant_type::GrantType;
use super::scope::Scope;
use crate::error::Error;
use crate::ids::{FamilyId, Jti};
use crate::secrets::{random_token, SecretString};
use crate::store::{
    in_secs, now, AuditEvent, AuditKind, ClientDoc, RefreshFamilyDoc, SignInRecord, UserDoc,
};

/// Whether and how a refresh token accompanies the access token.
pub enum RefreshPlan {
    None,
    /// A first grant: a new family, which remembers how the user signed in.
    NewFamily(Option<SignInRecord>),
    /// A rotation already stored: the family now holds `token` as its live one.
    Rotated {
        family_id: FamilyId,
        token: SecretString,
        /// Unix seconds taken before the spend, used as the access token's `iat`, so no access
        /// token of the family outlives a revocation that came after the spend by more than
        /// its lifetime.
        spent_at: u64,
    },
}

/// What a successful grant hands back.
#[derive(Debug)]
pub struct IssuedTokens {
    pub access_token: SecretString,
    pub jti: Jti,
    pub expires_in: u64,
    pub refresh_token: Option<SecretString>,
    /// The refresh-token family, when a refresh token was issued.
    pub family_id: Option<FamilyId>,
    pub scope: Scope,
    /// The OpenID Connect id token, when the scope holds `openid` (`oidc::id_token`).
    pub id_token: Option<SecretString>,
}

/// Issues the tokens of one successful grant and records it in the audit trail.
pub async fn issue(
    ctx: &OAuthContext<'_>,
    meta: &RequestMeta,
    grant: GrantType,
    client: &ClientDoc,
    user: Option<&UserDoc>,
    scope: &Scope,
    refresh: RefreshPlan,
) -> Result<IssuedTokens, OAuthError> {
    // Taken before the family is stored, for the same reason as `spent_at`.
    let mut issued_at = unix_now();
    let user_id = user.map(|u| u.id.to_hex());
    let (family_id, refresh_token) = match (refresh, user) {
        (RefreshPlan::NewFamily(sign_in), Some(user)) => {
            let token = SecretString::new(random_token()?);
            let mut family = new_family(ctx, client, user, scope, &token)?;
            family.sign_in = sign_in;
            ctx.store.insert_refresh_family(&family).await?;
            (Some(family.family_id), Some(token))
        }
        (
            RefreshPlan::Rotated {
                family_id,
                token,
                spent_at,
            },
            Some(_),
        ) => {
            issued_at = spent_at;
            (Some(family_id), Some(token))
        }
        _ => (None, None),
    };

    let jti = Jti::draw()?;
    let claims = AccessClaims {
        iss: ctx.config.issuer.clone(),
        sub: user_id
            .clone()
            .unwrap_or_else(|| client.client_id.to_string()),
        aud: ctx.config.audience.clone(),
        exp: issued_at + ctx.config.access_token_ttl_secs,
        iat: issued_at,
        nbf: issued_at,
        jti: jti.to_string(),
        client_id: client.client_id.to_string(),
        scope: scope.to_string(),
        role: user.map(|u| u.role.clone()),
        username: user.map(|u| u.username.clone()),
        sid: family_id.as_ref().map(FamilyId::to_string),
    };
    let access_token = SecretString::new(ctx.keys.sign(&claims)?);

    let mut event = AuditEvent::new(AuditKind::TokenIssued);
    event.client_id = Some(client.client_id.to_string());
    event.user_id = user_id;
    event.username = user.map(|u| u.username.clone());
    event.grant_type = Some(grant.as_str().to_owned());
    event.jti = Some(jti.to_string());
    event.scope = Some(claims.scope.clone());
    event.remote_addr = meta.remote_addr.clone();
    ctx.store.audit(event).await?;

    Ok(IssuedTokens {
        access_token,
        jti,
        expires_in: ctx.config.access_token_ttl_secs,
        family_id,
        refresh_token,
        scope: scope.clone(),
        id_token: None,
    })
}

/// The family a first grant starts, holding `token` as its live one.
fn new_family(
    ctx: &OAuthContext<'_>,
    client: &ClientDoc,
    user: &UserDoc,
    scope: &Scope,
    token: &SecretString,
) -> Result<RefreshFamilyDoc, Error> {
    let at = now();
    Ok(RefreshFamilyDoc {
        family_id: FamilyId::draw()?,
        client_id: client.client_id.clone(),
        user_id: user.id,
        scopes: scope.to_vec(),
        current: token.hash(),
        rotated_at: at,
        current_expires_at: in_secs(ctx.config.refresh_token_idle_ttl_secs),
        expires_at: in_secs(ctx.config.refresh_token_absolute_ttl_secs),
        created_at: at,
        spent: Vec::new(),
        revoked: false,
        sign_in: None,
        previous: None,
        previous_spent_at: None,
        account_version: user.version,
    })
}
