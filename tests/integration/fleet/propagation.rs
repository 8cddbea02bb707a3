//! A revocation made on one of three instances is refused by the other two within the bound:
//! milliseconds through the change stream (the test database offers one), one
//! `revocation_poll_ms` through the poll. `/readyz` names the mode that runs.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::Fleet;
use crate::common::run_with_input;

const POLL_MS: u64 = 500;

/// Three running instances with a user and a password-grant client; returns the client secret.
async fn three_instances(sync: &str) -> (Fleet, String) {
    let mut fleet = Fleet::new(3);
    fleet.set("PORTCULLIS_REVOCATION_SYNC", sync);
    fleet.set("PORTCULLIS_REVOCATION_POLL_MS", &POLL_MS.to_string());
    let added = run_with_input(fleet.command(&["user", "add", "alice"]), "alice-password\n");
    assert!(added.status.success(), "{added:?}");
    let client = run_with_input(
        fleet.command(&[
            "client",
            "add",
            "--name",
            "App",
            "--id",
            "app",
            "--grant-type",
            "password",
            "--scope",
            "profile",
        ]),
        "",
    );
    assert!(client.status.success(), "{client:?}");
    let secret = crate::cli::secret_of(&String::from_utf8(client.stdout).unwrap());
    for n in 0..3 {
        fleet.start(n).await;
    }
    (fleet, secret)
}

async fn me(http: &reqwest::Client, base: &str, token: &str) -> u16 {
    http.get(format!("{base}/api/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Revokes a token on instance 0 and returns how long each other instance took to refuse it.
async fn propagation(fleet: &Fleet, secret: &str) -> Vec<Duration> {
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{}/oauth/token", fleet.base(0)))
        .basic_auth("app", Some(secret))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap();
    for n in 0..3 {
        assert_eq!(me(&http, &fleet.base(n), access).await, 200);
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
    assert_eq!(
        me(&http, &fleet.base(0), access).await,
        401,
        "the revoking instance"
    );
    let mut took = Vec::new();
    for n in 1..3 {
        while me(&http, &fleet.base(n), access).await != 401 {
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
