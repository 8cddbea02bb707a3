//! Accounts through the admin API: creation, search, changes, deletion.

use rocket::http::{Method, Status};
use serde_json::{json, Value};

use super::{admin_token, call, error_of};
use crate::common::{app, app_with, basic, seed, token, user_tokens};

#[rocket::async_test]
async fn users_are_created_listed_changed_and_deleted() {
    let app = app().await;
    let seed = seed(&app).await;
    let admin = admin_token(&app, &seed).await;

    let created = call(
        &app,
        &admin,
        Method::Post,
        "/admin/v1/users",
        Some(json!({ "username": "Bob", "password": "bob-password", "role": "user" })),
    )
    .await;
    assert_eq!(created.status, Status::Created, "{}", created.body);
    assert_eq!(created.body["username"], "Bob");
    let bob_id = created.body["id"].as_str().unwrap().to_owned();

    for (body, status, error) in [
        (
            json!({ "username": "bob", "password": "bob-password", "role": "user" }),
            Status::Conflict,
            "conflict",
        ),
        (
            json!({ "username": "carol", "password": "bob-password", "role": "emperor" }),
            Status::BadRequest,
            "invalid_request",
        ),
        (
            json!({ "username": "carol", "password": "short", "role": "user" }),
            Status::BadRequest,
            "invalid_request",
        ),
        (
            json!({ "username": "carol", "password": "long enough", "role": "user", "admin": true }),
            Status::BadRequest,
            "invalid_request",
        ),
        (
            json!({ "username": "carol" }),
            Status::BadRequest,
            "invalid_request",
        ),
    ] {
        let answer = call(
            &app,
            &admin,
            Method::Post,
            "/admin/v1/users",
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (answer.status, error_of(&answer)),
            (status, error),
            "{body} → {}",
            answer.body
        );
    }
    let not_json = app
        .client
        .post("/admin/v1/users")
        .header(rocket::http::Header::new(
            "Authorization",
            format!("Bearer {admin}"),
        ))
        .header(rocket::http::ContentType::JSON)
        .body("{not json")
        .dispatch()
        .await;
    assert_eq!(not_json.status(), Status::BadRequest);
    let untyped = app
        .client
        .post("/admin/v1/users")
        .header(rocket::http::Header::new(
            "Authorization",
            format!("Bearer {admin}"),
        ))
        .body(r#"{"username":"carol","password":"long enough","role":"user"}"#)
        .dispatch()
        .await;
    assert_eq!(untyped.status(), Status::UnsupportedMediaType);

    // Listing: username order, prefix search (case-insensitive), pages.
    for name in ["bobby", "bobcat", "zed"] {
        let answer = call(
            &app,
            &admin,
            Method::Post,
            "/admin/v1/users",
            Some(json!({ "username": name, "password": "long enough", "role": "user" })),
        )
        .await;
        assert_eq!(answer.status, Status::Created);
    }
    let page = call(
        &app,
        &admin,
        Method::Get,
        "/admin/v1/users?prefix=BOB&limit=2",
        None,
    )
    .await;
    let names: Vec<&str> = page.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bob", "bobby"]);
    let next = page.body["next"].as_str().unwrap();
    let rest = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/users?prefix=bob&limit=2&after={next}"),
        None,
    )
    .await;
    let names: Vec<&str> = rest.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bobcat"]);
    assert_eq!(rest.body["next"], Value::Null);
    let bad = call(&app, &admin, Method::Get, "/admin/v1/users?limit=0", None).await;
    assert_eq!(bad.status, Status::BadRequest);
    let bad = call(
        &app,
        &admin,
        Method::Get,
        "/admin/v1/users?prefix=a%20b",
        None,
    )
    .await;
    assert_eq!(bad.status, Status::BadRequest);

    // One user; unknown ids are 404.
    let got = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/users/{bob_id}"),
        None,
    )
    .await;
    assert_eq!(
        (got.body["role"].as_str(), got.body["locked_until"].clone()),
        (Some("user"), Value::Null)
    );
    for missing in ["000000000000000000000000", "not-an-id"] {
        let answer = call(
            &app,
            &admin,
            Method::Get,
            &format!("/admin/v1/users/{missing}"),
            None,
        )
        .await;
        assert_eq!(
            (answer.status, error_of(&answer)),
            (Status::NotFound, "not_found")
        );
    }

    // Role change and disabling; disabling revokes what the user holds.
    let bob_login = "grant_type=password&username=bob&password=bob-password";
    let bob = token(&app, bob_login, Some(basic("app", &seed.app_secret))).await;
    let bob_access = bob.body["access_token"].as_str().unwrap().to_owned();
    let changed = call(
        &app,
        &admin,
        Method::Patch,
        &format!("/admin/v1/users/{bob_id}"),
        Some(json!({ "role": "admin" })),
    )
    .await;
    assert_eq!(changed.body["role"], "admin", "{}", changed.body);
    let bad_role = call(
        &app,
        &admin,
        Method::Patch,
        &format!("/admin/v1/users/{bob_id}"),
        Some(json!({ "role": "emperor" })),
    )
    .await;
    assert_eq!(bad_role.status, Status::BadRequest);
    let nothing = call(
        &app,
        &admin,
        Method::Patch,
        &format!("/admin/v1/users/{bob_id}"),
        Some(json!({})),
    )
    .await;
    assert_eq!(nothing.status, Status::BadRequest);
    let disabled = call(
        &app,
        &admin,
        Method::Patch,
        &format!("/admin/v1/users/{bob_id}"),
        Some(json!({ "disabled": true })),
    )
    .await;
    assert_eq!(disabled.body["disabled"], true);
    crate::common::wall_clock_advance(1_200).await;
    let me = call(&app, &bob_access, Method::Get, "/api/me", None).await;
    assert_eq!(
        me.status,
        Status::Unauthorized,
        "a disabled user's token is revoked"
    );
    let refused = token(&app, bob_login, Some(basic("app", &seed.app_secret))).await;
    assert_eq!(refused.status, Status::BadRequest);
    call(
        &app,
        &admin,
        Method::Patch,
        &format!("/admin/v1/users/{bob_id}"),
        Some(json!({ "disabled": false })),
    )
    .await;

    // Password reset: the old password stops working, the new one works.
    let reset = call(
        &app,
        &admin,
        Method::Put,
        &format!("/admin/v1/users/{bob_id}/password"),
        Some(json!({ "password": "a new password" })),
    )
    .await;
    assert_eq!(reset.status, Status::NoContent, "{}", reset.body);
    assert_eq!(
        token(&app, bob_login, Some(basic("app", &seed.app_secret)))
            .await
            .status,
        Status::BadRequest
    );
    let renewed = token(
        &app,
        "grant_type=password&username=bob&password=a+new+password",
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(renewed.status, Status::Ok);
    let weak = call(
        &app,
        &admin,
        Method::Put,
        &format!("/admin/v1/users/{bob_id}/password"),
        Some(json!({ "password": "x" })),
    )
    .await;
    assert_eq!(weak.status, Status::BadRequest);

    // An administrator cannot lock themselves out.
    let root_id = seed.root.id.to_hex();
    for (method, path, body) in [
        (Method::Delete, format!("/admin/v1/users/{root_id}"), None),
        (
            Method::Patch,
            format!("/admin/v1/users/{root_id}"),
            Some(json!({ "disabled": true })),
        ),
        (
            Method::Patch,
            format!("/admin/v1/users/{root_id}"),
            Some(json!({ "role": "user" })),
        ),
    ] {
        let answer = call(&app, &admin, method, &path, body).await;
        assert_eq!(
            (answer.status, error_of(&answer)),
            (Status::Conflict, "conflict"),
            "{path}"
        );
    }

    // Deleting: the account is gone, and so is every token it held — including one from a
    // client without refresh tokens, which belongs to no refresh family.
    let (alice_access, alice_refresh) = user_tokens(&app, &seed, "alice", None).await;
    let familyless = token(
        &app,
        "grant_type=password&username=alice&password=alice-password",
        Some(basic("noref", &seed.noref_secret)),
    )
    .await;
    let familyless = familyless.body["access_token"].as_str().unwrap().to_owned();
    let alice_id = seed.alice.id.to_hex();
    let deleted = call(
        &app,
        &admin,
        Method::Delete,
        &format!("/admin/v1/users/{alice_id}"),
        None,
    )
    .await;
    assert_eq!(deleted.status, Status::NoContent, "{}", deleted.body);
    let gone = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/users/{alice_id}"),
        None,
    )
    .await;
    assert_eq!(gone.status, Status::NotFound);
    crate::common::wall_clock_advance(1_200).await;
    for access in [&alice_access, &familyless] {
        let me = call(&app, access, Method::Get, "/api/me", None).await;
        assert_eq!(me.status, Status::Unauthorized, "{}", me.body);
    }
    let refreshed = token(
        &app,
        &format!("grant_type=refresh_token&refresh_token={alice_refresh}"),
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(refreshed.body["error"], "invalid_grant");
    let again = call(
        &app,
        &admin,
        Method::Delete,
        &format!("/admin/v1/users/{alice_id}"),
        None,
    )
    .await;
    assert_eq!(again.status, Status::NotFound);

    // Every change is audited under the administrator's name.
    let audit = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/audit?user_id={alice_id}&kind=user_deleted"),
        None,
    )
    .await;
    let events = audit.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{}", audit.body);
    assert_eq!(events[0]["actor"], "root");
    assert_eq!(events[0]["actor_id"], root_id);
}

#[rocket::async_test]
async fn a_demoted_administrator_loses_admin_at_once() {
    let app = app_with(|c| c.revocation_poll_ms = 3_600_000).await;
    let seed = seed(&app).await;
    let admin = admin_token(&app, &seed).await;
    let created = call(
        &app,
        &admin,
        Method::Post,
        "/admin/v1/users",
        Some(json!({ "username": "bob", "password": "bob-password", "role": "admin" })),
    )
    .await;
    let bob_id = created.body["id"].as_str().unwrap().to_owned();
    crate::common::wall_clock_advance(1_000).await;
    let bob = token(
        &app,
        "grant_type=password&username=bob&password=bob-password&scope=admin%20profile",
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    let bob_access = bob.body["access_token"].as_str().unwrap().to_owned();
    let bob_refresh = bob.body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        call(&app, &bob_access, Method::Get, "/admin/v1/users", None)
            .await
            .status,
        Status::Ok
    );
    crate::common::wall_clock_advance(1_000).await;
    let demoted = call(
        &app,
        &admin,
        Method::Patch,
        &format!("/admin/v1/users/{bob_id}"),
        Some(json!({ "role": "user" })),
    )
    .await;
    assert_eq!(demoted.body["role"], "user");

    // The token that carries the old role is refused on this instance at once.
    let attempt = call(
        &app,
        &bob_access,
        Method::Post,
        "/admin/v1/users",
        Some(json!({ "username": "mallory", "password": "long enough", "role": "admin" })),
    )
    .await;
    assert_eq!(attempt.status, Status::Unauthorized, "{}", attempt.body);
    // The refresh token lives on and brings the new role, without admin.
    let refreshed = token(
        &app,
        &format!("grant_type=refresh_token&refresh_token={bob_refresh}"),
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(refreshed.status, Status::Ok, "{}", refreshed.body);
    assert!(!refreshed.body["scope"].as_str().unwrap().contains("admin"));
    let access = refreshed.body["access_token"].as_str().unwrap();
    let me = call(&app, access, Method::Get, "/api/me", None).await;
    assert_eq!(me.body["role"], "user");
    let admin_api = call(&app, access, Method::Get, "/admin/v1/users", None).await;
    assert_eq!(admin_api.status, Status::Forbidden);
}

#[rocket::async_test]
async fn the_last_administrator_cannot_be_removed_even_by_two_at_once() {
    let app = app().await;
    let seed = seed(&app).await;
    let root = admin_token(&app, &seed).await;
    let created = call(
        &app,
        &root,
        Method::Post,
        "/admin/v1/users",
        Some(json!({ "username": "bob", "password": "bob-password", "role": "admin" })),
    )
    .await;
    let bob_id = created.body["id"].as_str().unwrap().to_owned();
    let root_id = seed.root.id.to_hex();
    let bob = token(
        &app,
        "grant_type=password&username=bob&password=bob-password&scope=admin",
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    let bob = bob.body["access_token"].as_str().unwrap().to_owned();

    // Two administrators delete each other at the same moment: one of them stays.
    let (bob_path, root_path) = (
        format!("/admin/v1/users/{bob_id}"),
        format!("/admin/v1/users/{root_id}"),
    );
    let (first, second) = futures_util::join!(
        call(&app, &root, Method::Delete, &bob_path, None),
        call(&app, &bob, Method::Delete, &root_path, None),
    );
    let statuses = [first.status, second.status];
    assert!(statuses.contains(&Status::NoContent), "{statuses:?}");
    // The other is refused: 409 when both got past authentication, 401 when the first deletion
    // had already revoked the second caller's token.
    let loser = if first.status == Status::NoContent {
        &second
    } else {
        &first
    };
    match loser.status {
        Status::Conflict => assert_eq!(error_of(loser), "conflict"),
        other => assert_eq!(other, Status::Unauthorized, "{}", loser.body),
    }
    let admins = app
        .store
        .count_enabled_with_role_except("admin", portcullis::ids::UserId::new())
        .await
        .unwrap();
    assert_eq!(admins, 1);

    // The one left cannot be disabled, demoted or deleted from the command line either.
    let last = if first.status == Status::NoContent {
        "root"
    } else {
        "bob"
    };
    let actor = portcullis::services::Actor::CommandLine;
    let disabled =
        portcullis::services::users::set_disabled(&app.store, &app.revocations, &actor, last, true)
            .await;
    assert!(
        matches!(disabled, Err(portcullis::error::Error::Refused(_))),
        "{disabled:?}"
    );
    let demoted = portcullis::services::users::set_role(
        &app.store,
        &app.config,
        &app.revocations,
        &actor,
        last,
        "user",
    )
    .await;
    assert!(
        matches!(demoted, Err(portcullis::error::Error::Refused(_))),
        "{demoted:?}"
    );
    let user = portcullis::services::users::find_user(&app.store, last)
        .await
        .unwrap()
        .unwrap();
    let deleted =
        portcullis::services::users::delete_user(&app.store, &app.revocations, &actor, &user).await;
    assert!(
        matches!(deleted, Err(portcullis::error::Error::Refused(_))),
        "{deleted:?}"
    );
    // With a second administrator the first may go.
    portcullis::services::users::set_role(
        &app.store,
        &app.config,
        &app.revocations,
        &actor,
        "alice",
        "admin",
    )
    .await
    .unwrap();
    portcullis::services::users::set_disabled(&app.store, &app.revocations, &actor, last, true)
        .await
        .unwrap();
}
