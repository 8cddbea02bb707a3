//! What operators watch: `/metrics` (who may read it, and the counters moving with traffic)
//! and the request id every answer carries.

use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;

use crate::common::{app, app_with, basic, seed, token, user_tokens};

const LOCAL: &str = "127.0.0.1:40000";

async fn scrape(client: &Client, remote: &str, token: Option<&str>) -> (Status, String) {
    let mut request = client.get("/metrics").remote(remote.parse().unwrap());
    if let Some(token) = token {
        request = request.header(Header::new("Authorization", format!("Bearer {token}")));
    }
    let response = request.dispatch().await;
    let status = response.status();
    (status, response.into_string().await.unwrap_or_default())
}

/// The value of one sample line (`name{labels} value`), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[rocket::async_test]
async fn metrics_are_for_allowed_addresses_or_the_token() {
    let token_value = "m".repeat(40);
    let app = app_with(|config| {
        config.metrics.allow = vec!["10.0.0.0/8".into()];
        config.metrics.bearer_token = Some(portcullis::config::Secret::new(token_value.clone()));
    })
    .await;
    let (status, text) = scrape(&app.client, "10.1.2.3:5000", None).await;
    assert_eq!(status, Status::Ok);
    assert!(text.contains("# TYPE"), "{text}");
    for (remote, token) in [(LOCAL, None), ("192.168.1.1:5000", Some("wrong-token"))] {
        let (status, body) = scrape(&app.client, remote, token).await;
        assert_eq!(status, Status::Forbidden, "{remote}");
        assert!(body.contains("access_denied"));
    }
    let (status, _) = scrape(&app.client, "192.168.1.1:5000", Some(&token_value)).await;
    assert_eq!(status, Status::Ok);

    // By default only loopback reads them.
    let default = crate::common::app().await;
    assert_eq!(scrape(&default.client, LOCAL, None).await.0, Status::Ok);
    assert_eq!(
        scrape(&default.client, "203.0.113.9:1", None).await.0,
        Status::Forbidden
    );
}

#[rocket::async_test]
async fn counters_move_with_traffic() {
    let app = app().await;
    let seed = seed(&app).await;
    let before = scrape(&app.client, LOCAL, None).await.1;

    let (_, refresh) = user_tokens(&app, &seed, "alice", None).await;
    let wrong = "grant_type=password&username=alice&password=wrong-password";
    token(&app, wrong, Some(basic("app", &seed.app_secret))).await;
    let rotate = format!("grant_type=refresh_token&refresh_token={refresh}");
    token(&app, &rotate, Some(basic("app", &seed.app_secret))).await;
    token(&app, &rotate, Some(basic("app", &seed.app_secret))).await; // reuse
    app.client.get("/healthz").dispatch().await;

    let after = scrape(&app.client, LOCAL, None).await.1;
    for series in [
        "portcullis_tokens_issued_total{grant_type=\"password\"}",
        "portcullis_tokens_issued_total{grant_type=\"refresh_token\"}",
        "portcullis_login_failures_total",
        "portcullis_refresh_token_reuse_total",
        "portcullis_revocations_total{kind=\"family\"}",
        "portcullis_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}",
        "portcullis_http_request_duration_seconds_count{method=\"POST\",route=\"/oauth/token\"}",
        "portcullis_database_command_duration_seconds_count{command=\"insert\"}",
    ] {
        assert!(
            sample(&after, series) > sample(&before, series),
            "{series} did not move:\n{after}"
        );
    }
    assert!(
        after.contains("portcullis_revocation_set_entries"),
        "{after}"
    );
    assert!(after.contains("portcullis_revocation_sync_age_seconds"));
}

#[rocket::async_test]
async fn every_answer_carries_a_request_id() {
    let app = app().await;
    let made = app.client.get("/healthz").dispatch().await;
    let first = made.headers().get_one("X-Request-Id").unwrap().to_owned();
    let again = app.client.get("/no/such/page").dispatch().await;
    let second = again.headers().get_one("X-Request-Id").unwrap();
    assert_ne!(first, second);

    let given = app
        .client
        .get("/healthz")
        .header(Header::new("X-Request-Id", "lb-7f3a.42"))
        .dispatch()
        .await;
    assert_eq!(given.headers().get_one("X-Request-Id"), Some("lb-7f3a.42"));
    let unsafe_id = app
        .client
        .get("/healthz")
        .header(Header::new("X-Request-Id", "a b\"c"))
        .dispatch()
        .await;
    assert_ne!(unsafe_id.headers().get_one("X-Request-Id"), Some("a b\"c"));
}
