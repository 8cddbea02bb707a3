//! The resource-server kit end to end: Portcullis and `kit/examples/resource_server.rs` run as
//! separate processes on free ports. A user's token works on the example API; a revoked token
//! is refused there (introspection); tokens with made-up key ids do not make the example
//! hammer Portcullis's JWKS; after a key rotation on Portcullis the example accepts tokens
//! signed with the new key without a restart, and stops accepting the old key once Portcullis
//! withdraws it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

use crate::common::{
    free_closed_port, kid_of, portcullis_command, run_with_input, temp_dir, unique_database,
    DatabaseGuard, Running,
};

/// Portcullis's binary with this test's database, keys and port.
pub(crate) struct Portcullis {
    database: String,
    keys: PathBuf,
    port: u16,
}

impl Portcullis {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = portcullis_command(&self.database, &self.keys, args);
        command
            .env("PORTCULLIS_PORT", self.port.to_string())
            .env("PORTCULLIS_ISSUER", self.issuer())
            .env("PORTCULLIS_LOG", "warn")
            .env("PORTCULLIS_JWKS_MAX_AGE_SECS", "1");
        command
    }

    /// Runs a management command and returns its standard output.
    fn run(&self, args: &[&str], stdin: &str) -> String {
        let output = run_with_input(self.command(args), stdin);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    pub(crate) fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The example binary, built next to the test binary by `cargo test`.
fn example_binary() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_portcullis"));
    let path = bin
        .parent()
        .unwrap()
        .join("examples")
        .join("resource_server");
    assert!(
        path.exists(),
        "{} is missing: scripts/test.sh builds it (`cargo build --workspace --example resource_server`)",
        path.display()
    );
    path
}

pub(crate) async fn wait_until_up(http: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(url).send().await.is_err() {
        assert!(Instant::now() < deadline, "{url} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn password_token(
    http: &reqwest::Client,
    issuer: &str,
    secret: &str,
    scope: &str,
) -> String {
    let answer: Value = http
        .post(format!("{issuer}/oauth/token"))
        .basic_auth("kit-app", Some(secret))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}

pub(crate) async fn call(http: &reqwest::Client, url: &str, token: &str) -> (u16, Value) {
    let response = http.get(url).bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Revokes `token` at Portcullis (RFC 7009) and checks that `url` refuses it once the API's
/// remembered introspection answer (1 s in these tests) is gone.
pub(crate) async fn refused_once_revoked(
    http: &reqwest::Client,
    issuer: &str,
    app_secret: &str,
    url: &str,
    token: &str,
) {
    let revoked = http
        .post(format!("{issuer}/oauth/revoke"))
        .basic_auth("kit-app", Some(app_secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let (status, body) = call(http, url, token).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        body["error_description"],
        "the access token has been revoked"
    );
}

/// How many JWKS requests Portcullis has answered (its own metrics, read from loopback).
async fn jwks_fetches(http: &reqwest::Client, issuer: &str) -> f64 {
    let text = http
        .get(format!("{issuer}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series =
        "portcullis_http_requests_total{method=\"GET\",route=\"/.well-known/jwks.json\",status=\"200\"}";
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// A running Portcullis with the admin `alice`, the password client `kit-app` and the
/// introspecting client `kit-rs`. The server is stopped and its database dropped on drop.
pub(crate) struct LiveIssuer {
    _server: Running,
    pub portcullis: Portcullis,
    pub keys: tempfile::TempDir,
    pub app_secret: String,
    pub rs_secret: String,
    _db: DatabaseGuard,
}

pub(crate) async fn live_issuer(http: &reqwest::Client) -> LiveIssuer {
    let database = unique_database();
    let db = DatabaseGuard {
        name: database.clone(),
    };
    let keys = temp_dir();
    let portcullis = Portcullis {
        database,
        keys: keys.path().to_path_buf(),
        port: free_closed_port(),
    };
    portcullis.run(&["keys", "generate"], "");
    portcullis.run(
        &["user", "add", "alice", "--role", "admin"],
        "alice-password\n",
    );
    let app_secret = crate::cli::secret_of(&portcullis.run(
        &[
            "client",
            "add",
            "--name",
            "App",
            "--id",
            "kit-app",
            "--grant-type",
            "password",
            "--grant-type",
            "client_credentials",
            "--scope",
            "profile,data:read,data:write,admin",
        ],
        "",
    ));
    let rs_secret = crate::cli::secret_of(&portcullis.run(
        &[
            "client",
            "add",
            "--name",
            "Reports API",
            "--id",
            "kit-rs",
            "--grant-type",
            "client_credentials",
            "--scope",
            "data:read",
            "--introspect",
        ],
        "",
    ));
    let server = Running(
        portcullis
            .command(&["serve"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until_up(http, &format!("{}/healthz", portcullis.issuer())).await;
    LiveIssuer {
        _server: server,
        portcullis,
        keys,
        app_secret,
        rs_secret,
        _db: db,
    }
}

#[rocket::async_test]
async fn a_separate_api_is_protected_by_the_kit_across_revocation_and_rotation() {
    let http = reqwest::Client::new();
    let live = live_issuer(&http).await;
    let (portcullis, keys) = (&live.portcullis, &live.keys);
    let (app_secret, rs_secret) = (&live.app_secret, &live.rs_secret);
    let issuer = portcullis.issuer();

    let rs_port = free_closed_port();
    let _example = Running(
        Command::new(example_binary())
            .env_clear()
            .env("PORTCULLIS_ISSUER_URL", &issuer)
            .env("RS_PORT", rs_port.to_string())
            .env("RS_INTROSPECTION_CLIENT_ID", "kit-rs")
            .env("RS_INTROSPECTION_CLIENT_SECRET", rs_secret)
            .env("RS_JWKS_REFETCH_SECS", "1")
            .env("RS_INTROSPECTION_CACHE_SECS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let api = format!("http://127.0.0.1:{rs_port}");
    wait_until_up(&http, &format!("{api}/health")).await;

    // Scopes and roles, checked by the kit's guards.
    let token = password_token(&http, &issuer, app_secret, "data:read admin").await;
    let (status, body) = call(&http, &format!("{api}/reports"), &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        call(&http, &format!("{api}/admin/stats"), &token).await.0,
        200
    );
    let refused = http
        .post(format!("{api}/reports"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert!(refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
    let anonymous = http.get(format!("{api}/whoami")).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    // Made-up key ids: refused, and at most one JWKS fetch for all of them.
    let before = jwks_fetches(&http, &issuer).await;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    for n in 0..10 {
        let header = format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"forged-{n}"}}"#);
        parts[0] = URL_SAFE_NO_PAD.encode(header);
        let (status, _) = call(&http, &format!("{api}/reports"), &parts.join(".")).await;
        assert_eq!(status, 401);
    }
    // One fetch for the unknown ids, and at most one more if the 1-second max-age of the cached
    // set ran out during the loop on a slow machine: never one per forged token.
    let fetched = jwks_fetches(&http, &issuer).await - before;
    assert!(
        fetched <= 2.0,
        "{fetched} JWKS fetches for ten forged key ids"
    );

    // Revoked at Portcullis: refused by the example once its cached answer (1 s) is gone.
    refused_once_revoked(
        &http,
        &issuer,
        app_secret,
        &format!("{api}/reports"),
        &token,
    )
    .await;

    // Key rotation on Portcullis (it re-reads its keys folder every 10 s): new tokens carry the
    // new key id, and the example fetches the new key by itself.
    let old_kid = kid_of(&token);
    let before_rotation = password_token(&http, &issuer, app_secret, "data:read").await;
    portcullis.run(&["keys", "rotate"], "");
    let deadline = Instant::now() + Duration::from_secs(30);
    let fresh = loop {
        let fresh = password_token(&http, &issuer, app_secret, "data:read").await;
        if kid_of(&fresh) != old_kid {
            break fresh;
        }
        assert!(
            Instant::now() < deadline,
            "Portcullis never signed with the new key"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    tokio::time::sleep(Duration::from_millis(1_100)).await; // past the refetch interval
    let (status, body) = call(&http, &format!("{api}/whoami"), &fresh).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["username"], "alice");
    let (status, _) = call(&http, &format!("{api}/whoami"), &before_rotation).await;
    assert_eq!(
        status, 200,
        "the old key still verifies until it is withdrawn"
    );

    // Withdrawing the old key (its file removed): once Portcullis's JWKS drops it and the
    // example's cached set is past its max-age (1 s here), its tokens are refused there too.
    std::fs::remove_file(keys.path().join(format!("{old_kid}.pem"))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let jwks: Value = http
            .get(format!("{issuer}/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == old_kid)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Portcullis never withdrew the old key"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The example answers from its cached set and refreshes it in the background as it nears
    // its max-age, so the old key stops verifying within about one max-age and one fetch.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = call(&http, &format!("{api}/whoami"), &before_rotation).await;
        if status == 401 {
            break;
        }
        assert_eq!(status, 200, "{body}");
        assert!(
            Instant::now() < deadline,
            "the withdrawn key still verifies"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (status, _) = call(&http, &format!("{api}/whoami"), &fresh).await;
    assert_eq!(status, 200);
}
