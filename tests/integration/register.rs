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
