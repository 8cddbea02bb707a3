//! The audit trail through the admin API.

use rocket::http::{Method, Status};
use serde_json::{json, Value};

use super::{admin_token, call, error_of};
use crate::common::{app, seed, user_tokens};

#[rocket::async_test]
async fn the_audit_trail_is_queried_newest_first_in_pages() {
    let app = app().await;
    let seed = seed(&app).await;
    let admin = admin_token(&app, &seed).await;
    for _ in 0..3 {
        user_tokens(&app, &seed, "alice", None).await;
    }
    let alice_id = seed.alice.id.to_hex();
    let first = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/audit?user_id={alice_id}&kind=token_issued&limit=2"),
        None,
    )
    .await;
    assert_eq!(first.status, Status::Ok, "{}", first.body);
    let events = first.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    let at = |event: &Value| {
        chrono::DateTime::parse_from_rfc3339(event["at"].as_str().unwrap()).unwrap()
    };
    assert!(
        at(&events[0]) >= at(&events[1]),
        "newest first: {}",
        first.body
    );
    let next = first.body["next"].as_str().unwrap();
    let second = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/audit?user_id={alice_id}&kind=token_issued&limit=2&before={next}"),
        None,
    )
    .await;
    let rest = second.body["events"].as_array().unwrap();
    assert_eq!(rest.len(), 1, "{}", second.body);
    assert_ne!(rest[0]["id"], events[1]["id"]);

    let future = call(
        &app,
        &admin,
        Method::Get,
        "/admin/v1/audit?since=2999-01-01T00:00:00Z",
        None,
    )
    .await;
    assert_eq!(future.body["events"], json!([]));
    let past = call(
        &app,
        &admin,
        Method::Get,
        "/admin/v1/audit?until=2000-01-01T00:00:00Z",
        None,
    )
    .await;
    assert_eq!(past.body["events"], json!([]));
    for bad in [
        "kind=nonsense",
        "since=yesterday",
        "before=xyz",
        "limit=101",
    ] {
        let answer = call(
            &app,
            &admin,
            Method::Get,
            &format!("/admin/v1/audit?{bad}"),
            None,
        )
        .await;
        assert_eq!(
            (answer.status, error_of(&answer)),
            (Status::BadRequest, "invalid_request"),
            "{bad}"
        );
    }
}
