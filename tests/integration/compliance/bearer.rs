//! Which bearer tokens the guards refuse: tokens outside the header, and signed tokens with
//! the wrong issuer, audience or type.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use mongodb::bson::doc;
use rocket::http::{ContentType, Method, Status};
use serde_json::{json, Value};

use crate::common::{answer, app, bearer, seed, user_tokens, Answer, TestApp};

use super::NO_CREDENTIALS;

/// RFC 6750 §2.3 (and §2.2; RFC 9700 §4.3.2): an access token in the query string or the
/// form body is not a credential. The guards read `Authorization` only, so such a request
/// is answered as one without credentials.
#[rocket::async_test]
async fn access_tokens_in_the_query_or_body_are_not_accepted() {
    let app = app().await;
    let seed = seed(&app).await;
    let (alice, _) = user_tokens(&app, &seed, "alice", None).await;
    let (root, _) = user_tokens(&app, &seed, "root", None).await;
    for (path, token) in [
        ("/api/me", &alice),
        ("/api/data", &alice),
        ("/admin/v1/users", &root),
    ] {
        let query = bearer(
            &app.client,
            Method::Get,
            &format!("{path}?access_token={token}"),
            None,
            None,
        )
        .await;
        assert_eq!(query.status, Status::Unauthorized, "{path}");
        assert_eq!(query.header("WWW-Authenticate"), Some(NO_CREDENTIALS));
        // The same token in the header is good.
        let header = bearer(&app.client, Method::Get, path, Some(token), None).await;
        assert_eq!(header.status, Status::Ok, "{path}: {}", header.body);
    }
    let body = app
        .client
        .post("/api/data")
        .header(ContentType::Form)
        .body(format!("access_token={root}"))
        .dispatch()
        .await;
    let body = answer(body).await;
    assert_eq!(body.status, Status::Unauthorized, "{}", body.body);
    assert_eq!(body.header("WWW-Authenticate"), Some(NO_CREDENTIALS));
}

/// A genuine token's claims, changed by `edit`, signed again with Portcullis's own active key
/// under the header `typ` given: the signature verifies, so only the change is on trial.
fn resign(
    app: &TestApp,
    genuine: &str,
    typ: Option<&str>,
    edit: impl FnOnce(&mut Value),
) -> String {
    let payload = URL_SAFE_NO_PAD
        .decode(genuine.split('.').nth(1).unwrap())
        .unwrap();
    let mut claims: Value = serde_json::from_slice(&payload).unwrap();
    edit(&mut claims);
    let snapshot = app.keys.snapshot();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.typ = typ.map(str::to_owned);
    header.kid = Some(snapshot.active().kid().to_owned());
    jsonwebtoken::encode(&header, &claims, snapshot.active().encoding_key()).unwrap()
}

async fn me_status(app: &TestApp, token: &str) -> Answer {
    bearer(&app.client, Method::Get, "/api/me", Some(token), None).await
}

fn assert_invalid_token(answer: &Answer, case: &str) {
    assert_eq!(
        answer.status,
        Status::Unauthorized,
        "{case}: {}",
        answer.body
    );
    assert_eq!(answer.body["error"], "invalid_token", "{case}");
    assert_eq!(
        answer.body["error_description"], "the access token is invalid",
        "{case}"
    );
}

/// RFC 9068 §4: a token signed with Portcullis's own key is still refused when its `iss` is
/// not the configured issuer or its `aud` does not name this resource server.
#[rocket::async_test]
async fn signed_tokens_for_another_issuer_or_audience_are_refused() {
    let app = app().await;
    let seed = seed(&app).await;
    let (genuine, _) = user_tokens(&app, &seed, "alice", None).await;
    let unchanged = resign(&app, &genuine, Some("at+jwt"), |_| {});
    assert_eq!(me_status(&app, &unchanged).await.status, Status::Ok);

    for (case, claim, value) in [
        ("another issuer", "iss", Some(json!("https://evil.example"))),
        (
            "the issuer with a trailing slash",
            "iss",
            Some(json!("http://portcullis.test/")),
        ),
        ("no issuer", "iss", None),
        ("another audience", "aud", Some(json!(["other-api"]))),
        ("an empty audience", "aud", Some(json!([]))),
        ("no audience", "aud", None),
    ] {
        let forged = resign(&app, &genuine, Some("at+jwt"), |claims| {
            let claims = claims.as_object_mut().unwrap();
            match value {
                Some(value) => claims.insert(claim.to_owned(), value),
                None => claims.remove(claim),
            };
        });
        assert_invalid_token(&me_status(&app, &forged).await, case);
    }
}

/// RFC 9068 §4: `typ` is checked on its own. A token signed with Portcullis's own key, with
/// unchanged claims, is refused when its header says `JWT` or has no `typ`, and accepted with
/// `at+jwt` or `application/at+jwt`.
#[rocket::async_test]
async fn a_validly_signed_token_without_the_at_jwt_type_is_refused() {
    let app = app().await;
    let seed = seed(&app).await;
    let (genuine, _) = user_tokens(&app, &seed, "alice", None).await;
    for typ in ["at+jwt", "application/at+jwt"] {
        let token = resign(&app, &genuine, Some(typ), |_| {});
        let accepted = me_status(&app, &token).await;
        assert_eq!(accepted.status, Status::Ok, "{typ}: {}", accepted.body);
    }
    for typ in [Some("JWT"), None] {
        let token = resign(&app, &genuine, typ, |_| {});
        assert_invalid_token(&me_status(&app, &token).await, &format!("{typ:?}"));
    }
}
