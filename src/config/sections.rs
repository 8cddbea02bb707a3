//! The parts of the configuration that are tables of their own (`[argon2]`, `[tls]`,
//! `[lockout]`, `[rate_limits]`, `[connections]`, `[metrics]`) and the log format.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Secret;
use crate::error::Error;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// How an instance learns of revocations made by other instances.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RevocationSync {
    /// A change stream where the deployment offers one (a replica set or a sharded cluster),
    /// the poll where it does not.
    #[default]
    Auto,
    /// The poll every `revocation_poll_ms`, always.
    Poll,
}

/// Access to the Prometheus metrics: from the listed addresses, or with the bearer token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Addresses (`127.0.0.1`) and networks (`10.0.0.0/8`) that may read the metrics without a
    /// token. The client address is the socket peer, or `client_ip_header` when set.
    pub allow: Vec<String>,
    /// A token (at least 32 characters) that reads the metrics from anywhere, sent as
    /// `Authorization: Bearer <token>`.
    pub bearer_token: Option<Secret>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            allow: vec!["127.0.0.1".into(), "::1".into()],
            bearer_token: None,
        }
    }
}

impl MetricsConfig {
    /// The allowed networks, parsed (a bare address is a network of one).
    pub fn networks(&self) -> Result<Vec<ipnet::IpNet>, Error> {
        self.allow
            .iter()
            .map(|entry| {
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        Error::Config(format!(
                            "metrics.allow: {entry:?} is not an IP address or network"
                        ))
                    })
            })
            .collect()
    }
}

/// Argon2id cost parameters (OWASP's recommended minimum by default).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Argon2Config {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// PEM files for built-in TLS.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub certs: PathBuf,
    /// The certificate's private key.
    pub key: PathBuf,
}

/// Account lockout: at most `threshold` sign-in attempts of one account name are checked within
/// `window_secs`; when they fail, the name is locked for `base_secs`, doubling with each further
/// lock up to `max_secs`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutConfig {
    pub threshold: u32,
    pub window_secs: u64,
    pub base_secs: u64,
    pub max_secs: u64,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig {
            threshold: 5,
            window_secs: 15 * 60,
            base_secs: 60,
            max_secs: 3600,
        }
    }
}

/// Per-address request limits, per minute (0 = no limit).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    pub token_per_minute: u32,
    pub login_per_minute: u32,
    pub register_per_minute: u32,
    /// Requests to the revocation endpoint.
    pub revoke_per_minute: u32,
    /// Failed client authentications (token, revocation, introspection endpoints).
    pub client_auth_failures_per_minute: u32,
    /// IPv6 clients are limited per network of this many leading bits (1 to 128).
    pub ipv6_prefix: u8,
    /// Milliseconds between the writes that share this instance's counts with the others
    /// (counting itself is in memory); a limit may be overshot by what the other instances
    /// admit in about two of these.
    pub flush_ms: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            token_per_minute: 60_000,
            login_per_minute: 300,
            register_per_minute: 30,
            revoke_per_minute: 600,
            client_auth_failures_per_minute: 60,
            ipv6_prefix: 64,
            flush_ms: 1000,
        }
    }
}

/// What the listening socket allows each connection: how many may be open, and how long a
/// client may take to send a request. A client past a limit is refused or cut off before any
/// of its bytes reach a handler.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionConfig {
    /// Connections open at once; past it a new one is answered 503 and closed.
    pub max_open: usize,
    /// Connections open at once from one client address (IPv6 by `rate_limits.ipv6_prefix`);
    /// 0 turns the cap off. Not applied when `client_ip_header` is set: the peer is the proxy.
    pub max_open_per_address: usize,
    /// Seconds a client has to send a request's line and headers, counted from the connection's
    /// start for its first request and from the first byte for later ones.
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a request's body once its headers are in.
    pub body_timeout_secs: u64,
    /// Seconds a connection may stay open with nothing sent either way.
    pub idle_timeout_secs: u64,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            max_open: 10_000,
            max_open_per_address: 256,
            header_timeout_secs: 10,
            body_timeout_secs: 20,
            idle_timeout_secs: 30,
        }
    }
}

/// How Portcullis reads and writes MongoDB (`[mongodb]`). See `docs/operations.md`, "Write
/// and read concerns".
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MongoConfig {
    /// Acknowledgement every write waits for: `"majority"` (the default), a number of
    /// members, or a replica-set tag name. Never 0: every decision is one acknowledged write.
    pub write_concern: WriteConcernSetting,
    /// Whether writes wait for the journal.
    pub journal: bool,
    /// `majority` (the default): reads see only what a majority holds, so nothing read can be
    /// rolled back by an election; or `local`.
    pub read_concern: ReadConcernLevel,
    /// The driver retries a write once after a network error or an election.
    pub retry_writes: bool,
    /// The same for reads.
    pub retry_reads: bool,
    /// Connections per server in the pool; unset, the URI's `maxPoolSize` or the driver's 10.
    pub max_pool_size: Option<u32>,
    /// Connections kept open per server even when idle; unset, the URI's or none.
    pub min_pool_size: Option<u32>,
}

impl Default for MongoConfig {
    fn default() -> Self {
        MongoConfig {
            write_concern: WriteConcernSetting::Named("majority".into()),
            journal: true,
            read_concern: ReadConcernLevel::Majority,
            retry_writes: true,
            retry_reads: true,
            max_pool_size: None,
            min_pool_size: None,
        }
    }
}

/// `w`: a number of members, or a name (`majority` or a replica-set tag).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum WriteConcernSetting {
    Members(u32),
    Named(String),
}

impl WriteConcernSetting {
    /// The number a name spells (`"1"`), if it is one.
    pub fn members(&self) -> Option<u32> {
        match self {
            WriteConcernSetting::Members(n) => Some(*n),
            WriteConcernSetting::Named(name) => name.trim().parse().ok(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReadConcernLevel {
    Majority,
    Local,
}

impl MongoConfig {
    pub(super) fn validate(&self) -> Result<(), Error> {
        let invalid =
            |key: &str, reason: &str| Err(Error::Config(format!("mongodb.{key}: {reason}")));
        match &self.write_concern {
            setting if setting.members() == Some(0) => invalid(
                "write_concern",
                "0 (unacknowledged) would let a token be spent twice; use \"majority\" or at least 1",
            ),
            WriteConcernSetting::Named(name) if name.trim().is_empty() => {
                invalid("write_concern", "must be \"majority\", a number or a tag name")
            }
            _ if self.max_pool_size == Some(0) => invalid("max_pool_size", "must be at least 1"),
            _ if self.min_pool_size > self.max_pool_size && self.max_pool_size.is_some() => {
                invalid("min_pool_size", "must not exceed max_pool_size")
            }
            _ => Ok(()),
        }
    }
}
