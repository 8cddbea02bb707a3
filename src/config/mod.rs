//! Configuration: defaults, then `Portcullis.toml`, then `MONGODB_URI`, then `PORTCULLIS_*`
//! environment variables. Unknown keys and invalid values are refused at start with a message
//! naming the key; every key is documented in `docs/configuration.md`.

use std::collections::BTreeMap;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::Figment;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::scope::Scope;

mod keys;
mod sections;
pub mod tls_files;

pub use keys::{KeyLifecycle, KeyStoreKind, KeysConfig};
pub use sections::{
    Argon2Config, ConnectionConfig, LockoutConfig, LogFormat, MetricsConfig, MongoConfig,
    RateLimitConfig, ReadConcernLevel, RevocationSync, TlsFiles, WriteConcernSetting,
};

/// Environment variable naming the configuration file (default `Portcullis.toml`).
pub const CONFIG_FILE_ENV: &str = "PORTCULLIS_CONFIG";
/// Longest `refresh_token_reuse_grace_secs` accepted.
const MAX_REUSE_GRACE_SECS: u64 = 60;
const DEFAULT_CONFIG_FILE: &str = "Portcullis.toml";
/// The default log filter: Portcullis at `info`; none of Rocket's own lines, since nearly each
/// is caused by one client request (an unknown path, a cut-off body, an aborted connection) that
/// Portcullis's request line already records, and its launch line names the internal loopback
/// port rather than the listening address; hyper's only as errors.
pub const DEFAULT_LOG_FILTER: &str = "info,rocket=off,hyper=error";

/// Everything Portcullis can be configured with. See `docs/configuration.md`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server binds to.
    pub address: IpAddr,
    /// Port the HTTP server binds to.
    pub port: u16,
    /// Public issuer URL: the `iss` of every token and the base of every advertised endpoint.
    pub issuer: String,
    /// The `aud` of every access token: the APIs that accept Portcullis tokens.
    pub audience: Vec<String>,
    /// MongoDB connection string (also read from the plain `MONGODB_URI` variable).
    pub mongodb_uri: Secret,
    /// MongoDB database name.
    pub database: String,
    /// How long a database operation may take, in milliseconds: waiting for a reachable
    /// server, and then for its answer. Past it the request answers 503.
    pub database_timeout_ms: u64,
    /// Days audit events are kept (a TTL index deletes older ones); 0 keeps them forever.
    pub audit_retention_days: u32,
    /// How Portcullis reads and writes MongoDB: write and read concerns, retries, the pool.
    pub mongodb: MongoConfig,
    /// Folder holding the RSA signing keys (PKCS#8 PEM) and the `active` marker, when
    /// `keys.store` is `folder`.
    pub keys_dir: PathBuf,
    /// Where the signing keys live, and their scheduled rotation.
    pub keys: KeysConfig,
    /// Lifetime of access tokens, in seconds.
    pub access_token_ttl_secs: u64,
    /// A refresh token not used for this long expires, in seconds.
    pub refresh_token_idle_ttl_secs: u64,
    /// No refresh token of a family outlives this, counted from the first grant, in seconds.
    pub refresh_token_absolute_ttl_secs: u64,
    /// For this many seconds after a rotation, the token it spent may be presented again (a
    /// lost answer retried, two tabs at once): the retry gets a new successor that replaces
    /// the one issued before. 0 turns it off; at most 60.
    pub refresh_token_reuse_grace_secs: u64,
    /// `Cache-Control: max-age` of the JWKS document, in seconds.
    pub jwks_max_age_secs: u64,
    /// Clock leeway when checking `exp` and `nbf`, in seconds.
    pub token_leeway_secs: u64,
    /// Memory, in MiB, for remembering access tokens that verified (so a token presented again
    /// costs no RSA verification); about 80 bytes a token. 0 keeps only a few thousand.
    pub verified_token_cache_mb: usize,
    /// How often each instance reads new revocations from the database, in milliseconds: the
    /// poll's interval, and the change stream's longest wait.
    pub revocation_poll_ms: u64,
    /// How other instances' revocations arrive: `auto` (a change stream where the deployment
    /// offers one, else the poll) or `poll`.
    pub revocation_sync: RevocationSync,
    /// Whether every client must use PKCE (public clients always must).
    pub require_pkce: bool,
    /// Lifetime of a browser sign-in, in seconds.
    pub session_ttl_secs: u64,
    /// Folder holding the page templates and stylesheet.
    pub templates_dir: PathBuf,
    /// Scope → the sentence the consent page shows for it.
    pub scope_descriptions: BTreeMap<String, String>,
    /// Whether `POST /register` creates accounts.
    pub self_registration: bool,
    /// Base64 key (at least 32 bytes) encrypting browser cookies; random per start when unset.
    pub session_secret: Option<Secret>,
    /// Argon2id cost parameters for user passwords.
    pub argon2: Argon2Config,
    /// Role name → the scopes a user with that role may be granted. A table given in the file
    /// or environment replaces the default one as a whole.
    pub roles: BTreeMap<String, Vec<String>>,
    /// Account lockout after repeated failed sign-ins.
    pub lockout: LockoutConfig,
    /// Requests per client address per minute; 0 turns a limit off.
    pub rate_limits: RateLimitConfig,
    /// Caps and deadlines on client connections.
    pub connections: ConnectionConfig,
    /// Header carrying the client address when behind a trusted proxy (e.g. `X-Real-IP`);
    /// unset, the socket peer is the client.
    pub client_ip_header: Option<String>,
    /// Serve HTTPS directly (for deployments without a TLS-terminating proxy).
    pub tls: Option<TlsFiles>,
    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
    pub shutdown_grace_secs: u32,
    /// Log filter in `tracing` syntax, e.g. `info` or `portcullis=debug,info`.
    pub log: String,
    /// `text` (for people) or `json` (one JSON object per line, for log pipelines).
    pub log_format: LogFormat,
    /// Who may read `GET /metrics`.
    pub metrics: MetricsConfig,
}

impl Default for Config {
    fn default() -> Self {
        let roles = [
            (
                "user",
                vec!["openid", "profile", "email", "profile:write", "data:read"],
            ),
            (
                "admin",
                vec![
                    "openid",
                    "profile",
                    "email",
                    "profile:write",
                    "data:read",
                    "data:write",
                    "admin",
                ],
            ),
        ]
        .into_iter()
        .map(|(role, scopes)| {
            (
                role.to_owned(),
                scopes.into_iter().map(str::to_owned).collect(),
            )
        })
        .collect();
        Config {
            address: IpAddr::from([127, 0, 0, 1]),
            port: 8000,
            issuer: "http://127.0.0.1:8000".into(),
            audience: vec!["portcullis-api".into()],
            mongodb_uri: Secret::new("mongodb://127.0.0.1:27017"),
            database: "portcullis".into(),
            database_timeout_ms: 3_000,
            audit_retention_days: 365,
            mongodb: MongoConfig::default(),
            keys_dir: PathBuf::from("keys"),
            keys: KeysConfig::default(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_idle_ttl_secs: 14 * 24 * 3600,
            refresh_token_reuse_grace_secs: 0,
            refresh_token_absolute_ttl_secs: 90 * 24 * 3600,
            jwks_max_age_secs: 300,
            token_leeway_secs: 10,
            verified_token_cache_mb: 128,
            revocation_poll_ms: 1_000,
            revocation_sync: RevocationSync::Auto,
            require_pkce: true,
            session_ttl_secs: 8 * 3600,
            templates_dir: PathBuf::from("templates"),
            scope_descriptions: [
                ("openid", "Sign you in with your Portcullis account"),
                ("profile", "See your username, role and name"),
                ("email", "See your email address"),
                ("profile:write", "Change your name and email address"),
                ("data:read", "Read your data"),
                ("data:write", "Change your data"),
                ("admin", "Administer Portcullis accounts"),
            ]
            .into_iter()
            .map(|(scope, text)| (scope.to_owned(), text.to_owned()))
            .collect(),
            self_registration: false,
            session_secret: None,
            argon2: Argon2Config::default(),
            roles,
            lockout: LockoutConfig::default(),
            rate_limits: RateLimitConfig::default(),
            connections: ConnectionConfig::default(),
            client_ip_header: None,
            tls: None,
            shutdown_grace_secs: 5,
            log: DEFAULT_LOG_FILTER.into(),
            log_format: LogFormat::Text,
            metrics: MetricsConfig::default(),
        }
    }
}

impl Config {
    /// Loads the layered configuration. `file` overrides `PORTCULLIS_CONFIG`; a missing
    /// default file is fine, a missing named file is an error.
    pub fn load(file: Option<&Path>) -> Result<Config, Error> {
        let named = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os(CONFIG_FILE_ENV).map(PathBuf::from));
        if let Some(path) = &named {
            if !path.is_file() {
                return Err(Error::Config(format!(
                    "configuration file {} does not exist",
                    path.display()
                )));
            }
        }
        let path = named.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
        Self::from_figment(Self::figment(&path))
    }

    /// The built-in defaults as a provider. The role table is left out so that a table given
    /// in the file or environment replaces the default one as a whole instead of being merged
    /// into it: a deployment that defines its roles must not inherit a hidden `admin`.
    pub fn defaults() -> Figment {
        let defaults = Config {
            roles: BTreeMap::new(),
            ..Config::default()
        };
        Figment::from(Serialized::defaults(defaults))
    }

    /// The whole provider stack: defaults, the file (when present), then the environment.
    pub fn figment(file: &Path) -> Figment {
        let mut figment = Self::defaults();
        if file.exists() {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            .merge(Env::raw().only(&["MONGODB_URI"]))
            .merge(Env::prefixed("PORTCULLIS_").ignore(&["CONFIG"]).split("__"))
    }

    /// Extracts and validates a configuration from any figment.
    pub fn from_figment(figment: Figment) -> Result<Config, Error> {
        let mut config: Config = figment.extract().map_err(|e| Error::Config(one_line(&e)))?;
        if config.roles.is_empty() {
            config.roles = Config::default().roles;
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), Error> {
        let invalid = |key: &str, reason: &str| Err(Error::Config(format!("{key}: {reason}")));
        match url::Url::parse(&self.issuer) {
            // RFC 8414 §2: the issuer has no query or fragment.
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.query().is_none()
                    && url.fragment().is_none()
                    && !self.issuer.ends_with('/') => {}
            _ => {
                return invalid(
                    "issuer",
                    "must be an http(s) URL without query, fragment or trailing slash",
                )
            }
        }
        if self.audience.is_empty() || self.audience.iter().any(String::is_empty) {
            return invalid("audience", "must list at least one non-empty audience");
        }
        if self.database.is_empty() || self.database.contains(['/', '\\', '.', ' ', '"', '$']) {
            return invalid("database", "must be a valid MongoDB database name");
        }
        if !(1..=128).contains(&self.rate_limits.ipv6_prefix) {
            return invalid("rate_limits.ipv6_prefix", "must be between 1 and 128");
        }
        if !(10..=60_000).contains(&self.rate_limits.flush_ms) {
            return invalid("rate_limits.flush_ms", "must be between 10 and 60000");
        }
        let connections = &self.connections;
        if connections.max_open == 0
            || connections.header_timeout_secs == 0
            || connections.body_timeout_secs == 0
            || connections.idle_timeout_secs == 0
        {
            return invalid(
                "connections",
                "max_open and the timeouts must be greater than zero",
            );
        }
        if self.lockout.threshold == 0 || self.lockout.window_secs == 0 {
            return invalid(
                "lockout",
                "threshold and window_secs must be greater than zero",
            );
        }
        if self.lockout.base_secs == 0 || self.lockout.base_secs > self.lockout.max_secs {
            return invalid("lockout", "base_secs must be between 1 and max_secs");
        }
        if let Some(tls) = &self.tls {
            for (key, path) in [("tls.certs", &tls.certs), ("tls.key", &tls.key)] {
                if !path.is_file() {
                    return invalid(key, &format!("{} is not a readable file", path.display()));
                }
            }
            if let Err((key, reason)) = tls_files::check(tls) {
                return invalid(key, &reason);
            }
        }
        if self.session_ttl_secs == 0 {
            return invalid("session_ttl_secs", "must be greater than zero");
        }
        if self.revocation_poll_ms == 0 {
            return invalid("revocation_poll_ms", "must be greater than zero");
        }
        if self.token_leeway_secs > 300 {
            return invalid("token_leeway_secs", "must be at most 300");
        }
        if self.verified_token_cache_mb > 65_536 {
            return invalid("verified_token_cache_mb", "must be at most 65536");
        }
        self.metrics.networks()?;
        self.mongodb.validate()?;
        self.keys.validate(self)?;
        if self
            .metrics
            .bearer_token
            .as_ref()
            .is_some_and(|token| token.expose().len() < 32)
        {
            return invalid("metrics.bearer_token", "must be at least 32 characters");
        }
        if self.database_timeout_ms == 0 {
            return invalid("database_timeout_ms", "must be greater than zero");
        }
        for (key, value) in [
            ("access_token_ttl_secs", self.access_token_ttl_secs),
            (
                "refresh_token_idle_ttl_secs",
                self.refresh_token_idle_ttl_secs,
            ),
            (
                "refresh_token_absolute_ttl_secs",
                self.refresh_token_absolute_ttl_secs,
            ),
        ] {
            if value == 0 {
                return invalid(key, "must be greater than zero");
            }
        }
        // Longer would leave a stolen, already spent token usable for too long.
        if self.refresh_token_reuse_grace_secs > MAX_REUSE_GRACE_SECS {
            return invalid(
                "refresh_token_reuse_grace_secs",
                "must be at most 60 (0 turns the grace period off)",
            );
        }
        if self.refresh_token_idle_ttl_secs > self.refresh_token_absolute_ttl_secs {
            return invalid(
                "refresh_token_idle_ttl_secs",
                "must not exceed refresh_token_absolute_ttl_secs",
            );
        }
        if let Err(e) = argon2::Params::new(
            self.argon2.memory_kib,
            self.argon2.iterations,
            self.argon2.parallelism,
            None,
        ) {
            return invalid("argon2", &e.to_string());
        }
        if let Some(secret) = &self.session_secret {
            use base64::Engine;
            match base64::engine::general_purpose::STANDARD.decode(secret.expose()) {
                Ok(bytes) if bytes.len() >= 32 => {}
                _ => return invalid("session_secret", "must be base64 of at least 32 bytes"),
            }
        }
        for (role, scopes) in &self.roles {
            if !is_role_name(role) {
                return invalid("roles", &format!("role name {role:?} is not a valid name"));
            }
            for scope in scopes {
                if Scope::parse(scope).map(|s| s.len()) != Ok(1) {
                    return invalid(
                        &format!("roles.{role}"),
                        &format!("{scope:?} is not a single valid scope token"),
                    );
                }
            }
        }
        Ok(())
    }

    /// Whether the issuer is served over https (cookies get the `Secure` flag).
    pub fn issuer_is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

/// Role names are plain identifiers: they appear in tokens and in URLs.
pub fn is_role_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// Figment's message can span lines (it lists every expected field); operators get one line.
fn one_line(error: &rocket::figment::Error) -> String {
    error
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A configuration value that must never be printed (database credentials, cookie keys): the
/// one secret type.
pub use crate::secrets::SecretString as Secret;
