//! The authorization-code + PKCE flow in a real headless Chromium, driven over WebDriver
//! (chromedriver) against Portcullis listening on a free localhost port: the login page, the
//! consent page, the client's redirect with `code` and `state`, the code exchange, a second run
//! that skips consent, then an OpenID Connect sign-in whose answer comes back as a form the page
//! posts by script (its CSP nonce at work in a real browser), and RP-initiated logout with its
//! confirmation page. Screenshots of the pages go to `target/browser-screenshots/`.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{
    basic, bearer, free_closed_port, post_form, seed, temp_dir, test_config, unique_database,
    DatabaseGuard,
};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Waits until something accepts connections on the port.
fn wait_for_port(port: u16) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nothing listens on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// chromedriver and the Chromium it starts, stopped on drop even when the test fails.
struct Driver {
    process: Child,
    profile: tempfile::TempDir,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let port = free_closed_port();
        let process = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is not installed (scripts/test.sh installs chromium-driver)");
        wait_for_port(port);
        Driver {
            process,
            profile: temp_dir(),
            port,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        // Chromium outlives a killed chromedriver; its profile folder names it uniquely.
        let _ = Command::new("pkill")
            .arg("-f")
            .arg(self.profile.path())
            .status();
    }
}

/// Stops the served Portcullis when dropped.
struct Served(rocket::Shutdown);

impl Drop for Served {
    fn drop(&mut self) {
        self.0.clone().notify();
    }
}

/// What the app's endpoint received: each request's head and body, as text.
type Received = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// A stand-in for the third-party app's redirect endpoint: answers every request with 200 and
/// keeps what it was sent.
async fn callback_server() -> (u16, tokio::task::JoinHandle<()>, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Received::default();
    let kept = received.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            // The head, then as much body as it announces.
            while let Ok(read) = socket.read(&mut buffer).await {
                request.extend_from_slice(&buffer[..read]);
                let text = String::from_utf8_lossy(&request).to_string();
                let Some(end) = text.find("\r\n\r\n") else {
                    if read == 0 {
                        break;
                    }
                    continue;
                };
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if read == 0 || request.len() >= end + 4 + length {
                    break;
                }
            }
            kept.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&request).to_string());
            let body = "<!doctype html><title>Example app</title><p>Signed in.</p>";
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    (port, task, received)
}

/// The URL the browser ends up on once it reaches the app (or after ten seconds).
async fn landing(
    browser: &fantoccini::Client,
    app_port: u16,
) -> Result<url::Url, fantoccini::error::CmdError> {
    let started = Instant::now();
    loop {
        let url = browser.current_url().await?;
        if url.port() == Some(app_port) || started.elapsed() > Duration::from_secs(10) {
            return Ok(url);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[rocket::async_test]
async fn a_third_party_app_gets_tokens_through_the_browser() {
    let database = unique_database();
    let port = free_closed_port();
    let mut config = test_config(&database);
    config.database.clone_from(&database);
    config.port = port;
    config.issuer = format!("http://127.0.0.1:{port}");
    let store = portcullis::Store::from_config(&config).await.unwrap();
    store.ensure_indexes().await.unwrap();
    let keys = portcullis::KeyRing::load(&config.keys_dir).unwrap();
    let running = portcullis::server::start(config.clone(), store.clone(), keys.clone())
        .await
        .unwrap();
    let _served = Served(running.shutdown());
    wait_for_port(port);

    // The in-process client shares the database: it seeds data and plays the app's backend.
    let backend = Client::tracked(portcullis::build_rocket(
        config.clone(),
        store.clone(),
        keys,
    ))
    .await
    .unwrap();
    let app = crate::common::TestApp::new(
        backend,
        store.clone(),
        config.clone(),
        portcullis::KeyRing::load(&config.keys_dir).unwrap(),
        DatabaseGuard { name: database },
    );
    seed(&app).await;
    let (callback_port, callback_task, received) = callback_server().await;
    let redirect_uri = format!("http://127.0.0.1:{callback_port}/callback");
    let signed_out = format!("http://127.0.0.1:{callback_port}/signed-out");
    let (_, secret) = portcullis::services::clients::create_client(
        &store,
        &portcullis::services::Actor::CommandLine,
        portcullis::services::clients::NewClient {
            client_id: Some("photos".into()),
            name: "Photo Printer".into(),
            kind: portcullis::store::ClientKind::Confidential,
            redirect_uris: vec![redirect_uri.clone()],
            post_logout_redirect_uris: vec![signed_out.clone()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            scopes: vec!["openid".into(), "profile".into(), "data:read".into()],
            default_scopes: None,
            can_introspect: false,
        },
    )
    .await
    .unwrap();
    let secret = secret.unwrap().expose().to_owned();

    let driver = Driver::start();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=420,860",
                format!("--user-data-dir={}", driver.profile.path().display()),
            ],
        }),
    );
    let browser = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("WebDriver session");

    let mut authorize =
        url::Url::parse(&format!("http://127.0.0.1:{port}/oauth/authorize")).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "photos")
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "profile data:read")
        .append_pair("state", "af0ifjsldkj")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");

    let mut oidc = authorize.clone();
    oidc.query_pairs_mut()
        .clear()
        .append_pair("response_type", "code")
        .append_pair("client_id", "photos")
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "openid profile")
        .append_pair("state", "oidc-state")
        .append_pair("nonce", "oidc-nonce")
        .append_pair("response_mode", "form_post")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    let mut logout =
        url::Url::parse(&format!("http://127.0.0.1:{port}/oauth/end_session")).unwrap();
    logout
        .query_pairs_mut()
        .append_pair("client_id", "photos")
        .append_pair("post_logout_redirect_uri", &signed_out)
        .append_pair("state", "bye");

    let outcome = async {
        browser.goto(authorize.as_str()).await?;
        assert_eq!(browser.current_url().await?.path(), "/login");
        std::fs::write(
            screenshot_dir().join("login.png"),
            browser.screenshot().await?,
        )
        .unwrap();
        browser
            .find(Locator::Css("#username"))
            .await?
            .send_keys("alice")
            .await?;
        browser
            .find(Locator::Css("#password"))
            .await?
            .send_keys("alice-password")
            .await?;
        browser
            .find(Locator::Css("#sign-in"))
            .await?
            .click()
            .await?;

        let allow = browser.wait().for_element(Locator::Css("#allow")).await?;
        let consent = browser.source().await?;
        assert!(consent.contains("Photo Printer"), "{consent}");
        assert!(consent.contains("Read your data"));
        std::fs::write(
            screenshot_dir().join("consent.png"),
            browser.screenshot().await?,
        )
        .unwrap();
        allow.click().await?;

        let first = landing(&browser, callback_port).await?;

        // A second run: signed in and consented already, straight back to the app.
        browser.goto(authorize.as_str()).await?;
        let second = landing(&browser, callback_port).await?;

        // OpenID Connect, the answer as a form post: a new scope, so the consent page again,
        // in plain words; then the page that posts the code by its one script.
        browser.goto(oidc.as_str()).await?;
        let allow = browser.wait().for_element(Locator::Css("#allow")).await?;
        let consent = browser.source().await?;
        assert!(
            consent.contains("Sign you in with your Portcullis account"),
            "{consent}"
        );
        allow.click().await?;
        let posted = landing(&browser, callback_port).await?;

        // RP-initiated logout without a hint: the user confirms, then returns to the app.
        browser.goto(logout.as_str()).await?;
        let confirm = browser
            .wait()
            .for_element(Locator::Css("#confirm-sign-out"))
            .await?;
        let asked = browser.source().await?;
        assert!(
            asked.contains("Photo Printer") && asked.contains("Sign out?"),
            "{asked}"
        );
        std::fs::write(
            screenshot_dir().join("logout-confirmation.png"),
            browser.screenshot().await?,
        )
        .unwrap();
        confirm.click().await?;
        let after_logout = landing(&browser, callback_port).await?;
        browser
            .goto(&format!("http://127.0.0.1:{port}/login"))
            .await?;
        let signed_out_page = browser.source().await?;
        std::fs::write(
            screenshot_dir().join("signed-out.png"),
            browser.screenshot().await?,
        )
        .unwrap();
        Ok::<_, fantoccini::error::CmdError>((first, second, posted, after_logout, signed_out_page))
    }
    .await;
    let _ = browser.close().await;
    drop(driver);
    callback_task.abort();
    let (first, second, posted, after_logout, signed_out_page) = outcome.expect("browser flow");

    // The app's backend exchanging a code.
    let exchange = |code: &str| {
        let form = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect::<String>()
        );
        let (client, secret) = (&app.client, &secret);
        async move { post_form(client, "/oauth/token", &form, Some(basic("photos", secret))).await }
    };

    // The form post reached the app as a POST carrying the code, the state and the issuer.
    assert_eq!(posted.path(), "/callback");
    let post = received
        .lock()
        .unwrap()
        .iter()
        .find(|r| r.starts_with("POST /callback"))
        .cloned()
        .expect("the form was posted to the app");
    let body = post.split("\r\n\r\n").nth(1).unwrap_or_default();
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("state").as_deref(), Some("oidc-state"));
    assert_eq!(field("iss"), Some(config.issuer.clone()));
    let oidc_code = field("code").expect("a code in the post");
    let tokens = exchange(&oidc_code).await;
    assert_eq!(tokens.status, Status::Ok, "{}", tokens.body);
    let (_, id_token) = crate::oidc::jwt_parts(tokens.body["id_token"].as_str().unwrap());
    assert_eq!(id_token["nonce"], "oidc-nonce");
    assert_eq!(id_token["aud"], "photos");

    assert_eq!(after_logout.path(), "/signed-out");
    assert_eq!(after_logout.query(), Some("state=bye"));
    assert!(
        signed_out_page.contains("id=\"password\""),
        "signed out: {signed_out_page}"
    );

    for landed in [&first, &second] {
        assert_eq!(landed.port(), Some(callback_port), "{landed}");
        assert_eq!(landed.path(), "/callback");
        let state = landed
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned());
        assert_eq!(state.as_deref(), Some("af0ifjsldkj"));
    }
    let code = first
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens = exchange(&code).await;
    assert_eq!(tokens.status, Status::Ok, "{}", tokens.body);
    let me = bearer(
        &app.client,
        Method::Get,
        "/api/me",
        tokens.body["access_token"].as_str(),
        None,
    )
    .await;
    assert_eq!(me.status, Status::Ok);
    assert_eq!(me.body["username"], "alice");
    assert!(second.query_pairs().any(|(k, _)| k == "code"));
}
