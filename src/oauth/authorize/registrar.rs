//! oxide-auth's `Registrar` over the `clients` collection: which client, which redirect URI,
//! which scopes.

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use oxide_auth::endpoint::{PreGrant, Scope as OxideScope};
use oxide_auth::primitives::registrar::{
    BoundClient, ClientUrl, ExactUrl, RegisteredUrl, RegistrarError,
};
use oxide_auth_async::primitives::Registrar;

use super::binding::bind_redirect;
use crate::oauth::client_auth::credentials_match;
use crate::oauth::scope::{grantable, Asked, Scope};
use crate::secrets::SecretString;
use crate::store::{ClientDoc, Store};

pub struct MongoRegistrar {
    store: Store,
}

impl MongoRegistrar {
    pub fn new(store: Store) -> Self {
        MongoRegistrar { store }
    }

    /// The client, from the store's few-seconds cache: one authorization request asks for it
    /// at each step.
    async fn client(&self, client_id: &str) -> Result<Arc<ClientDoc>, RegistrarError> {
        match self.store.find_client_cached(client_id).await {
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
        let requested = match scope {
            Some(requested) => Some(
                Scope::parse(&requested.to_string()).map_err(|_| RegistrarError::Unspecified)?,
            ),
            None => None,
        };
        // The role is not known yet: it narrows the scope at consent.
        let granted = grantable(Asked::Requested(requested.as_ref()), &client, None)
            .map_err(|_| RegistrarError::Unspecified)?;
        Ok(PreGrant {
            client_id: bound.client_id.into_owned(),
            redirect_uri: bound.redirect_uri.into_owned(),
            scope: granted
                .to_string()
                .parse()
                .map_err(|_| RegistrarError::Unspecified)?,
        })
    }

    /// Client authentication as oxide-auth's own token flows would ask for it, by the token
    /// endpoint's rule (`oauth::client_auth`).
    async fn check(
        &self,
        client_id: &str,
        passphrase: Option<&[u8]>,
    ) -> Result<(), RegistrarError> {
        let client = self.client(client_id).await?;
        let secret = passphrase.map(|secret| SecretString::new(String::from_utf8_lossy(secret)));
        let ok = credentials_match(&client, secret.as_ref());
        if ok {
            Ok(())
        } else {
            Err(RegistrarError::Unspecified)
        }
    }
}
