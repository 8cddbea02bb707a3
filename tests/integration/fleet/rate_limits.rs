//! Per-address rate limits counted in each instance's memory and shared through the database
//! every `rate_limits.flush_ms`: one instance counts exactly, and an instance that had not
//! yet seen an address refuses it once its next flush brings back the others' counts.

use std::time::Duration;

use mongodb::bson::doc;

use super::Fleet;

const LIMIT: usize = 6;
const FLUSH_MS: u64 = 100;

async fn client_credentials(fleet: &Fleet, n: usize, secret: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/oauth/token", fleet.base(n)))
        .basic_auth("m2m", Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Two running instances with the limits above and a client-credentials client, early in a
/// minute; returns the client's secret with them.
async fn two_instances() -> (Fleet, String) {
    let mut fleet = Fleet::new(2);
    fleet.set(
        "PORTCULLIS_RATE_LIMITS__TOKEN_PER_MINUTE",
        &LIMIT.to_string(),
    );
    fleet.set("PORTCULLIS_RATE_LIMITS__FLUSH_MS", &FLUSH_MS.to_string());
    let secret = fleet.add_client("m2m", "client_credentials", "data:read");
    fleet.start(0).await;
    fleet.start(1).await;
    crate::common::early_in_a_minute(40).await;
    (fleet, secret)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_their_counts_through_the_database() {
    let (fleet, secret) = two_instances().await;

    // One instance alone is exact: the limit, then 429.
    for _ in 0..LIMIT {
        assert_eq!(client_credentials(&fleet, 0, &secret).await, 200);
    }
    assert_eq!(client_credentials(&fleet, 0, &secret).await, 429);

    // Its counts reach the database within a flush or two.
    let counters = fleet.collection("rate_limits").await;
    let counted = || async {
        let counters = counters
            .find_one(doc! { "_id": { "$regex": "^token:" } })
            .await
            .unwrap();
        counters.map_or(0, |c| c.get_i64("count").unwrap())
    };
    let mut total = 0;
    for _ in 0..50 {
        total = counted().await;
        if total == LIMIT as i64 + 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(FLUSH_MS)).await;
    }
    assert_eq!(
        total,
        LIMIT as i64 + 1,
        "instance 0's counts were not written"
    );

    // The other instance has not counted this address yet, so it admits at most what it
    // counts before its first flush reads the total back; from then on it refuses.
    let mut admitted_by_other = 0;
    let mut refused = false;
    for _ in 0..50 {
        match client_credentials(&fleet, 1, &secret).await {
            200 => admitted_by_other += 1,
            429 => {
                refused = true;
                break;
            }
            other => panic!("unexpected status {other}"),
        }
        tokio::time::sleep(Duration::from_millis(FLUSH_MS / 2)).await;
    }
    assert!(refused, "instance 1 never learned the shared count");
    assert!(
        admitted_by_other <= 10,
        "instance 1 admitted {admitted_by_other} past the limit: far more than a flush interval allows"
    );
    // Both refuse from now on, until the minute ends.
    assert_eq!(client_credentials(&fleet, 1, &secret).await, 429);
    assert_eq!(client_credentials(&fleet, 0, &secret).await, 429);
}

/// An instance that counted an address once, and nothing since, still learns what the others
/// counted: each flush reads back every counter of the minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_counter_learns_the_other_instances_counts() {
    let (fleet, secret) = two_instances().await;

    assert_eq!(client_credentials(&fleet, 0, &secret).await, 200);
    for _ in 1..LIMIT {
        assert_eq!(client_credentials(&fleet, 1, &secret).await, 200);
    }
    // Both instances' counts reach the database; then instance 0, with nothing of its own
    // to write, reads the total back within a flush or two.
    let counters = fleet.collection("rate_limits").await;
    for _ in 0..100 {
        let counter = counters
            .find_one(doc! { "_id": { "$regex": "^token:" } })
            .await
            .unwrap();
        if counter.is_some_and(|c| c.get_i64("count").unwrap() == LIMIT as i64) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(FLUSH_MS)).await;
    }
    tokio::time::sleep(Duration::from_millis(20 * FLUSH_MS)).await;
    assert_eq!(client_credentials(&fleet, 0, &secret).await, 429);
}
