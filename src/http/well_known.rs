//! Published metadata: the JWKS (RFC 7517) with every loaded public key, and the
//! authorization server metadata (RFC 8414), also served at the OpenID discovery path.

use rocket::http::Header;
use rocket::serde::json::{json, Json, Value};
use rocket::{get, routes, Responder, Route, State};

use crate::config::Config;
use crate::keys::KeyRing;
use crate::oauth::grant_type;

pub fn routes() -> Vec<Route> {
    routes![jwks, server_metadata, openid_configuration, openapi]
}

#[derive(Responder)]
struct Cached {
    body: Json<Value>,
    cache_control: Header<'static>,
}

/// RFC 7517 §5: `{"keys": [...]}`, every key still loaded, so tokens signed before a rotation
/// keep verifying.
#[get("/.well-known/jwks.json")]
fn jwks(keys: &State<KeyRing>, config: &State<Config>) -> Cached {
    let set = keys.snapshot();
    let keys: Vec<_> = set.keys().iter().map(|key| key.jwk().clone()).collect();
    Cached {
        body: Json(json!({ "keys": keys })),
        cache_control: Header::new(
            "Cache-Control",
            format!("public, max-age={}", config.jwks_max_age_secs),
        ),
    }
}

/// RFC 8414 §2 metadata.
pub fn metadata(config: &Config) -> Value {
    let issuer = &config.issuer;
    let scopes: std::collections::BTreeSet<&String> = config.roles.values().flatten().collect();
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "grant_types_supported": [
            grant_type::AUTHORIZATION_CODE,
            grant_type::PASSWORD,
            grant_type::REFRESH_TOKEN,
            grant_type::CLIENT_CREDENTIALS,
        ],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
    })
}

#[get("/.well-known/oauth-authorization-server")]
fn server_metadata(config: &State<Config>) -> Cached {
    Cached {
        body: Json(metadata(config)),
        cache_control: Header::new("Cache-Control", "public, max-age=3600"),
    }
}

#[get("/.well-known/openid-configuration")]
fn openid_configuration(config: &State<Config>) -> Cached {
    server_metadata(config)
}

/// The OpenAPI 3.1 description of every JSON and form endpoint, kept in `openapi/`.
const OPENAPI: &str = include_str!("../../openapi/portcullis.json");

#[get("/openapi.json")]
fn openapi() -> (rocket::http::ContentType, &'static str) {
    (rocket::http::ContentType::JSON, OPENAPI)
}
