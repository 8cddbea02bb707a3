//! The benchmark's load generator: a fixed number of keep-alive HTTP/1.1 connections, each
//! sending its scenario's requests back to back for a fixed time, latencies in an HDR
//! histogram. Prints one JSON line: requests/s, p50, p99, max (ms), errors.
//!
//! `cargo run --release --example load -- --url http://127.0.0.1:8000 --scenario me \
//!     --seconds 10 --connections 16 --client-id bench --client-secret ... --password ...`

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;

#[derive(Clone)]
struct Settings {
    host: String,
    scenario: String,
    seconds: u64,
    connections: usize,
    basic: String,
    username: String,
    password: String,
}

fn settings() -> Settings {
    let mut args = std::env::args().skip(1);
    let mut get = std::collections::HashMap::new();
    while let (Some(name), Some(value)) = (args.next(), args.next()) {
        get.insert(name.trim_start_matches("--").to_owned(), value);
    }
    let arg =
        |name: &str, default: &str| get.get(name).cloned().unwrap_or_else(|| default.to_owned());
    let url = arg("url", "http://127.0.0.1:8000");
    let credentials = format!("{}:{}", arg("client-id", "bench"), arg("client-secret", ""));
    Settings {
        host: url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned(),
        scenario: arg("scenario", "healthz"),
        seconds: arg("seconds", "10").parse().expect("--seconds is a number"),
        connections: arg("connections", "16")
            .parse()
            .expect("--connections is a number"),
        basic: format!("Basic {}", STANDARD.encode(credentials)),
        username: arg("username", "bench"),
        password: arg("password", ""),
    }
}

async fn connect(host: &str) -> SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(host)
        .await
        .expect("connect to the server");
    stream.set_nodelay(true).ok();
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP/1.1 handshake");
    tokio::spawn(connection);
    sender
}

/// One request; the status and the body.
async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    settings: &Settings,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    form: Option<String>,
) -> Result<(u16, Bytes), String> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", &settings.host);
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let body = match form {
        Some(form) => {
            request = request.header("content-type", "application/x-www-form-urlencoded");
            Full::new(Bytes::from(form))
        }
        None => Full::new(Bytes::new()),
    };
    sender.ready().await.map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request.body(body).map_err(|e| e.to_string())?)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

fn field(body: &Bytes, name: &str) -> Option<String> {
    serde_json::from_slice::<Value>(body)
        .ok()?
        .get(name)?
        .as_str()
        .map(str::to_owned)
}

fn password_form(settings: &Settings) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "password")
        .append_pair("username", &settings.username)
        .append_pair("password", &settings.password)
        .finish()
}

/// A connection's whole run: its own token or refresh chain, then requests until the deadline.
async fn worker(settings: Settings, deadline: Instant) -> (Histogram<u64>, u64) {
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    let mut errors = 0;
    let mut sender = connect(&settings.host).await;
    let mut token = None;
    let mut refresh = None;
    if matches!(settings.scenario.as_str(), "me" | "introspect" | "refresh") {
        let (status, body) = send(
            &mut sender,
            &settings,
            "POST",
            "/oauth/token",
            Some(&settings.basic),
            Some(password_form(&settings)),
        )
        .await
        .expect("initial password grant");
        assert_eq!(
            status,
            200,
            "initial password grant: {}",
            String::from_utf8_lossy(&body)
        );
        token = field(&body, "access_token");
        refresh = field(&body, "refresh_token");
    }
    while Instant::now() < deadline {
        let started = Instant::now();
        let result = match settings.scenario.as_str() {
            "healthz" => send(&mut sender, &settings, "GET", "/healthz", None, None).await,
            "me" => {
                let bearer = format!("Bearer {}", token.as_deref().unwrap_or_default());
                send(
                    &mut sender,
                    &settings,
                    "GET",
                    "/api/me",
                    Some(&bearer),
                    None,
                )
                .await
            }
            "introspect" => {
                let form = format!("token={}", token.as_deref().unwrap_or_default());
                send(
                    &mut sender,
                    &settings,
                    "POST",
                    "/oauth/introspect",
                    Some(&settings.basic),
                    Some(form),
                )
                .await
            }
            "client_credentials" => {
                let form = "grant_type=client_credentials".to_owned();
                send(
                    &mut sender,
                    &settings,
                    "POST",
                    "/oauth/token",
                    Some(&settings.basic),
                    Some(form),
                )
                .await
            }
            "refresh" => {
                let form = format!(
                    "grant_type=refresh_token&refresh_token={}",
                    refresh.as_deref().unwrap_or_default()
                );
                let result = send(
                    &mut sender,
                    &settings,
                    "POST",
                    "/oauth/token",
                    Some(&settings.basic),
                    Some(form),
                )
                .await;
                if let Ok((200, body)) = &result {
                    refresh = field(body, "refresh_token");
                }
                result
            }
            "password" => {
                send(
                    &mut sender,
                    &settings,
                    "POST",
                    "/oauth/token",
                    Some(&settings.basic),
                    Some(password_form(&settings)),
                )
                .await
            }
            other => panic!("unknown scenario {other}"),
        };
        let micros = u64::try_from(started.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        match result {
            Ok((status, _)) if (200..300).contains(&status) => {
                let _ = histogram.record(micros);
            }
            Ok(_) => errors += 1,
            Err(_) => {
                errors += 1;
                sender = connect(&settings.host).await;
            }
        }
    }
    (histogram, errors)
}

#[tokio::main]
async fn main() {
    let settings = settings();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(settings.seconds);
    let workers: Vec<_> = (0..settings.connections)
        .map(|_| tokio::spawn(worker(settings.clone(), deadline)))
        .collect();
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    let mut errors = 0;
    for worker in workers {
        let (part, part_errors) = worker.await.expect("worker");
        histogram.add(part).expect("merge histograms");
        errors += part_errors;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ms = |micros: u64| micros as f64 / 1000.0;
    println!(
        "{}",
        serde_json::json!({
            "scenario": settings.scenario,
            "connections": settings.connections,
            "seconds": elapsed,
            "requests": histogram.len(),
            "rps": histogram.len() as f64 / elapsed,
            "p50_ms": ms(histogram.value_at_quantile(0.50)),
            "p99_ms": ms(histogram.value_at_quantile(0.99)),
            "max_ms": ms(histogram.max()),
            "errors": errors,
        })
    );
}
