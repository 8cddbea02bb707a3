//! How long a revocation takes to reach a second instance: signs in on instance A, has B
//! accept the token once (so B holds it as verified), revokes it on A (`POST /oauth/revoke`)
//! and times from A's answer until B refuses it (401 on `/api/me`). Prints one JSON line:
//! rounds, median, max and min (ms). bench/scale.sh drives it.
//!
//! `cargo run --release --example propagation -- --url-a http://127.0.0.1:8000 \
//!     --url-b http://127.0.0.1:8001 --rounds 20 --client-id bench --client-secret ... \
//!     --username bench --password ...`

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Longest one round waits for B to refuse the token.
const GIVE_UP: Duration = Duration::from_secs(30);

struct Settings {
    url_a: String,
    url_b: String,
    rounds: usize,
    client_id: String,
    client_secret: String,
    username: String,
    password: String,
}

fn settings() -> Settings {
    let mut args = std::env::args().skip(1);
    let mut get = HashMap::new();
    while let (Some(name), Some(value)) = (args.next(), args.next()) {
        get.insert(name.trim_start_matches("--").to_owned(), value);
    }
    let arg =
        |name: &str, default: &str| get.get(name).cloned().unwrap_or_else(|| default.to_owned());
    Settings {
        url_a: arg("url-a", "http://127.0.0.1:8000"),
        url_b: arg("url-b", "http://127.0.0.1:8001"),
        rounds: arg("rounds", "20").parse().expect("--rounds is a number"),
        client_id: arg("client-id", "bench"),
        client_secret: arg("client-secret", ""),
        username: arg("username", "bench"),
        password: arg("password", ""),
    }
}

/// An access token from the password grant on instance A.
async fn sign_in(http: &reqwest::Client, settings: &Settings) -> String {
    let answer: Value = http
        .post(format!("{}/oauth/token", settings.url_a))
        .basic_auth(&settings.client_id, Some(&settings.client_secret))
        .form(&[
            ("grant_type", "password"),
            ("username", &settings.username),
            ("password", &settings.password),
        ])
        .send()
        .await
        .expect("password grant")
        .json()
        .await
        .expect("a JSON answer");
    answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {answer}"))
        .to_owned()
}

async fn me(http: &reqwest::Client, base: &str, token: &str) -> u16 {
    http.get(format!("{base}/api/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /api/me")
        .status()
        .as_u16()
}

/// One round: the time from A's answer to the revocation until B's first refusal.
async fn round(http: &reqwest::Client, settings: &Settings, stagger: Duration) -> Duration {
    let token = sign_in(http, settings).await;
    assert_eq!(me(http, &settings.url_b, &token).await, 200, "B accepts it");
    // Revocations land at different points of B's poll cycle.
    tokio::time::sleep(stagger).await;
    let revoked = http
        .post(format!("{}/oauth/revoke", settings.url_a))
        .basic_auth(&settings.client_id, Some(&settings.client_secret))
        .form(&[
            ("token", token.as_str()),
            ("token_type_hint", "access_token"),
        ])
        .send()
        .await
        .expect("POST /oauth/revoke");
    assert_eq!(revoked.status().as_u16(), 200, "the revocation");
    let at = Instant::now();
    while me(http, &settings.url_b, &token).await != 401 {
        assert!(
            at.elapsed() < GIVE_UP,
            "B still accepts it after {GIVE_UP:?}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let took = at.elapsed();
    assert_eq!(me(http, &settings.url_a, &token).await, 401, "A refuses it");
    took
}

#[tokio::main]
async fn main() {
    let settings = settings();
    let http = reqwest::Client::new();
    let mut took = Vec::with_capacity(settings.rounds);
    for n in 0..settings.rounds {
        let stagger = Duration::from_millis((n as u64 * 370) % 1000);
        took.push(round(&http, &settings, stagger).await);
    }
    took.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    let median = match took.len() {
        0 => 0.0,
        n if n % 2 == 1 => ms(&took[n / 2]),
        n => (ms(&took[n / 2 - 1]) + ms(&took[n / 2])) / 2.0,
    };
    println!(
        "{}",
        serde_json::json!({
            "rounds": took.len(),
            "median_ms": median,
            "max_ms": took.last().map_or(0.0, ms),
            "min_ms": took.first().map_or(0.0, ms),
        })
    );
}
