//! Verifying tokens the way a resource server would: from the published JWKS only.

use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Header, Validation};
use serde_json::Value;

use crate::common::TestApp;

/// Fetches `/.well-known/jwks.json`, picks the key named by the token's `kid`, and validates
/// the signature, `iss`, `aud`, `exp` and the RFC 9068 `typ`.
pub async fn verify_with_jwks(app: &TestApp, token: &str) -> (Header, Value) {
    let response = app.client.get("/.well-known/jwks.json").dispatch().await;
    let jwks: Value = response.into_json().await.unwrap();
    let header = decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let kid = header.kid.clone().expect("kid in header");
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("kid {kid} not published"));
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[app.config.issuer.as_str()]);
    validation.set_audience(&app.config.audience);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "nbf"]);
    let data = decode::<Value>(token, &key, &validation).unwrap();
    (header, data.claims)
}
