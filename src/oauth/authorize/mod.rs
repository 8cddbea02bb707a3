//! The authorization-code grant's server side (RFC 6749 §4.1 with PKCE, RFC 7636), built on
//! oxide-auth: a registrar over the `clients` collection, an authorizer over the
//! `authorization_codes` collection, and the extension that keeps the PKCE challenge and the
//! request's `redirect_uri` with the code, and the consent decision. The HTTP glue and
//! the pages live in `http::authorize`.

mod authorizer;
mod binding;
pub mod consent;
mod extension;
mod pkce;
mod registrar;

pub use authorizer::{MongoAuthorizer, SignInSlot};
pub use binding::{bind_redirect, redirect_uri_matches, why_unbound, Unbound, UnboundRequest};
pub use extension::RequestExtension;
pub use pkce::{pkce_for, verify_pkce};
pub use registrar::MongoRegistrar;

/// How long an authorization code can be redeemed (RFC 6749 §4.1.2: short, 10 minutes at
/// most; one minute here).
pub const CODE_TTL_SECS: u64 = 60;

/// How long a spent code's record is kept, so that a second redemption can still revoke what
/// the first one issued.
pub const SPENT_CODE_RETENTION_SECS: u64 = 600;
