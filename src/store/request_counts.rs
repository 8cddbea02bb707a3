//! Requests per client address per minute, counted in this instance's memory and reconciled
//! through MongoDB every flush interval (`rate_limits.flush_ms`), so a limited request costs
//! no database round trip.
//!
//! Each counter holds what this instance has counted since its last flush (`pending`) and the
//! database's total as that flush returned it (`flushed_total`: every instance's flushed
//! counts, this one's included). A request is judged by `flushed_total + pending`:
//! - On one instance the count is exact: every request of the window is in it.
//! - With several, an instance learns the others' counts at its next flush, so within one
//!   window the requests admitted past the limit are at most what the other instances
//!   admitted and had not flushed, or this one had not read back: per other instance, about
//!   two flush intervals of requests, and never more than one limit each.
//!
//! Account lockout does not go through here: each sign-in attempt stays one atomic database
//! count (`throttle`), exact across instances.

use std::sync::{Arc, Mutex};

use mongodb::bson::doc;
use mongodb::options::ReturnDocument;
use serde::Deserialize;

use super::deadline::Bounded;
use super::{in_secs, Store};
use crate::error::Result;

/// A window's counter is kept this long after the window ends, then dropped once flushed.
const WINDOW_SECS: i64 = 60;

/// One address's counter in one bucket and window; its `_id` in the `rate_limits` collection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CounterId {
    bucket: &'static str,
    address: String,
    window_start: i64,
}

impl CounterId {
    fn document_id(&self) -> String {
        format!("{}:{}:{}", self.bucket, self.address, self.window_start)
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Counter {
    pending: i64,
    flushed_total: i64,
}

/// This instance's counters, shared by every clone of the store.
#[derive(Clone, Default)]
pub(super) struct RequestCounts(Arc<Mutex<foldhash::HashMap<CounterId, Counter>>>);

impl Store {
    /// Counts one request of `address` in `bucket` in the minute starting at `window_start`
    /// (Unix seconds) and returns the window's count as this instance knows it, this request
    /// included. No database round trip: the count reaches the database at the next flush.
    pub fn count_request(&self, bucket: &'static str, address: &str, window_start: i64) -> i64 {
        let id = CounterId {
            bucket,
            address: address.to_owned(),
            window_start,
        };
        let Ok(mut counters) = self.request_counts.0.lock() else {
            // A poisoned lock means a panic elsewhere: count the request as over any limit.
            return i64::MAX;
        };
        let counter = counters.entry(id).or_default();
        counter.pending += 1;
        counter.flushed_total + counter.pending
    }

    /// Adds every pending count to the database and reads back each window's total, which
    /// holds the other instances' counts too. A count that cannot be written stays pending
    /// for the next flush. Counters of windows long over are dropped once written.
    pub async fn flush_request_counts(&self) -> Result<()> {
        let due: Vec<(CounterId, i64)> = match self.request_counts.0.lock() {
            Ok(mut counters) => counters
                .iter_mut()
                .filter(|(_, counter)| counter.pending > 0)
                .map(|(id, counter)| (id.clone(), std::mem::take(&mut counter.pending)))
                .collect(),
            Err(_) => return Ok(()),
        };
        let mut failure = None;
        for (id, pending) in due {
            match self.add_request_count(&id, pending).await {
                Ok(total) => self.with_counter(&id, |counter| counter.flushed_total = total),
                Err(error) => {
                    self.with_counter(&id, |counter| counter.pending += pending);
                    failure = Some(error);
                }
            }
        }
        let over = super::now().unix_millis() / 1000 - 2 * WINDOW_SECS;
        if let Ok(mut counters) = self.request_counts.0.lock() {
            counters.retain(|id, counter| counter.pending > 0 || id.window_start > over);
        }
        failure.map_or(Ok(()), Err)
    }

    fn with_counter(&self, id: &CounterId, change: impl FnOnce(&mut Counter)) {
        if let Ok(mut counters) = self.request_counts.0.lock() {
            change(counters.entry(id.clone()).or_default());
        }
    }

    /// One atomic `$inc` of a window's counter by `by`; returns the new total.
    async fn add_request_count(&self, id: &CounterId, by: i64) -> Result<i64> {
        #[derive(Deserialize)]
        struct Total {
            count: i64,
        }
        let counted = self
            .rate_limits()
            .find_one_and_update(
                doc! { "_id": id.document_id() },
                doc! {
                    "$inc": { "count": by },
                    "$setOnInsert": { "expires_at": in_secs(2 * WINDOW_SECS as u64) },
                },
            )
            .upsert(true)
            .return_document(ReturnDocument::After)
            .within(self)
            .await?;
        Ok(counted
            .and_then(|doc| mongodb::bson::from_document::<Total>(doc).ok())
            .map_or(by, |total| total.count))
    }

    /// Flushes the counts every `interval` until `shutdown`, then once more.
    pub fn start_request_count_flusher(
        &self,
        interval: std::time::Duration,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let store = self.clone();
        tokio::spawn(async move {
            tokio::pin!(shutdown);
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = &mut shutdown => break,
                }
                if let Err(error) = store.flush_request_counts().await {
                    tracing::warn!(%error, "could not write the request counts; kept for the next flush");
                }
            }
            if let Err(error) = store.flush_request_counts().await {
                tracing::warn!(%error, "could not write the request counts at shutdown");
            }
        });
    }
}
