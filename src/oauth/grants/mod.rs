//! The token endpoint's grants (RFC 6749 §4.1.3, §4.3, §4.4, §6), a file each, dispatched on
//! `grant_type`.

mod authorization_code;
mod client_credentials;
mod password;
mod refresh;

use std::collections::HashMap;

use super::context::{OAuthContext, RequestMeta};
use super::error::{ErrorCode, OAuthError};
use super::grant_type::GrantType;
use super::scope::{grantable, role_scopes, Asked, Scope};
use super::tokens::{IssuedTokens, RefreshPlan};
use crate::oidc::id_token::{self, IdTokenFor};
use crate::oidc::OPENID;
use crate::store::{ClientDoc, SignInRecord, UserDoc};

/// The token request's parameters, each present at most once (the HTTP layer refuses
/// repetitions, RFC 6749 §3.2).
#[derive(Default)]
pub struct TokenRequest {
    params: HashMap<String, String>,
}

impl TokenRequest {
    pub fn new(params: HashMap<String, String>) -> Self {
        TokenRequest { params }
    }

    /// A parameter; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A required parameter, limited in length so nothing unbounded reaches the database or
    /// the password hasher.
    pub fn require(&self, name: &'static str, max_len: usize) -> Result<&str, OAuthError> {
        match self.get(name) {
            None => Err(OAuthError::invalid_request(format!("missing {name}"))),
            Some(value) if value.len() > max_len => {
                Err(OAuthError::invalid_request(format!("{name} is too long")))
            }
            Some(value) => Ok(value),
        }
    }

    /// The optional `scope` parameter, parsed.
    pub fn scope(&self) -> Result<Option<Scope>, OAuthError> {
        self.get("scope")
            .map(|s| Scope::parse(s).map_err(|_| OAuthError::invalid_scope("malformed scope")))
            .transpose()
    }
}

/// One token request, handed to the grant it names: the instance, the request's facts, the
/// authenticated client and the parameters.
#[derive(Clone, Copy)]
pub struct GrantCall<'a, 'r> {
    pub ctx: &'a OAuthContext<'r>,
    pub meta: &'a RequestMeta,
    pub client: &'a ClientDoc,
    pub request: &'a TokenRequest,
}

/// Runs the grant the request names for an authenticated client.
pub async fn run(
    ctx: &OAuthContext<'_>,
    meta: &RequestMeta,
    client: &ClientDoc,
    request: &TokenRequest,
) -> Result<IssuedTokens, OAuthError> {
    let name = request.require("grant_type", 64)?;
    let Some(grant) = GrantType::parse(name) else {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "unsupported grant_type",
        ));
    };
    if !client.allows_grant(grant.as_str()) {
        return Err(OAuthError::unauthorized_client(
            "the client is not registered for this grant type",
        ));
    }
    let call = GrantCall {
        ctx,
        meta,
        client,
        request,
    };
    match grant {
        GrantType::Password => password::grant(call).await,
        GrantType::RefreshToken => refresh::grant(call).await,
        GrantType::AuthorizationCode => authorization_code::grant(call).await,
        GrantType::ClientCredentials => client_credentials::grant(call).await,
    }
}

/// A first grant's refresh token: a new family when the client may refresh, else none. The
/// family keeps `sign_in` for the id tokens of its refreshes.
fn first_refresh(client: &ClientDoc, sign_in: Option<&SignInRecord>) -> RefreshPlan {
    if client.allows_grant(GrantType::RefreshToken.as_str()) {
        RefreshPlan::NewFamily(sign_in.cloned())
    } else {
        RefreshPlan::None
    }
}

/// How a user grant's tokens came about, for its id token.
struct SignedInFor<'a> {
    user: &'a UserDoc,
    sign_in: Option<&'a SignInRecord>,
    nonce: Option<&'a str>,
}

/// Adds the id token to a user grant whose scope holds `openid` (OIDC Core §3.1.3.3, §12.2).
fn with_id_token(
    ctx: &OAuthContext<'_>,
    client: &ClientDoc,
    mut issued: IssuedTokens,
    by: SignedInFor<'_>,
) -> Result<IssuedTokens, OAuthError> {
    if issued.scope.contains(OPENID) {
        let id = IdTokenFor {
            user: by.user,
            client_id: &client.client_id,
            scope: &issued.scope,
            sign_in: by.sign_in,
            nonce: by.nonce,
            access_token: &issued.access_token,
        };
        issued.id_token = Some(id_token::sign(ctx.config, ctx.keys, &id)?);
    }
    Ok(issued)
}

/// The scope a user's token gets: `asked`, within the client's scopes and the user's role's.
fn user_scope(
    ctx: &OAuthContext<'_>,
    asked: Asked<'_>,
    client: &ClientDoc,
    user: &UserDoc,
) -> Result<Scope, OAuthError> {
    let role = role_scopes(ctx.config, &user.role);
    grantable(asked, client, Some(&role))
}
