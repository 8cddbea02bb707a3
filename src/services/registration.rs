//! Self-registration: who may open an account without an administrator, and with what role.
//! The JSON endpoint, the browser form and the pages that link to it all ask here.

use super::profile::ProfileChange;
use super::users::{create_account, NewAccount};
use super::Actor;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::password::PasswordHasher;
use crate::store::{Store, UserDoc};

/// The role self-registered accounts get; the request never chooses it.
pub const SELF_REGISTERED_ROLE: &str = "user";

/// Why self-registration is closed, when it is.
pub fn closed_because(config: &Config) -> Option<&'static str> {
    if !config.self_registration {
        Some("self-registration is disabled")
    } else if !config.roles.contains_key(SELF_REGISTERED_ROLE) {
        Some("no role for self-registered users")
    } else {
        None
    }
}

/// Whether anyone may open an account.
pub fn is_open(config: &Config) -> bool {
    closed_because(config).is_none()
}

/// Opens an account for whoever asks, with the self-registered role and the profile given
/// (its address unverified); refused while self-registration is closed.
pub async fn register(
    store: &Store,
    hasher: &PasswordHasher,
    config: &Config,
    username: &str,
    password: &str,
    profile: &ProfileChange,
) -> Result<UserDoc> {
    if let Some(why) = closed_because(config) {
        return Err(Error::Refused(why.into()));
    }
    // Nobody has vouched for an address given at registration.
    if profile.email_verified.is_some() {
        return Err(Error::invalid(
            "email_verified",
            "is set by an administrator",
        ));
    }
    let account = NewAccount {
        username,
        password,
        role: SELF_REGISTERED_ROLE,
        profile,
    };
    create_account(store, hasher, config, &Actor::SelfService, &account).await
}
