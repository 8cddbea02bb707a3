//! Accounts recently read by id, so a refresh-token rotation does not read the user again each
//! time. A change made on this instance drops the copy at once. The changes that take tokens
//! away elsewhere (a new role, a disabled or deleted account, a new password) also write a
//! `user:` revocation, and the caller names its moment (`changed_at`) so a copy read before
//! it is not used: on every instance the copy is then stale no longer than the revocation
//! takes to arrive. A profile change made on another instance (name, email in id tokens)
//! shows within the cache's lifetime.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::{now, Store, Timestamp, UserDoc};
use crate::error::Result;
use crate::ids::UserId;

/// How long a copy is used at most.
const USER_CACHE_TTL: Duration = Duration::from_secs(5);
/// More accounts than this and the cache starts over.
const USER_CACHE_CAPACITY: usize = 100_000;

/// An account as read at a moment.
type CachedUser = (Timestamp, Arc<UserDoc>);

#[derive(Clone, Default)]
pub(super) struct UserCache(Arc<RwLock<foldhash::HashMap<UserId, CachedUser>>>);

impl Store {
    /// The account `id`, from a copy read after `changed_at` (and within the last few seconds)
    /// when there is one, else from the database.
    pub async fn find_user_cached(
        &self,
        id: UserId,
        changed_at: Option<Timestamp>,
    ) -> Result<Option<Arc<UserDoc>>> {
        let ttl = i64::try_from(USER_CACHE_TTL.as_millis()).unwrap_or(i64::MAX);
        let fresh_after = now().plus_millis(-ttl);
        let cached = self.user_cache.0.read().ok().and_then(|cache| {
            cache
                .get(&id)
                .filter(|(read_at, _)| {
                    *read_at > fresh_after && changed_at.is_none_or(|changed| *read_at > changed)
                })
                .map(|(_, user)| Arc::clone(user))
        });
        if cached.is_some() {
            return Ok(cached);
        }
        // Stamped before the read: a change landing while it runs is not taken as older.
        let read_at = now();
        let Some(found) = self.find_user_by_id(id).await?.map(Arc::new) else {
            self.forget_user(id);
            return Ok(None);
        };
        if let Ok(mut cache) = self.user_cache.0.write() {
            if cache.len() >= USER_CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(id, (read_at, Arc::clone(&found)));
        }
        Ok(Some(found))
    }

    /// Drops this instance's copy of an account that has just changed.
    pub(super) fn forget_user(&self, id: UserId) {
        if let Ok(mut cache) = self.user_cache.0.write() {
            cache.remove(&id);
        }
    }
}
