//! What every grant needs: the configuration, the store, the key ring, the password hasher,
//! the verifier and the revocations, borrowed from the server's managed state; and what is
//! known about the request itself.

use super::verify::TokenVerifier;
use crate::config::Config;
use crate::keys::KeyRing;
use crate::password::PasswordHasher;
use crate::revocation::Revocations;
use crate::store::Store;

#[derive(Clone, Copy)]
pub struct OAuthContext<'a> {
    pub config: &'a Config,
    pub store: &'a Store,
    pub keys: &'a KeyRing,
    pub hasher: &'a PasswordHasher,
    pub verifier: &'a TokenVerifier,
    /// The one way to revoke (database and this instance's set).
    pub revocations: &'a Revocations,
}

/// Facts about the HTTP request that the audit trail records.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub remote_addr: Option<String>,
}
