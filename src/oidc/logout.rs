//! RP-Initiated Logout 1.0: which logout requests are honoured, and where the browser may go
//! afterwards. A `post_logout_redirect_uri` is followed only when it exactly matches one the
//! client registered (§3), and the client is the one the request names by `client_id`, by the
//! `id_token_hint`'s audience, or by both when they agree (§2); anything else is refused
//! without a redirect, so the endpoint can never send a browser where nobody registered.

use std::sync::Arc;

use url::Url;

use super::id_token::{read_hint, HintedIdToken};
use crate::config::Config;
use crate::error::Result;
use crate::keys::KeyRing;
use crate::store::{ClientDoc, Store};

/// A logout request's parameters (§2), as sent.
#[derive(Debug, Clone, Default)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// A request that may go ahead.
#[derive(Debug, Clone)]
pub struct CheckedLogout {
    /// The client asking, when the request names one.
    pub client: Option<Arc<ClientDoc>>,
    /// What the `id_token_hint` says, when there is a valid one.
    pub hint: Option<HintedIdToken>,
    /// Where the browser goes afterwards: the registered URI with `state`.
    pub then: Option<Url>,
}

/// Why a request is refused; shown on a page, never sent anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The hint is not an id token this server issued.
    BadHint,
    /// `client_id` and the hint's audience differ.
    ClientMismatch,
    /// The client the request names is not registered.
    UnknownClient,
    /// A return address without a client to check it against.
    NoClient,
    /// A return address the client did not register.
    UnregisteredUri,
}

impl Refusal {
    pub fn explain(self) -> &'static str {
        match self {
            Refusal::BadHint => {
                "The sign-out request carries an id token this server did not issue."
            }
            Refusal::ClientMismatch => "The sign-out request names two different applications.",
            Refusal::UnknownClient => "The sign-out request names an unknown application.",
            Refusal::NoClient => "The sign-out request gives a return address but no application.",
            Refusal::UnregisteredUri => {
                "The sign-out request's return address is not registered for the application."
            }
        }
    }
}

impl LogoutRequest {
    /// Checks the request against the key ring and the client registrations.
    pub async fn check(
        &self,
        config: &Config,
        keys: &KeyRing,
        store: &Store,
    ) -> Result<std::result::Result<CheckedLogout, Refusal>> {
        let hint = match &self.id_token_hint {
            None => None,
            Some(token) => match read_hint(config, keys, token) {
                Some(hint) => Some(hint),
                None => return Ok(Err(Refusal::BadHint)),
            },
        };
        let client_id = match (self.client_id.as_deref(), hint.as_ref()) {
            (Some(id), Some(hint)) if id != hint.aud => return Ok(Err(Refusal::ClientMismatch)),
            (Some(id), _) => Some(id.to_owned()),
            (None, Some(hint)) => Some(hint.aud.clone()),
            (None, None) => None,
        };
        let client = match &client_id {
            None => None,
            Some(id) => match store.find_client_cached(id).await? {
                Some(client) => Some(client),
                None => return Ok(Err(Refusal::UnknownClient)),
            },
        };
        let then = match (&self.post_logout_redirect_uri, &client) {
            (None, _) => None,
            (Some(_), None) => return Ok(Err(Refusal::NoClient)),
            (Some(uri), Some(client)) => {
                // §3: an exact match, the same string; no normalisation.
                let registered = client.post_logout_redirect_uris.iter().any(|r| r == uri);
                let Some(mut url) = registered.then(|| Url::parse(uri).ok()).flatten() else {
                    return Ok(Err(Refusal::UnregisteredUri));
                };
                if let Some(state) = &self.state {
                    url.query_pairs_mut().append_pair("state", state);
                }
                Some(url)
            }
        };
        Ok(Ok(CheckedLogout { client, hint, then }))
    }
}

impl CheckedLogout {
    /// Whether the hint names exactly this browser's sign-in (its user, and its session when
    /// the hint names one), so the user need not confirm (§2: the OP SHOULD ask otherwise).
    pub fn names(&self, user: &str, sid: Option<&str>) -> bool {
        self.hint.as_ref().is_some_and(|hint| {
            hint.sub == user && hint.sid.as_deref().is_none_or(|hinted| Some(hinted) == sid)
        })
    }
}
