//! Counters that slow attackers down, shared by every instance through MongoDB (TTL-expired,
//! never in process memory): failed sign-ins per account name, and requests per client
//! address per minute.

use mongodb::bson::{doc, DateTime};
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use super::{in_secs, now, Store};
use crate::error::Result;

/// Failed sign-ins of one account name (whether or not the account exists, so lockouts reveal
/// nothing about which names do).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginFailuresDoc {
    /// The case-folded username.
    #[serde(rename = "_id")]
    pub username_key: String,
    pub failures: i64,
    pub window_ends: DateTime,
    pub locked_until: Option<DateTime>,
    /// Locks so far, for the growing back-off.
    pub locks: i64,
    pub expires_at: DateTime,
}

/// How account lockout behaves.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    pub threshold: i64,
    pub window_secs: u64,
    pub base_secs: u64,
    pub max_secs: u64,
}

impl LockoutPolicy {
    /// The lock after `locks` earlier ones: base × 2^locks, capped.
    fn lock_secs(&self, locks: i64) -> u64 {
        let doubling = u32::try_from(locks.clamp(0, 20)).unwrap_or(20);
        self.base_secs
            .saturating_mul(2u64.saturating_pow(doubling))
            .min(self.max_secs)
    }

    /// How long a record is worth keeping after its last change.
    fn retention_secs(&self) -> u64 {
        self.window_secs.max(self.max_secs).saturating_mul(4)
    }
}

impl Store {
    pub async fn login_failures(&self, username_key: &str) -> Result<Option<LoginFailuresDoc>> {
        Ok(self
            .login_failures_collection()
            .find_one(doc! { "_id": username_key })
            .await?)
    }

    /// Counts one failure; returns the lock's end when this failure locked the account.
    pub async fn record_login_failure(
        &self,
        username_key: &str,
        policy: &LockoutPolicy,
    ) -> Result<Option<DateTime>> {
        let at = now();
        let collection = self.login_failures_collection();
        let counted = collection
            .find_one_and_update(
                doc! { "_id": username_key },
                doc! {
                    "$inc": { "failures": 1_i64 },
                    "$setOnInsert": { "window_ends": in_secs(policy.window_secs), "locks": 0_i64 },
                    "$set": { "expires_at": in_secs(policy.retention_secs()) },
                },
            )
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await?;
        let Some(counted) = counted else {
            return Ok(None);
        };
        if counted.window_ends <= at {
            // The window had passed: this failure starts a new one.
            collection
                .update_one(
                    doc! { "_id": username_key },
                    doc! { "$set": { "failures": 1_i64, "window_ends": in_secs(policy.window_secs) } },
                )
                .await?;
            return Ok(None);
        }
        if counted.failures < policy.threshold {
            return Ok(None);
        }
        let until = in_secs(policy.lock_secs(counted.locks));
        collection
            .update_one(
                doc! { "_id": username_key },
                doc! {
                    "$set": {
                        "locked_until": until,
                        "failures": 0_i64,
                        "window_ends": in_secs(policy.window_secs),
                    },
                    "$inc": { "locks": 1_i64 },
                },
            )
            .await?;
        Ok(Some(until))
    }

    /// Marks an expired lock as ended; `true` if this call ended it.
    pub async fn end_login_lock(&self, username_key: &str) -> Result<bool> {
        let result = self
            .login_failures_collection()
            .update_one(
                doc! { "_id": username_key, "locked_until": { "$lte": now() } },
                doc! { "$set": { "locked_until": null } },
            )
            .await?;
        Ok(result.modified_count > 0)
    }

    /// Forgets an account's failures and locks (a successful sign-in, or an administrator).
    /// Returns whether there was anything to forget.
    pub async fn clear_login_failures(&self, username_key: &str) -> Result<bool> {
        let result = self
            .login_failures_collection()
            .delete_one(doc! { "_id": username_key })
            .await?;
        Ok(result.deleted_count > 0)
    }

    /// Counts a request in the current one-minute window of `bucket` for `address`; returns the
    /// count so far.
    pub async fn count_request(
        &self,
        bucket: &str,
        address: &str,
        window_start: i64,
    ) -> Result<i64> {
        #[derive(Deserialize)]
        struct Counter {
            count: i64,
        }
        let counted = self
            .rate_limits()
            .find_one_and_update(
                doc! { "_id": format!("{bucket}:{address}:{window_start}") },
                doc! {
                    "$inc": { "count": 1_i64 },
                    "$setOnInsert": { "expires_at": in_secs(120) },
                },
            )
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await?;
        Ok(counted
            .and_then(|doc| mongodb::bson::from_document::<Counter>(doc).ok())
            .map_or(1, |c| c.count))
    }
}
