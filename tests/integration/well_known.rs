//! JWKS and discovery documents, and verification across a key rotation.

use portcullis::keys::{generate_key, rotate};
use rocket::http::Status;
use serde_json::Value;

use crate::common::{app, app_with, basic, seed, temp_dir, token};
use crate::jwt::verify_with_jwks;

#[rocket::async_test]
async fn jwks_publishes_rfc_7517_keys_with_caching() {
    let app = app().await;
    let response = app.client.get("/.well-known/jwks.json").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        response.headers().get_one("Cache-Control"),
        Some("public, max-age=300")
    );
    let jwks: Value = response.into_json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    for member in ["kty", "use", "alg", "kid", "n", "e"] {
        assert!(key[member].is_string(), "{member} missing: {key}");
    }
    assert_eq!(
        (
            key["kty"].as_str(),
            key["alg"].as_str(),
            key["use"].as_str()
        ),
        (Some("RSA"), Some("RS256"), Some("sig"))
    );
    assert_eq!(
        key.as_object().unwrap().len(),
        6,
        "no private members: {key}"
    );
}

#[rocket::async_test]
async fn discovery_documents_describe_the_server() {
    let app = app().await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let doc: Value = app
            .client
            .get(path)
            .dispatch()
            .await
            .into_json()
            .await
            .unwrap();
        assert_eq!(doc["issuer"], "http://portcullis.test");
        assert_eq!(doc["token_endpoint"], "http://portcullis.test/oauth/token");
        assert_eq!(
            doc["jwks_uri"],
            "http://portcullis.test/.well-known/jwks.json"
        );
        let grants = doc["grant_types_supported"].as_array().unwrap();
        for grant in ["password", "refresh_token", "client_credentials"] {
            assert!(grants.iter().any(|g| g == grant), "{grant}");
        }
        let methods = doc["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap();
        assert!(methods.iter().any(|m| m == "client_secret_basic"));
        assert!(methods.iter().any(|m| m == "client_secret_post"));
        assert!(doc["scopes_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "data:read"));
        assert!(doc["response_types_supported"].is_array());
    }
}

#[rocket::async_test]
async fn tokens_signed_before_a_rotation_keep_verifying() {
    let dir = temp_dir();
    generate_key(dir.path(), true).unwrap();
    let keys_dir = dir.path().to_path_buf();
    let app = app_with(|c| c.keys_dir = keys_dir).await;
    let seed = seed(&app).await;
    let login = "grant_type=client_credentials";
    let before = token(&app, login, Some(basic("m2m", &seed.m2m_secret))).await;
    let old_kid = app.keys.snapshot().active().kid().to_owned();

    let new_key = rotate(dir.path()).unwrap();
    assert!(app.keys.reload_if_changed().unwrap());
    let after = token(&app, login, Some(basic("m2m", &seed.m2m_secret))).await;

    let (old_header, _) =
        verify_with_jwks(&app, before.body["access_token"].as_str().unwrap()).await;
    let (new_header, _) =
        verify_with_jwks(&app, after.body["access_token"].as_str().unwrap()).await;
    assert_eq!(old_header.kid.as_deref(), Some(old_kid.as_str()));
    assert_eq!(new_header.kid.as_deref(), Some(new_key.kid.as_str()));
    let jwks: Value = app
        .client
        .get("/.well-known/jwks.json")
        .dispatch()
        .await
        .into_json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
}

#[rocket::async_test]
async fn the_root_says_what_this_server_is_as_a_page_or_json() {
    let app = crate::common::app().await;
    let page = app.client.get("/").dispatch().await;
    assert_eq!(page.status(), rocket::http::Status::Ok);
    assert_eq!(page.content_type(), Some(rocket::http::ContentType::HTML));
    assert!(page.headers().get_one("Content-Security-Policy").is_some());
    let html = page.into_string().await.unwrap();
    for link in [
        "/login",
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
    ] {
        assert!(html.contains(&format!("href=\"{link}\"")), "{link}: {html}");
    }
    let json = app
        .client
        .get("/")
        .header(rocket::http::Accept::JSON)
        .dispatch()
        .await;
    assert_eq!(json.status(), rocket::http::Status::Ok);
    let body: serde_json::Value = json.into_json().await.unwrap();
    assert_eq!(body["issuer"], "http://portcullis.test");
    assert_eq!(
        body["authorization_server_metadata"],
        "http://portcullis.test/.well-known/oauth-authorization-server"
    );
    assert_eq!(body["sign_in"], "http://portcullis.test/login");
    // `curl`'s `Accept: */*` prefers nothing: the page.
    let any = app
        .client
        .get("/")
        .header(rocket::http::Header::new("Accept", "*/*"))
        .dispatch()
        .await;
    assert_eq!(any.content_type(), Some(rocket::http::ContentType::HTML));
}
