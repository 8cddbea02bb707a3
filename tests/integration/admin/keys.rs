//! Signing keys through the admin API.

use rocket::http::{Method, Status};
use serde_json::Value;

use super::{admin_token, call};
use crate::common::{seed, user_tokens};

#[rocket::async_test]
async fn keys_are_listed_generated_and_rotated() {
    let dir = crate::common::temp_dir();
    for entry in std::fs::read_dir(crate::common::shared_keys_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let keys_dir = dir.path().to_path_buf();
    let app = crate::common::app_with(|config| config.keys_dir = keys_dir).await;
    let seed = seed(&app).await;
    let admin = admin_token(&app, &seed).await;

    let listed = call(&app, &admin, Method::Get, "/admin/v1/keys", None).await;
    let first = listed.body["active"].as_str().unwrap().to_owned();
    assert_eq!(
        listed.body["keys"].as_array().unwrap().len(),
        1,
        "{}",
        listed.body
    );

    let generated = call(&app, &admin, Method::Post, "/admin/v1/keys", None).await;
    assert_eq!(generated.status, Status::Created, "{}", generated.body);
    let standby = generated.body["kid"].as_str().unwrap().to_owned();
    assert_eq!(
        generated.body["active"], first,
        "a generated key does not sign yet"
    );
    let jwks = app.client.get("/.well-known/jwks.json").dispatch().await;
    let jwks: Value = jwks.into_json().await.unwrap();
    assert!(jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == standby));

    let rotated = call(&app, &admin, Method::Post, "/admin/v1/keys/rotate", None).await;
    assert_eq!(rotated.status, Status::Ok, "{}", rotated.body);
    let signing = rotated.body["kid"].as_str().unwrap().to_owned();
    assert_eq!(rotated.body["active"], signing);
    assert_eq!(rotated.body["keys"].as_array().unwrap().len(), 3);
    let (fresh, _) = user_tokens(&app, &seed, "alice", None).await;
    let header = fresh.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(
        header["kid"], signing,
        "new tokens are signed with the new key"
    );
    // Tokens signed before the rotation still verify.
    assert_eq!(
        call(&app, &admin, Method::Get, "/admin/v1/keys", None)
            .await
            .status,
        Status::Ok
    );

    let (alice, _) = user_tokens(&app, &seed, "alice", None).await;
    let refused = call(&app, &alice, Method::Post, "/admin/v1/keys/rotate", None).await;
    assert_eq!(refused.status, Status::Forbidden);
    let audit = call(
        &app,
        &admin,
        Method::Get,
        "/admin/v1/audit?kind=key_activated",
        None,
    )
    .await;
    let events = audit.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{}", audit.body);
    assert_eq!(events[0]["actor"], "root");
    let reason = events[0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("kid {signing}, signs from ")),
        "{reason}"
    );

    // The standby key takes over; the key that signs cannot be removed, the first one can.
    let path = format!("/admin/v1/keys/{standby}/activate");
    let activated = call(&app, &admin, Method::Post, &path, None).await;
    assert_eq!(activated.status, Status::Ok, "{}", activated.body);
    assert_eq!(activated.body["active"], standby);
    let signing_now = format!("/admin/v1/keys/{standby}");
    let refused = call(&app, &admin, Method::Delete, &signing_now, None).await;
    assert_eq!(refused.status, Status::Conflict, "{}", refused.body);
    // The administrator's token was signed by the first key: removing it retires the token.
    let admin = admin_token(&app, &seed).await;
    let removed = call(
        &app,
        &admin,
        Method::Delete,
        &format!("/admin/v1/keys/{first}"),
        None,
    )
    .await;
    assert_eq!(removed.status, Status::NoContent, "{}", removed.body);
    let listed = call(&app, &admin, Method::Get, "/admin/v1/keys", None).await;
    assert_eq!(listed.body["store"], "folder");
    let kids: Vec<&str> = listed.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(!kids.contains(&first.as_str()), "{}", listed.body);
    let unknown = call(
        &app,
        &admin,
        Method::Delete,
        "/admin/v1/keys/no-such-kid",
        None,
    )
    .await;
    assert_eq!(unknown.status, Status::NotFound, "{}", unknown.body);
    let audit = call(
        &app,
        &admin,
        Method::Get,
        "/admin/v1/audit?kind=key_removed",
        None,
    )
    .await;
    assert_eq!(audit.body["events"][0]["reason"], format!("kid {first}"));
}
