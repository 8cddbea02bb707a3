//! The refresh-token grant: rotation, reuse detection revoking the family, atomicity under
//! concurrency, client binding, scope narrowing, and revocation by account changes.

use rocket::http::Status;

use crate::common::{app, basic, seed, token, Answer, Seed, TestApp};

async fn login(app: &TestApp, seed: &Seed) -> String {
    let answer = token(
        app,
        "grant_type=password&username=alice&password=alice-password",
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    answer.body["refresh_token"].as_str().unwrap().to_owned()
}

async fn refresh(app: &TestApp, seed: &Seed, refresh_token: &str, extra: &str) -> Answer {
    token(
        app,
        &format!("grant_type=refresh_token&refresh_token={refresh_token}{extra}"),
        Some(basic("app", &seed.app_secret)),
    )
    .await
}

#[rocket::async_test]
async fn each_use_rotates_and_reuse_revokes_the_family() {
    let app = app().await;
    let seed = seed(&app).await;
    let first = login(&app, &seed).await;

    let rotated = refresh(&app, &seed, &first, "").await;
    assert_eq!(rotated.status, Status::Ok, "{}", rotated.body);
    assert_eq!(rotated.header("Cache-Control"), Some("no-store"));
    let second = rotated.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(rotated.body["scope"], "data:read profile");

    // Presenting the spent token again is reuse: refused, and the live successor dies too.
    let reuse = refresh(&app, &seed, &first, "").await;
    assert_eq!(reuse.status, Status::BadRequest);
    assert_eq!(reuse.body["error"], "invalid_grant");
    let successor = refresh(&app, &seed, &second, "").await;
    assert_eq!(successor.body["error"], "invalid_grant");

    let events = app.store.recent_audit_events(20).await.unwrap();
    assert!(events
        .iter()
        .any(|e| e.kind == portcullis::store::AuditKind::RefreshTokenReuse));
    let sid = {
        let access = rotated.body["access_token"].as_str().unwrap();
        let (_, claims) = crate::jwt::verify_with_jwks(&app, access).await;
        claims["sid"].as_str().unwrap().to_owned()
    };
    assert!(app
        .store
        .find_revocation(&portcullis::store::RevocationKey::Family(
            portcullis::ids::FamilyId::carried(sid),
        ))
        .await
        .unwrap()
        .is_some());
}

#[rocket::async_test]
async fn concurrent_refreshes_with_one_token_yield_exactly_one_success() {
    let app = app().await;
    let seed = seed(&app).await;
    let first = login(&app, &seed).await;
    let attempts = (0..5).map(|_| refresh(&app, &seed, &first, ""));
    let answers = futures_util::future::join_all(attempts).await;
    let successes = answers.iter().filter(|a| a.status == Status::Ok).count();
    assert_eq!(
        successes,
        1,
        "{:?}",
        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    for failed in answers.iter().filter(|a| a.status != Status::Ok) {
        assert_eq!(failed.body["error"], "invalid_grant");
    }
}

#[rocket::async_test]
async fn another_clients_refresh_token_is_refused_and_left_intact() {
    let app = app().await;
    let seed = seed(&app).await;
    let first = login(&app, &seed).await;
    let stolen = token(
        &app,
        &format!("grant_type=refresh_token&refresh_token={first}&client_id=mobile"),
        None,
    )
    .await;
    assert_eq!(stolen.body["error"], "invalid_grant");
    assert_eq!(refresh(&app, &seed, &first, "").await.status, Status::Ok);
}

#[rocket::async_test]
async fn scope_may_narrow_but_not_widen() {
    let app = app().await;
    let seed = seed(&app).await;
    let first = login(&app, &seed).await;
    let wider = refresh(&app, &seed, &first, "&scope=admin").await;
    assert_eq!(wider.status, Status::BadRequest);
    assert_eq!(wider.body["error"], "invalid_scope");
    // Nothing was spent by the refused request.
    let narrow = refresh(&app, &seed, &first, "&scope=profile").await;
    assert_eq!(narrow.status, Status::Ok, "{}", narrow.body);
    assert_eq!(narrow.body["scope"], "profile");
    // The successor keeps the family's full scope.
    let next = narrow.body["refresh_token"].as_str().unwrap().to_owned();
    let full = refresh(&app, &seed, &next, "").await;
    assert_eq!(full.body["scope"], "data:read profile");
}

#[rocket::async_test]
async fn garbage_and_unknown_tokens_are_invalid_grant() {
    let app = app().await;
    let seed = seed(&app).await;
    for bad in ["nonsense", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let answer = refresh(&app, &seed, bad, "").await;
        assert_eq!(answer.status, Status::BadRequest);
        assert_eq!(answer.body["error"], "invalid_grant");
    }
    let missing = token(
        &app,
        "grant_type=refresh_token",
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(missing.body["error"], "invalid_request");
}

#[rocket::async_test]
async fn password_change_and_disabling_end_refresh_tokens() {
    let app = app().await;
    let seed = seed(&app).await;
    let before_change = login(&app, &seed).await;
    portcullis::services::users::set_password(
        &app.store,
        &crate::common::fast_hasher(),
        &app.revocations,
        &portcullis::services::Actor::CommandLine,
        "alice",
        "a brand new password",
    )
    .await
    .unwrap();
    assert_eq!(
        refresh(&app, &seed, &before_change, "").await.body["error"],
        "invalid_grant"
    );

    let answer = token(
        &app,
        "grant_type=password&username=alice&password=a%20brand%20new%20password",
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    let live = answer.body["refresh_token"].as_str().unwrap().to_owned();
    portcullis::services::users::set_disabled(
        &app.store,
        &app.revocations,
        &portcullis::services::Actor::CommandLine,
        "alice",
        true,
    )
    .await
    .unwrap();
    assert_eq!(
        refresh(&app, &seed, &live, "").await.body["error"],
        "invalid_grant"
    );
}

#[rocket::async_test]
async fn expired_refresh_tokens_are_refused() {
    let app = crate::common::app_with(|c| {
        c.refresh_token_idle_ttl_secs = 1;
        c.refresh_token_absolute_ttl_secs = 1;
    })
    .await;
    let seed = seed(&app).await;
    let first = login(&app, &seed).await;
    crate::common::wall_clock_advance(1100).await;
    assert_eq!(
        refresh(&app, &seed, &first, "").await.body["error"],
        "invalid_grant"
    );
}

/// The role in a refreshed access token.
fn role_of(answer: &Answer) -> String {
    let jwt = answer.body["access_token"].as_str().unwrap();
    crate::common::claims_of(jwt)["role"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A rotation takes the account from a short cache: a role changed on this instance reaches
/// the very next refresh.
#[rocket::async_test]
async fn a_new_role_reaches_the_next_refresh_at_once() {
    let app = app().await;
    let seed = seed(&app).await;
    let first = login(&app, &seed).await;
    let rotated = refresh(&app, &seed, &first, "").await;
    assert_eq!(rotated.status, Status::Ok, "{}", rotated.body);
    assert_eq!(role_of(&rotated), "user");

    portcullis::services::users::set_role(
        &app.store,
        &app.config,
        &app.revocations,
        &portcullis::services::Actor::CommandLine,
        "alice",
        "admin",
    )
    .await
    .unwrap();
    let next = rotated.body["refresh_token"].as_str().unwrap();
    let again = refresh(&app, &seed, next, "").await;
    assert_eq!(again.status, Status::Ok, "{}", again.body);
    assert_eq!(role_of(&again), "admin");
}
