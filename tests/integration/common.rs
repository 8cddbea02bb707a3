//! Test harness: a uniquely named database per test (dropped afterwards, even when the test
//! fails), a signing key generated once per run, and the app built by `build_rocket`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use portcullis::http::AppState;
use portcullis::revocation::Revocations;
use portcullis::{build_rocket, Config, KeyRing, Store};
use rocket::local::asynchronous::Client;

/// The `portcullis` binary with a clean environment: one test database, a keys folder, cheap
/// Argon2 and the project's templates.
pub fn portcullis_command(database: &str, keys_dir: &Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("MONGODB_URI", mongodb_uri())
        .env("PORTCULLIS_DATABASE", database)
        .env("PORTCULLIS_KEYS_DIR", keys_dir)
        .env("PORTCULLIS_ARGON2__MEMORY_KIB", "1024")
        .env("PORTCULLIS_ARGON2__ITERATIONS", "1")
        .env(
            "PORTCULLIS_TEMPLATES_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/templates"),
        )
        .current_dir(env!("CARGO_TARGET_TMPDIR"));
    command
}

/// Runs a command to completion with `stdin` as its input, capturing its output.
pub fn run_with_input(mut command: std::process::Command, stdin: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A child process killed when the test ends, however it ends.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The database server started by `scripts/test.sh`.
pub fn mongodb_uri() -> String {
    std::env::var("TEST_MONGODB_URI")
        .expect("TEST_MONGODB_URI is not set: run the tests with scripts/test.sh")
}

/// A database name no other test uses.
pub fn unique_database() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("t{}_{n}_{nanos}", std::process::id())
}

/// A scratch folder under `target/`, removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(base).unwrap();
    tempfile::tempdir_in(base).unwrap()
}

/// A keys folder with one key, generated once for the whole run and shared read-only.
pub fn shared_keys_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("keys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        portcullis::keys::generate_key(&dir, true).unwrap();
        dir
    })
}

/// The configuration tests start from: defaults, the test database, the shared key.
pub fn test_config(database: &str) -> Config {
    Config {
        mongodb_uri: portcullis::config::Secret::new(mongodb_uri()),
        database: database.to_owned(),
        keys_dir: shared_keys_dir().to_path_buf(),
        issuer: "http://portcullis.test".into(),
        ..Config::default()
    }
}

/// Drops its database when it goes out of scope, including while a failed test unwinds. An
/// empty name guards nothing (an app on a database server of the test's own).
pub struct DatabaseGuard {
    pub name: String,
}

impl Drop for DatabaseGuard {
    fn drop(&mut self) {
        let name = self.name.clone();
        if name.is_empty() {
            return;
        }
        // Drop runs outside any async context: use a runtime of its own on its own thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(store) =
                    Store::connect(&mongodb_uri(), &name, Duration::from_secs(5)).await
                {
                    let _ = store.drop_database().await;
                }
            });
        })
        .join();
    }
}

/// The real binary's commands on a database of their own, configured for the issuer it will
/// serve on a free loopback port; the database goes when this does.
pub struct BinaryOnPort {
    pub issuer: String,
    port: u16,
    database: DatabaseGuard,
}

impl BinaryOnPort {
    pub fn new() -> Self {
        let port = free_closed_port();
        BinaryOnPort {
            issuer: format!("http://127.0.0.1:{port}"),
            port,
            database: DatabaseGuard {
                name: unique_database(),
            },
        }
    }

    /// `portcullis ARGS` for this database, port and issuer, logging warnings only.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = portcullis_command(&self.database.name, shared_keys_dir(), args);
        command
            .env("PORTCULLIS_PORT", self.port.to_string())
            .env("PORTCULLIS_ISSUER", &self.issuer)
            .env("PORTCULLIS_LOG", "warn");
        command
    }
}

/// A running application on its own database.
#[allow(dead_code)] // Not every test module reads every field.
pub struct TestApp {
    pub client: Client,
    pub store: Store,
    pub config: Config,
    pub keys: KeyRing,
    /// The app's own revocations: what it revokes, its set knows at once.
    pub revocations: Revocations,
    pub _db: DatabaseGuard,
}

pub async fn app() -> TestApp {
    app_with(|_| {}).await
}

/// Builds the app after letting the test adjust the configuration.
pub async fn app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let name = unique_database();
    let guard = DatabaseGuard { name: name.clone() };
    let mut config = test_config(&name);
    adjust(&mut config);
    let store = Store::from_config(&config).await.unwrap();
    store.ensure_indexes().await.unwrap();
    let keys = KeyRing::load(&config.keys_dir).unwrap();
    let client = Client::tracked(build_rocket(config.clone(), store.clone(), keys.clone()))
        .await
        .unwrap();
    TestApp::new(client, store, config, keys, guard)
}

impl TestApp {
    /// The app around a client built by `build_rocket`.
    pub fn new(
        client: Client,
        store: Store,
        config: Config,
        keys: KeyRing,
        db: DatabaseGuard,
    ) -> TestApp {
        let revocations = client
            .rocket()
            .state::<AppState>()
            .unwrap()
            .revocations
            .clone();
        TestApp {
            client,
            store,
            config,
            keys,
            revocations,
            _db: db,
        }
    }
}

/// A store on a fresh database, for tests below the HTTP layer.
pub async fn store() -> (Store, Config, DatabaseGuard) {
    let name = unique_database();
    let guard = DatabaseGuard { name: name.clone() };
    let config = test_config(&name);
    let store = Store::from_config(&config).await.unwrap();
    store.ensure_indexes().await.unwrap();
    (store, config, guard)
}

/// Revocations through `store` with a set of their own, as the command line makes them.
pub fn revocations(store: &Store, config: &Config) -> Revocations {
    Revocations::new(store.clone(), Default::default(), config)
}

/// A password hasher with cheap parameters, for tests that hash a lot.
pub fn fast_hasher() -> portcullis::password::PasswordHasher {
    portcullis::password::PasswordHasher::new(portcullis::config::Argon2Config {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    })
}

/// One part of a JWT (0: the header, 1: the claims), decoded, unchecked.
fn jwt_part(jwt: &str, part: usize) -> serde_json::Value {
    use base64::Engine;
    let text = jwt.split('.').nth(part).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The `kid` in a JWT's header.
pub fn kid_of(jwt: &str) -> String {
    jwt_part(jwt, 0)["kid"].as_str().unwrap().to_owned()
}

/// A JWT's claims, unchecked.
pub fn claims_of(jwt: &str) -> serde_json::Value {
    jwt_part(jwt, 1)
}

/// Waits for the next minute when the current one has passed `latest` seconds: per-minute
/// limits count in calendar minutes, and a check must fall within one.
pub async fn early_in_a_minute(latest: u64) {
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if second > latest {
        tokio::time::sleep(std::time::Duration::from_secs(61 - second)).await;
    }
}

/// A port nothing listens on (bound, then released).
pub fn free_closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Accounts and clients most token tests need.
#[allow(dead_code)]
pub struct Seed {
    /// `alice` / `alice-password`, role `user`.
    pub alice: portcullis::store::UserDoc,
    /// `root` / `root-password`, role `admin`.
    pub root: portcullis::store::UserDoc,
    /// Confidential `app`: password, refresh_token, client_credentials; every scope.
    pub app_secret: String,
    /// Confidential `m2m`: client_credentials only, scope `data:read`.
    pub m2m_secret: String,
    /// Confidential `noref`: password only (no refresh tokens).
    pub noref_secret: String,
    // Public `mobile`: authorization_code and refresh_token, no secret.
}

pub async fn seed(app: &TestApp) -> Seed {
    use portcullis::services::clients::{create_client, NewClient};
    use portcullis::services::users::create_user;
    use portcullis::store::ClientKind;
    let hasher = fast_hasher();
    let alice = create_user(
        &app.store,
        &hasher,
        &app.config,
        &portcullis::services::Actor::CommandLine,
        "alice",
        "alice-password",
        "user",
    )
    .await
    .unwrap();
    let root = create_user(
        &app.store,
        &hasher,
        &app.config,
        &portcullis::services::Actor::CommandLine,
        "root",
        "root-password",
        "admin",
    )
    .await
    .unwrap();
    let client = |id: &str, kind, grants: &[&str], scopes: &[&str]| NewClient {
        client_id: Some(id.to_owned()),
        name: id.to_owned(),
        kind,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: grants.iter().map(|g| g.to_string()).collect(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        default_scopes: None,
        can_introspect: false,
    };
    let all = ["profile", "data:read", "data:write", "admin"];
    let secret = |pair: (
        portcullis::store::ClientDoc,
        Option<portcullis::secrets::SecretString>,
    )| { pair.1.map(|s| s.expose().to_owned()).unwrap_or_default() };
    let app_secret = secret(
        create_client(
            &app.store,
            &portcullis::services::Actor::CommandLine,
            client(
                "app",
                ClientKind::Confidential,
                &["password", "refresh_token", "client_credentials"],
                &all,
            ),
        )
        .await
        .unwrap(),
    );
    let m2m_secret = secret(
        create_client(
            &app.store,
            &portcullis::services::Actor::CommandLine,
            client(
                "m2m",
                ClientKind::Confidential,
                &["client_credentials"],
                &["data:read"],
            ),
        )
        .await
        .unwrap(),
    );
    let noref_secret = secret(
        create_client(
            &app.store,
            &portcullis::services::Actor::CommandLine,
            client("noref", ClientKind::Confidential, &["password"], &all),
        )
        .await
        .unwrap(),
    );
    create_client(
        &app.store,
        &portcullis::services::Actor::CommandLine,
        NewClient {
            redirect_uris: vec!["http://127.0.0.1/cb".to_owned()],
            ..client(
                "mobile",
                ClientKind::Public,
                &["authorization_code", "refresh_token"],
                &["profile", "data:read"],
            )
        },
    )
    .await
    .unwrap();
    Seed {
        alice,
        root,
        app_secret,
        m2m_secret,
        noref_secret,
    }
}

/// `Authorization: Basic` as RFC 6749 §2.3.1 builds it.
pub fn basic(id: &str, secret: &str) -> rocket::http::Header<'static> {
    use base64::Engine;
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(id), encode(secret));
    rocket::http::Header::new(
        "Authorization",
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        ),
    )
}

/// What a token-endpoint call answered.
#[allow(dead_code)]
pub struct Answer {
    pub status: rocket::http::Status,
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
}

impl Answer {
    #[allow(dead_code)]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// POSTs a form to the token endpoint.
pub async fn token(
    app: &TestApp,
    form: &str,
    auth: Option<rocket::http::Header<'static>>,
) -> Answer {
    post_form(&app.client, "/oauth/token", form, auth).await
}

pub async fn post_form(
    client: &Client,
    path: &str,
    form: &str,
    auth: Option<rocket::http::Header<'static>>,
) -> Answer {
    let mut request = client
        .post(path.to_owned())
        .header(rocket::http::ContentType::Form)
        .body(form);
    if let Some(auth) = auth {
        request = request.header(auth);
    }
    answer(request.dispatch().await).await
}

/// Sends a request with `Authorization: Bearer <token>` (no header when `token` is `None`).
pub async fn bearer(
    client: &Client,
    method: rocket::http::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Answer {
    let mut request = client.req(method, path.to_owned());
    if let Some(token) = token {
        request = request.header(rocket::http::Header::new(
            "Authorization",
            format!("Bearer {token}"),
        ));
    }
    if let Some(body) = body {
        request = request.header(rocket::http::ContentType::JSON).body(body);
    }
    answer(request.dispatch().await).await
}

/// Tokens for a user through the password grant on client `app`: (access, refresh).
pub async fn user_tokens(
    app: &TestApp,
    seed: &Seed,
    user: &str,
    scope: Option<&str>,
) -> (String, String) {
    let mut form = format!("grant_type=password&username={user}&password={user}-password");
    if let Some(scope) = scope {
        form.push_str(&format!("&scope={scope}"));
    }
    let answer = token(app, &form, Some(basic("app", &seed.app_secret))).await;
    assert_eq!(answer.status, rocket::http::Status::Ok, "{}", answer.body);
    (
        answer.body["access_token"].as_str().unwrap().to_owned(),
        answer.body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// Status, headers and JSON body (`Null` when not JSON) of a response.
pub async fn answer(response: rocket::local::asynchronous::LocalResponse<'_>) -> Answer {
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect();
    let body = response
        .into_json()
        .await
        .unwrap_or(serde_json::Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

/// Waits until the wall clock, which token, session and lock expiry follow, has moved on by
/// `millis` (the monotonic clock a plain sleep uses can run ahead of it on a busy machine).
pub async fn wall_clock_advance(millis: u64) {
    let wall_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    };
    let target = wall_ms() + u128::from(millis);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while wall_ms() < target {
        assert!(
            std::time::Instant::now() < deadline,
            "the wall clock does not advance"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `csrf` hidden field of a page.
pub fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    html[start..].split('"').next().unwrap().to_owned()
}

/// Signs in through the login page (the client keeps the session cookie).
pub async fn sign_in(client: &Client, username: &str, password: &str) {
    let page = client
        .get("/login")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    let form = format!(
        "csrf={}&username={username}&password={password}",
        csrf_of(&page)
    );
    let response = client
        .post("/login")
        .header(rocket::http::ContentType::Form)
        .body(form)
        .dispatch()
        .await;
    assert_eq!(
        response.status(),
        rocket::http::Status::SeeOther,
        "sign-in failed"
    );
}

/// Signs out through the signed-in page's form (the session ends server-side).
pub async fn sign_out(client: &Client) {
    let page = client.get("/login").dispatch().await;
    let page = page.into_string().await.unwrap();
    let response = client
        .post("/logout")
        .header(rocket::http::ContentType::Form)
        .body(format!("csrf={}", csrf_of(&page)))
        .dispatch()
        .await;
    assert_eq!(
        response.status(),
        rocket::http::Status::Ok,
        "sign-out failed"
    );
}
