//! OpenID Connect Discovery 1.0 §3–4: the provider metadata a relying party reads, the same
//! document as the RFC 8414 metadata.

use openidconnect::core::{CoreProviderMetadata, CoreSubjectIdentifierType};
use openidconnect::{IssuerUrl, Scope};
use rocket::http::Status;

use crate::common::app;

#[rocket::async_test]
async fn the_discovery_document_is_one_a_relying_party_accepts() {
    let app = app().await;
    let response = app
        .client
        .get("/.well-known/openid-configuration")
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    let text = response.into_string().await.unwrap();
    // The library's own model of the document: every REQUIRED member present and typed.
    let metadata: CoreProviderMetadata = serde_json::from_str(&text).unwrap();
    let issuer = &app.config.issuer;
    assert_eq!(metadata.issuer(), &IssuerUrl::new(issuer.clone()).unwrap());
    assert_eq!(
        metadata.userinfo_endpoint().unwrap().as_str(),
        format!("{issuer}/oauth/userinfo")
    );
    assert_eq!(
        metadata.jwks_uri().as_str(),
        format!("{issuer}/.well-known/jwks.json")
    );
    assert_eq!(
        metadata.subject_types_supported(),
        &[CoreSubjectIdentifierType::Public]
    );
    let algs: Vec<String> = metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .map(|alg| {
            serde_json::to_value(alg)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(algs, ["RS256"]);
    let scopes = metadata.scopes_supported().unwrap();
    for scope in ["openid", "profile", "email"] {
        assert!(scopes.contains(&Scope::new(scope.into())), "{scope}");
    }
    let claims: serde_json::Value = serde_json::from_str(&text).unwrap();
    for claim in [
        "sub",
        "auth_time",
        "email",
        "email_verified",
        "name",
        "role",
    ] {
        assert!(
            claims["claims_supported"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == claim),
            "{claim}"
        );
    }

    // RFC 8414 §3 and Discovery §4 serve one document: they cannot disagree.
    let rfc8414 = app
        .client
        .get("/.well-known/oauth-authorization-server")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert_eq!(rfc8414, text);
}
