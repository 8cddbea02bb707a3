//! OpenID Connect on top of the OAuth grants: what is said about a user (by scope), and the id
//! token that says it to the client that signed the user in.

pub mod claims;
pub mod id_token;
pub mod logout;
pub mod request;

/// The scope that makes an authorization request an OpenID Connect one (OIDC Core §3.1.2.1).
pub const OPENID: &str = "openid";
