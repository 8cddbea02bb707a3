//! A refresh-token rotation takes the account from a short per-instance cache; a role changed
//! elsewhere (here by the command line, a process of its own) reaches an instance's refreshes
//! as soon as the `user:` revocation the change writes has reached that instance, not when the
//! cached copy runs out.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::Fleet;
use crate::common::{claims_of, run_with_input};

/// Polled rather than followed, so the revocation arrives visibly later than the change.
const POLL_MS: &str = "300";

fn role_of(answer: &Value) -> String {
    let jwt = answer["access_token"].as_str().unwrap();
    claims_of(jwt)["role"].as_str().unwrap().to_owned()
}

async fn grant(fleet: &Fleet, secret: &str, form: &[(&str, &str)]) -> Value {
    let answer = fleet.token(0, ("app", secret), form).await;
    assert!(answer["access_token"].is_string(), "{answer}");
    answer
}

async fn refresh(fleet: &Fleet, secret: &str, answer: &Value) -> Value {
    let token = answer["refresh_token"].as_str().unwrap();
    grant(
        fleet,
        secret,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_changed_elsewhere_reaches_refreshes_with_its_revocation() {
    let mut fleet = Fleet::new(1);
    fleet.set("PORTCULLIS_REVOCATION_SYNC", "poll");
    fleet.set("PORTCULLIS_REVOCATION_POLL_MS", POLL_MS);
    fleet.add_user("alice", "alice-password", Some("user"));
    let secret = fleet.add_client("app", "password,refresh_token", "profile");
    fleet.start(0).await;

    let signed_in = grant(
        &fleet,
        &secret,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
            ("scope", "profile"),
        ],
    )
    .await;
    // This rotation puts the account in the instance's cache.
    let mut latest = refresh(&fleet, &secret, &signed_in).await;
    assert_eq!(role_of(&latest), "user");
    let old_access = latest["access_token"].as_str().unwrap().to_owned();
    // A role change refuses the tokens issued in earlier seconds (`iat` is in seconds).
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let changed = run_with_input(fleet.command(&["user", "set-role", "alice", "admin"]), "");
    assert!(changed.status.success(), "{changed:?}");

    // Until the revocation arrives the instance still accepts the old token; once it refuses
    // it, the very next rotation must carry the new role, cached copy or not.
    let started = Instant::now();
    while fleet.me(0, &old_access).await == 200 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the role change's revocation never arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    latest = refresh(&fleet, &secret, &latest).await;
    assert_eq!(role_of(&latest), "admin");
}
