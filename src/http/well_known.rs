//! Published metadata: the JWKS (RFC 7517) with every loaded public key, and the
//! authorization server metadata (RFC 8414), which is also the OpenID Provider metadata
//! (OpenID Connect Discovery 1.0 §3) served at the discovery path: one document, so the two
//! never disagree.

use rocket::http::Header;
use rocket::serde::json::Json;
use rocket::serde::{Serialize, Serializer};
use rocket::{get, routes, Responder, Route, State};

use super::state::AppState;
use crate::config::Config;
use crate::oauth::GrantType;

pub fn routes() -> Vec<Route> {
    routes![jwks, server_metadata, openid_configuration, openapi]
}

#[derive(Responder)]
struct Cached<T: Serialize> {
    body: Json<T>,
    cache_control: Header<'static>,
}

/// RFC 7517 §5: the key set.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct KeySet {
    keys: Vec<crate::keys::Jwk>,
}

/// RFC 7517 §5: `{"keys": [...]}`, every key still loaded, so tokens signed before a rotation
/// keep verifying.
#[get("/.well-known/jwks.json")]
fn jwks(app: &State<AppState>) -> Cached<KeySet> {
    let set = app.keys.snapshot();
    let keys = set.keys().iter().map(|key| key.jwk().clone()).collect();
    Cached {
        body: Json(KeySet { keys }),
        cache_control: Header::new(
            "Cache-Control",
            format!("public, max-age={}", app.config.jwks_max_age_secs),
        ),
    }
}

/// Client authentication methods at the token and revocation endpoints (RFC 8414 §2).
const CLIENT_AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];

/// RFC 8414 §2 metadata.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
pub struct ServerMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    jwks_uri: String,
    #[serde(serialize_with = "grant_names")]
    grant_types_supported: [GrantType; 4],
    token_endpoint_auth_methods_supported: [&'static str; 3],
    revocation_endpoint_auth_methods_supported: [&'static str; 3],
    introspection_endpoint_auth_methods_supported: [&'static str; 2],
    scopes_supported: Vec<String>,
    response_types_supported: [&'static str; 1],
    /// `query`, and `form_post` (OAuth 2.0 Form Post Response Mode §4).
    response_modes_supported: [&'static str; 2],
    code_challenge_methods_supported: [&'static str; 1],
    /// RFC 9207 §3: every authorization response carries `iss`.
    authorization_response_iss_parameter_supported: bool,
    /// OpenID Connect Discovery 1.0 §3: request objects are refused (their absence would
    /// mean `request_uri` is supported).
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
    /// OpenID Connect Discovery 1.0 §3 (RECOMMENDED).
    userinfo_endpoint: String,
    /// Discovery §3 (REQUIRED): every user has one `sub`, the same for every client.
    subject_types_supported: [&'static str; 1],
    /// Discovery §3 (REQUIRED).
    id_token_signing_alg_values_supported: [&'static str; 1],
    /// Discovery §3 (RECOMMENDED).
    claims_supported: &'static [&'static str],
    claim_types_supported: [&'static str; 1],
    /// OpenID Connect Prompt Create 1.0 §4.1 names this member; the values are Core §3.1.2.1's.
    prompt_values_supported: [&'static str; 4],
    /// RP-Initiated Logout 1.0 §2.1.
    end_session_endpoint: String,
}

fn grant_names<S: Serializer>(grants: &[GrantType; 4], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(grants.iter().map(|grant| grant.as_str()))
}

/// RFC 8414 §2 metadata for this configuration.
pub fn metadata(config: &Config) -> ServerMetadata {
    let issuer = &config.issuer;
    let scopes: std::collections::BTreeSet<&String> = config.roles.values().flatten().collect();
    ServerMetadata {
        issuer: issuer.clone(),
        authorization_endpoint: format!("{issuer}/oauth/authorize"),
        token_endpoint: format!("{issuer}/oauth/token"),
        revocation_endpoint: format!("{issuer}/oauth/revoke"),
        introspection_endpoint: format!("{issuer}/oauth/introspect"),
        jwks_uri: format!("{issuer}/.well-known/jwks.json"),
        grant_types_supported: GrantType::ALL,
        token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
        revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
        // RFC 7662 §2.1: introspection needs an authenticated client.
        introspection_endpoint_auth_methods_supported: [
            "client_secret_basic",
            "client_secret_post",
        ],
        scopes_supported: scopes.into_iter().cloned().collect(),
        response_types_supported: ["code"],
        response_modes_supported: ["query", "form_post"],
        code_challenge_methods_supported: ["S256"],
        authorization_response_iss_parameter_supported: true,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        userinfo_endpoint: format!("{issuer}/oauth/userinfo"),
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
        claims_supported: crate::oidc::claims::SUPPORTED,
        claim_types_supported: ["normal"],
        prompt_values_supported: ["none", "login", "consent", "select_account"],
        end_session_endpoint: format!("{issuer}/oauth/end_session"),
    }
}

#[get("/.well-known/oauth-authorization-server")]
fn server_metadata(app: &State<AppState>) -> Cached<ServerMetadata> {
    Cached {
        body: Json(metadata(&app.config)),
        cache_control: Header::new("Cache-Control", "public, max-age=3600"),
    }
}

#[get("/.well-known/openid-configuration")]
fn openid_configuration(app: &State<AppState>) -> Cached<ServerMetadata> {
    server_metadata(app)
}

/// The OpenAPI 3.1 description of every JSON and form endpoint, kept in `openapi/`.
const OPENAPI: &str = include_str!("../../openapi/portcullis.json");

#[get("/openapi.json")]
fn openapi() -> (rocket::http::ContentType, &'static str) {
    (rocket::http::ContentType::JSON, OPENAPI)
}
