//! `POST /register`: self-registration rules.

use rocket::http::{ContentType, Status};
use serde_json::Value;

use crate::common::{app, app_with};

async fn register(app: &crate::common::TestApp, body: &str) -> (Status, Value) {
    let response = app
        .client
        .post("/register")
        .header(ContentType::JSON)
        .body(body)
        .dispatch()
        .await;
    let status = response.status();
    (status, response.into_json().await.unwrap_or(Value::Null))
}

#[rocket::async_test]
async fn registration_is_off_unless_configured() {
    let app = app().await;
    let (status, body) = register(&app, r#"{"username":"eve","password":"long enough"}"#).await;
    assert_eq!(status, Status::Forbidden);
    assert_eq!(body["error"], "access_denied");
}

#[rocket::async_test]
async fn registration_creates_user_role_accounts_only() {
    let app = app_with(|c| c.self_registration = true).await;
    let (status, body) = register(&app, r#"{"username":"Eve","password":"long enough"}"#).await;
    assert_eq!(status, Status::Created, "{body}");
    assert_eq!(body["role"], "user");
    assert_eq!(body["username"], "Eve");

    let (status, body) = register(&app, r#"{"username":"eve","password":"long enough"}"#).await;
    assert_eq!(status, Status::Conflict, "{body}");
    let (status, body) = register(&app, r#"{"username":"mallory","password":"short"}"#).await;
    assert_eq!(status, Status::BadRequest);
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("8 characters"));
    let (status, _) = register(&app, r#"{"username":"bad name","password":"long enough"}"#).await;
    assert_eq!(status, Status::BadRequest);
    let (status, _) = register(
        &app,
        r#"{"username":"mallory","password":"long enough","role":"admin"}"#,
    )
    .await;
    assert_eq!(
        status,
        Status::BadRequest,
        "a role in the body is refused, never applied"
    );
    let (status, _) = register(&app, "not json").await;
    assert_eq!(status, Status::BadRequest);
    assert!(
        portcullis::services::users::find_user(&app.store, "mallory")
            .await
            .unwrap()
            .is_none()
    );
}

#[rocket::async_test]
async fn look_alike_names_cannot_sit_beside_real_ones() {
    let app = app_with(|c| c.self_registration = true).await;
    let (status, _) = register(&app, r#"{"username":"root","password":"long enough"}"#).await;
    assert_eq!(status, Status::Created);
    // Cyrillic о twice; digit zeroes; a fullwidth r: all look like "root".
    for name in ["r\u{43e}\u{43e}t", "r00t", "\u{ff52}oot"] {
        let body = serde_json::json!({ "username": name, "password": "long enough" }).to_string();
        let (status, answer) = register(&app, &body).await;
        assert_eq!(status, Status::Conflict, "{name}: {answer}");
    }
    // Concurrent registrations of two look-alikes: exactly one account.
    let a =
        serde_json::json!({ "username": "admin\u{456}", "password": "long enough" }).to_string();
    let b = r#"{"username":"admini","password":"long enough"}"#.to_owned();
    let (first, second) = futures_util::join!(register(&app, &a), register(&app, &b));
    let created = [first.0, second.0]
        .iter()
        .filter(|s| **s == Status::Created)
        .count();
    assert_eq!(created, 1, "{first:?} {second:?}");
}
