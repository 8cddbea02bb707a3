//! The consent decision of an authorization request, once the user is signed in: which scopes
//! are asked for (the one scope policy, with the user's role), and whether the user has
//! approved them — now, on the consent page, or earlier, remembered. The page itself is the
//! HTTP layer's.

use std::sync::Arc;

use crate::config::Config;
use crate::error::Result;
use crate::oauth::scope::{grantable, role_scopes, Asked, Scope};
use crate::store::{ClientDoc, ClientKind, Store, UserDoc};

/// What the user chose on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Allow,
    Deny,
}

/// How the authorization request goes on.
#[derive(Debug)]
pub enum Consent {
    /// The client is not (or no longer) registered.
    UnknownClient,
    /// Nothing the user's role allows was asked for, or the user said no.
    Denied,
    /// Approved, now or earlier.
    Approved,
    /// The user is to be asked for these scopes for this client.
    Ask {
        client: Arc<ClientDoc>,
        scopes: Scope,
    },
}

/// Decides on `asked` (the scope the registrar negotiated) for `user` and `client_id`, with
/// the user's `choice` when the consent page was answered. An approval given on the page is
/// remembered; `ask_again` (OpenID Connect's `prompt=consent`) sets a remembered one aside.
pub async fn decide(
    store: &Store,
    config: &Config,
    user: &UserDoc,
    client_id: &str,
    asked: &Scope,
    choice: Option<Choice>,
    ask_again: bool,
) -> Result<Consent> {
    let Some(client) = store.find_client_cached(client_id).await? else {
        return Ok(Consent::UnknownClient);
    };
    let role = role_scopes(config, &user.role);
    let Ok(scopes) = grantable(Asked::Earlier(asked), &client, Some(&role)) else {
        return Ok(Consent::Denied);
    };
    match choice {
        Some(Choice::Allow) => {
            store
                .save_consent(user.id, client_id, &scopes.to_vec())
                .await?;
            Ok(Consent::Approved)
        }
        Some(Choice::Deny) => Ok(Consent::Denied),
        None => {
            // RFC 8252 §8.6, RFC 6749 §10.2: a public client's identity cannot be verified
            // (any local program can listen on a loopback port and present its own PKCE
            // pair), so its requests are never approved silently: the user sees the page
            // every time. A remembered consent applies to confidential clients only.
            if client.kind == ClientKind::Confidential && !ask_again {
                let remembered = store.find_consent(user.id, client_id).await?;
                if remembered.is_some_and(|c| scopes.is_subset(&Scope::from_tokens(c.scopes))) {
                    return Ok(Consent::Approved);
                }
            }
            Ok(Consent::Ask { client, scopes })
        }
    }
}
