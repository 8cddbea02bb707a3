//! What the authorization request carries beyond oxide-auth's core grant, kept with the code
//! for the token endpoint: the PKCE challenge (RFC 7636 §4.4), the `redirect_uri` parameter
//! exactly as sent, or its absence (RFC 6749 §4.1.3 compares it), and the `nonce`.

use async_trait::async_trait;
use oxide_auth::code_grant::authorization::Request;
use oxide_auth::primitives::grant::{Extensions, Value};
use oxide_auth_async::code_grant::authorization::Extension;

use super::pkce;
use crate::store::Store;

/// The grant extension under which the PKCE challenge is kept (oxide-auth's `Pkce` id).
pub const PKCE: &str = "pkce";
/// The grant extension under which the request's own `redirect_uri` is kept. oxide-auth's
/// grant holds only the URI the code goes to, which the registrar fills in when the request
/// names none.
pub const REQUESTED_REDIRECT_URI: &str = "requested_redirect_uri";
/// The grant extension under which the request's `nonce` (OpenID Connect Core §3.1.2.1) is
/// kept, for the id token the code will be redeemed for.
pub const NONCE: &str = "nonce";
/// Longest `nonce` kept; a longer one fails the request rather than fill the database.
const MAX_NONCE_LEN: usize = 512;

pub struct RequestExtension {
    store: Store,
    require_pkce: bool,
}

impl RequestExtension {
    pub fn new(store: Store, require_pkce: bool) -> Self {
        RequestExtension {
            store,
            require_pkce,
        }
    }
}

impl oxide_auth_async::endpoint::Extension for RequestExtension {
    fn authorization(&mut self) -> Option<&mut (dyn Extension + Send)> {
        Some(self)
    }
}

#[async_trait]
impl Extension for RequestExtension {
    async fn extend(&mut self, request: &(dyn Request + Sync)) -> Result<Extensions, ()> {
        let mut extensions = pkce::challenge(&self.store, self.require_pkce, request).await?;
        if let Some(sent) = request.redirect_uri() {
            extensions.set_raw(
                REQUESTED_REDIRECT_URI.to_owned(),
                Value::private(Some(sent.into_owned())),
            );
        }
        if let Some(nonce) = request.extension(NONCE) {
            if nonce.len() > MAX_NONCE_LEN {
                return Err(());
            }
            extensions.set_raw(NONCE.to_owned(), Value::private(Some(nonce.into_owned())));
        }
        Ok(extensions)
    }
}
