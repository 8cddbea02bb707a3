//! What every grant needs: the configuration, the store, the key ring and the password hasher,
//! borrowed from the server's managed state; and what is known about the request itself.

use super::verify::TokenVerifier;
use crate::config::Config;
use crate::keys::KeyRing;
use crate::password::PasswordHasher;
use crate::revocation::RevocationSet;
use crate::store::Store;

#[derive(Clone, Copy)]
pub struct OAuthContext<'a> {
    pub config: &'a Config,
    pub store: &'a Store,
    pub keys: &'a KeyRing,
    pub hasher: &'a PasswordHasher,
    pub verifier: &'a TokenVerifier,
}

impl OAuthContext<'_> {
    /// The instance's revocation set, updated at once by revocations made here.
    pub fn revocations(&self) -> &RevocationSet {
        self.verifier.revocations()
    }
}

/// Facts about the HTTP request that the audit trail records.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub remote_addr: Option<String>,
}
