//! The OAuth 2.0 domain: scopes, grants and tokens. Nothing here knows about Rocket.

pub mod authorize;
pub mod client_auth;
pub mod context;
pub mod error;
pub mod grants;
pub mod introspect;
pub mod login;
pub mod rate_limit;
pub mod revoke;
pub mod scope;
pub mod tokens;
pub mod verify;

/// Grant type names (RFC 6749 §4) as they appear in requests and client registrations.
pub mod grant_type {
    pub const AUTHORIZATION_CODE: &str = "authorization_code";
    pub const PASSWORD: &str = "password";
    pub const REFRESH_TOKEN: &str = "refresh_token";
    pub const CLIENT_CREDENTIALS: &str = "client_credentials";
    /// Every grant type Portcullis serves.
    pub const ALL: [&str; 4] = [
        AUTHORIZATION_CODE,
        PASSWORD,
        REFRESH_TOKEN,
        CLIENT_CREDENTIALS,
    ];
}
