//! The one scope policy: [`grantable`] decides what scope a token, a code or a consent may
//! carry, for every grant and the consent page alike.

pub use crate::scope::{InvalidScope, Scope, MAX_SCOPE_LEN};

use super::error::OAuthError;
use crate::config::Config;
use crate::store::ClientDoc;

/// The scopes a role may be granted; none for a role the configuration does not know.
pub fn role_scopes(config: &Config, role: &str) -> Scope {
    config
        .roles
        .get(role)
        .map(|scopes| Scope::from_tokens(scopes.iter().cloned()))
        .unwrap_or_default()
}

/// What a scope decision starts from.
#[derive(Debug, Clone, Copy)]
pub enum Asked<'a> {
    /// A client's request (`scope`, or `None` for its registered defaults): it must lie within
    /// what may be granted, or the request is refused (RFC 6749 §3.3).
    Requested(Option<&'a Scope>),
    /// Scope granted earlier (to a code, a refresh-token family, a consent being asked): kept
    /// as far as it may still be granted, since the client or the role may have lost some.
    Earlier(&'a Scope),
}

/// The one scope policy: what a token may carry is what was asked within the client's
/// registered scopes and, for a user's token, within what the user's role allows (`role`;
/// `None` for a client acting for itself). An empty result is refused.
pub fn grantable(
    asked: Asked<'_>,
    client: &ClientDoc,
    role: Option<&Scope>,
) -> Result<Scope, OAuthError> {
    let client_scopes = Scope::from_tokens(client.scopes.iter().cloned());
    let allowed = match role {
        Some(role) => client_scopes.intersection(role),
        None => client_scopes,
    };
    let granted = match asked {
        Asked::Requested(Some(requested)) if requested.is_subset(&allowed) => requested.clone(),
        Asked::Requested(Some(_)) => {
            return Err(OAuthError::invalid_scope("requested scope is not allowed"))
        }
        Asked::Requested(None) => {
            Scope::from_tokens(client.default_scopes.iter().cloned()).intersection(&allowed)
        }
        Asked::Earlier(earlier) => earlier.intersection(&allowed),
    };
    if granted.is_empty() {
        return Err(OAuthError::invalid_scope("no scope can be granted"));
    }
    Ok(granted)
}
