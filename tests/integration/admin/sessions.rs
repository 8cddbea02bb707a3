//! A user's sessions, refresh families, lock and tokens through the admin API.

use rocket::http::{Method, Status};
use serde_json::json;

use super::{admin_token, call};
use crate::common::{app, basic, seed, token, user_tokens};

#[rocket::async_test]
async fn sessions_and_lockouts_are_managed() {
    let app = app().await;
    let seed = seed(&app).await;
    let admin = admin_token(&app, &seed).await;
    let alice_id = seed.alice.id.to_hex();
    let (access, refresh) = user_tokens(&app, &seed, "alice", None).await;

    let listed = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/users/{alice_id}/sessions"),
        None,
    )
    .await;
    let families = listed.body["refresh_token_families"].as_array().unwrap();
    assert_eq!(families.len(), 1, "{}", listed.body);
    assert_eq!(families[0]["client_id"], "app");
    assert!(
        families[0].get("hash").is_none(),
        "no token material is shown"
    );

    let ended = call(
        &app,
        &admin,
        Method::Delete,
        &format!("/admin/v1/users/{alice_id}/sessions"),
        None,
    )
    .await;
    assert_eq!(
        ended.body["refresh_token_families_revoked"], 1,
        "{}",
        ended.body
    );
    let refreshed = token(
        &app,
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(refreshed.body["error"], "invalid_grant");
    crate::common::wall_clock_advance(1_200).await;
    assert_eq!(
        call(&app, &access, Method::Get, "/api/me", None)
            .await
            .status,
        Status::Unauthorized
    );
    let listed = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/users/{alice_id}/sessions"),
        None,
    )
    .await;
    assert_eq!(listed.body["refresh_token_families"], json!([]));

    // Lock alice out with wrong passwords, then unlock her.
    let wrong = "grant_type=password&username=alice&password=wrong-password";
    for _ in 0..app.config.lockout.threshold {
        token(&app, wrong, Some(basic("app", &seed.app_secret))).await;
    }
    let got = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/users/{alice_id}"),
        None,
    )
    .await;
    assert!(got.body["locked_until"].is_string(), "{}", got.body);
    let unlocked = call(
        &app,
        &admin,
        Method::Post,
        &format!("/admin/v1/users/{alice_id}/unlock"),
        None,
    )
    .await;
    assert_eq!(unlocked.body["unlocked"], true);
    let again = call(
        &app,
        &admin,
        Method::Post,
        &format!("/admin/v1/users/{alice_id}/unlock"),
        None,
    )
    .await;
    assert_eq!(again.body["unlocked"], false);
    user_tokens(&app, &seed, "alice", None).await;
}

#[rocket::async_test]
async fn password_changes_and_disabling_reach_tokens_outside_refresh_families() {
    let app = app().await;
    let seed = seed(&app).await;
    let admin = admin_token(&app, &seed).await;
    let alice_id = seed.alice.id.to_hex();
    // `noref` issues no refresh tokens, so its access tokens belong to no family.
    let login = |password: &str| format!("grant_type=password&username=alice&password={password}");
    let noref = || Some(basic("noref", &seed.noref_secret));
    let old = token(&app, &login("alice-password"), noref()).await;
    let old = old.body["access_token"].as_str().unwrap().to_owned();
    crate::common::wall_clock_advance(1_100).await;

    let reset = call(
        &app,
        &admin,
        Method::Put,
        &format!("/admin/v1/users/{alice_id}/password"),
        Some(json!({ "password": "another password" })),
    )
    .await;
    assert_eq!(reset.status, Status::NoContent);
    // A sign-in right after the change keeps its token; the earlier one is refused.
    let fresh = token(&app, &login("another+password"), noref()).await;
    let fresh = fresh.body["access_token"].as_str().unwrap().to_owned();
    crate::common::wall_clock_advance(1_200).await;
    assert_eq!(
        call(&app, &old, Method::Get, "/api/me", None).await.status,
        Status::Unauthorized
    );
    assert_eq!(
        call(&app, &fresh, Method::Get, "/api/me", None)
            .await
            .status,
        Status::Ok
    );

    let disabled = call(
        &app,
        &admin,
        Method::Patch,
        &format!("/admin/v1/users/{alice_id}"),
        Some(json!({ "disabled": true })),
    )
    .await;
    assert_eq!(disabled.status, Status::Ok);
    crate::common::wall_clock_advance(1_200).await;
    let me = call(&app, &fresh, Method::Get, "/api/me", None).await;
    assert_eq!(me.status, Status::Unauthorized, "{}", me.body);
}
