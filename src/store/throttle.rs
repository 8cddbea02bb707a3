//! Sign-in attempts per account name, counted in MongoDB by one atomic operation each so
//! every instance shares them exactly (TTL-expired, never in process memory). Requests per
//! client address are counted in `request_counts`.

use mongodb::bson::doc;
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use super::deadline::Bounded;
use super::{in_secs, now, Store, Timestamp};
use crate::config::LockoutConfig;
use crate::error::Result;

/// Sign-in attempts on one account name (whether or not the account exists, so lockouts
/// reveal nothing about which names do).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginFailuresDoc {
    /// The case-folded username.
    #[serde(rename = "_id")]
    pub username_key: String,
    /// Attempts counted in the current window: each one is counted before its password is
    /// hashed; a successful sign-in deletes the record.
    #[serde(default)]
    pub attempts: i64,
    pub window_ends: Timestamp,
    pub locked_until: Option<Timestamp>,
    /// Locks so far, for the growing back-off.
    pub locks: i64,
    pub expires_at: Timestamp,
}

/// What a sign-in attempt may do, decided by one atomic count before any hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAttempt {
    /// The password may be checked: this is the `nth` attempt of the window, after `locks`
    /// earlier locks.
    Verify { nth: i64, locks: i64 },
    /// Locked: refuse without checking.
    Refused,
    /// The window's attempts are used up but no lock is recorded: refuse without checking,
    /// and lock the name.
    OverCount { locks: i64 },
}

/// How account lockout behaves.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    pub threshold: i64,
    pub window_secs: u64,
    pub base_secs: u64,
    pub max_secs: u64,
}

impl From<&LockoutConfig> for LockoutPolicy {
    fn from(config: &LockoutConfig) -> Self {
        LockoutPolicy {
            threshold: i64::from(config.threshold),
            window_secs: config.window_secs,
            base_secs: config.base_secs,
            max_secs: config.max_secs,
        }
    }
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
        self.login_failures_collection()
            .find_one(doc! { "_id": username_key })
            .within(self)
            .await
    }

    /// Counts a sign-in attempt on a name and decides, in the same atomic step, whether its
    /// password may be checked: at most `policy.threshold` attempts per window are, however
    /// many arrive at once. Also returns whether an expired lock is still recorded.
    pub async fn take_login_attempt(
        &self,
        username_key: &str,
        policy: &LockoutPolicy,
    ) -> Result<(LoginAttempt, bool)> {
        let collection = self.login_failures_collection();
        // Two tries: the second follows an upsert that lost a race to start the window.
        // A few tries: each one that fails lost a race to open or reset the window.
        for _ in 0..3 {
            let at = now();
            let retention = in_secs(policy.retention_secs());
            // Counts in the open window, or creates the record with a new one: one round trip
            // in the usual cases. A record whose window has passed does not match, and the
            // insert the upsert then tries fails on its `_id`.
            let counted = collection
                .find_one_and_update(
                    doc! { "_id": username_key, "window_ends": { "$gt": at } },
                    doc! {
                        "$inc": { "attempts": 1_i64 },
                        "$set": { "expires_at": retention },
                        "$setOnInsert": {
                            "window_ends": in_secs(policy.window_secs),
                            "locks": 0_i64,
                            "locked_until": null,
                        },
                    },
                )
                .upsert(true)
                .return_document(ReturnDocument::After)
                .answered_within(self)
                .await?;
            let counted = match counted {
                Ok(Some(counted)) => counted,
                Ok(None) => continue,
                Err(error) if super::is_duplicate_key(&error) => {
                    // The window has passed: start a new one, unless another attempt just did.
                    let reset = collection
                        .find_one_and_update(
                            doc! { "_id": username_key, "window_ends": { "$lte": at } },
                            doc! {
                                "$set": {
                                    "attempts": 1_i64,
                                    "window_ends": in_secs(policy.window_secs),
                                    "expires_at": retention,
                                },
                            },
                        )
                        .return_document(ReturnDocument::After)
                        .within(self)
                        .await?;
                    match reset {
                        Some(counted) => counted,
                        None => continue,
                    }
                }
                Err(error) => return Err(error.into()),
            };
            let lock_expired = counted.locked_until.is_some_and(|until| until <= at);
            let locked = counted.locked_until.is_some_and(|until| until > at);
            let decision = if locked {
                LoginAttempt::Refused
            } else if counted.attempts > policy.threshold {
                // Over the count and not locked: the attempt holding the window's last count
                // has not locked the name (yet, or it never will: its answer was lost).
                LoginAttempt::OverCount {
                    locks: counted.locks,
                }
            } else {
                LoginAttempt::Verify {
                    nth: counted.attempts,
                    locks: counted.locks,
                }
            };
            return Ok((decision, lock_expired));
        }
        // The window kept changing under us: refuse rather than check unbounded.
        Ok((LoginAttempt::Refused, false))
    }

    /// Locks a name whose window's attempts are used up, unless it is locked already (so one
    /// lock per window, whichever attempt gets here first); returns the lock's end if this
    /// call set it. The window runs until the lock ends, so attempts refused meanwhile are not
    /// carried over.
    pub async fn lock_login(
        &self,
        username_key: &str,
        locks: i64,
        policy: &LockoutPolicy,
    ) -> Result<Option<Timestamp>> {
        let until = in_secs(policy.lock_secs(locks));
        let not_locked = doc! { "$or": [
            { "locked_until": null },
            { "locked_until": { "$lte": now() } },
        ] };
        let result = self
            .login_failures_collection()
            .update_one(
                doc! { "_id": username_key, "$and": [not_locked] },
                doc! {
                    "$set": {
                        "locked_until": until,
                        "window_ends": until,
                        "expires_at": in_secs(policy.retention_secs()),
                    },
                    "$inc": { "locks": 1_i64 },
                },
            )
            .within(self)
            .await?;
        Ok((result.modified_count > 0).then_some(until))
    }

    /// Marks an expired lock as ended; `true` if this call ended it.
    pub async fn end_login_lock(&self, username_key: &str) -> Result<bool> {
        let result = self
            .login_failures_collection()
            .update_one(
                doc! { "_id": username_key, "locked_until": { "$lte": now() } },
                doc! { "$set": { "locked_until": null } },
            )
            .within(self)
            .await?;
        Ok(result.modified_count > 0)
    }

    /// Forgets an account's failures and locks (a successful sign-in, or an administrator).
    /// Returns whether there was anything to forget.
    pub async fn clear_login_failures(&self, username_key: &str) -> Result<bool> {
        let result = self
            .login_failures_collection()
            .delete_one(doc! { "_id": username_key })
            .within(self)
            .await?;
        Ok(result.deleted_count > 0)
    }
}
