//! The in-memory set of revoked, not yet expired access tokens (`jti:<jti>`), refresh-token
//! families (`family:<id>`) and deleted users and clients (`user:<id>`, `client:<id>`: every
//! token issued to them before the deletion), so checking a token costs no database round trip.
//!
//! Consistency: a revocation made on this instance is in the set at once; one made on another
//! instance sharing the database arrives with the next poll (every `revocation_poll_ms`). Each
//! poll re-reads a window reaching back `OVERLAP` before the last one, so writes that land late
//! or under a skewed clock are still seen. While the database is unreachable the last known set
//! keeps serving and `/readyz` reports how stale it is.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use mongodb::bson::DateTime;

use crate::error::Result;
use crate::oauth::tokens::AccessClaims;
use crate::store::{now, RevocationDoc, Store};

/// How far back each poll looks before the newest revocation it has seen.
const OVERLAP: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct RevocationSet {
    inner: Arc<RwLock<Inner>>,
}

struct Inner {
    /// Revoked access token `jti` → expiry in Unix milliseconds.
    jtis: foldhash::HashMap<String, i64>,
    /// Revoked refresh-token family → expiry in Unix milliseconds.
    families: foldhash::HashMap<String, i64>,
    /// Deleted, disabled or re-keyed user (`user:<id>`) → (tokens whose `iat` is before this
    /// Unix second are refused, expiry in Unix milliseconds).
    users: foldhash::HashMap<String, (i64, i64)>,
    /// Deleted client (`client:<id>`) → the same.
    clients: foldhash::HashMap<String, (i64, i64)>,
    /// The newest `revoked_at` seen.
    watermark: Option<DateTime>,
    last_sync: Option<Instant>,
}

impl Default for RevocationSet {
    fn default() -> Self {
        RevocationSet {
            inner: Arc::new(RwLock::new(Inner {
                jtis: foldhash::HashMap::default(),
                families: foldhash::HashMap::default(),
                users: foldhash::HashMap::default(),
                clients: foldhash::HashMap::default(),
                watermark: None,
                last_sync: None,
            })),
        }
    }
}

impl RevocationSet {
    /// Whether an access token is revoked: by its `jti`, its refresh-token family, or its
    /// user or client having been deleted.
    pub fn is_revoked(&self, claims: &AccessClaims) -> bool {
        let now = now().timestamp_millis();
        let Ok(inner) = self.inner.read() else {
            // A poisoned lock means a panic elsewhere: refuse rather than accept.
            return true;
        };
        let live = |map: &foldhash::HashMap<String, i64>, id: &str| {
            map.get(id).is_some_and(|exp| *exp > now)
        };
        let issued_before = |map: &foldhash::HashMap<String, (i64, i64)>, id: &str| {
            map.get(id).is_some_and(|(cutoff, expiry)| {
                *expiry > now && i64::try_from(claims.iat).unwrap_or(i64::MAX) < *cutoff
            })
        };
        live(&inner.jtis, &claims.jti)
            || claims
                .sid
                .as_deref()
                .is_some_and(|f| live(&inner.families, f))
            || (claims.username.is_some() && issued_before(&inner.users, &claims.sub))
            || issued_before(&inner.clients, &claims.client_id)
    }

    /// Adds a revocation this instance just stored.
    pub fn insert(&self, revocation: &RevocationDoc) {
        if let Ok(mut inner) = self.inner.write() {
            inner.add(revocation);
        }
    }

    /// Reads what changed in the database since the last sync and drops expired entries.
    pub async fn sync(&self, store: &Store) -> Result<()> {
        let since = self
            .inner
            .read()
            .ok()
            .and_then(|inner| inner.watermark)
            .map_or(DateTime::from_millis(0), |mark| {
                let overlap = i64::try_from(OVERLAP.as_millis()).unwrap_or(i64::MAX);
                DateTime::from_millis(mark.timestamp_millis().saturating_sub(overlap))
            });
        let fresh = store.revocations_since(since).await?;
        if let Ok(mut inner) = self.inner.write() {
            for revocation in &fresh {
                inner.add(revocation);
            }
            let now = now().timestamp_millis();
            inner.jtis.retain(|_, expiry| *expiry > now);
            inner.families.retain(|_, expiry| *expiry > now);
            inner.users.retain(|_, (_, expiry)| *expiry > now);
            inner.clients.retain(|_, (_, expiry)| *expiry > now);
            inner.last_sync = Some(Instant::now());
            crate::metrics::revocation_set(
                inner.jtis.len() + inner.families.len() + inner.users.len() + inner.clients.len(),
            );
        }
        Ok(())
    }

    /// Time since the last successful sync; `None` before the first.
    pub fn staleness(&self) -> Option<Duration> {
        self.inner
            .read()
            .ok()
            .and_then(|inner| inner.last_sync)
            .map(|at| at.elapsed())
    }
}

impl Inner {
    fn add(&mut self, revocation: &RevocationDoc) {
        let expiry = revocation.expires_at.timestamp_millis();
        let Some((kind, id)) = revocation.id.split_once(':') else {
            return;
        };
        // A record seen twice keeps the later expiry (and, for a subject, the later cutoff).
        let keep_later = |map: &mut foldhash::HashMap<String, i64>| {
            let entry = map.entry(id.to_owned()).or_insert(expiry);
            *entry = (*entry).max(expiry);
        };
        let cutoff = revocation
            .issued_before
            .map(|before| before.timestamp_millis().div_euclid(1000));
        let keep_later_subject = |map: &mut foldhash::HashMap<String, (i64, i64)>, cutoff: i64| {
            let entry = map.entry(id.to_owned()).or_insert((cutoff, expiry));
            *entry = (entry.0.max(cutoff), entry.1.max(expiry));
        };
        match (kind, cutoff) {
            ("jti", _) => keep_later(&mut self.jtis),
            ("family", _) => keep_later(&mut self.families),
            ("user", Some(cutoff)) => keep_later_subject(&mut self.users, cutoff),
            ("client", Some(cutoff)) => keep_later_subject(&mut self.clients, cutoff),
            _ => return,
        }
        if self
            .watermark
            .is_none_or(|mark| revocation.revoked_at > mark)
        {
            self.watermark = Some(revocation.revoked_at);
        }
    }
}

/// Keeps the set current until `shutdown` completes, polling every `interval`.
pub async fn keep_in_sync(
    set: RevocationSet,
    store: Store,
    interval: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        if let Err(error) = set.sync(&store).await {
            tracing::warn!(%error, "revocation sync failed; serving the last known set");
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
