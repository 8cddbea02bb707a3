//! The resource-server kit against an issuer that misbehaves, played by a small HTTP server on
//! 127.0.0.1 whose answers each test chooses: a failing key set is asked for once per refetch
//! interval, not once per request; known key ids are answered while a fetch hangs; redirects
//! are not followed; oversized answers and endpoints off the issuer's origin are refused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portcullis_kit::{
    AccessClaims, BearerVerifier, EndpointError, FetchError, GuardError, KitConfig, KitError,
    RemoteVerifier,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::shared_keys_dir;

/// What the fake issuer sends back for one request.
enum Reply {
    Json(&'static str, String),
    Redirect(String),
    /// Never answers (the kit's own time limit ends the request).
    Hang,
    /// A body with no length, ended by closing the connection.
    Unframed(String),
}

type Routes = Arc<dyn Fn(&str) -> Reply + Send + Sync>;

/// A fake issuer on a free loopback port, counting requests per path.
struct FakeIssuer {
    url: String,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeIssuer {
    async fn start(routes: impl Fn(&str, &str) -> Reply + Send + Sync + 'static) -> FakeIssuer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let origin = url.clone();
        let routes: Routes = Arc::new(move |path| routes(&origin, path));
        let counted = hits.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (routes, counted) = (routes.clone(), counted.clone());
                tokio::spawn(async move {
                    let Some(path) = read_request(&mut stream).await else {
                        return;
                    };
                    *counted.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
                    let response = match routes(&path) {
                        Reply::Json(cache_control, body) => format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                             Cache-Control: {cache_control}\r\nContent-Length: {}\r\n\
                             Connection: close\r\n\r\n{body}",
                            body.len()
                        ),
                        Reply::Redirect(to) => format!(
                            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {to}\r\n\
                             Content-Length: 0\r\nConnection: close\r\n\r\n"
                        ),
                        Reply::Hang => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            return;
                        }
                        Reply::Unframed(body) => format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                             Connection: close\r\n\r\n{body}"
                        ),
                    };
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        FakeIssuer { url, hits, task }
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

/// Reads one request's head and body; returns its path.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    head.split_whitespace().nth(1).map(str::to_owned)
}

/// RFC 8414 metadata for `origin`, with the given endpoints.
fn metadata(origin: &str, jwks_uri: &str, introspection: &str) -> Reply {
    Reply::Json(
        "no-store",
        json!({
            "issuer": origin,
            "jwks_uri": jwks_uri,
            "introspection_endpoint": introspection,
        })
        .to_string(),
    )
}

/// The shared test key's JWKS, cacheable for one second.
fn jwks() -> Reply {
    let keys = portcullis::KeyRing::load(shared_keys_dir()).unwrap();
    let jwk = serde_json::to_value(keys.snapshot().active().jwk()).unwrap();
    Reply::Json("max-age=1", json!({ "keys": [jwk] }).to_string())
}

/// An access token for `issuer` signed with the shared test key, under `kid`.
fn token(issuer: &str, kid: Option<&str>) -> String {
    crate::jwt::shared_key_token(issuer, "at+jwt", kid)
}

fn kit(issuer: &str) -> KitConfig {
    let mut config = KitConfig::new(issuer);
    config.jwks_refetch_interval = Duration::from_secs(2);
    config.timeout = Duration::from_secs(3);
    config
}

/// How the fake key set answers.
const KEYS_OK: u8 = 0;
const KEYS_FAIL: u8 = 1;
const KEYS_HANG: u8 = 2;

#[rocket::async_test]
async fn a_failing_key_set_is_asked_once_per_interval_and_known_keys_never_wait() {
    let mode = Arc::new(AtomicU8::new(KEYS_OK));
    let keys_mode = mode.clone();
    let issuer = FakeIssuer::start(move |origin, path| match path {
        "/.well-known/oauth-authorization-server" => metadata(
            origin,
            &format!("{origin}/jwks"),
            &format!("{origin}/introspect"),
        ),
        "/jwks" => match keys_mode.load(Ordering::SeqCst) {
            KEYS_OK => jwks(),
            KEYS_FAIL => Reply::Json("no-store", "{\"error\":\"down\"}".into()),
            _ => Reply::Hang,
        },
        _ => Reply::Json("no-store", "{}".into()),
    })
    .await;
    let verifier = Arc::new(RemoteVerifier::connect(kit(&issuer.url)).await.unwrap());
    let good = token(&issuer.url, None);
    assert!(verify(&verifier, &good).await.is_ok());
    assert_eq!(issuer.hits("/jwks"), 1);

    // The key set starts failing (an object without `keys` is not a JWKS); once the interval
    // has passed, a burst of made-up key ids causes one fetch, and its failure is remembered.
    mode.store(KEYS_FAIL, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let forged: Vec<String> = (0..25)
        .map(|i| token(&issuer.url, Some(&format!("made-up-{i}"))))
        .collect();
    let started = Instant::now();
    let mut refused = 0;
    while started.elapsed() < Duration::from_secs(1) {
        let burst: Vec<_> = forged
            .iter()
            .cloned()
            .map(|forged| {
                let verifier = verifier.clone();
                tokio::spawn(async move { verify(&verifier, &forged).await })
            })
            .collect();
        for outcome in burst {
            match outcome.await.unwrap() {
                Err(GuardError::Unavailable) | Err(GuardError::Token(_)) => refused += 1,
                Ok(_) => panic!("a made-up key id was accepted"),
                Err(other) => panic!("{other:?}"),
            }
        }
    }
    assert!(refused >= 25);
    // The stale set still verifies the key it knows, without waiting for the issuer.
    assert!(verify(&verifier, &good).await.is_ok());
    assert_eq!(
        issuer.hits("/jwks"),
        2,
        "{refused} forged tokens, one fetch expected"
    );

    // The key set now hangs: known key ids are still answered at once, from the cached set,
    // while one background fetch waits out the kit's 3 s time limit.
    mode.store(KEYS_HANG, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (verifier, good) = (verifier.clone(), good.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                let outcome = verify(&verifier, &good).await;
                (outcome.is_ok(), started.elapsed())
            })
        })
        .collect();
    for call in calls {
        let (ok, took) = call.await.unwrap();
        assert!(ok);
        assert!(took < Duration::from_millis(1_500), "waited {took:?}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await; // the background fetch is sent
    assert_eq!(issuer.hits("/jwks"), 3);
}

#[rocket::async_test]
async fn introspection_redirects_are_not_followed() {
    let thief = FakeIssuer::start(|_, _| Reply::Json("no-store", "{\"active\":true}".into())).await;
    let steal = format!("{}/steal", thief.url);
    let issuer = FakeIssuer::start(move |origin, path| match path {
        "/.well-known/oauth-authorization-server" => metadata(
            origin,
            &format!("{origin}/jwks"),
            &format!("{origin}/introspect"),
        ),
        "/jwks" => jwks(),
        _ => Reply::Redirect(steal.clone()),
    })
    .await;
    let mut config = kit(&issuer.url);
    config.introspection = Some(("rs".into(), portcullis::secrets::SecretString::new("s")));
    let verifier = RemoteVerifier::connect(config).await.unwrap();
    let outcome = verify(&verifier, &token(&issuer.url, None)).await;
    assert!(
        matches!(outcome, Err(GuardError::Unavailable)),
        "{outcome:?}"
    );
    assert_eq!(issuer.hits("/introspect"), 1);
    assert_eq!(
        thief.hits("/steal"),
        0,
        "the token was sent on to the redirect"
    );
}

#[rocket::async_test]
async fn oversized_answers_are_not_read() {
    // 300 KiB of key set, sent without a length: the cap holds as the bytes arrive.
    let issuer = FakeIssuer::start(|origin, path| match path {
        "/.well-known/oauth-authorization-server" => metadata(
            origin,
            &format!("{origin}/jwks"),
            &format!("{origin}/introspect"),
        ),
        _ => Reply::Unframed(format!(
            "{{\"keys\":[],\"padding\":\"{}\"}}",
            "x".repeat(300 * 1024)
        )),
    })
    .await;
    let error = RemoteVerifier::connect(kit(&issuer.url))
        .await
        .err()
        .expect("an oversized key set is refused");
    assert!(
        matches!(error, KitError::Unreachable(FetchError::TooLarge(_))),
        "{error}"
    );
}

#[rocket::async_test]
async fn endpoints_off_the_issuers_origin_are_refused() {
    let elsewhere = FakeIssuer::start(|_, _| jwks()).await;
    let foreign_keys = format!("{}/jwks", elsewhere.url);
    let issuer = FakeIssuer::start(move |origin, path| match path {
        "/.well-known/oauth-authorization-server" => {
            metadata(origin, &foreign_keys, &format!("{origin}/introspect"))
        }
        _ => jwks(),
    })
    .await;
    let error = RemoteVerifier::connect(kit(&issuer.url))
        .await
        .err()
        .expect("a key set on another origin is refused");
    assert!(
        matches!(error, KitError::Endpoint(EndpointError::ForeignOrigin(_))),
        "{error}"
    );
    assert_eq!(elsewhere.hits("/jwks"), 0);

    let foreign_introspection = format!("{}/introspect", elsewhere.url);
    let issuer = FakeIssuer::start(move |origin, path| match path {
        "/.well-known/oauth-authorization-server" => {
            metadata(origin, &format!("{origin}/jwks"), &foreign_introspection)
        }
        _ => jwks(),
    })
    .await;
    let mut config = kit(&issuer.url);
    config.introspection = Some(("rs".into(), portcullis::secrets::SecretString::new("s")));
    let error = RemoteVerifier::connect(config)
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(error, KitError::Endpoint(EndpointError::ForeignOrigin(_))),
        "{error}"
    );

    // An issuer off loopback must use https.
    let error = RemoteVerifier::connect(kit("http://auth.example.com"))
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(error, KitError::Endpoint(EndpointError::NotHttps(_))),
        "{error}"
    );
}

/// Asks the verifier about a token presented on `GET /` with no other header.
async fn verify(verifier: &RemoteVerifier, token: &str) -> Result<Arc<AccessClaims>, GuardError> {
    let headers = rocket::http::HeaderMap::new();
    let request = portcullis_kit::BearerRequest {
        token,
        method: "GET",
        path: "/",
        query: None,
        headers: &headers,
    };
    verifier.verify_bearer(&request).await
}
