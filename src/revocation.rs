//! The in-memory set of revoked, not yet expired access tokens (`jti:<jti>`) and refresh-token
//! families (`family:<id>`), so checking a token costs no database round trip.
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
                watermark: None,
                last_sync: None,
            })),
        }
    }
}

impl RevocationSet {
    /// Whether an access token is revoked, by its `jti` or by its refresh-token family.
    pub fn is_revoked(&self, jti: &str, family: Option<&str>) -> bool {
        let now = now().timestamp_millis();
        let Ok(inner) = self.inner.read() else {
            // A poisoned lock means a panic elsewhere: refuse rather than accept.
            return true;
        };
        let live = |map: &foldhash::HashMap<String, i64>, id: &str| {
            map.get(id).is_some_and(|exp| *exp > now)
        };
        live(&inner.jtis, jti) || family.is_some_and(|f| live(&inner.families, f))
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
            inner.last_sync = Some(Instant::now());
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
        let (map, id) = if let Some(jti) = revocation.id.strip_prefix("jti:") {
            (&mut self.jtis, jti)
        } else if let Some(family) = revocation.id.strip_prefix("family:") {
            (&mut self.families, family)
        } else {
            return;
        };
        let entry = map.entry(id.to_owned()).or_insert(expiry);
        *entry = (*entry).max(expiry);
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
