//! oxide-auth's `Authorizer` over the `authorization_codes` collection: a code is 256 random
//! bits, stored as SHA-256 with the grant it stands for, valid for one minute, spent once.

use async_trait::async_trait;
use oxide_auth::primitives::grant::Grant;
use oxide_auth_async::primitives::Authorizer;

use std::sync::{Arc, OnceLock};

use super::extension::{NONCE, PKCE, REQUESTED_REDIRECT_URI};
use super::{CODE_TTL_SECS, SPENT_CODE_RETENTION_SECS};
use crate::ids::{ClientId, UserId};
use crate::secrets::{random_token, sha256_b64};
use crate::store::{in_secs, AuthCodeDoc, SignInRecord, Store};

/// How the user of one authorization request signed in: set by the consent step when it
/// approves, read when the code is made. One per request.
pub type SignInSlot = Arc<OnceLock<SignInRecord>>;

pub struct MongoAuthorizer {
    store: Store,
    sign_in: SignInSlot,
}

impl MongoAuthorizer {
    pub fn new(store: Store, sign_in: SignInSlot) -> Self {
        MongoAuthorizer { store, sign_in }
    }
}

#[async_trait]
impl Authorizer for MongoAuthorizer {
    async fn authorize(&mut self, grant: Grant) -> Result<String, ()> {
        let code = random_token().map_err(|_| ())?;
        let private = |name: &str| {
            grant
                .extensions
                .private()
                .find(|(id, _)| *id == name)
                .and_then(|(_, value)| value.map(str::to_owned))
        };
        let pkce = private(PKCE);
        let requested_redirect_uri = private(REQUESTED_REDIRECT_URI);
        let nonce = private(NONCE);
        let doc = AuthCodeDoc {
            hash: sha256_b64(&code),
            client_id: ClientId::registered(grant.client_id),
            // The owner is the signed-in user, whose id this server set.
            user_id: UserId::parse(&grant.owner_id).ok_or(())?,
            redirect_uri: grant.redirect_uri.to_string(),
            requested_redirect_uri,
            scopes: grant.scope.iter().map(str::to_owned).collect(),
            pkce,
            sign_in: self.sign_in.get().cloned(),
            nonce,
            expires_at: in_secs(CODE_TTL_SECS),
            purge_at: in_secs(SPENT_CODE_RETENTION_SECS),
            used: false,
            family_id: None,
            jti: None,
            access_expires_at: None,
        };
        self.store.insert_code(&doc).await.map_err(|error| {
            crate::limited!(error, %error, "storing an authorization code failed");
        })?;
        Ok(code)
    }

    /// Never redeems: codes are spent only by the token endpoint
    /// (`oauth::grants::authorization_code`), which binds the spend to the authenticated
    /// client and tells reuse apart. oxide-auth's access-token flow, the only caller, is not
    /// used, and this method could not know the client.
    async fn extract(&mut self, _code: &str) -> Result<Option<Grant>, ()> {
        Ok(None)
    }
}
