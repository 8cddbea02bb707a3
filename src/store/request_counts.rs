//! Requests per client address per minute, counted in this instance's memory and reconciled
//! through MongoDB every flush interval (`rate_limits.flush_ms`), so a limited request costs
//! no database round trip.
//!
//! Each counter holds what this instance has counted and not yet sent (`pending`), what it has
//! sent and not yet had acknowledged (`in_flight`), and the database's total as the last write
//! or read returned it (`flushed_total`: every instance's flushed counts, this one's included).
//! A request is judged by the sum of the three:
//! - On one instance the count is exact: every request of the window is in it.
//! - With several, each flush adds this instance's counts and reads back the total of every
//!   counter of the current minute, so an instance is behind the others by what they counted
//!   and had not yet flushed, plus one interval: within a minute a limit may be overshot by
//!   what the other instances admit in about two flush intervals, never more than one limit
//!   each.
//! - Past `MAX_COUNTERS` counters in memory (addresses sprayed across a large IPv6 block), a
//!   new address is counted in the database directly, one round trip a request, as exact as
//!   lockout.
//!
//! Account lockout does not go through here: each sign-in attempt stays one atomic database
//! count (`throttle`), exact across instances.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::{StreamExt, TryStreamExt};
use mongodb::bson::doc;
use mongodb::options::ReturnDocument;
use serde::Deserialize;

use super::deadline::Bounded;
use super::{in_secs, Store};
use crate::error::Result;

/// A window's length, in seconds.
const WINDOW_SECS: i64 = 60;
/// Counters kept in memory at most; past it new addresses are counted in the database.
const MAX_COUNTERS: usize = 100_000;
/// Counter writes in flight at once during a flush.
const CONCURRENT_WRITES: usize = 16;
/// Counters read back in one query.
const READ_BATCH: usize = 1_000;

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
    in_flight: i64,
    flushed_total: i64,
    /// Whether a request over the limit has been reported in this window.
    reported: bool,
}

/// A request counted: the window's count as this instance knows it, this request included,
/// and whether it is the first over the limit this instance has seen (to be recorded once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestCount {
    pub total: i64,
    pub first_over: bool,
}

/// This instance's counters, shared by every clone of the store.
#[derive(Clone, Default)]
pub(super) struct RequestCounts(Arc<Mutex<foldhash::HashMap<CounterId, Counter>>>);

impl RequestCounts {
    /// The counters; a panic elsewhere while they were held leaves them usable (counts are
    /// plain numbers, never half-written).
    fn lock(&self) -> MutexGuard<'_, foldhash::HashMap<CounterId, Counter>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Deserialize)]
struct Total {
    #[serde(rename = "_id")]
    id: String,
    count: i64,
}

impl Store {
    /// Counts one request of `address` in `bucket` in the minute starting at `window_start`
    /// (Unix seconds), judged against `limit`. In memory, unless this instance already holds
    /// `MAX_COUNTERS` counters: then the request is counted in the database.
    pub async fn count_request(
        &self,
        bucket: &'static str,
        address: &str,
        window_start: i64,
        limit: i64,
    ) -> Result<RequestCount> {
        let id = CounterId {
            bucket,
            address: address.to_owned(),
            window_start,
        };
        {
            let mut counters = self.request_counts.lock();
            if counters.len() < MAX_COUNTERS || counters.contains_key(&id) {
                let counter = counters.entry(id).or_default();
                counter.pending += 1;
                let total = counter.flushed_total + counter.in_flight + counter.pending;
                let first_over = total > limit && !counter.reported;
                counter.reported |= first_over;
                return Ok(RequestCount { total, first_over });
            }
        }
        let total = self.add_request_count(&id, 1).await?;
        Ok(RequestCount {
            total,
            first_over: total == limit + 1,
        })
    }

    /// Adds every pending count to the database and reads back the total of every counter of
    /// the current minute, which holds the other instances' counts too. A count that cannot
    /// be written stays pending for the next flush. Counters of windows long over are dropped
    /// once written.
    pub async fn flush_request_counts(&self) -> Result<()> {
        let current = super::now().unix_millis() / 1000 / WINDOW_SECS * WINDOW_SECS;
        let (due, idle) = {
            let mut counters = self.request_counts.lock();
            let mut due = Vec::new();
            let mut idle = Vec::new();
            for (id, counter) in counters.iter_mut() {
                if counter.pending > 0 {
                    let sent = std::mem::take(&mut counter.pending);
                    counter.in_flight += sent;
                    due.push((id.clone(), sent));
                } else if id.window_start >= current && counter.in_flight == 0 {
                    idle.push(id.clone());
                }
            }
            (due, idle)
        };
        let written: Vec<_> = futures_util::stream::iter(due)
            .map(|(id, sent)| async move {
                let outcome = self.add_request_count(&id, sent).await;
                (id, sent, outcome)
            })
            .buffer_unordered(CONCURRENT_WRITES)
            .collect()
            .await;
        let mut failure = None;
        for (id, sent, outcome) in written {
            let mut counters = self.request_counts.lock();
            let counter = counters.entry(id).or_default();
            counter.in_flight -= sent;
            match outcome {
                Ok(total) => counter.flushed_total = counter.flushed_total.max(total),
                Err(error) => {
                    // Sent again next time; if the write did land before it failed, the
                    // window counts it twice: the strict side.
                    counter.pending += sent;
                    failure = Some(error);
                }
            }
        }
        for batch in idle.chunks(READ_BATCH) {
            if let Err(error) = self.read_back_counts(batch).await {
                failure = Some(error);
            }
        }
        let over = current - WINDOW_SECS;
        self.request_counts.lock().retain(|id, counter| {
            counter.pending > 0 || counter.in_flight > 0 || id.window_start >= over
        });
        failure.map_or(Ok(()), Err)
    }

    /// Reads the database's totals of `ids`, which other instances may have added to.
    async fn read_back_counts(&self, ids: &[CounterId]) -> Result<()> {
        let by_document: foldhash::HashMap<String, &CounterId> =
            ids.iter().map(|id| (id.document_id(), id)).collect();
        let keys: Vec<&String> = by_document.keys().collect();
        let totals: Vec<Total> = self
            .rate_limits()
            .clone_with_type::<Total>()
            .find(doc! { "_id": { "$in": keys } })
            .projection(doc! { "count": 1 })
            .within(self)
            .await?
            .try_collect()
            .within(self)
            .await?;
        let mut counters = self.request_counts.lock();
        for total in totals {
            let Some(id) = by_document.get(&total.id) else {
                continue;
            };
            if let Some(counter) = counters.get_mut(*id) {
                counter.flushed_total = counter.flushed_total.max(total.count);
            }
        }
        Ok(())
    }

    /// One atomic `$inc` of a window's counter by `by`; returns the new total.
    async fn add_request_count(&self, id: &CounterId, by: i64) -> Result<i64> {
        #[derive(Deserialize)]
        struct Counted {
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
            .and_then(|doc| mongodb::bson::from_document::<Counted>(doc).ok())
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
