//! The OAuth 2.0 domain: scopes, grants and tokens. Nothing here knows about Rocket.

pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod context;
pub mod error;
pub mod grant_type;
pub mod grants;
pub mod introspect;
pub mod login;
pub mod rate_limit;
pub mod revoke;
pub mod scope;
pub mod tokens;
pub mod verified_cache;
pub mod verify;

pub use grant_type::GrantType;
