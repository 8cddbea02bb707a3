//! The admin REST API (`/admin/v1`): who may call it, every operation on users, clients,
//! sessions and the audit trail, the errors on bad input, and that changes revoke what they
//! should and are audited under the administrator's name.

use rocket::http::{Method, Status};
use serde_json::Value;

mod audit;
mod clients;
mod keys;
mod sessions;
mod users;

use crate::common::{app, basic, bearer, seed, token, user_tokens, Answer, Seed, TestApp};

/// An admin token (role `admin`, scope `admin`) for `root`.
pub async fn admin_token(app: &TestApp, seed: &Seed) -> String {
    user_tokens(app, seed, "root", None).await.0
}

pub async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let body = body.map(|b| b.to_string());
    bearer(&app.client, method, path, Some(token), body.as_deref()).await
}

pub fn error_of(answer: &Answer) -> &str {
    answer.body["error"].as_str().unwrap_or_default()
}

#[rocket::async_test]
async fn only_admins_with_the_admin_scope_get_in() {
    let app = app().await;
    let seed = seed(&app).await;
    let none = bearer(&app.client, Method::Get, "/admin/v1/users", None, None).await;
    assert_eq!(none.status, Status::Unauthorized);
    assert!(none
        .header("WWW-Authenticate")
        .unwrap()
        .starts_with("Bearer"));

    let (alice, _) = user_tokens(&app, &seed, "alice", None).await;
    let refused = call(&app, &alice, Method::Get, "/admin/v1/users", None).await;
    assert_eq!(refused.status, Status::Forbidden, "{}", refused.body);
    assert!(refused
        .header("WWW-Authenticate")
        .unwrap()
        .contains("insufficient"));

    let (narrow, _) = user_tokens(&app, &seed, "root", Some("profile")).await;
    let refused = call(&app, &narrow, Method::Get, "/admin/v1/users", None).await;
    assert_eq!(refused.status, Status::Forbidden);
    assert!(refused
        .header("WWW-Authenticate")
        .unwrap()
        .contains("error=\"insufficient_scope\""));

    let m2m = token(
        &app,
        "grant_type=client_credentials",
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    let machine = m2m.body["access_token"].as_str().unwrap();
    let refused = call(&app, machine, Method::Get, "/admin/v1/users", None).await;
    assert_eq!(
        refused.status,
        Status::Forbidden,
        "a client token is no administrator"
    );

    let admin = admin_token(&app, &seed).await;
    let ok = call(&app, &admin, Method::Get, "/admin/v1/users", None).await;
    assert_eq!(ok.status, Status::Ok, "{}", ok.body);
}
