//! The resource-server kit: protects an API with Portcullis access tokens.
//!
//! A service that knows only Portcullis's issuer URL builds a [`RemoteVerifier`] (metadata,
//! published keys, and optionally introspection for revocation), and protects its handlers
//! with [`AccessClaims`], [`RequireScope`] and [`RequireRole`]: as Rocket guards with the
//! default `rocket` feature ([`rocket`]), or as axum extractors with the `axum` feature.
//! Refusals answer as RFC 6750 §3 says, whatever the framework.
//!
//! Portcullis itself protects its own APIs with these guards and the same access-token check
//! ([`AccessTokenRules`]), so there is one verifier. The kit depends only on what verification
//! needs: no database driver, password hashing, templates or OAuth server library.

pub mod bearer;
pub mod claims;
pub mod crypto;
pub mod error;
#[doc(hidden)]
pub mod log_limit;
pub mod remote;
pub mod require;
pub mod secret;
pub mod verify;

#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "rocket")]
pub mod rocket;

pub use bearer::{
    bearer_token, BearerRequest, BearerVerifier, RequestHeaders, Verifier, MAX_AUTHORIZATION_LEN,
};
pub use claims::{unix_now, AccessClaims, ACCESS_TOKEN_TYP};
pub use error::{ErrorBody, GuardError, REALM};
pub use remote::{EndpointError, FetchError, KitConfig, KitError, RemoteVerifier};
pub use require::{
    Admin, AdminScope, DataRead, DataWrite, Profile, RequireRole, RequireScope, RequiredRole,
    RequiredScope,
};
pub use secret::SecretString;
pub use verify::{AccessTokenRules, Rejection};
