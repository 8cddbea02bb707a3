//! UserInfo (OIDC Core §5.3): the scope's claims for a token carrying `openid`, by `GET` and
//! `POST`, and RFC 6750's answers to every other token.

use portcullis::services::profile::{change_profile, ProfileChange};
use portcullis::services::Actor;
use rocket::http::{Method, Status};

use super::{code_flow, register_rp, RP};
use crate::common::{app, basic, bearer, seed, sign_in, token, user_tokens, Answer, TestApp};

#[rocket::async_test]
async fn userinfo_answers_with_the_claims_the_scope_releases() {
    let app = app().await;
    let seed = seed(&app).await;
    let change = ProfileChange {
        email: Some(Some("alice@example.org".into())),
        email_verified: Some(true),
        given_name: Some(Some("Alice".into())),
        locale: Some(Some("en-GB".into())),
        zoneinfo: Some(Some("Europe/London".into())),
        ..ProfileChange::default()
    };
    let alice = change_profile(&app.store, &Actor::CommandLine, &seed.alice, &change)
        .await
        .unwrap();
    let secret = register_rp(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let tokens = code_flow(&app, &secret, "openid profile email", "").await;
    let access = tokens.body["access_token"].as_str().unwrap();

    for method in [Method::Get, Method::Post] {
        let info = userinfo(&app, method, Some(access)).await;
        assert_eq!(info.status, Status::Ok, "{}", info.body);
        assert_eq!(info.header("Cache-Control"), Some("no-store"));
        assert!(info
            .header("Content-Type")
            .unwrap()
            .starts_with("application/json"));
        // §5.3.2: the sub of the id token, and the released claims.
        assert_eq!(info.body["sub"], tokens_sub(&tokens));
        assert_eq!(info.body["email"], "alice@example.org");
        assert_eq!(info.body["email_verified"], true);
        assert_eq!(info.body["given_name"], "Alice");
        assert_eq!(info.body["preferred_username"], "alice");
        assert_eq!(info.body["locale"], "en-GB");
        assert_eq!(info.body["zoneinfo"], "Europe/London");
        assert_eq!(
            info.body["updated_at"].as_u64(),
            alice.updated_at.unix_secs()
        );
        // A member without a value is left out, not null.
        assert!(info.body.get("family_name").is_none(), "{}", info.body);
    }

    // `openid` alone: the subject and the role only.
    let tokens = code_flow(&app, &secret, "openid", "").await;
    let access = tokens.body["access_token"].as_str().unwrap();
    let info = userinfo(&app, Method::Get, Some(access)).await;
    assert_eq!(info.status, Status::Ok);
    let mut members: Vec<&String> = info.body.as_object().unwrap().keys().collect();
    members.sort();
    assert_eq!(members, ["role", "sub"]);
}

/// Calls UserInfo with `token` as the Bearer token (none when `None`).
async fn userinfo(app: &TestApp, method: Method, token: Option<&str>) -> Answer {
    bearer(&app.client, method, "/oauth/userinfo", token, None).await
}

fn tokens_sub(tokens: &Answer) -> serde_json::Value {
    super::jwt_parts(tokens.body["id_token"].as_str().unwrap()).1["sub"].clone()
}

#[rocket::async_test]
async fn userinfo_refuses_every_other_token_as_rfc_6750_says() {
    let app = app().await;
    let seed = seed(&app).await;
    let secret = register_rp(&app).await;

    // No token: 401 with a bare challenge (RFC 6750 §3.1).
    let none = userinfo(&app, Method::Get, None).await;
    assert_eq!(none.status, Status::Unauthorized);
    assert!(none
        .header("WWW-Authenticate")
        .unwrap()
        .starts_with("Bearer"));
    // A token that is no token: 401 invalid_token.
    let bad = userinfo(&app, Method::Get, Some("not.a.jwt")).await;
    assert_eq!(bad.status, Status::Unauthorized);
    assert!(bad
        .header("WWW-Authenticate")
        .unwrap()
        .contains("error=\"invalid_token\""));
    // A user's token without `openid`: 403 insufficient_scope naming it.
    let (plain, _) = user_tokens(&app, &seed, "alice", Some("profile")).await;
    let refused = userinfo(&app, Method::Get, Some(&plain)).await;
    assert_eq!(refused.status, Status::Forbidden, "{}", refused.body);
    let challenge = refused.header("WWW-Authenticate").unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"openid\""), "{challenge}");

    // A disabled account's token is refused, as revoked.
    let form = "grant_type=password&username=alice&password=alice-password&scope=openid";
    let tokens = token(&app, form, Some(basic(RP, &secret))).await;
    let access = tokens.body["access_token"].as_str().unwrap().to_owned();
    let ok = userinfo(&app, Method::Post, Some(&access)).await;
    assert_eq!(ok.status, Status::Ok);
    portcullis::services::users::set_disabled(
        &app.store,
        &crate::common::revocations(&app.store, &app.config),
        &Actor::CommandLine,
        "alice",
        true,
    )
    .await
    .unwrap();
    let gone = userinfo(&app, Method::Post, Some(&access)).await;
    assert_eq!(gone.status, Status::Unauthorized, "{}", gone.body);
    assert!(gone
        .header("WWW-Authenticate")
        .unwrap()
        .contains("invalid_token"));
}
