//! The one value the server manages: everything a handler or guard needs, built once per
//! instance by [`AppState::new`]. Handlers take `&State<AppState>` and pass on the parts the
//! domain call needs; the OAuth endpoints borrow it as an [`OAuthContext`].
//!
//! The resource-server kit's `Verifier` is managed beside it, because the kit's guards find it
//! by its own type.

use rocket::Request;

use super::metrics_access::MetricsAccess;
use crate::config::Config;
use crate::keys::KeyRing;
use crate::oauth::context::OAuthContext;
use crate::oauth::verify::TokenVerifier;
use crate::password::PasswordHasher;
use crate::revocation::{RevocationSet, Revocations};
use crate::store::Store;

pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub keys: KeyRing,
    pub hasher: PasswordHasher,
    /// This instance's access-token check: signature, claims, revocation set.
    pub verifier: TokenVerifier,
    /// The one way to revoke (database and this instance's set).
    pub revocations: Revocations,
    pub metrics_access: MetricsAccess,
}

impl AppState {
    pub fn new(config: Config, store: Store, keys: KeyRing) -> Self {
        let revoked = RevocationSet::default();
        AppState {
            hasher: PasswordHasher::new(config.argon2),
            // Every revocation this instance makes goes through here, so it is in the
            // instance's set before the request that made it answers.
            revocations: Revocations::new(store.clone(), revoked.clone(), &config),
            verifier: TokenVerifier::new(&config, keys.clone(), revoked),
            metrics_access: MetricsAccess::from_config(&config),
            config,
            store,
            keys,
        }
    }

    /// The parts every grant and OAuth endpoint uses.
    pub fn oauth(&self) -> OAuthContext<'_> {
        OAuthContext {
            config: &self.config,
            store: &self.store,
            keys: &self.keys,
            hasher: &self.hasher,
            verifier: &self.verifier,
            revocations: &self.revocations,
        }
    }

    /// The revocation set this instance checks tokens against.
    pub fn revoked(&self) -> &RevocationSet {
        self.revocations.set()
    }

    /// The state of the server a request came to; only a server built without it (never
    /// `build_rocket`) has none.
    pub fn of<'r>(request: &'r Request<'_>) -> Option<&'r AppState> {
        request.rocket().state::<AppState>()
    }
}
