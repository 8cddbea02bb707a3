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

/// A token for `issuer` signed with the shared test key (under `kid`, by default the key's
/// own) with the header `typ` given: an access token's claims, `data:read` for `user-1`.
pub fn shared_key_token(issuer: &str, typ: &str, kid: Option<&str>) -> String {
    let keys = portcullis::KeyRing::load(crate::common::shared_keys_dir()).unwrap();
    let snapshot = keys.snapshot();
    let active = snapshot.active();
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some(typ.to_owned());
    header.kid = Some(kid.unwrap_or(active.kid()).to_owned());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": issuer, "sub": "user-1", "aud": ["portcullis-api"], "exp": now + 300,
        "iat": now, "nbf": now, "jti": format!("jti-{now}"), "client_id": "app",
        "scope": "data:read",
    });
    jsonwebtoken::encode(&header, &claims, active.encoding_key()).unwrap()
}
