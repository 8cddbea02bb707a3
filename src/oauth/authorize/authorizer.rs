//! oxide-auth's `Authorizer` over the `authorization_codes` collection: a code is 256 random
//! bits, stored as SHA-256 with the grant it stands for, valid for one minute, spent once.

use async_trait::async_trait;
use oxide_auth::primitives::grant::{Extensions, Grant, Value};
use oxide_auth::primitives::registrar::ExactUrl;
use oxide_auth_async::primitives::Authorizer;

use super::{CODE_TTL_SECS, SPENT_CODE_RETENTION_SECS};
use crate::secrets::{random_token, sha256_b64};
use crate::store::{in_secs, AuthCodeDoc, CodeUse, Store};

/// The PKCE extension's identifier inside a grant.
const PKCE: &str = "pkce";

pub struct MongoAuthorizer {
    store: Store,
}

impl MongoAuthorizer {
    pub fn new(store: Store) -> Self {
        MongoAuthorizer { store }
    }
}

#[async_trait]
impl Authorizer for MongoAuthorizer {
    async fn authorize(&mut self, grant: Grant) -> Result<String, ()> {
        let code = random_token().map_err(|_| ())?;
        let pkce = grant
            .extensions
            .private()
            .find(|(id, _)| *id == PKCE)
            .and_then(|(_, value)| value.map(str::to_owned));
        let doc = AuthCodeDoc {
            hash: sha256_b64(&code),
            client_id: grant.client_id,
            user_id: grant.owner_id,
            redirect_uri: grant.redirect_uri.to_string(),
            scopes: grant.scope.iter().map(str::to_owned).collect(),
            pkce,
            expires_at: in_secs(CODE_TTL_SECS),
            purge_at: in_secs(SPENT_CODE_RETENTION_SECS),
            used: false,
            family_id: None,
            jti: None,
            access_expires_at: None,
        };
        self.store.insert_code(&doc).await.map_err(|error| {
            tracing::error!(%error, "storing an authorization code failed");
        })?;
        Ok(code)
    }

    /// Spends the code and hands back its grant. The token endpoint calls
    /// `Store::redeem_code` itself, because it also needs to tell reuse apart.
    async fn extract(&mut self, code: &str) -> Result<Option<Grant>, ()> {
        let redeemed = self
            .store
            .redeem_code(&sha256_b64(code))
            .await
            .map_err(|_| ())?;
        let CodeUse::Redeemed(doc) = redeemed else {
            return Ok(None);
        };
        Ok(Some(grant_of(&doc)?))
    }
}

/// The oxide-auth grant a stored code stands for.
pub fn grant_of(doc: &AuthCodeDoc) -> Result<Grant, ()> {
    let mut extensions = Extensions::new();
    if let Some(pkce) = &doc.pkce {
        extensions.set_raw(PKCE.to_owned(), Value::private(Some(pkce.clone())));
    }
    let redirect_uri: ExactUrl = doc.redirect_uri.parse().map_err(|_| ())?;
    Ok(Grant {
        owner_id: doc.user_id.clone(),
        client_id: doc.client_id.clone(),
        scope: doc.scopes.join(" ").parse().map_err(|_| ())?,
        redirect_uri: redirect_uri.to_url(),
        until: chrono::DateTime::from_timestamp_millis(doc.expires_at.timestamp_millis())
            .ok_or(())?,
        extensions,
    })
}
