//! The issuer's public keys, from its JWKS (RFC 7517), cached and fetched again on an unknown
//! `kid` no more often than the configured interval.

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

pub(super) struct RemoteKeys {
    jwks_uri: String,
    refetch_interval: Duration,
    keys: RwLock<HashMap<String, DecodingKey>>,
    /// When the set was last fetched; a fetch in progress holds the lock, so concurrent
    /// requests with the same unknown `kid` wait for it instead of fetching again.
    fetched: tokio::sync::Mutex<Option<Instant>>,
}

impl RemoteKeys {
    pub(super) fn new(jwks_uri: String, refetch_interval: Duration) -> Self {
        RemoteKeys {
            jwks_uri,
            refetch_interval,
            keys: RwLock::new(HashMap::new()),
            fetched: tokio::sync::Mutex::new(None),
        }
    }

    /// The key for `kid`, fetching the set again if it is unknown and the last fetch is older
    /// than the refetch interval.
    pub(super) async fn find(
        &self,
        http: &reqwest::Client,
        kid: &str,
    ) -> Result<Option<DecodingKey>, reqwest::Error> {
        if let Some(key) = self.cached(kid) {
            return Ok(Some(key));
        }
        let mut fetched = self.fetched.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(key) = self.cached(kid) {
            return Ok(Some(key));
        }
        if fetched.is_some_and(|at| at.elapsed() < self.refetch_interval) {
            return Ok(None);
        }
        *fetched = Some(Instant::now());
        self.fetch(http).await?;
        Ok(self.cached(kid))
    }

    /// Replaces the cached set with the issuer's current one.
    pub(super) async fn fetch(&self, http: &reqwest::Client) -> Result<(), reqwest::Error> {
        let set: JwkSet = http
            .get(&self.jwks_uri)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
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
            *cached = keys;
        }
        Ok(())
    }

    fn cached(&self, kid: &str) -> Option<DecodingKey> {
        self.keys.read().ok()?.get(kid).cloned()
    }
}
