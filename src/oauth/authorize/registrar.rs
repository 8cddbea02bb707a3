//! oxide-auth's `Registrar` over the `clients` collection: which client, which redirect URI,
//! which scopes.

use std::borrow::Cow;

use async_trait::async_trait;
use oxide_auth::endpoint::{PreGrant, Scope as OxideScope};
use oxide_auth::primitives::registrar::{
    BoundClient, ClientUrl, ExactUrl, RegisteredUrl, RegistrarError,
};
use oxide_auth_async::primitives::Registrar;
use url::Url;

use crate::oauth::grant_type;
use crate::oauth::scope::Scope;
use crate::secrets::constant_time_eq;
use crate::store::{ClientDoc, ClientKind, Store};

pub struct MongoRegistrar {
    store: Store,
}

impl MongoRegistrar {
    pub fn new(store: Store) -> Self {
        MongoRegistrar { store }
    }

    async fn client(&self, client_id: &str) -> Result<ClientDoc, RegistrarError> {
        match self.store.find_client(client_id).await {
            Ok(Some(client)) => Ok(client),
            Ok(None) => Err(RegistrarError::Unspecified),
            Err(error) => {
                crate::limited!(error, %error, "client look-up failed");
                Err(RegistrarError::PrimitiveError)
            }
        }
    }
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

#[async_trait]
impl Registrar for MongoRegistrar {
    async fn bound_redirect<'a>(
        &self,
        bound: ClientUrl<'a>,
    ) -> Result<BoundClient<'a>, RegistrarError> {
        let client = self.client(&bound.client_id).await?;
        if !client.allows_grant(grant_type::AUTHORIZATION_CODE) {
            return Err(RegistrarError::Unspecified);
        }
        let chosen: ExactUrl = match &bound.redirect_uri {
            Some(requested) => {
                let requested = requested.as_str();
                if !client
                    .redirect_uris
                    .iter()
                    .any(|registered| redirect_uri_matches(registered, requested))
                {
                    return Err(RegistrarError::Unspecified);
                }
                requested.parse().map_err(|_| RegistrarError::Unspecified)?
            }
            // Without a redirect_uri the client must have exactly one (RFC 6749 §3.1.2.3).
            None => match client.redirect_uris.as_slice() {
                [only] => only.parse().map_err(|_| RegistrarError::Unspecified)?,
                _ => return Err(RegistrarError::Unspecified),
            },
        };
        Ok(BoundClient {
            client_id: bound.client_id,
            redirect_uri: Cow::Owned(RegisteredUrl::Exact(chosen)),
        })
    }

    /// The requested scope must lie within the client's; none requested means its defaults.
    /// The user's role narrows it further once the user is known.
    async fn negotiate<'a>(
        &self,
        bound: BoundClient<'a>,
        scope: Option<OxideScope>,
    ) -> Result<PreGrant, RegistrarError> {
        let client = self.client(&bound.client_id).await?;
        let allowed = Scope::from_tokens(client.scopes.iter().cloned());
        let granted = match scope {
            Some(requested) => {
                let requested = Scope::parse(&requested.to_string())
                    .map_err(|_| RegistrarError::Unspecified)?;
                if !requested.is_subset(&allowed) {
                    return Err(RegistrarError::Unspecified);
                }
                requested
            }
            None => {
                Scope::from_tokens(client.default_scopes.iter().cloned()).intersection(&allowed)
            }
        };
        if granted.is_empty() {
            return Err(RegistrarError::Unspecified);
        }
        Ok(PreGrant {
            client_id: bound.client_id.into_owned(),
            redirect_uri: bound.redirect_uri.into_owned(),
            scope: granted
                .to_string()
                .parse()
                .map_err(|_| RegistrarError::Unspecified)?,
        })
    }

    /// Client authentication as oxide-auth's own token flows would ask for it; the token
    /// endpoint authenticates through `oauth::client_auth`, which follows the same rules.
    async fn check(
        &self,
        client_id: &str,
        passphrase: Option<&[u8]>,
    ) -> Result<(), RegistrarError> {
        let client = self.client(client_id).await?;
        let ok = match (client.kind, passphrase, client.secret_hash.as_deref()) {
            (ClientKind::Public, None, _) => true,
            (ClientKind::Confidential, Some(secret), Some(stored)) => {
                let secret = String::from_utf8_lossy(secret);
                constant_time_eq(stored, &crate::secrets::sha256_b64(&secret))
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(RegistrarError::Unspecified)
        }
    }
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
