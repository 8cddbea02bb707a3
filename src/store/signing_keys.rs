//! The `signing_keys` collection (with `keys.store = "database"`): one document per signing
//! key, its private key sealed under the key-encryption key, and when it signs. Every change
//! is one conditional write, so instances acting on the schedule at once change each key once.

use futures_util::TryStreamExt;
use mongodb::bson::doc;
use serde::{Deserialize, Serialize};

use super::deadline::Bounded;
use super::{is_duplicate_key, now, Store, Timestamp};
use crate::error::Result;

/// One stored signing key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SigningKeyDoc {
    /// The RFC 7638 thumbprint.
    #[serde(rename = "_id")]
    pub kid: String,
    pub bits: u32,
    pub created_at: Timestamp,
    /// When it signs from; absent for a standby key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activates_at: Option<Timestamp>,
    /// Whether its activation is in the audit trail.
    #[serde(default)]
    pub activation_recorded: bool,
    /// The activation this key was created to succeed, `kid@unix-millis` (`""` for the first
    /// key of an empty store): unique, so the schedule creates one successor however many
    /// instances act on it, and one more for a key activated again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successor_of: Option<String>,
    pub sealed: SealedKeyDoc,
}

/// A PKCS#8 private key under AES-256-GCM: the key-encryption key's id, the nonce and the
/// ciphertext with its tag, both base64url.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealedKeyDoc {
    pub kek_id: String,
    pub nonce: String,
    pub ciphertext: String,
}

impl Store {
    pub(super) fn signing_keys_collection(&self) -> mongodb::Collection<SigningKeyDoc> {
        self.db.collection(super::collections::SIGNING_KEYS)
    }

    /// Every stored key, by `kid`.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyDoc>> {
        let cursor = self
            .signing_keys_collection()
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .within(self)
            .await?;
        cursor.try_collect().within(self).await
    }

    /// Stores a new key; `false` when its `successor_of` (or its `kid`) is taken: another
    /// instance created that successor first.
    pub async fn insert_signing_key(&self, key: &SigningKeyDoc) -> Result<bool> {
        match self
            .signing_keys_collection()
            .insert_one(key)
            .answered_within(self)
            .await?
        {
            Ok(_) => Ok(true),
            Err(error) if is_duplicate_key(&error) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Makes a stored key sign from `at` (its activation recorded by the caller); `false`
    /// when there is no such key.
    pub async fn activate_signing_key(&self, kid: &str, at: Timestamp) -> Result<bool> {
        let result = self
            .signing_keys_collection()
            .update_one(
                doc! { "_id": kid },
                doc! { "$set": { "activates_at": at, "activation_recorded": true } },
            )
            .within(self)
            .await?;
        Ok(result.matched_count == 1)
    }

    /// Claims the recording of a scheduled activation that has come: `true` for exactly one
    /// caller.
    pub async fn claim_activation_record(&self, kid: &str) -> Result<bool> {
        let result = self
            .signing_keys_collection()
            .update_one(
                doc! {
                    "_id": kid,
                    "activation_recorded": false,
                    "activates_at": { "$lte": now() },
                },
                doc! { "$set": { "activation_recorded": true } },
            )
            .within(self)
            .await?;
        Ok(result.modified_count == 1)
    }

    /// Deletes a key, but only if it still has the activation the caller decided on (an
    /// administrator may have activated it again meanwhile) and, with `before_it_signs`, only
    /// while that activation is still to come; `true` for the one caller whose delete
    /// removed it.
    pub async fn delete_signing_key(
        &self,
        kid: &str,
        activates_at: Option<Timestamp>,
        before_it_signs: bool,
    ) -> Result<bool> {
        let activation = match activates_at {
            Some(at) if before_it_signs => doc! { "$eq": at, "$gt": now() }.into(),
            other => mongodb::bson::Bson::from(other),
        };
        let result = self
            .signing_keys_collection()
            .delete_one(doc! { "_id": kid, "activates_at": activation })
            .within(self)
            .await?;
        Ok(result.deleted_count == 1)
    }

    /// Replaces a key's sealed form, if it is still sealed under `from_kek` (a KEK rotation
    /// running twice at once seals each key once).
    pub async fn reseal_signing_key(
        &self,
        kid: &str,
        from_kek: &str,
        sealed: &SealedKeyDoc,
    ) -> Result<bool> {
        let sealed = doc! {
            "kek_id": &sealed.kek_id,
            "nonce": &sealed.nonce,
            "ciphertext": &sealed.ciphertext,
        };
        let result = self
            .signing_keys_collection()
            .update_one(
                doc! { "_id": kid, "sealed.kek_id": from_kek },
                doc! { "$set": { "sealed": sealed } },
            )
            .within(self)
            .await?;
        Ok(result.modified_count == 1)
    }
}
