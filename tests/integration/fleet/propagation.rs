//! A revocation made on one of three instances is refused by the other two within the bound:
//! milliseconds through the change stream (the test database offers one), one
//! `revocation_poll_ms` through the poll. `/readyz` names the mode that runs.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::Fleet;

const POLL_MS: u64 = 500;

/// Three running instances with a user and a password-grant client; returns the client secret.
async fn three_instances(sync: &str) -> (Fleet, String) {
    let mut fleet = Fleet::new(3);
    fleet.set("PORTCULLIS_REVOCATION_SYNC", sync);
    fleet.set("PORTCULLIS_REVOCATION_POLL_MS", &POLL_MS.to_string());
    fleet.add_user("alice", "alice-password", None);
    let secret = fleet.add_client("app", "password", "profile");
    for n in 0..3 {
        fleet.start(n).await;
    }
    (fleet, secret)
}

/// Revokes a token on instance 0 and returns how long each other instance took to refuse it.
async fn propagation(fleet: &Fleet, secret: &str) -> Vec<Duration> {
    let http = reqwest::Client::new();
    let user = ("alice", "alice-password");
    let token = fleet
        .password_token(0, ("app", secret), user, "profile")
        .await;
    let access = token.as_str();
    for n in 0..3 {
        assert_eq!(fleet.me(n, access).await, 200);
    }
    let revoked = http
        .post(format!("{}/oauth/revoke", fleet.base(0)))
        .basic_auth("app", Some(secret))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let at = Instant::now();
    assert_eq!(fleet.me(0, access).await, 401, "the revoking instance");
    let mut took = Vec::new();
    for n in 1..3 {
        while fleet.me(n, access).await != 401 {
            assert!(
                at.elapsed() < Duration::from_secs(30),
                "instance {n} never refused it"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        took.push(at.elapsed());
    }
    took
}

async fn sync_mode(fleet: &Fleet, n: usize) -> Value {
    let ready: Value = reqwest::get(format!("{}/readyz", fleet.base(n)))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    ready["revocations_sync"].clone()
}

#[rocket::async_test]
async fn a_revocation_reaches_every_instance_through_the_change_stream() {
    let (fleet, secret) = three_instances("auto").await;
    for n in 0..3 {
        // The stream opens right after start-up.
        let started = Instant::now();
        while sync_mode(&fleet, n).await != "change_stream" {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{}",
                fleet.log_of(n)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let took = propagation(&fleet, &secret).await;
    println!("change stream: refused elsewhere after {took:?}");
    // Well inside one poll interval: the push, not a poll, brought it.
    for elapsed in took {
        assert!(elapsed < Duration::from_millis(POLL_MS), "{elapsed:?}");
    }
}

#[rocket::async_test]
async fn a_revocation_reaches_every_instance_by_polling() {
    let (fleet, secret) = three_instances("poll").await;
    for n in 0..3 {
        assert_eq!(sync_mode(&fleet, n).await, "poll");
    }
    let took = propagation(&fleet, &secret).await;
    println!("poll: refused elsewhere after {took:?}");
    // One interval, plus the poll's own read.
    for elapsed in took {
        assert!(
            elapsed < Duration::from_millis(POLL_MS + 1_000),
            "{elapsed:?}"
        );
    }
}

#[rocket::async_test]
async fn a_change_stream_closed_by_the_server_is_opened_again_without_spinning() {
    let (fleet, secret) = three_instances("auto").await;
    for n in 0..3 {
        let started = Instant::now();
        while sync_mode(&fleet, n).await != "change_stream" {
            assert!(started.elapsed() < Duration::from_secs(10));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Dropping the collection invalidates every instance's stream: the server closes it.
    fleet.drop_collection("revocations").await;
    let before = fleet.cpu_time(1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = fleet.cpu_time(1) - before;
    assert!(
        used < Duration::from_millis(500),
        "{used:?} of CPU in 2 s idle"
    );
    // The stream is open again: a revocation still reaches the others.
    let took = propagation(&fleet, &secret).await;
    for elapsed in took {
        assert!(elapsed < Duration::from_millis(POLL_MS), "{elapsed:?}");
    }
    assert_eq!(sync_mode(&fleet, 1).await, "change_stream");
}
