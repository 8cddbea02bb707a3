//! How the set learns of revocations made by other instances sharing the database.
//!
//! - **Change stream** (`revocation_sync = "auto"`, where the deployment offers one: a replica
//!   set or a sharded cluster): the database pushes each revocation as it is recorded, so
//!   other instances refuse a token within milliseconds. One poll-style read when the stream
//!   opens covers what was recorded before it.
//! - **Poll** (a standalone server, `revocation_sync = "poll"`, or while a stream cannot be
//!   opened): every `revocation_poll_ms`, re-reading a window reaching back `OVERLAP` before
//!   the newest revocation seen, so writes that land late or under a skewed clock are still
//!   seen.
//!
//! Either way, while the database is unreachable the last known set keeps serving and
//! `/readyz` reports how stale it is and which of the two runs.

use std::time::{Duration, Instant};

use super::{Following, RevocationSet};
use crate::config::RevocationSync;
use crate::error::Result;
use crate::store::{now, RevocationFeed, Store};

/// How far back each poll looks before the newest revocation it has seen.
const OVERLAP: Duration = Duration::from_secs(30);

impl RevocationSet {
    /// Reads what changed in the database since the last sync: the first time the whole set,
    /// then what was recorded since a window before the newest revocation seen. The read is
    /// one cursor whose every round trip is bounded, so a set of any size loads.
    pub async fn sync(&self, store: &Store) -> Result<()> {
        let since = self.read_from(OVERLAP);
        let began = now();
        store
            .read_revocations(since, |batch| self.add_batch(batch))
            .await?;
        self.synced(began);
        Ok(())
    }

    /// Records how the set follows the database, saying so in the log when it changes.
    fn follow_by(&self, following: Following, why: &str) {
        if self.following() != Some(following) {
            tracing::info!(
                mode = following.name(),
                "revocations from other instances: {why}"
            );
            self.set_following(following);
        }
    }
}

/// Keeps the set current until `shutdown` completes: through a change stream where `sync`
/// allows one and the deployment offers it, else polling every `interval`.
pub async fn keep_in_sync(
    set: RevocationSet,
    store: Store,
    interval: Duration,
    sync: RevocationSync,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut stream_offered = sync == RevocationSync::Auto;
    if !stream_offered {
        set.follow_by(Following::Poll, "polled (revocation_sync = \"poll\")");
    }
    loop {
        if stream_offered {
            match store.watch_revocations(interval).await {
                Ok(Some(feed)) => {
                    if follow(&set, &store, feed, interval, &mut shutdown).await {
                        return;
                    }
                }
                Ok(None) => {
                    stream_offered = false;
                    set.follow_by(
                        Following::Poll,
                        "polled (the deployment offers no change stream)",
                    );
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot open the revocation change stream; polling");
                    set.follow_by(Following::Poll, "polled until a change stream opens");
                }
            }
        }
        if let Err(error) = set.sync(&store).await {
            tracing::warn!(%error, "revocation sync failed; serving the last known set");
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// Follows an open feed until it fails (`false`) or `shutdown` completes (`true`). Each quiet
/// wait, and at least every `interval`, counts as a sync and drops expired entries.
async fn follow(
    set: &RevocationSet,
    store: &Store,
    mut feed: RevocationFeed,
    interval: Duration,
    shutdown: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> bool {
    // The stream sees what is recorded from its opening on; one read covers what came before.
    if let Err(error) = set.sync(store).await {
        tracing::warn!(%error, "revocation sync failed; serving the last known set");
        return false;
    }
    set.follow_by(Following::ChangeStream, "pushed by a change stream");
    let mut synced = Instant::now();
    loop {
        let next = tokio::select! {
            _ = shutdown.as_mut() => return true,
            next = feed.next() => next,
        };
        let quiet = match next {
            Ok(Some(revocation)) => {
                set.insert(&revocation);
                false
            }
            Ok(None) => true, // Nothing new, and the stream is alive.
            Err(error) => {
                tracing::warn!(%error, "revocation change stream failed; opening it again");
                return false;
            }
        };
        // The stream is live: the set holds everything recorded up to now.
        if quiet || synced.elapsed() >= interval {
            set.synced(now());
            synced = Instant::now();
        }
    }
}
