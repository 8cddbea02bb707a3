//! The refresh-token reuse grace period (`refresh_token_reuse_grace_secs`): a token spent
//! moments ago, presented again (a lost answer retried, two tabs at once), gets a successor
//! that replaces the live one, so the family never has two live branches; after the window,
//! reuse revokes the family as before. Parallel retries are decided by one conditional update
//! each.

use futures_util::future::join_all;
use rocket::http::Status;

use crate::common::{app_with, basic, seed, token, wall_clock_advance, Answer, Seed, TestApp};
use portcullis::secrets::sha256_b64;
use portcullis::store::RefreshLookup;

async fn login(app: &TestApp, seed: &Seed) -> String {
    let form = "grant_type=password&username=alice&password=alice-password";
    let answer = token(app, form, Some(basic("app", &seed.app_secret))).await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    answer.body["refresh_token"].as_str().unwrap().to_owned()
}

async fn refresh(app: &TestApp, seed: &Seed, refresh_token: &str) -> Answer {
    let form = format!("grant_type=refresh_token&refresh_token={refresh_token}");
    token(app, &form, Some(basic("app", &seed.app_secret))).await
}

fn issued(answer: &Answer) -> String {
    answer.body["refresh_token"].as_str().unwrap().to_owned()
}

/// The family's live token is exactly `live`, and each of `retired` is spent.
async fn family_holds(app: &TestApp, live: &str, retired: &[String]) {
    match app
        .store
        .find_refresh_token(&sha256_b64(live))
        .await
        .unwrap()
    {
        Some(RefreshLookup::Current(family)) => assert!(family.is_live()),
        other => panic!("{live} is not the live token: {other:?}"),
    }
    for token in retired {
        let found = app
            .store
            .find_refresh_token(&sha256_b64(token))
            .await
            .unwrap();
        assert!(
            matches!(found, Some(RefreshLookup::Spent(_))),
            "{token}: {found:?}"
        );
    }
}

#[rocket::async_test]
async fn a_lost_answer_retried_within_the_grace_period_replaces_the_successor() {
    let app = app_with(|config| config.refresh_token_reuse_grace_secs = 2).await;
    let seed = seed(&app).await;
    let first = login(&app, &seed).await;
    let lost = issued(&refresh(&app, &seed, &first).await);

    // The answer carrying `lost` never arrived: the client retries with `first`.
    let retried = refresh(&app, &seed, &first).await;
    assert_eq!(retried.status, Status::Ok, "{}", retried.body);
    let kept = issued(&retried);
    family_holds(&app, &kept, &[first.clone(), lost.clone()]).await;
    let next = issued(&refresh(&app, &seed, &kept).await);

    // After the window the spent token is reuse again: refused, and the family revoked.
    wall_clock_advance(2_100).await;
    let late = refresh(&app, &seed, &kept).await;
    assert_eq!(late.body["error"], "invalid_grant");
    let live = refresh(&app, &seed, &next).await;
    assert_eq!(live.body["error"], "invalid_grant", "the family is revoked");
}

#[rocket::async_test]
async fn a_replaced_successor_presented_later_is_reuse() {
    let app = app_with(|config| config.refresh_token_reuse_grace_secs = 5).await;
    let seed = seed(&app).await;
    let first = login(&app, &seed).await;
    let replaced = issued(&refresh(&app, &seed, &first).await);
    let kept = issued(&refresh(&app, &seed, &first).await);
    // Whoever holds the replaced successor (a thief who retried first, or a tab that kept an
    // old copy) gives the family away: revoked, the kept token with it.
    let stale = refresh(&app, &seed, &replaced).await;
    assert_eq!(stale.body["error"], "invalid_grant");
    assert_eq!(
        refresh(&app, &seed, &kept).await.body["error"],
        "invalid_grant"
    );
}

#[rocket::async_test]
async fn parallel_retries_leave_one_live_token() {
    let app = app_with(|config| config.refresh_token_reuse_grace_secs = 10).await;
    let seed = seed(&app).await;
    for round in 0..5 {
        let first = login(&app, &seed).await;
        // Six at once with one token: one rotation and five retries, in whatever order.
        let answers = join_all((0..6).map(|_| refresh(&app, &seed, &first))).await;
        for answer in &answers {
            assert_eq!(answer.status, Status::Ok, "round {round}: {}", answer.body);
        }
        let tokens: Vec<String> = answers.iter().map(issued).collect();
        let mut live = Vec::new();
        for candidate in &tokens {
            let found = app
                .store
                .find_refresh_token(&sha256_b64(candidate))
                .await
                .unwrap();
            if matches!(found, Some(RefreshLookup::Current(_))) {
                live.push(candidate.clone());
            }
        }
        assert_eq!(live.len(), 1, "round {round}: exactly one branch lives");
        let retired: Vec<String> = tokens.iter().filter(|t| **t != live[0]).cloned().collect();
        family_holds(&app, &live[0], &retired).await;
        assert_eq!(refresh(&app, &seed, &live[0]).await.status, Status::Ok);
    }
}

#[rocket::async_test]
async fn off_by_default_reuse_revokes_at_once() {
    let app = crate::common::app().await;
    assert_eq!(app.config.refresh_token_reuse_grace_secs, 0);
    let seed = seed(&app).await;
    let first = login(&app, &seed).await;
    let second = issued(&refresh(&app, &seed, &first).await);
    assert_eq!(
        refresh(&app, &seed, &first).await.body["error"],
        "invalid_grant"
    );
    assert_eq!(
        refresh(&app, &seed, &second).await.body["error"],
        "invalid_grant"
    );
    use rocket::figment::providers::{Format, Toml};
    let too_long = Toml::string("refresh_token_reuse_grace_secs = 61");
    let refused = portcullis::config::Config::from_figment(
        portcullis::config::Config::defaults().merge(too_long),
    )
    .expect_err("at most 60 seconds");
    assert!(
        refused
            .to_string()
            .contains("refresh_token_reuse_grace_secs"),
        "{refused}"
    );
}
