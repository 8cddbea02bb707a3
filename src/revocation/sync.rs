//! How the set learns of revocations made by other instances sharing the database: a poll
//! every `revocation_poll_ms`. Each poll re-reads a window reaching back `OVERLAP` before the
//! newest revocation seen, so writes that land late or under a skewed clock are still seen.
//! While the database is unreachable the last known set keeps serving and `/readyz` reports
//! how stale it is.

use std::time::Duration;

use super::RevocationSet;
use crate::error::Result;
use crate::store::{Store, Timestamp};

/// How far back each poll looks before the newest revocation it has seen.
const OVERLAP: Duration = Duration::from_secs(30);

impl RevocationSet {
    /// Reads what changed in the database since the last sync and drops expired entries.
    pub async fn sync(&self, store: &Store) -> Result<()> {
        let since = self
            .watermark()
            .map_or(Timestamp::from_unix_millis(0), |mark| {
                let overlap = i64::try_from(OVERLAP.as_millis()).unwrap_or(i64::MAX);
                Timestamp::from_unix_millis(mark.unix_millis().saturating_sub(overlap))
            });
        let fresh = store.revocations_since(since).await?;
        self.merge(&fresh);
        Ok(())
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
