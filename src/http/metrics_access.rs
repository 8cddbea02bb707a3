//! Who may read `/metrics`: the addresses in `metrics.allow`, or a caller presenting
//! `metrics.bearer_token`. Parsed once at start-up.

use std::net::IpAddr;

use crate::config::Config;
use crate::secrets::{constant_time_eq, SecretString};

pub struct MetricsAccess {
    networks: Vec<ipnet::IpNet>,
    token: Option<SecretString>,
}

impl MetricsAccess {
    /// The configuration was validated when loaded; an entry that still fails to parse
    /// allows nobody.
    pub fn from_config(config: &Config) -> Self {
        MetricsAccess {
            networks: config.metrics.networks().unwrap_or_default(),
            token: config.metrics.bearer_token.clone(),
        }
    }

    /// Whether a caller from `address`, presenting `bearer` (if any), may read the metrics.
    /// The token is compared in constant time.
    pub fn allows(&self, address: Option<IpAddr>, bearer: Option<&str>) -> bool {
        let by_address =
            address.is_some_and(|ip| self.networks.iter().any(|net| net.contains(&ip)));
        let by_token = match (&self.token, bearer) {
            (Some(expected), Some(given)) => constant_time_eq(given, expected.expose()),
            _ => false,
        };
        by_address || by_token
    }
}
