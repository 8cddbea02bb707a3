//! oxide-auth's `Registrar` over the `clients` collection: which client, which redirect URI,
//! which scopes.

use std::borrow::Cow;

use async_trait::async_trait;
use oxide_auth::endpoint::{PreGrant, Scope as OxideScope};
use oxide_auth::primitives::registrar::{
    BoundClient, ClientUrl, ExactUrl, RegisteredUrl, RegistrarError,
};
use oxide_auth_async::primitives::Registrar;

use super::binding::bind_redirect;
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

#[async_trait]
impl Registrar for MongoRegistrar {
    async fn bound_redirect<'a>(
        &self,
        bound: ClientUrl<'a>,
    ) -> Result<BoundClient<'a>, RegistrarError> {
        let client = self.client(&bound.client_id).await?;
        let requested = bound.redirect_uri.as_ref().map(|uri| uri.as_str());
        let chosen: ExactUrl =
            bind_redirect(&client, requested).map_err(|_| RegistrarError::Unspecified)?;
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
