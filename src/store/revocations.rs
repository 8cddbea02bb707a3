//! The `revocations` collection: access tokens (by `jti`) and refresh-token families that were
//! revoked before they expired. Records delete themselves (TTL) once the tokens they cover
//! would have expired anyway.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, DateTime};
use serde::{Deserialize, Serialize};

use super::{now, Store};
use crate::error::Result;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevocationDoc {
    /// `jti:<jti>` for one access token, `family:<id>` for a refresh-token family.
    #[serde(rename = "_id")]
    pub id: String,
    pub revoked_at: DateTime,
    pub expires_at: DateTime,
}

impl RevocationDoc {
    pub fn access_token(jti: &str, expires_at: DateTime) -> Self {
        RevocationDoc {
            id: format!("jti:{jti}"),
            revoked_at: now(),
            expires_at,
        }
    }

    pub fn family(family_id: &str, expires_at: DateTime) -> Self {
        RevocationDoc {
            id: format!("family:{family_id}"),
            revoked_at: now(),
            expires_at,
        }
    }
}

impl Store {
    /// Records a revocation; recording the same one twice keeps the later expiry.
    pub async fn insert_revocation(&self, revocation: &RevocationDoc) -> Result<()> {
        self.revocations()
            .update_one(
                doc! { "_id": &revocation.id },
                doc! {
                    "$setOnInsert": { "revoked_at": revocation.revoked_at },
                    "$max": { "expires_at": revocation.expires_at },
                },
            )
            .upsert(true)
            .await?;
        Ok(())
    }

    pub async fn find_revocation(&self, id: &str) -> Result<Option<RevocationDoc>> {
        Ok(self.revocations().find_one(doc! { "_id": id }).await?)
    }

    /// Revocations recorded at or after `since` that still matter, oldest first.
    pub async fn revocations_since(&self, since: DateTime) -> Result<Vec<RevocationDoc>> {
        let cursor = self
            .revocations()
            .find(doc! { "revoked_at": { "$gte": since }, "expires_at": { "$gt": now() } })
            .sort(doc! { "revoked_at": 1 })
            .await?;
        Ok(cursor.try_collect().await?)
    }
}
