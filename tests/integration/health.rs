//! Liveness, readiness and the JSON error catchers.

use portcullis::{build_rocket, KeyRing, Store};
use rocket::http::{ContentType, Status};
use rocket::local::asynchronous::Client;
use serde_json::Value;

use crate::common::{app, free_closed_port, test_config, unique_database};

#[rocket::async_test]
async fn healthz_answers_ok() {
    let app = app().await;
    let response = app.client.get("/healthz").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let body: Value = response.into_json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[rocket::async_test]
async fn readyz_is_ready_with_a_database() {
    let app = app().await;
    let response = app.client.get("/readyz").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let body: Value = response.into_json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

#[rocket::async_test]
async fn readyz_is_503_when_the_database_is_unreachable() {
    let mut config = test_config(&unique_database());
    config.mongodb_uri =
        portcullis::config::Secret::new(format!("mongodb://127.0.0.1:{}", free_closed_port()));
    config.database_timeout_ms = 300;
    let store = Store::from_config(&config).await.unwrap();
    let keys = KeyRing::load(&config.keys_dir).unwrap();
    let client = Client::tracked(build_rocket(config, store, keys))
        .await
        .unwrap();

    let response = client.get("/readyz").dispatch().await;
    assert_eq!(response.status(), Status::ServiceUnavailable);
    assert_eq!(response.content_type(), Some(ContentType::JSON));
    let body: Value = response.into_json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["reason"], "database unreachable");
    // Liveness does not depend on the database.
    assert_eq!(client.get("/healthz").dispatch().await.status(), Status::Ok);
}

#[rocket::async_test]
async fn unknown_routes_answer_json_without_internals() {
    let app = app().await;
    let response = app.client.get("/no/such/thing").dispatch().await;
    assert_eq!(response.status(), Status::NotFound);
    assert_eq!(response.content_type(), Some(ContentType::JSON));
    let body: Value = response.into_json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
}
