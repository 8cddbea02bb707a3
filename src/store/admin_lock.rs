//! One lease at a time for changes that could leave no administrator: a document in `locks`
//! that a change takes with one atomic `find_one_and_update` and gives back when done. A
//! crashed holder's lease runs out by itself after `LEASE`.

use std::time::Duration;

use mongodb::bson::doc;

use super::deadline::Bounded;
use super::{in_secs, is_duplicate_key, now, Store};
use crate::error::{DatabaseError, Error, Result};
use crate::secrets::random_id;

const ADMIN_CHANGES: &str = "admin_changes";
/// Longest a holder keeps the lease without giving it back: well past the longest change
/// (deleting a user is a dozen operations, each bounded by `database_timeout_ms`).
const LEASE_SECS: u64 = 120;
/// How long a change waits for the lease before giving up.
const WAIT: Duration = Duration::from_secs(5);

/// The lease; give it back with `Store::release_admin_lock`.
pub struct AdminLock {
    holder: String,
}

impl Store {
    /// Takes the lease on administrator changes, waiting while another change holds it.
    pub async fn take_admin_lock(&self) -> Result<AdminLock> {
        let holder = random_id()?;
        let locks = self.locks();
        let started = std::time::Instant::now();
        loop {
            let taken = locks
                .update_one(
                    doc! { "_id": ADMIN_CHANGES, "until": { "$lte": now() } },
                    doc! { "$set": { "holder": &holder, "until": in_secs(LEASE_SECS) } },
                )
                .upsert(true)
                .answered_within(self)
                .await?;
            match taken {
                Ok(_) => return Ok(AdminLock { holder }),
                // Held by another change: the upsert collided with the held document.
                Err(error) if is_duplicate_key(&error) => {}
                Err(error) => return Err(error.into()),
            }
            if started.elapsed() > WAIT {
                return Err(Error::Database(DatabaseError::Busy));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn release_admin_lock(&self, lock: AdminLock) -> Result<()> {
        self.locks()
            .update_one(
                doc! { "_id": ADMIN_CHANGES, "holder": &lock.holder },
                doc! { "$set": { "until": now() } },
            )
            .within(self)
            .await?;
        Ok(())
    }
}
