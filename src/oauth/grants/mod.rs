//! The token endpoint's grants (RFC 6749 §4.3, §4.4, §6), dispatched on `grant_type`, and the
//! scope decision they share.

mod authorization_code;
mod client_credentials;
mod password;
mod refresh;

use std::collections::HashMap;

use super::context::{OAuthContext, RequestMeta};
use super::error::{ErrorCode, OAuthError};
use super::grant_type;
use super::scope::Scope;
use super::tokens::IssuedTokens;
use crate::store::ClientDoc;

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

/// Runs the grant the request names for an authenticated client.
pub async fn run(
    ctx: &OAuthContext<'_>,
    meta: &RequestMeta,
    client: &ClientDoc,
    request: &TokenRequest,
) -> Result<IssuedTokens, OAuthError> {
    let grant = request.require("grant_type", 64)?;
    let known = [
        grant_type::AUTHORIZATION_CODE,
        grant_type::PASSWORD,
        grant_type::REFRESH_TOKEN,
        grant_type::CLIENT_CREDENTIALS,
    ];
    if !known.contains(&grant) {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "unsupported grant_type",
        ));
    }
    if !client.allows_grant(grant) {
        return Err(OAuthError::unauthorized_client(
            "the client is not registered for this grant type",
        ));
    }
    match grant {
        grant_type::PASSWORD => password::grant(ctx, meta, client, request).await,
        grant_type::REFRESH_TOKEN => refresh::grant(ctx, meta, client, request).await,
        grant_type::AUTHORIZATION_CODE => {
            authorization_code::grant(ctx, meta, client, request).await
        }
        _ => client_credentials::grant(ctx, meta, client, request).await,
    }
}

/// The scope a token gets: what was requested (or the client's defaults) within what the
/// client may have and, for user tokens, what the user's role allows.
fn decide_scope(
    requested: Option<Scope>,
    client: &ClientDoc,
    role_scopes: Option<&Scope>,
) -> Result<Scope, OAuthError> {
    let client_scopes = Scope::from_tokens(client.scopes.iter().cloned());
    let allowed = match role_scopes {
        Some(role) => client_scopes.intersection(role),
        None => client_scopes,
    };
    let granted = match requested {
        Some(requested) if requested.is_subset(&allowed) => requested,
        Some(_) => return Err(OAuthError::invalid_scope("requested scope is not allowed")),
        None => Scope::from_tokens(client.default_scopes.iter().cloned()).intersection(&allowed),
    };
    if granted.is_empty() {
        return Err(OAuthError::invalid_scope("no scope can be granted"));
    }
    Ok(granted)
}

/// Whether the client may also receive a refresh token.
fn offers_refresh(client: &ClientDoc) -> bool {
    client.allows_grant(grant_type::REFRESH_TOKEN)
}
