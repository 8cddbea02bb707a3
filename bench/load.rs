//! The benchmark's load generator: a fixed number of keep-alive HTTP/1.1 connections, each
//! sending its scenario's requests back to back for a fixed time, latencies in an HDR
//! histogram. Prints one JSON line: requests/s, p50, p99, max (ms), errors.
//!
//! `cargo run --release --example load -- --url http://127.0.0.1:8000 --scenario me \
//!     --seconds 10 --connections 16 --client-id bench --client-secret ... --password ...`
//!
//! For the capacity benchmark (bench/scale.sh), over data seeded in bulk: `--users N
//! --user-prefix P` makes `password` sign in as a random one of the users `P0` .. `P{N-1}`
//! (all with `--password`), and `--families N --family-prefix P` makes `refresh` rotate a
//! random one of N seeded families, whose first refresh tokens are `P0` .. `P{N-1}`.
//!
//! Many live tokens: `--tokens-file F` (one access token a line, bench/mint.rs) makes `me` and
//! `introspect` present every token of the file in turn, each connection its own share; the
//! scenario `warm` presents each of them once to `/api/me` and measures nothing (so the server
//! has seen each, as it would have when it issued them).
//!
//! Other servers (bench/peers.sh): `--token-path`, `--me-path`, `--introspect-path` and
//! `--jwks-path` name their endpoints, and `--refresh-file F` gives each connection its first
//! refresh token (line `index`) where the server has no password grant to start a chain with.
//!
//! The measured window starts once every connection is set up (connected, signed in, holding
//! its first token), so a slow set-up never eats into a short run.

use std::sync::Arc;
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
use tokio::sync::Barrier;

#[derive(Clone)]
struct Settings {
    host: String,
    scenario: String,
    seconds: u64,
    connections: usize,
    client_id: String,
    basic: String,
    username: String,
    password: String,
    /// Seeded users to sign in as (0: `username` only).
    users: u64,
    user_prefix: String,
    /// Seeded refresh-token families to rotate (0: each connection's own chain).
    families: u64,
    family_prefix: String,
    /// Access tokens to present in turn (empty: each connection's own, from a password grant).
    tokens: Arc<Vec<String>>,
    /// Each connection's first refresh token, by index (empty: from a password grant).
    refresh_tokens: Arc<Vec<String>>,
    paths: Paths,
}

/// The endpoints of the server under load.
#[derive(Clone)]
struct Paths {
    token: String,
    me: String,
    introspect: String,
    jwks: String,
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
        client_id: arg("client-id", "bench"),
        basic: format!("Basic {}", STANDARD.encode(credentials)),
        username: arg("username", "bench"),
        password: arg("password", ""),
        users: arg("users", "0").parse().expect("--users is a number"),
        user_prefix: arg("user-prefix", ""),
        families: arg("families", "0")
            .parse()
            .expect("--families is a number"),
        family_prefix: arg("family-prefix", ""),
        tokens: Arc::new(lines(get.get("tokens-file"))),
        refresh_tokens: Arc::new(lines(get.get("refresh-file"))),
        paths: Paths {
            token: arg("token-path", "/oauth/token"),
            me: arg("me-path", "/api/me"),
            introspect: arg("introspect-path", "/oauth/introspect"),
            jwks: arg("jwks-path", "/.well-known/jwks.json"),
        },
    }
}

/// The lines of a file named by a flag, or none.
fn lines(path: Option<&String>) -> Vec<String> {
    path.map(|path| {
        std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{path} is readable: {e}"))
            .lines()
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
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

/// What one request got back.
struct Answer {
    status: u16,
    headers: hyper::HeaderMap,
    body: Bytes,
}

/// One request with `headers`, and a form body when given.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    settings: &Settings,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    form: Option<String>,
) -> Result<Answer, String> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", &settings.host);
    for (name, value) in headers {
        request = request.header(*name, *value);
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
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Answer {
        status,
        headers,
        body,
    })
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
    let headers: Vec<(&str, &str)> = authorization
        .map(|value| ("authorization", value))
        .into_iter()
        .collect();
    let answer = exchange(sender, settings, method, path, &headers, form).await?;
    Ok((answer.status, answer.body))
}

/// A form POST to `path` as the bench client (HTTP Basic).
async fn client_post(
    sender: &mut SendRequest<Full<Bytes>>,
    settings: &Settings,
    path: &str,
    form: String,
) -> Result<(u16, Bytes), String> {
    send(
        sender,
        settings,
        "POST",
        path,
        Some(&settings.basic),
        Some(form),
    )
    .await
}

/// A token request as the bench client.
async fn token_request(
    sender: &mut SendRequest<Full<Bytes>>,
    settings: &Settings,
    form: String,
) -> Result<(u16, Bytes), String> {
    client_post(sender, settings, &settings.paths.token, form).await
}

/// The code flow's redirect URI (registered for the bench client; nothing listens there).
const CALLBACK: &str = "http://127.0.0.1:9/cb";
/// RFC 7636 Appendix B's verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn authorize_path(settings: &Settings) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", &settings.client_id)
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("scope", "openid profile")
        .append_pair("state", "bench")
        .append_pair("nonce", "bench")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256")
        .finish();
    format!("/oauth/authorize?{query}")
}

/// A browser's cookies: the `name=value` of each `Set-Cookie`, later ones replacing earlier.
fn keep_cookies(jar: &mut Vec<(String, String)>, headers: &hyper::HeaderMap) {
    for set in headers.get_all("set-cookie") {
        let Some((name, value)) = set
            .to_str()
            .ok()
            .and_then(|s| s.split(';').next()?.split_once('='))
        else {
            continue;
        };
        jar.retain(|(kept, _)| kept != name);
        jar.push((name.to_owned(), value.to_owned()));
    }
}

fn cookie_header(jar: &[(String, String)]) -> String {
    let pairs: Vec<String> = jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
    pairs.join("; ")
}

fn hidden_csrf(body: &Bytes) -> String {
    let page = String::from_utf8_lossy(body);
    let start = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Signs a browser in through the sign-in page and approves the bench client once (the
/// consent is remembered); the session's `Cookie` header.
async fn browser_session(sender: &mut SendRequest<Full<Bytes>>, settings: &Settings) -> String {
    let mut jar = Vec::new();
    let page = exchange(sender, settings, "GET", "/login", &[], None)
        .await
        .expect("sign-in page");
    keep_cookies(&mut jar, &page.headers);
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &hidden_csrf(&page.body))
        .append_pair("username", &settings.username)
        .append_pair("password", &settings.password)
        .finish();
    let cookie = cookie_header(&jar);
    let signed_in = exchange(
        sender,
        settings,
        "POST",
        "/login",
        &[("cookie", &cookie)],
        Some(form),
    )
    .await
    .expect("sign-in");
    assert_eq!(
        signed_in.status,
        303,
        "sign-in: {}",
        String::from_utf8_lossy(&signed_in.body)
    );
    keep_cookies(&mut jar, &signed_in.headers);
    let cookie = cookie_header(&jar);
    let path = authorize_path(settings);
    let asked = exchange(sender, settings, "GET", &path, &[("cookie", &cookie)], None)
        .await
        .expect("authorization request");
    if asked.status == 200 {
        let form = format!("csrf={}&decision=allow", hidden_csrf(&asked.body));
        let approved = exchange(
            sender,
            settings,
            "POST",
            &path,
            &[("cookie", &cookie)],
            Some(form),
        )
        .await
        .expect("consent");
        assert_eq!(approved.status, 302, "consent");
    }
    cookie
}

/// One sign-in of the code flow with an id token, as a relying party sees it: the
/// authorization request with the browser's session (consent remembered), then the code's
/// exchange.
async fn code_flow(
    sender: &mut SendRequest<Full<Bytes>>,
    settings: &Settings,
    cookie: &str,
) -> Result<(u16, Bytes), String> {
    let path = authorize_path(settings);
    let redirect = exchange(sender, settings, "GET", &path, &[("cookie", cookie)], None).await?;
    let location = redirect
        .headers
        .get("location")
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| format!("no redirect: {}", redirect.status))?;
    let code = url::Url::parse(location)
        .map_err(|e| e.to_string())?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or("no code")?;
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", &code)
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("code_verifier", VERIFIER)
        .finish();
    let answer = token_request(sender, settings, form).await?;
    match field(&answer.1, "id_token") {
        Some(_) => Ok(answer),
        None => Ok((500, answer.1)),
    }
}

fn field(body: &Bytes, name: &str) -> Option<String> {
    serde_json::from_slice::<Value>(body)
        .ok()?
        .get(name)?
        .as_str()
        .map(str::to_owned)
}

fn password_form(settings: &Settings, username: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "password")
        .append_pair("username", username)
        .append_pair("password", &settings.password)
        .finish()
}

/// A small fast generator (SplitMix64) for picking seeded users and families; the picks need
/// to be spread, not unpredictable.
struct Picker(u64);

impl Picker {
    fn new(seed: u64) -> Picker {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Picker(seed ^ (u64::from(nanos) << 20))
    }

    /// A number below `n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

/// The live refresh tokens of the seeded families this connection rotates: every
/// `connections`-th family from its own index, so no two connections spend the same token.
fn seeded_families(settings: &Settings, index: usize) -> Vec<String> {
    (index as u64..settings.families)
        .step_by(settings.connections.max(1))
        .map(|n| format!("{}{n}", settings.family_prefix))
        .collect()
}

/// A connection's whole run: its set-up, then (once every connection is set up, `start`)
/// requests for the scenario's time.
async fn worker(settings: Settings, start: Arc<Barrier>, index: usize) -> (Histogram<u64>, u64) {
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    let mut errors = 0;
    let mut sender = connect(&settings.host).await;
    let mut token = None;
    let mut refresh = None;
    let mut picker = Picker::new(index as u64);
    let mut families = seeded_families(&settings, index);
    let cookie = if settings.scenario == "code_flow" {
        browser_session(&mut sender, &settings).await
    } else {
        String::new()
    };
    let own_chain = settings.scenario == "refresh" && families.is_empty();
    let given_chain = settings.refresh_tokens.get(index).cloned();
    let mut shared_tokens = share(&settings, index);
    let own_token =
        matches!(settings.scenario.as_str(), "me" | "introspect") && settings.tokens.is_empty();
    if let Some(given) = given_chain.filter(|_| own_chain) {
        refresh = Some(given);
    } else if own_token || own_chain {
        let form = password_form(&settings, &settings.username);
        let (status, body) = token_request(&mut sender, &settings, form)
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
    start.wait().await;
    let deadline = Instant::now() + Duration::from_secs(settings.seconds);
    while Instant::now() < deadline {
        let started = Instant::now();
        if let Some(next) = shared_tokens.next() {
            token = Some(next.clone());
        }
        let result = match settings.scenario.as_str() {
            "healthz" => send(&mut sender, &settings, "GET", "/healthz", None, None).await,
            "jwks" => {
                send(
                    &mut sender,
                    &settings,
                    "GET",
                    &settings.paths.jwks,
                    None,
                    None,
                )
                .await
            }
            "me" => me(&mut sender, &settings, token.as_deref().unwrap_or_default()).await,
            "introspect" => {
                let form = format!("token={}", token.as_deref().unwrap_or_default());
                let path = &settings.paths.introspect;
                client_post(&mut sender, &settings, path, form).await
            }
            "client_credentials" => {
                let form = "grant_type=client_credentials".to_owned();
                token_request(&mut sender, &settings, form).await
            }
            "refresh" => {
                // A seeded family picked at random, or the connection's own chain.
                let picked = match families.len() as u64 {
                    0 => None,
                    n => Some(picker.below(n) as usize),
                };
                let current = match picked {
                    Some(n) => families.get(n).map(String::as_str),
                    None => refresh.as_deref(),
                };
                let form = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", current.unwrap_or_default())
                    .finish();
                let result = token_request(&mut sender, &settings, form).await;
                // RFC 6749 §6: without a new refresh token, the client keeps its own.
                let successor = match &result {
                    Ok((200, body)) => field(body, "refresh_token"),
                    _ => None,
                };
                if let Some(successor) = successor {
                    match picked.and_then(|n| families.get_mut(n)) {
                        Some(kept) => *kept = successor,
                        None => refresh = Some(successor),
                    }
                }
                result
            }
            "password" => {
                let username = match settings.users {
                    0 => settings.username.clone(),
                    n => format!("{}{}", settings.user_prefix, picker.below(n)),
                };
                let form = password_form(&settings, &username);
                token_request(&mut sender, &settings, form).await
            }
            "code_flow" => code_flow(&mut sender, &settings, &cookie).await,
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

/// `GET /api/me` with `token`.
async fn me(
    sender: &mut SendRequest<Full<Bytes>>,
    settings: &Settings,
    token: &str,
) -> Result<(u16, Bytes), String> {
    let bearer = format!("Bearer {token}");
    let path = &settings.paths.me;
    send(sender, settings, "GET", path, Some(&bearer), None).await
}

/// Connection `index`'s share of `--tokens-file`, over and over.
fn share(settings: &Settings, index: usize) -> impl Iterator<Item = &String> {
    let connections = settings.connections;
    settings
        .tokens
        .iter()
        .skip(index)
        .step_by(connections)
        .cycle()
}

/// One unmeasured pass over every token of `--tokens-file`.
async fn warm(settings: &Settings) {
    let passes: Vec<_> = (0..settings.connections)
        .map(|index| {
            let settings = settings.clone();
            tokio::spawn(async move {
                let mut sender = connect(&settings.host).await;
                let mine = settings.tokens.len().div_ceil(settings.connections);
                for token in share(&settings, index).take(mine) {
                    let _ = me(&mut sender, &settings, token).await;
                }
            })
        })
        .collect();
    for pass in passes {
        pass.await.expect("a warming connection");
    }
}

#[tokio::main]
async fn main() {
    // A connection that fails its set-up would leave the others waiting at the start line:
    // any panic ends the run.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        std::process::exit(101);
    }));
    let settings = settings();
    if settings.scenario == "warm" {
        let started = Instant::now();
        warm(&settings).await;
        let line = serde_json::json!({
            "scenario": "warm",
            "tokens": settings.tokens.len(),
            "seconds": started.elapsed().as_secs_f64(),
        });
        println!("{line}");
        return;
    }
    let start = Arc::new(Barrier::new(settings.connections + 1));
    let workers: Vec<_> = (0..settings.connections)
        .map(|index| tokio::spawn(worker(settings.clone(), start.clone(), index)))
        .collect();
    start.wait().await;
    let started = Instant::now();
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
