//! Configuration loading: layering, and refusals that name the key.

use portcullis::config::Config;
use portcullis::error::Error;
use rocket::figment::providers::{Format, Toml};

/// Defaults plus a TOML text, without the process environment (which tests do not control).
fn from_toml(text: &str) -> Result<Config, Error> {
    Config::from_figment(Config::defaults().merge(Toml::string(text)))
}

fn message(result: Result<Config, Error>) -> String {
    let error = result
        .expect_err("configuration should have been refused")
        .to_string();
    assert!(!error.contains('\n'), "error must be one line: {error}");
    error
}

#[test]
fn defaults_are_documented_values() {
    let config = from_toml("").unwrap();
    assert_eq!(config.port, 8000);
    assert_eq!(config.access_token_ttl_secs, 900);
    assert_eq!(config.refresh_token_idle_ttl_secs, 14 * 24 * 3600);
    assert_eq!(config.refresh_token_absolute_ttl_secs, 90 * 24 * 3600);
    assert_eq!(
        (
            config.argon2.memory_kib,
            config.argon2.iterations,
            config.argon2.parallelism
        ),
        (19_456, 2, 1)
    );
    assert!(config.roles["admin"].contains(&"admin".to_string()));
    assert!(!config.self_registration);
}

#[test]
fn file_values_override_defaults() {
    let config = from_toml(
        r#"
        port = 9000
        issuer = "https://auth.example.com"
        [argon2]
        memory_kib = 65536
        [roles]
        reader = ["data:read"]
        "#,
    )
    .unwrap();
    assert_eq!(config.port, 9000);
    assert!(config.issuer_is_https());
    assert_eq!(config.argon2.memory_kib, 65536);
    assert_eq!(config.argon2.iterations, 2);
    assert_eq!(config.roles.len(), 1);
}

#[test]
fn unknown_keys_are_refused_by_name() {
    let error = message(from_toml("prot = 8000"));
    assert!(error.contains("prot"), "{error}");
    let error = message(from_toml("[argon2]\nmemory = 5"));
    assert!(error.contains("memory"), "{error}");
}

#[test]
fn invalid_values_are_refused_by_name() {
    let cases = [
        ("port = \"eighty\"", "port"),
        ("port = 70000", "port"),
        ("issuer = \"not a url\"", "issuer"),
        ("issuer = \"https://a.example/?q=1\"", "issuer"),
        ("audience = []", "audience"),
        ("access_token_ttl_secs = 0", "access_token_ttl_secs"),
        (
            "refresh_token_idle_ttl_secs = 100\nrefresh_token_absolute_ttl_secs = 10",
            "refresh_token_idle_ttl_secs",
        ),
        ("[argon2]\nmemory_kib = 1", "argon2"),
        ("session_secret = \"c2hvcnQ=\"", "session_secret"),
        ("[roles]\nuser = [\"bad scope\"]", "roles.user"),
        ("database = \"a/b\"", "database"),
        ("log_format = \"xml\"", "log_format"),
        ("[metrics]\nallow = [\"10.0.0.0/33\"]", "metrics.allow"),
        ("[metrics]\nallow = [\"localhost\"]", "metrics.allow"),
        (
            "[metrics]\nbearer_token = \"short\"",
            "metrics.bearer_token",
        ),
        ("[mongodb]\nwrite_concern = 0", "mongodb.write_concern"),
        ("[mongodb]\nwrite_concern = \"0\"", "mongodb.write_concern"),
        ("[mongodb]\nread_concern = \"snapshot\"", "read_concern"),
        ("[mongodb]\nmax_pool_size = 0", "mongodb.max_pool_size"),
        ("[keys]\nstore = \"vault\"", "store"),
        ("[keys]\nstore = \"database\"", "keys.kek"),
        (
            "[keys]\nstore = \"database\"\nkek = \"a\"\nkek_file = \"b\"",
            "keys.kek",
        ),
        (
            "[keys]\nrotation_interval_secs = 86400",
            "keys.rotation_interval_secs",
        ),
        (
            "jwks_max_age_secs = 300\n[keys]\npublish_lead_secs = 60",
            "keys.publish_lead_secs",
        ),
        (
            "[keys]\nwithdraw_after_secs = 60",
            "keys.withdraw_after_secs",
        ),
        ("[keys]\nreload_ms = 0", "keys.reload_ms"),
    ];
    for (toml, key) in cases {
        let error = message(from_toml(toml));
        assert!(error.contains(key), "{toml:?} gave {error:?}");
    }
}

#[test]
fn a_named_config_file_must_exist() {
    let error = message(Config::load(Some(std::path::Path::new(
        "/nonexistent/Portcullis.toml",
    ))));
    assert!(error.contains("/nonexistent/Portcullis.toml"), "{error}");
}

#[test]
fn secrets_are_redacted_in_debug_output() {
    let config = from_toml(
        "mongodb_uri = \"mongodb://user:hunter2@db.example\"\n\
         [metrics]\nbearer_token = \"metrics-token-metrics-token-metrics-token\"",
    )
    .unwrap();
    let printed = format!("{config:?}");
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(!printed.contains("metrics-token"), "{printed}");
    let kek = from_toml("[keys]\nkek = \"a2V5LWVuY3J5cHRpb24ta2V5LXRoYXQtbXVzdC1ub3Qtc2hvdw==\"")
        .unwrap();
    let printed = format!("{kek:?}");
    assert!(!printed.contains("a2V5LWVu"), "{printed}");
}

#[test]
fn the_database_settings_take_numbers_or_names() {
    let config = from_toml("[mongodb]\nwrite_concern = 2\nread_concern = \"local\"").unwrap();
    assert_eq!(config.mongodb.write_concern.members(), Some(2));
    let config = from_toml("[mongodb]\nwrite_concern = \"dc-east\"").unwrap();
    assert_eq!(config.mongodb.write_concern.members(), None);
    let config = from_toml("jwks_max_age_secs = 60\naccess_token_ttl_secs = 600").unwrap();
    let lifecycle = config.keys.lifecycle(&config);
    assert_eq!(lifecycle.publish_lead.as_secs(), 60);
    assert_eq!(lifecycle.withdraw_after.as_secs(), 610);
    assert_eq!(lifecycle.rotation_interval, None);
}

/// Rocket's per-request and per-connection messages (anyone can cause one per request) and its
/// launch line (which names the internal port) stay out of the default log; Portcullis's own
/// lines stay in.
#[test]
fn the_default_log_filter_keeps_connection_noise_out() {
    use std::sync::{Arc, Mutex};
    let lines = Arc::new(Mutex::new(Vec::<u8>::new()));
    let sink = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            portcullis::config::DEFAULT_LOG_FILTER,
        ))
        .with_ansi(false)
        .with_writer(move || WriteTo(sink.clone()))
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tracing::warn!(target: "rocket::server", "connection error: closed before message completed");
        tracing::error!(target: "rocket::server::_", "No matching routes for GET /nowhere.");
        tracing::error!(target: "rocket::data::data::_", "Failed to read into peek buffer");
        tracing::warn!(target: "hyper::proto::h1::io", "parse error");
        tracing::warn!(target: "rocket::launch", "Rocket has launched from http://127.0.0.1:1");
        tracing::info!(target: "portcullis::http", "request");
    });
    let logged = String::from_utf8(lines.lock().unwrap().clone()).unwrap();
    assert!(
        !logged.contains("connection error")
            && !logged.contains("parse error")
            && !logged.contains("No matching routes")
            && !logged.contains("peek buffer"),
        "{logged}"
    );
    assert!(!logged.contains("Rocket has launched"), "{logged}");
    assert!(logged.contains("request"), "{logged}");
}

struct WriteTo(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for WriteTo {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The example file in the repository is a configuration Portcullis accepts as it is.
#[test]
fn the_example_configuration_loads() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/Portcullis.example.toml");
    let figment = portcullis::Config::defaults().merge(Toml::file_exact(example));
    let config = portcullis::Config::from_figment(figment).unwrap();
    assert!(config.roles.contains_key("admin"), "{:?}", config.roles);
    assert_eq!(config.connections.header_timeout_secs, 10);
}
