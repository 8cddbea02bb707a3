//! Where client credentials may travel, and how long a code lives.

use mongodb::bson::{doc, DateTime, Document};
use portcullis::secrets::sha256_b64;
use rocket::http::Status;

use crate::code_flow::{exchange, register_clients, VERIFIER};
use crate::common::{app, basic, post_form, seed, sign_in, token};

use super::{database, fresh_code};

/// RFC 6749 §2.3.1: client credentials are never read from the request URI. A confidential
/// client's id and secret, or a public client's bare id, in the query authenticate nobody
/// at the token, revocation or introspection endpoint.
#[rocket::async_test]
async fn client_credentials_in_the_request_uri_are_ignored() {
    let app = app().await;
    let seed = seed(&app).await;
    let confidential = format!("client_id=app&client_secret={}", seed.app_secret);
    for (path, query, form) in [
        (
            "/oauth/token",
            confidential.as_str(),
            "grant_type=client_credentials",
        ),
        (
            "/oauth/token",
            "client_id=mobile",
            "grant_type=password&username=alice&password=alice-password",
        ),
        ("/oauth/revoke", confidential.as_str(), "token=anything"),
        ("/oauth/introspect", confidential.as_str(), "token=anything"),
    ] {
        let refused = post_form(&app.client, &format!("{path}?{query}"), form, None).await;
        assert_eq!(refused.status, Status::Unauthorized, "{path}?{query}");
        assert_eq!(refused.body["error"], "invalid_client", "{path}?{query}");
        assert!(refused.body.get("access_token").is_none());
    }
    // The same credentials in the body authenticate: only their place was wrong.
    let body = format!("grant_type=client_credentials&{confidential}");
    let accepted = token(&app, &body, None).await;
    assert_eq!(accepted.status, Status::Ok, "{}", accepted.body);
}

/// RFC 6749 §2.3: one authentication method per request, so a body `client_id` next to
/// `Authorization: Basic` must name the same client.
#[rocket::async_test]
async fn a_body_client_id_must_name_the_basic_client() {
    let app = app().await;
    let seed = seed(&app).await;
    let grant = "grant_type=client_credentials";
    let other = token(
        &app,
        &format!("{grant}&client_id=m2m"),
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(other.status, Status::BadRequest, "{}", other.body);
    assert_eq!(other.body["error"], "invalid_request");
    assert_eq!(
        other.body["error_description"],
        "client_id does not match the authenticated client"
    );
    let same = token(
        &app,
        &format!("{grant}&client_id=app"),
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(same.status, Status::Ok, "{}", same.body);
}

/// RFC 6749 §4.1.2: a code lives at most 60 seconds, and past its expiry it is
/// `invalid_grant`. The expiry is moved back in the database rather than waited for.
#[rocket::async_test]
async fn an_expired_code_is_invalid_grant() {
    let app = app().await;
    seed(&app).await;
    let secret = register_clients(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let codes = database(&app)
        .await
        .collection::<Document>("authorization_codes");

    let code = fresh_code(&app).await;
    let hash = sha256_b64(&code);
    let stored = codes
        .find_one(doc! { "_id": &hash })
        .await
        .unwrap()
        .unwrap();
    let expires = stored
        .get_datetime("expires_at")
        .unwrap()
        .timestamp_millis();
    let now = DateTime::now().timestamp_millis();
    assert!(
        expires > now && expires <= now + 60_000,
        "the code expires within 60 s of its issue: {}",
        expires - now
    );
    codes
        .update_one(
            doc! { "_id": &hash },
            doc! { "$set": { "expires_at": DateTime::from_millis(now - 1_000) } },
        )
        .await
        .unwrap();
    let late = exchange(&app, &secret, &code, VERIFIER).await;
    assert_eq!(late.status, Status::BadRequest, "{}", late.body);
    assert_eq!(late.body["error"], "invalid_grant");
    assert_eq!(
        late.body["error_description"],
        "authorization code is invalid, expired or already used"
    );
    assert!(late.body.get("access_token").is_none());

    // A code of the same request that is still within its minute redeems.
    let fresh = exchange(&app, &secret, &fresh_code(&app).await, VERIFIER).await;
    assert_eq!(fresh.status, Status::Ok, "{}", fresh.body);
}
