//! Which client and redirect URI an authorization request binds to, and why one cannot be
//! bound: the decision oxide-auth's registrar asks for, written once so that a refused request
//! can also say why. A request that cannot be bound is never redirected (RFC 6749 §4.1.2.1):
//! the redirect URI it names is not trusted.

use oxide_auth::primitives::registrar::ExactUrl;
use url::Url;

use crate::error::Result;
use crate::oauth::grant_type::GrantType;
use crate::store::{ClientDoc, Store};

/// Why an authorization request cannot be bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unbound {
    /// No `client_id` at all: the endpoint was opened directly, not from an application.
    NoClientId,
    /// No client with that id is registered.
    UnknownClient,
    /// The client is not registered for the authorization-code grant.
    NoCodeGrant,
    /// The `redirect_uri` is not one of the client's (RFC 6749 §3.1.2.3).
    UnregisteredRedirect,
    /// No `redirect_uri`, and the client has several (or none) registered (RFC 6749 §3.1.2.3).
    RedirectRequired,
}

impl Unbound {
    /// The reason as logged.
    pub fn code(self) -> &'static str {
        match self {
            Unbound::NoClientId => "no_client_id",
            Unbound::UnknownClient => "unknown_client",
            Unbound::NoCodeGrant => "client_not_registered_for_authorization_code",
            Unbound::UnregisteredRedirect => "unregistered_redirect_uri",
            Unbound::RedirectRequired => "redirect_uri_required",
        }
    }
}

/// The redirect URI `client` answers a request at, given the one the request names.
pub fn bind_redirect(client: &ClientDoc, requested: Option<&str>) -> Result<ExactUrl, Unbound> {
    if !client.allows_grant(GrantType::AuthorizationCode.as_str()) {
        return Err(Unbound::NoCodeGrant);
    }
    match requested {
        Some(requested) => {
            if !client
                .redirect_uris
                .iter()
                .any(|registered| redirect_uri_matches(registered, requested))
            {
                return Err(Unbound::UnregisteredRedirect);
            }
            requested.parse().map_err(|_| Unbound::UnregisteredRedirect)
        }
        None => match client.redirect_uris.as_slice() {
            [only] => only.parse().map_err(|_| Unbound::RedirectRequired),
            _ => Err(Unbound::RedirectRequired),
        },
    }
}

/// A request that could not be bound: why, and the registered name of the client it named,
/// when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnboundRequest {
    pub reason: Unbound,
    pub client_name: Option<String>,
}

/// Why a request naming `client_id` and `redirect_uri` could not be bound; `None` when it can
/// be (the refusal had another cause).
pub async fn why_unbound(
    store: &Store,
    client_id: Option<&str>,
    redirect_uri: Option<&str>,
) -> Result<Option<UnboundRequest>> {
    let unbound = |reason, client_name| {
        Some(UnboundRequest {
            reason,
            client_name,
        })
    };
    let Some(client_id) = client_id else {
        return Ok(unbound(Unbound::NoClientId, None));
    };
    let Some(client) = store.find_client_cached(client_id).await? else {
        return Ok(unbound(Unbound::UnknownClient, None));
    };
    Ok(bind_redirect(&client, redirect_uri)
        .err()
        .and_then(|reason| unbound(reason, Some(client.name.clone()))))
}

/// RFC 6749 §3.1.2.3: the redirect URI must match a registered one exactly; RFC 8252 §7.3:
/// for loopback `http` URIs the port may differ, since native apps bind whatever is free.
pub fn redirect_uri_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(registered), Ok(requested)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    let loopback = |url: &Url| {
        url.scheme() == "http"
            && matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
            || url.scheme() == "http"
                && matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
    };
    if !loopback(&registered) || !loopback(&requested) {
        return false;
    }
    let mut without_port = requested.clone();
    if without_port.set_port(registered.port()).is_err() {
        return false;
    }
    without_port == registered
}

#[cfg(test)]
mod tests {
    use super::redirect_uri_matches;

    #[test]
    fn exact_match_except_loopback_ports() {
        let cb = "https://app.example/cb";
        assert!(redirect_uri_matches(cb, cb));
        assert!(!redirect_uri_matches(cb, "https://app.example/cb/"));
        assert!(!redirect_uri_matches(cb, "https://app.example/cb?x=1"));
        assert!(!redirect_uri_matches(cb, "https://app.example:444/cb"));
        assert!(redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51234/cb"
        ));
        assert!(redirect_uri_matches(
            "http://[::1]:80/cb",
            "http://[::1]:9999/cb"
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:5/other"
        ));
        assert!(!redirect_uri_matches(
            "http://localhost/cb",
            "http://localhost:5/cb"
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.2:5/cb"
        ));
    }
}
