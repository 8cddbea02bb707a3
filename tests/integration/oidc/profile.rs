//! Profile data (the standard claims of OIDC Core §5.1) set through the admin API,
//! registration and the account's own `PATCH /api/me/profile`: checked, unique email addresses
//! compared case-insensitively, and nothing stored when a change is refused.

use futures_util::future::join_all;
use rocket::http::{Method, Status};
use serde_json::json;

use super::{register_rp, RP};
use crate::admin::{admin_token, call, error_of};
use crate::common::{app, app_with, basic, bearer, seed, token};

#[rocket::async_test]
async fn administrators_set_profiles_and_addresses_stay_unique() {
    let app = app().await;
    let seed = seed(&app).await;
    let admin = admin_token(&app, &seed).await;

    let created = call(
        &app,
        &admin,
        Method::Post,
        "/admin/v1/users",
        Some(json!({
            "username": "bob", "password": "bob-password", "role": "user",
            "profile": { "email": "Bob@Example.org", "email_verified": true, "name": "Bob" },
        })),
    )
    .await;
    assert_eq!(created.status, Status::Created, "{}", created.body);
    assert_eq!(created.body["profile"]["email"], "Bob@Example.org");
    assert_eq!(created.body["profile"]["email_verified"], true);
    let alice = format!("/admin/v1/users/{}", seed.alice.id.to_hex());

    // The same address in another case belongs to bob already.
    let taken = json!({ "profile": { "email": "bob@example.ORG" } });
    let conflict = call(&app, &admin, Method::Patch, &alice, Some(taken)).await;
    assert_eq!(conflict.status, Status::Conflict, "{}", conflict.body);
    assert_eq!(error_of(&conflict), "conflict");
    let same = json!({ "username": "carol", "password": "carol-password", "role": "user",
                       "profile": { "email": "BOB@example.org" } });
    let conflict = call(&app, &admin, Method::Post, "/admin/v1/users", Some(same)).await;
    assert_eq!(conflict.status, Status::Conflict, "{}", conflict.body);

    // Bad values: 400 naming the field, and nothing changed.
    for (profile, field) in [
        (json!({ "email": "not an address" }), "email"),
        (json!({ "email_verified": true }), "email_verified"),
        (json!({ "locale": "english please" }), "locale"),
        (json!({ "zoneinfo": "Mars/Olympus Mons" }), "zoneinfo"),
        (json!({ "name": "x".repeat(201) }), "name"),
        (json!({ "nickname": "al" }), ""),
    ] {
        let body = json!({ "profile": profile, "role": "admin" });
        let refused = call(&app, &admin, Method::Patch, &alice, Some(body)).await;
        assert_eq!(
            refused.status,
            Status::BadRequest,
            "{profile}: {}",
            refused.body
        );
        assert_eq!(error_of(&refused), "invalid_request");
        let description = refused.body["error_description"].as_str().unwrap();
        assert!(description.contains(field), "{description}");
    }
    let shown = call(&app, &admin, Method::Get, &alice, None).await;
    assert_eq!(
        shown.body["role"], "user",
        "a refused profile left the role alone"
    );
    assert_eq!(shown.body["profile"], json!({ "email_verified": false }));

    // A valid change, then clearing with null; the new address is unverified.
    let change = json!({ "profile": { "email": "alice@example.org", "given_name": "Alice" } });
    let changed = call(&app, &admin, Method::Patch, &alice, Some(change)).await;
    assert_eq!(changed.status, Status::Ok, "{}", changed.body);
    assert_eq!(
        changed.body["profile"],
        json!({ "email": "alice@example.org", "email_verified": false, "given_name": "Alice" })
    );
    let clear = json!({ "profile": { "given_name": null, "email": "" } });
    let cleared = call(&app, &admin, Method::Patch, &alice, Some(clear)).await;
    assert_eq!(cleared.body["profile"], json!({ "email_verified": false }));
    // Once cleared, the address is free for another account.
    let free = json!({ "profile": { "email": "alice@example.org" } });
    let bob = format!("/admin/v1/users/{}", created.body["id"].as_str().unwrap());
    let moved = call(&app, &admin, Method::Patch, &bob, Some(free.clone())).await;
    assert_eq!(moved.status, Status::Ok, "{}", moved.body);
    let back = call(&app, &admin, Method::Patch, &alice, Some(free)).await;
    assert_eq!(back.status, Status::Conflict);
}

#[rocket::async_test]
async fn of_many_accounts_claiming_one_address_at_once_exactly_one_gets_it() {
    let app = app().await;
    let seed = seed(&app).await;
    let admin = admin_token(&app, &seed).await;
    let mut paths = Vec::new();
    for n in 0..8 {
        let new =
            json!({ "username": format!("user{n}"), "password": "some-password", "role": "user" });
        let created = call(&app, &admin, Method::Post, "/admin/v1/users", Some(new)).await;
        paths.push(format!(
            "/admin/v1/users/{}",
            created.body["id"].as_str().unwrap()
        ));
    }
    for round in 0..3 {
        let address = format!("shared{round}@example.org");
        let answers = join_all(paths.iter().map(|path| {
            let body = json!({ "profile": { "email": &address } });
            call(&app, &admin, Method::Patch, path, Some(body))
        }))
        .await;
        let won = answers.iter().filter(|a| a.status == Status::Ok).count();
        let lost = answers
            .iter()
            .filter(|a| a.status == Status::Conflict)
            .count();
        assert_eq!((won, lost), (1, 7), "round {round}");
    }
}

#[rocket::async_test]
async fn an_account_changes_its_own_profile_but_cannot_verify_it() {
    let app = app().await;
    seed(&app).await;
    let secret = register_rp(&app).await;
    let form =
        "grant_type=password&username=alice&password=alice-password&scope=openid%20profile:write";
    let tokens = token(&app, form, Some(basic(RP, &secret))).await;
    let access = tokens.body["access_token"].as_str().unwrap().to_owned();
    let patch = |body: serde_json::Value, token: Option<String>| {
        let client = &app.client;
        async move {
            let body = body.to_string();
            bearer(
                client,
                Method::Patch,
                "/api/me/profile",
                token.as_deref(),
                Some(&body),
            )
            .await
        }
    };

    let changed = patch(
        json!({ "name": "Alice L.", "locale": "fr_CA" }),
        Some(access.clone()),
    )
    .await;
    assert_eq!(changed.status, Status::Ok, "{}", changed.body);
    assert_eq!(changed.body["profile"]["name"], "Alice L.");
    assert_eq!(changed.body["profile"]["locale"], "fr-CA");
    assert!(changed.body["updated_at"].is_string());

    let verify = patch(
        json!({ "email": "a@example.org", "email_verified": true }),
        Some(access.clone()),
    )
    .await;
    assert_eq!(verify.status, Status::BadRequest, "{}", verify.body);
    assert_eq!(verify.body["error"], "invalid_request");
    let empty = patch(json!({}), Some(access.clone())).await;
    assert_eq!(empty.status, Status::BadRequest);

    // Without `profile:write`: 403 insufficient_scope.
    let form = "grant_type=password&username=alice&password=alice-password&scope=openid%20profile";
    let reader = token(&app, form, Some(basic(RP, &secret))).await;
    let reader = reader.body["access_token"].as_str().unwrap().to_owned();
    let refused = patch(json!({ "name": "Mallory" }), Some(reader)).await;
    assert_eq!(refused.status, Status::Forbidden);
    assert!(refused
        .header("WWW-Authenticate")
        .unwrap()
        .contains("profile:write"));
}

#[rocket::async_test]
async fn registration_takes_an_unverified_address() {
    let app = app_with(|config| config.self_registration = true).await;
    let register = |body: serde_json::Value| {
        let client = &app.client;
        async move {
            let request = client
                .post("/register")
                .header(rocket::http::ContentType::JSON)
                .body(body.to_string());
            crate::common::answer(request.dispatch().await).await
        }
    };
    let opened = register(json!({ "username": "dana", "password": "dana-password",
                                  "profile": { "email": "dana@example.org" } }))
    .await;
    assert_eq!(opened.status, Status::Created, "{}", opened.body);
    let dana = app.store.find_user_by_key("dana").await.unwrap().unwrap();
    assert_eq!(dana.profile.email.as_deref(), Some("dana@example.org"));
    assert!(!dana.profile.email_verified);

    let verified = register(json!({ "username": "eve", "password": "eve-password",
                                    "profile": { "email": "eve@example.org", "email_verified": true } }))
    .await;
    assert_eq!(verified.status, Status::BadRequest, "{}", verified.body);
    let taken = register(json!({ "username": "frank", "password": "frank-password",
                                 "profile": { "email": "DANA@example.org" } }))
    .await;
    assert_eq!(taken.status, Status::Conflict, "{}", taken.body);
    assert!(app.store.find_user_by_key("frank").await.unwrap().is_none());
    assert!(app.store.find_user_by_key("eve").await.unwrap().is_none());
}
