//! The issuer's public keys, from its JWKS (RFC 7517), cached for as long as the issuer's
//! `Cache-Control: max-age` allows (so a key the issuer withdrew stops verifying here too), and
//! fetched again on an unknown `kid` no more often than the configured interval.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use serde::Deserialize;

/// RFC 7517 §5.
#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

/// The members of an RSA JWK this kit reads (RFC 7518 §6.3.1).
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// How long a key set is used when the issuer's answer names no `max-age`.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// The cached set, when it was fetched, and for how long it may be used.
struct Cached {
    keys: HashMap<String, DecodingKey>,
    fetched: Instant,
    max_age: Duration,
}

pub(super) struct RemoteKeys {
    jwks_uri: String,
    refetch_interval: Duration,
    keys: RwLock<Option<Cached>>,
    /// When the set was last fetched; a fetch in progress holds the lock, so concurrent
    /// requests with the same unknown `kid` wait for it instead of fetching again.
    fetched: tokio::sync::Mutex<Option<Instant>>,
}

impl RemoteKeys {
    pub(super) fn new(jwks_uri: String, refetch_interval: Duration) -> Self {
        RemoteKeys {
            jwks_uri,
            refetch_interval,
            keys: RwLock::new(None),
            fetched: tokio::sync::Mutex::new(None),
        }
    }

    /// The key for `kid`. The set is fetched again when it is older than its `max-age`, or
    /// when `kid` is unknown and the last fetch is older than the refetch interval. If a
    /// fetch for age fails, the cached set keeps serving (logged) rather than failing every
    /// request.
    pub(super) async fn find(
        &self,
        http: &reqwest::Client,
        kid: &str,
    ) -> Result<Option<DecodingKey>, reqwest::Error> {
        let (key, fresh) = self.cached(kid);
        if fresh && key.is_some() {
            return Ok(key);
        }
        let mut fetched = self.fetched.lock().await;
        // Another request may have fetched while this one waited.
        let (key, fresh) = self.cached(kid);
        if fresh && key.is_some() {
            return Ok(key);
        }
        if fresh && fetched.is_some_and(|at| at.elapsed() < self.refetch_interval) {
            return Ok(None);
        }
        *fetched = Some(Instant::now());
        match self.fetch(http).await {
            Ok(()) => Ok(self.cached(kid).0),
            Err(error) if key.is_some() => {
                tracing::warn!(%error, "cannot refresh the issuer's keys; using the cached set");
                Ok(key)
            }
            Err(error) => Err(error),
        }
    }

    /// Replaces the cached set with the issuer's current one.
    pub(super) async fn fetch(&self, http: &reqwest::Client) -> Result<(), reqwest::Error> {
        let response = http.get(&self.jwks_uri).send().await?.error_for_status()?;
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|value| value.to_str().ok())
            .and_then(max_age)
            .unwrap_or(DEFAULT_MAX_AGE);
        let set: JwkSet = response.json().await?;
        let keys: HashMap<String, DecodingKey> = set
            .keys
            .into_iter()
            .filter(|jwk| jwk.kty == "RSA")
            .filter(|jwk| jwk.use_.as_deref().is_none_or(|u| u == "sig"))
            .filter(|jwk| jwk.alg.as_deref().is_none_or(|a| a == "RS256"))
            .filter_map(|jwk| {
                let key = DecodingKey::from_rsa_components(jwk.n.as_deref()?, jwk.e.as_deref()?);
                Some((jwk.kid?, key.ok()?))
            })
            .collect();
        tracing::debug!(keys = keys.len(), uri = %self.jwks_uri, "fetched the issuer's keys");
        if let Ok(mut cached) = self.keys.write() {
            // Never fresher than the refetch interval: a `max-age` of zero must not turn every
            // request into a fetch.
            *cached = Some(Cached {
                keys,
                fetched: Instant::now(),
                max_age: max_age.max(self.refetch_interval),
            });
        }
        Ok(())
    }

    /// The cached key for `kid`, and whether the cached set is still within its `max-age`.
    fn cached(&self, kid: &str) -> (Option<DecodingKey>, bool) {
        let Ok(cached) = self.keys.read() else {
            return (None, false);
        };
        match cached.as_ref() {
            Some(set) => (
                set.keys.get(kid).cloned(),
                set.fetched.elapsed() < set.max_age,
            ),
            None => (None, false),
        }
    }
}

/// `max-age` of a `Cache-Control` value (RFC 9111 §5.2.2.1); `no-cache`/`no-store` mean 0.
fn max_age(value: &str) -> Option<Duration> {
    let mut age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(Duration::ZERO);
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            age = seconds
                .trim_matches('"')
                .parse()
                .ok()
                .map(Duration::from_secs);
        }
    }
    age
}

#[cfg(test)]
mod tests {
    use super::{max_age, Duration};

    #[test]
    fn cache_control_max_age_is_read() {
        assert_eq!(
            max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(max_age("Max-Age=\"5\""), Some(Duration::from_secs(5)));
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }
}
