//! The issuer's public keys, from its JWKS (RFC 7517), cached for as long as the issuer's
//! `Cache-Control: max-age` allows (so a key the issuer withdrew stops verifying here too).
//! Fetches are rationed: a token with an unknown `kid` causes at most one fetch per refetch
//! interval, a failed fetch is remembered for that interval too, and a known `kid` is always
//! answered at once from the cached set, which is refreshed in the background as it nears
//! its `max-age`. A withdrawn key therefore stops verifying within `max-age` and one fetch of
//! the issuer's change, while the issuer answers; while it does not, the last set it served
//! keeps verifying.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use serde::Deserialize;

use super::fetch::{self, FetchError, JWKS_CAP};

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

/// The last attempt to fetch the set, whatever its outcome.
#[derive(Clone, Copy)]
struct Attempt {
    at: Instant,
    succeeded: bool,
}

impl Attempt {
    /// The answer for a `kid` the set does not hold, when fetching again is not yet allowed.
    fn lookup(self) -> Lookup {
        if self.succeeded {
            Lookup::Unknown
        } else {
            Lookup::Unavailable
        }
    }
}

/// What the cache can say about one `kid` without fetching.
pub(super) enum Lookup {
    Found(DecodingKey),
    /// Not in the set, and the set was fetched (or tried) too recently to fetch again.
    Unknown,
    /// The last fetch failed, too recently to try again.
    Unavailable,
}

pub(super) struct RemoteKeys {
    jwks_uri: url::Url,
    refetch_interval: Duration,
    keys: RwLock<Option<Cached>>,
    last_attempt: Mutex<Option<Attempt>>,
    /// Held while a fetch is in flight: requests with an unknown `kid` wait for that fetch
    /// instead of starting their own; requests with a known `kid` never wait for it.
    fetching: Arc<tokio::sync::Mutex<()>>,
}

impl RemoteKeys {
    pub(super) fn new(jwks_uri: url::Url, refetch_interval: Duration) -> Arc<Self> {
        Arc::new(RemoteKeys {
            jwks_uri,
            refetch_interval,
            keys: RwLock::new(None),
            last_attempt: Mutex::new(None),
            fetching: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// The key for `kid`.
    pub(super) async fn find(self: &Arc<Self>, http: &reqwest::Client, kid: &str) -> Lookup {
        let (key, due) = self.cached(kid);
        if let Some(key) = key {
            if due {
                self.refresh_in_background(http);
            }
            return Lookup::Found(key);
        }
        if let Some(recent) = self.recent_attempt() {
            return recent.lookup();
        }
        let _fetching = self.fetching.lock().await;
        // The fetch this request waited for may have brought the key, or failed.
        if let Some(key) = self.cached(kid).0 {
            return Lookup::Found(key);
        }
        if let Some(recent) = self.recent_attempt() {
            return recent.lookup();
        }
        match self.fetch(http).await {
            Ok(()) => self.cached(kid).0.map_or(Lookup::Unknown, Lookup::Found),
            Err(error) => {
                crate::limited!(warn, %error, "cannot fetch the issuer's keys");
                Lookup::Unavailable
            }
        }
    }

    /// Starts one fetch of a set near or past its `max-age`, unless one is in flight or was
    /// tried too recently; meanwhile the cached set keeps answering. Starting before the set
    /// is stale means a busy service never uses one while the issuer answers.
    fn refresh_in_background(self: &Arc<Self>, http: &reqwest::Client) {
        if self.recent_attempt().is_some() {
            return;
        }
        let Ok(fetching) = self.fetching.clone().try_lock_owned() else {
            return;
        };
        let (keys, http) = (self.clone(), http.clone());
        tokio::spawn(async move {
            let _fetching = fetching;
            if keys.recent_attempt().is_none() {
                if let Err(error) = keys.fetch(&http).await {
                    crate::limited!(warn, %error, "cannot refresh the issuer's keys; using the cached set");
                }
            }
        });
    }

    /// Replaces the cached set with the issuer's current one; the attempt is remembered
    /// either way.
    pub(super) async fn fetch(&self, http: &reqwest::Client) -> Result<(), FetchError> {
        let outcome = self.fetch_set(http).await;
        let attempt = Attempt {
            at: Instant::now(),
            succeeded: outcome.is_ok(),
        };
        *self
            .last_attempt
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(attempt);
        outcome
    }

    async fn fetch_set(&self, http: &reqwest::Client) -> Result<(), FetchError> {
        let (headers, set): (_, JwkSet) =
            fetch::json(http.get(self.jwks_uri.clone()), JWKS_CAP).await?;
        let max_age = headers
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|value| value.to_str().ok())
            .and_then(max_age)
            .unwrap_or(DEFAULT_MAX_AGE);
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
        // Never fresher than the refetch interval: a `max-age` of zero must not turn every
        // request into a fetch.
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Some(Cached {
            keys,
            fetched: Instant::now(),
            max_age: max_age.max(self.refetch_interval),
        });
        Ok(())
    }

    /// The last attempt, if it is within the refetch interval.
    fn recent_attempt(&self) -> Option<Attempt> {
        let last = *self
            .last_attempt
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        last.filter(|attempt| attempt.at.elapsed() < self.refetch_interval)
    }

    /// The cached key for `kid`, and whether the set is due for a refresh: past four fifths
    /// of its `max-age`.
    fn cached(&self, kid: &str) -> (Option<DecodingKey>, bool) {
        let cached = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        match cached.as_ref() {
            Some(set) => (
                set.keys.get(kid).cloned(),
                set.fetched.elapsed() >= set.max_age.mul_f32(0.8),
            ),
            None => (None, true),
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
