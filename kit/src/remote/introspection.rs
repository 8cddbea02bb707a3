//! Revocation checks through the issuer's introspection endpoint (RFC 7662), each answer
//! remembered briefly so a busy API asks once per token per cache period.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::fetch::{self, FetchError, INTROSPECTION_CAP};
use crate::secret::{sha256, SecretString};

/// Most answers remembered; past it the memory starts over.
const CACHE_CAPACITY: usize = 50_000;

#[derive(Deserialize)]
struct Answer {
    active: bool,
}

pub(super) struct Introspector {
    endpoint: url::Url,
    client_id: String,
    client_secret: SecretString,
    ttl: Duration,
    answers: Mutex<HashMap<[u8; 32], (Instant, bool)>>,
}

impl Introspector {
    pub(super) fn new(
        endpoint: url::Url,
        credentials: (String, SecretString),
        ttl: Duration,
    ) -> Self {
        Introspector {
            endpoint,
            client_id: credentials.0,
            client_secret: credentials.1,
            ttl,
            answers: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the issuer still considers the token active.
    pub(super) async fn is_active(
        &self,
        http: &reqwest::Client,
        token: &str,
    ) -> Result<bool, FetchError> {
        let key = sha256(token);
        let remembered = self.answers.lock().ok().and_then(|answers| {
            answers
                .get(&key)
                .filter(|(at, _)| at.elapsed() < self.ttl)
                .map(|(_, active)| *active)
        });
        if let Some(active) = remembered {
            return Ok(active);
        }
        // RFC 7662 §2.1: a form-encoded POST with the token and a hint, client-authenticated.
        let request = http
            .post(self.endpoint.clone())
            .basic_auth(
                form_encode(&self.client_id),
                Some(form_encode(self.client_secret.expose())),
            )
            .form(&[("token", token), ("token_type_hint", "access_token")]);
        let (_, answer): (_, Answer) = fetch::json(request, INTROSPECTION_CAP).await?;
        if let Ok(mut answers) = self.answers.lock() {
            if answers.len() >= CACHE_CAPACITY {
                answers.retain(|_, (at, _)| at.elapsed() < self.ttl);
                if answers.len() >= CACHE_CAPACITY {
                    answers.clear();
                }
            }
            answers.insert(key, (Instant::now(), answer.active));
        }
        Ok(answer.active)
    }
}

/// RFC 6749 §2.3.1: the client id and secret are form-encoded before Basic encoding.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
