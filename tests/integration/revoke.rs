//! Revocation (RFC 7009), introspection (RFC 7662), logout, and revocations crossing
//! instances that share a database.

use std::time::{Duration, Instant};

use portcullis::build_rocket;
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;

use crate::common::{
    app, app_with, basic, bearer, post_form, seed, token, user_tokens, Seed, TestApp,
};

async fn revoke(app: &TestApp, client: (&str, &str), form: &str) -> crate::common::Answer {
    post_form(
        &app.client,
        "/oauth/revoke",
        form,
        Some(basic(client.0, client.1)),
    )
    .await
}

async fn introspect(app: &TestApp, secret: &str, form: &str) -> crate::common::Answer {
    post_form(
        &app.client,
        "/oauth/introspect",
        form,
        Some(basic("app", secret)),
    )
    .await
}

async fn me(app: &TestApp, access: &str) -> Status {
    bearer(&app.client, Method::Get, "/api/me", Some(access), None)
        .await
        .status
}

async fn refresh(app: &TestApp, seed: &Seed, refresh_token: &str) -> crate::common::Answer {
    let form = format!("grant_type=refresh_token&refresh_token={refresh_token}");
    token(app, &form, Some(basic("app", &seed.app_secret))).await
}

/// The `app` client may introspect in these tests.
async fn allow_introspection(app: &TestApp) {
    let client = mongodb::Client::with_uri_str(app.config.mongodb_uri.expose())
        .await
        .unwrap();
    client
        .database(&app.config.database)
        .collection::<mongodb::bson::Document>("clients")
        .update_one(
            mongodb::bson::doc! { "_id": "app" },
            mongodb::bson::doc! { "$set": { "can_introspect": true } },
        )
        .await
        .unwrap();
}

#[rocket::async_test]
async fn revoking_a_refresh_token_ends_its_family_and_access_tokens() {
    let app = app().await;
    let seed = seed(&app).await;
    let (access, refresh_token) = user_tokens(&app, &seed, "alice", None).await;
    let answer = revoke(
        &app,
        ("app", &seed.app_secret),
        &format!("token={refresh_token}&token_type_hint=refresh_token"),
    )
    .await;
    assert_eq!(answer.status, Status::Ok);
    assert_eq!(answer.header("Cache-Control"), Some("no-store"));
    assert_eq!(
        refresh(&app, &seed, &refresh_token).await.body["error"],
        "invalid_grant"
    );
    assert_eq!(me(&app, &access).await, Status::Unauthorized);
}

#[rocket::async_test]
async fn revoking_an_access_token_leaves_the_refresh_token() {
    let app = app().await;
    let seed = seed(&app).await;
    let (access, refresh_token) = user_tokens(&app, &seed, "alice", None).await;
    // A wrong hint still finds the token.
    let answer = revoke(
        &app,
        ("app", &seed.app_secret),
        &format!("token={access}&token_type_hint=refresh_token"),
    )
    .await;
    assert_eq!(answer.status, Status::Ok);
    assert_eq!(me(&app, &access).await, Status::Unauthorized);
    let renewed = refresh(&app, &seed, &refresh_token).await;
    assert_eq!(renewed.status, Status::Ok);
    assert_eq!(
        me(&app, renewed.body["access_token"].as_str().unwrap()).await,
        Status::Ok
    );
}

#[rocket::async_test]
async fn another_client_cannot_revoke_and_garbage_is_200() {
    let app = app().await;
    let seed = seed(&app).await;
    let (access, refresh_token) = user_tokens(&app, &seed, "alice", None).await;
    for form in [format!("token={access}"), format!("token={refresh_token}")] {
        let answer = revoke(&app, ("noref", &seed.noref_secret), &form).await;
        assert_eq!(answer.status, Status::Ok);
    }
    assert_eq!(me(&app, &access).await, Status::Ok);
    assert_eq!(
        refresh(&app, &seed, &refresh_token).await.status,
        Status::Ok
    );

    for form in [
        "token=garbage",
        "token=a.b.c&token_type_hint=access_token",
        "token=x&token_type_hint=bogus",
    ] {
        assert_eq!(
            revoke(&app, ("app", &seed.app_secret), form).await.status,
            Status::Ok,
            "{form}"
        );
    }
    let missing = revoke(
        &app,
        ("app", &seed.app_secret),
        "token_type_hint=access_token",
    )
    .await;
    assert_eq!(missing.status, Status::BadRequest);
    assert_eq!(missing.body["error"], "invalid_request");
    let bad_client = revoke(&app, ("app", "wrong"), "token=garbage").await;
    assert_eq!(bad_client.status, Status::Unauthorized);
    assert_eq!(bad_client.body["error"], "invalid_client");
}

#[rocket::async_test]
async fn introspection_reports_every_token_state() {
    let app = app_with(|c| {
        c.access_token_ttl_secs = 1;
        c.token_leeway_secs = 0;
    })
    .await;
    let seed = seed(&app).await;
    allow_introspection(&app).await;
    let (access, refresh_token) = user_tokens(&app, &seed, "alice", None).await;

    let active = introspect(&app, &seed.app_secret, &format!("token={access}")).await;
    assert_eq!(active.status, Status::Ok);
    assert_eq!(active.header("Cache-Control"), Some("no-store"));
    let refresh_active = introspect(
        &app,
        &seed.app_secret,
        &format!("token={refresh_token}&token_type_hint=refresh_token"),
    )
    .await;
    let (body, refresh_body) = (&active.body, &refresh_active.body);
    // Both tokens of the grant describe the same user, client and scope.
    for (answer, token_type) in [(body, "Bearer"), (refresh_body, "refresh_token")] {
        assert_eq!(answer["active"], true);
        assert_eq!(answer["token_type"], token_type);
        assert_eq!(answer["username"], "alice");
        assert_eq!(answer["role"], "user");
        assert_eq!(answer["sub"], seed.alice.id.to_hex());
        assert_eq!(answer["client_id"], "app");
        assert_eq!(answer["scope"], "data:read profile");
        assert_eq!(answer["iss"], "http://portcullis.test");
    }
    assert_eq!(body["aud"], json!(["portcullis-api"]));
    for claim in ["exp", "iat", "nbf"] {
        assert!(body[claim].is_u64(), "{claim}");
    }
    assert!(body["jti"].is_string());
    assert!(refresh_body["exp"].as_u64() > body["exp"].as_u64());
    assert_eq!(refresh_body["iat"], refresh_body["nbf"]);
    // A refresh token has no audience or token id to report.
    assert!(refresh_body.get("aud").is_none() && refresh_body.get("jti").is_none());

    let inactive = json!({ "active": false });
    for garbage in ["garbage", "a.b.c"] {
        assert_eq!(
            introspect(&app, &seed.app_secret, &format!("token={garbage}"))
                .await
                .body,
            inactive
        );
    }
    // Rotation spends the refresh token; revocation ends the access token.
    refresh(&app, &seed, &refresh_token).await;
    assert_eq!(
        introspect(&app, &seed.app_secret, &format!("token={refresh_token}"))
            .await
            .body,
        inactive
    );
    revoke(&app, ("app", &seed.app_secret), &format!("token={access}")).await;
    assert_eq!(
        introspect(&app, &seed.app_secret, &format!("token={access}"))
            .await
            .body,
        inactive
    );

    let (fresh, _) = user_tokens(&app, &seed, "alice", None).await;
    crate::common::wall_clock_advance(2100).await;
    assert_eq!(
        introspect(&app, &seed.app_secret, &format!("token={fresh}"))
            .await
            .body,
        inactive
    );
}

#[rocket::async_test]
async fn introspection_is_only_for_clients_allowed_to() {
    let app = app().await;
    let seed = seed(&app).await;
    let (access, _) = user_tokens(&app, &seed, "alice", None).await;
    let refused = introspect(&app, &seed.app_secret, &format!("token={access}")).await;
    assert_eq!(refused.status, Status::Forbidden);
    assert_eq!(refused.body["error"], "unauthorized_client");
    let unauthenticated = post_form(
        &app.client,
        "/oauth/introspect",
        &format!("token={access}"),
        None,
    )
    .await;
    assert_eq!(unauthenticated.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn a_public_client_never_introspects() {
    let app = app().await;
    let seed = seed(&app).await;
    let (access, _) = user_tokens(&app, &seed, "alice", None).await;
    // Registration refuses the combination; a record written before that rule is refused at
    // the endpoint, since a public client authenticates with nothing but its id.
    let client = mongodb::Client::with_uri_str(app.config.mongodb_uri.expose())
        .await
        .unwrap();
    client
        .database(&app.config.database)
        .collection::<mongodb::bson::Document>("clients")
        .update_one(
            mongodb::bson::doc! { "_id": "mobile" },
            mongodb::bson::doc! { "$set": { "can_introspect": true } },
        )
        .await
        .unwrap();
    let refused = post_form(
        &app.client,
        "/oauth/introspect",
        &format!("client_id=mobile&token={access}"),
        None,
    )
    .await;
    assert_eq!(refused.status, Status::Forbidden, "{}", refused.body);
    assert_eq!(refused.body["error"], "unauthorized_client");
    assert!(refused.body.get("active").is_none());
}

#[rocket::async_test]
async fn logout_revokes_the_token_and_its_family() {
    let app = app().await;
    let seed = seed(&app).await;
    let (access, refresh_token) = user_tokens(&app, &seed, "alice", None).await;
    let out = bearer(
        &app.client,
        Method::Post,
        "/oauth/logout",
        Some(&access),
        None,
    )
    .await;
    assert_eq!(out.status, Status::NoContent);
    assert_eq!(me(&app, &access).await, Status::Unauthorized);
    assert_eq!(
        refresh(&app, &seed, &refresh_token).await.body["error"],
        "invalid_grant"
    );
    let again = bearer(
        &app.client,
        Method::Post,
        "/oauth/logout",
        Some(&access),
        None,
    )
    .await;
    assert_eq!(again.status, Status::Unauthorized);
    let anonymous = bearer(&app.client, Method::Post, "/oauth/logout", None, None).await;
    assert_eq!(anonymous.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn a_revocation_on_one_instance_reaches_another_within_the_interval() {
    let app = app_with(|c| c.revocation_poll_ms = 200).await;
    let seed = seed(&app).await;
    let second = Client::tracked(build_rocket(
        app.config.clone(),
        app.store.clone(),
        app.keys.clone(),
    ))
    .await
    .unwrap();
    let (access, _) = user_tokens(&app, &seed, "alice", None).await;
    let on_second = || bearer(&second, Method::Get, "/api/me", Some(&access), None);
    assert_eq!(on_second().await.status, Status::Ok);

    revoke(&app, ("app", &seed.app_secret), &format!("token={access}")).await;
    assert_eq!(
        me(&app, &access).await,
        Status::Unauthorized,
        "at once where it was revoked"
    );
    let started = Instant::now();
    loop {
        if on_second().await.status == Status::Unauthorized {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "second instance never saw the revocation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready: serde_json::Value = second
        .get("/readyz")
        .dispatch()
        .await
        .into_json()
        .await
        .unwrap();
    assert!(ready["revocations_age_ms"].as_u64().unwrap() < 5_000);
}

#[rocket::async_test]
async fn account_and_client_changes_apply_on_this_instance_before_they_answer() {
    // No poll can help within this test: the change itself must reach the instance's set.
    let app = app_with(|c| c.revocation_poll_ms = 3_600_000).await;
    let seed = seed(&app).await;
    allow_introspection(&app).await;
    let actor = portcullis::services::Actor::CommandLine;
    let hasher = crate::common::fast_hasher();

    let (access, _) = user_tokens(&app, &seed, "alice", None).await;
    assert_eq!(me(&app, &access).await, Status::Ok);
    portcullis::services::users::set_disabled(&app.store, &app.revocations, &actor, "alice", true)
        .await
        .unwrap();
    assert_eq!(me(&app, &access).await, Status::Unauthorized, "disabled");
    portcullis::services::users::set_disabled(&app.store, &app.revocations, &actor, "alice", false)
        .await
        .unwrap();

    crate::common::wall_clock_advance(1_000).await;
    let (access, _) = user_tokens(&app, &seed, "alice", None).await;
    crate::common::wall_clock_advance(1_000).await;
    portcullis::services::users::set_password(
        &app.store,
        &hasher,
        &app.revocations,
        &actor,
        "alice",
        "alice-password",
    )
    .await
    .unwrap();
    assert_eq!(
        me(&app, &access).await,
        Status::Unauthorized,
        "password reset"
    );

    let (access, _) = user_tokens(&app, &seed, "alice", None).await;
    let alice = portcullis::services::users::find_user(&app.store, "alice")
        .await
        .unwrap()
        .unwrap();
    portcullis::services::users::delete_user(&app.store, &app.revocations, &actor, &alice)
        .await
        .unwrap();
    assert_eq!(me(&app, &access).await, Status::Unauthorized, "deleted");

    let m2m = token(
        &app,
        "grant_type=client_credentials",
        Some(basic("m2m", &seed.m2m_secret)),
    )
    .await;
    let m2m_access = m2m.body["access_token"].as_str().unwrap().to_owned();
    let form = format!("token={m2m_access}");
    let before = introspect(&app, &seed.app_secret, &form).await;
    assert_eq!(before.body["active"], true);
    portcullis::services::clients::remove_client(&app.store, &app.revocations, &actor, "m2m")
        .await
        .unwrap();
    let after = introspect(&app, &seed.app_secret, &form).await;
    assert_eq!(after.body["active"], false, "the removed client's token");
}
