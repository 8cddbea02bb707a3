//! Id tokens (OIDC Core §2, §3.1.3.6–7, §12.2) from the code, refresh and password grants,
//! each accepted by the relying-party library.

use openidconnect::{Audience, EndUserEmail, EndUserName, EndUserUsername, LocalizedClaim};
use portcullis::services::profile::{change_profile, ProfileChange};
use portcullis::services::Actor;
use rocket::http::{Method, Status};

use super::{code_flow, register_rp, verified_id_token, RP};
use crate::common::{app, basic, bearer, seed, sign_in, token};

fn name_of(name: Option<&LocalizedClaim<EndUserName>>) -> Option<String> {
    name.and_then(|n| n.get(None)).map(|n| n.to_string())
}

#[rocket::async_test]
async fn the_code_flow_returns_an_id_token_the_relying_party_accepts() {
    let app = app().await;
    let seed = seed(&app).await;
    let change = ProfileChange {
        email: Some(Some("Alice@Example.org".into())),
        name: Some(Some("Alice Liddell".into())),
        ..ProfileChange::default()
    };
    change_profile(&app.store, &Actor::CommandLine, &seed.alice, &change)
        .await
        .unwrap();
    let secret = register_rp(&app).await;
    let before = portcullis::oauth::tokens::unix_now();
    sign_in(&app.client, "alice", "alice-password").await;

    let tokens = code_flow(&app, &secret, "openid profile email", "&nonce=n-0S6_WzA2Mj").await;
    assert_eq!(tokens.status, Status::Ok, "{}", tokens.body);
    assert_eq!(tokens.body["scope"], "email openid profile");
    let (claims, payload) = verified_id_token(&app, &secret, &tokens, Some("n-0S6_WzA2Mj")).await;

    // The same subject as the access token, addressed to the client alone.
    let (_, access) =
        crate::jwt::verify_with_jwks(&app, tokens.body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims.subject().as_str(), seed.alice.id.to_hex());
    assert_eq!(access["sub"], claims.subject().as_str());
    assert_eq!(claims.audiences(), &[Audience::new(RP.into())]);
    assert_eq!(payload["azp"], RP);
    assert_eq!(payload["iss"], app.config.issuer);
    // When and how the user signed in, and the browser session it happened in.
    let auth_time = claims.auth_time().expect("auth_time").timestamp() as u64;
    assert!(auth_time >= before && auth_time <= portcullis::oauth::tokens::unix_now());
    assert_eq!(payload["amr"], serde_json::json!(["pwd"]));
    assert!(
        payload["sid"].as_str().is_some_and(|sid| sid.len() >= 16),
        "{payload}"
    );
    assert_eq!(
        payload["exp"].as_u64().unwrap() - payload["iat"].as_u64().unwrap(),
        app.config.access_token_ttl_secs
    );
    // The claims `profile` and `email` release (OIDC Core §5.4), and the role.
    assert_eq!(
        claims.preferred_username(),
        Some(&EndUserUsername::new("alice".into()))
    );
    assert_eq!(name_of(claims.name()), Some("Alice Liddell".into()));
    assert_eq!(
        claims.email(),
        Some(&EndUserEmail::new("Alice@Example.org".into()))
    );
    assert_eq!(claims.email_verified(), Some(false));
    assert_eq!(payload["role"], "user");

    // An id token is no access token (RFC 9068 §4: its `typ` and audience differ).
    let raw = tokens.body["id_token"].as_str().unwrap();
    let me = bearer(&app.client, Method::Get, "/api/me", Some(raw), None).await;
    assert_eq!(me.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn claims_follow_the_scope_and_no_nonce_is_invented() {
    let app = app().await;
    seed(&app).await;
    let secret = register_rp(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;

    // `openid` alone: the subject and the role, no profile or email claims, and without a
    // nonce in the request none in the token.
    let tokens = code_flow(&app, &secret, "openid", "").await;
    assert_eq!(tokens.status, Status::Ok, "{}", tokens.body);
    let (claims, payload) = verified_id_token(&app, &secret, &tokens, None).await;
    assert!(claims.nonce().is_none());
    for absent in [
        "preferred_username",
        "name",
        "email",
        "email_verified",
        "updated_at",
    ] {
        assert!(payload.get(absent).is_none(), "{absent} in {payload}");
    }
    assert_eq!(payload["role"], "user");

    // Without `openid` it is plain OAuth: no id token.
    let tokens = code_flow(&app, &secret, "profile data:read", "").await;
    assert_eq!(tokens.status, Status::Ok, "{}", tokens.body);
    assert!(tokens.body.get("id_token").is_none(), "{}", tokens.body);
}

#[rocket::async_test]
async fn a_refresh_keeps_the_subject_the_sign_in_time_and_the_session() {
    let app = app().await;
    seed(&app).await;
    let secret = register_rp(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let first = code_flow(&app, &secret, "openid profile data:read", "&nonce=abc").await;
    assert_eq!(first.status, Status::Ok, "{}", first.body);
    let (_, signed_in) = verified_id_token(&app, &secret, &first, Some("abc")).await;

    crate::common::wall_clock_advance(1100).await;
    let refresh = first.body["refresh_token"].as_str().unwrap();
    let form = format!("grant_type=refresh_token&refresh_token={refresh}");
    let second = token(&app, &form, Some(basic(RP, &secret))).await;
    assert_eq!(second.status, Status::Ok, "{}", second.body);
    // §12.2: no nonce this time; the same sub, a fresh iat, auth_time as at sign-in.
    let (_, refreshed) = verified_id_token(&app, &secret, &second, None).await;
    assert_eq!(refreshed["sub"], signed_in["sub"]);
    assert_eq!(refreshed["auth_time"], signed_in["auth_time"]);
    assert_eq!(refreshed["sid"], signed_in["sid"]);
    assert_eq!(refreshed["amr"], signed_in["amr"]);
    assert!(refreshed["iat"].as_u64() > signed_in["iat"].as_u64());

    // A refresh narrowed to a scope without `openid` gets none.
    let refresh = second.body["refresh_token"].as_str().unwrap();
    let form = format!("grant_type=refresh_token&refresh_token={refresh}&scope=data:read");
    let narrowed = token(&app, &form, Some(basic(RP, &secret))).await;
    assert_eq!(narrowed.status, Status::Ok, "{}", narrowed.body);
    assert!(narrowed.body.get("id_token").is_none());
}

#[rocket::async_test]
async fn the_password_grant_returns_an_id_token_for_openid() {
    let app = app().await;
    seed(&app).await;
    let secret = register_rp(&app).await;
    let before = portcullis::oauth::tokens::unix_now();
    let form = "grant_type=password&username=alice&password=alice-password&scope=openid%20email";
    let tokens = token(&app, form, Some(basic(RP, &secret))).await;
    assert_eq!(tokens.status, Status::Ok, "{}", tokens.body);
    let (claims, payload) = verified_id_token(&app, &secret, &tokens, None).await;
    assert!(claims.auth_time().unwrap().timestamp() as u64 >= before);
    assert_eq!(payload["amr"], serde_json::json!(["pwd"]));
    // No browser session, so no `sid`; no address set, so no email claims.
    assert!(
        payload.get("sid").is_none() && payload.get("email").is_none(),
        "{payload}"
    );
}
