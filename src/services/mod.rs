//! Account and client management shared by the CLI and the HTTP API, so every rule (name
//! syntax, password strength, what a change revokes) is written once.

mod actor;
pub mod clients;
pub mod users;
pub mod views;

pub use actor::Actor;

use mongodb::bson::DateTime;

use crate::config::Config;

/// How long an access token issued now can stay valid: how long a revocation must be kept.
/// Verification accepts a token through the whole second of `exp` plus the leeway, hence the
/// extra second.
pub(crate) fn access_token_horizon(config: &Config) -> DateTime {
    crate::store::in_secs(config.access_token_ttl_secs + config.token_leeway_secs + 1)
}
