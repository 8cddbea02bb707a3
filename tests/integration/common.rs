//! Test harness: a uniquely named database per test (dropped afterwards, even when the test
//! fails), a signing key generated once per run, and the app built by `build_rocket`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use portcullis::{build_rocket, Config, KeyRing, Store};
use rocket::local::asynchronous::Client;

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

/// Drops its database when it goes out of scope, including while a failed test unwinds.
pub struct DatabaseGuard {
    pub name: String,
}

impl Drop for DatabaseGuard {
    fn drop(&mut self) {
        let name = self.name.clone();
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

/// A running application on its own database.
#[allow(dead_code)] // Not every test module reads every field.
pub struct TestApp {
    pub client: Client,
    pub store: Store,
    pub config: Config,
    pub keys: KeyRing,
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
    TestApp {
        client,
        store,
        config,
        keys,
        _db: guard,
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

/// A password hasher with cheap parameters, for tests that hash a lot.
pub fn fast_hasher() -> portcullis::password::PasswordHasher {
    portcullis::password::PasswordHasher::new(portcullis::config::Argon2Config {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    })
}

/// A port nothing listens on (bound, then released).
pub fn free_closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
