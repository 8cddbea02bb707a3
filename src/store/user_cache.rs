//! Accounts recently read by id, so a refresh-token rotation does not read the user again each
//! time. Every change of an account raises its `version` and stamps the new one on the
//! account's refresh-token families; the rotation reads its family in the same atomic step
//! that spends the token, and a cached copy older than the family's stamp is not used. So a
//! change made anywhere (a role, a profile, a disabled account) reaches the next rotation of
//! every family at once, on every instance, without comparing clocks. A change made on this
//! instance also drops its copy at once.

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
    /// The account `id`, from a copy read within the last few seconds whose `version` is at
    /// least `version` when there is one, else from the database.
    pub async fn find_user_cached(&self, id: UserId, version: i64) -> Result<Option<Arc<UserDoc>>> {
        let ttl = i64::try_from(USER_CACHE_TTL.as_millis()).unwrap_or(i64::MAX);
        let fresh_after = now().plus_millis(-ttl);
        let cached = self.user_cache.0.read().ok().and_then(|cache| {
            cache
                .get(&id)
                .filter(|(read_at, user)| *read_at > fresh_after && user.version >= version)
                .map(|(_, user)| Arc::clone(user))
        });
        if cached.is_some() {
            return Ok(cached);
        }
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
