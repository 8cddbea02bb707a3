//! A refresh-token rotation takes the account from a short per-instance cache; a role changed
//! elsewhere (here by the command line, a process of its own) reaches the very next rotation on
//! an instance that cached the account before, without waiting for the cached copy to run out
//! or for the change's revocation to arrive (polled, and slowly, here).

use serde_json::Value;

use super::Fleet;
use crate::common::{claims_of, run_with_input};

/// Polled rather than followed, and rarely: the check below must not depend on it.
const POLL_MS: &str = "60000";

/// Alice's password grant.
const SIGN_IN: [(&str, &str); 4] = [
    ("grant_type", "password"),
    ("username", "alice"),
    ("password", "alice-password"),
    ("scope", "profile"),
];

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
async fn a_role_changed_elsewhere_reaches_the_next_refresh_at_once() {
    let mut fleet = Fleet::new(1);
    fleet.set("PORTCULLIS_REVOCATION_SYNC", "poll");
    fleet.set("PORTCULLIS_REVOCATION_POLL_MS", POLL_MS);
    fleet.add_user("alice", "alice-password", Some("user"));
    // So that alice, once an administrator, may be demoted again.
    fleet.add_user("root", "root-password", Some("admin"));
    let secret = fleet.add_client("app", "password,refresh_token", "profile");
    fleet.start(0).await;

    let signed_in = grant(&fleet, &secret, &SIGN_IN).await;
    // This rotation puts the account in the instance's cache.
    let mut latest = refresh(&fleet, &secret, &signed_in).await;
    assert_eq!(role_of(&latest), "user");

    let changed = run_with_input(fleet.command(&["user", "set-role", "alice", "admin"]), "");
    assert!(changed.status.success(), "{changed:?}");
    latest = refresh(&fleet, &secret, &latest).await;
    assert_eq!(role_of(&latest), "admin");

    // A family begun after the change (a new sign-in elsewhere) must not take the copy
    // cached before it either.
    let changed = run_with_input(fleet.command(&["user", "set-role", "alice", "user"]), "");
    assert!(changed.status.success(), "{changed:?}");
    let signed_in_again = grant(&fleet, &secret, &SIGN_IN).await;
    assert_eq!(role_of(&signed_in_again), "user");
    assert_eq!(
        role_of(&refresh(&fleet, &secret, &signed_in_again).await),
        "user"
    );
}
