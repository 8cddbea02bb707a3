//! The `revocations` collection: access tokens (by `jti`) and refresh-token families that were
//! revoked before they expired. Records delete themselves (TTL) once the tokens they cover
//! would have expired anyway.

use std::sync::{Arc, RwLock};

use futures_util::TryStreamExt;
use mongodb::bson::{doc, DateTime};
use serde::{Deserialize, Serialize};

use super::deadline::Bounded;
use super::{now, Store};
use crate::error::Result;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevocationDoc {
    /// `jti:<jti>` for one access token, `family:<id>` for a refresh-token family,
    /// `user:<id>` for every token of a deleted user, `client:<id>` for every token issued to
    /// a deleted client.
    #[serde(rename = "_id")]
    pub id: String,
    pub revoked_at: DateTime,
    pub expires_at: DateTime,
    /// For `user:` and `client:`: tokens whose `iat` is before this second are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_before: Option<DateTime>,
}

impl RevocationDoc {
    pub fn access_token(jti: &str, expires_at: DateTime) -> Self {
        RevocationDoc {
            id: format!("jti:{jti}"),
            revoked_at: now(),
            expires_at,
            issued_before: None,
        }
    }

    pub fn family(family_id: &str, expires_at: DateTime) -> Self {
        RevocationDoc {
            id: format!("family:{family_id}"),
            revoked_at: now(),
            expires_at,
            issued_before: None,
        }
    }

    /// Every access token of a user issued up to and including this second (the account was
    /// deleted or disabled: nothing newer can exist).
    pub fn user(user_id: &str, expires_at: DateTime) -> Self {
        Self::subject(format!("user:{user_id}"), expires_at, 1_000)
    }

    /// Every access token of a user issued in an earlier second (the password changed). The
    /// user signing in again within this second must keep the new token; a token minted in
    /// the same second just before the change survives, a window under one second.
    pub fn user_earlier(user_id: &str, expires_at: DateTime) -> Self {
        Self::subject(format!("user:{user_id}"), expires_at, 0)
    }

    /// Every access token issued to a client up to and including this second.
    pub fn client(client_id: &str, expires_at: DateTime) -> Self {
        Self::subject(format!("client:{client_id}"), expires_at, 1_000)
    }

    /// `issued_before` is compared in whole seconds, as `iat` is: tokens whose `iat` is
    /// before its second are refused. `ahead_ms` moves it past the current second.
    fn subject(id: String, expires_at: DateTime, ahead_ms: i64) -> Self {
        let at = now();
        RevocationDoc {
            id,
            revoked_at: at,
            expires_at,
            issued_before: Some(DateTime::from_millis(at.timestamp_millis() + ahead_ms)),
        }
    }
}

type Listener = Arc<dyn Fn(&RevocationDoc) + Send + Sync>;

/// Who hears of the revocations recorded through one store.
#[derive(Clone, Default)]
pub(super) struct RevocationListeners(Arc<RwLock<Vec<Listener>>>);

impl RevocationListeners {
    fn add(&self, listener: Listener) {
        if let Ok(mut listeners) = self.0.write() {
            listeners.push(listener);
        }
    }

    fn notify(&self, revocation: &RevocationDoc) {
        if let Ok(listeners) = self.0.read() {
            for listener in listeners.iter() {
                listener(revocation);
            }
        }
    }
}

impl Store {
    /// Records a revocation; recording the same one twice keeps the later expiry.
    pub async fn insert_revocation(&self, revocation: &RevocationDoc) -> Result<()> {
        let kind = revocation.id.split(':').next().unwrap_or("unknown");
        crate::metrics::revocation(kind);
        let mut later = doc! { "expires_at": revocation.expires_at };
        if let Some(issued_before) = revocation.issued_before {
            later.insert("issued_before", issued_before);
        }
        // A repeated `user:`/`client:` revocation moves `revoked_at` (and so its cutoff reaches
        // other instances with their next poll); a token's or family's keeps its first one.
        let revoked_at = if revocation.issued_before.is_some() {
            "$set"
        } else {
            "$setOnInsert"
        };
        let update = doc! {
            "$max": later,
            revoked_at: { "revoked_at": revocation.revoked_at },
        };
        self.revocations()
            .update_one(doc! { "_id": &revocation.id }, update)
            .upsert(true)
            .within(self)
            .await?;
        // Stored: this instance applies it before anyone answers (others with their next sync).
        self.revocation_listeners.notify(revocation);
        Ok(())
    }

    /// Calls `apply` with every revocation recorded through this store (and its clones) from
    /// now on, right after it is stored: how the instance's in-memory set learns of its own
    /// revocations, whichever service made them.
    pub fn on_revocation(&self, apply: impl Fn(&RevocationDoc) + Send + Sync + 'static) {
        self.revocation_listeners.add(Arc::new(apply));
    }

    pub async fn find_revocation(&self, id: &str) -> Result<Option<RevocationDoc>> {
        self.revocations()
            .find_one(doc! { "_id": id })
            .within(self)
            .await
    }

    /// Revocations recorded at or after `since` that still matter, oldest first.
    pub async fn revocations_since(&self, since: DateTime) -> Result<Vec<RevocationDoc>> {
        let cursor = self
            .revocations()
            .find(doc! { "revoked_at": { "$gte": since }, "expires_at": { "$gt": now() } })
            .sort(doc! { "revoked_at": 1 })
            .within(self)
            .await?;
        cursor.try_collect().within(self).await
    }
}
