//! The `refresh_tokens` collection. Only the SHA-256 of a token is stored; every token belongs
//! to a family (one chain of rotations from one grant) so reuse can end the whole chain.

use mongodb::bson::{doc, DateTime};
use serde::{Deserialize, Serialize};

use super::{now, Store};
use crate::error::Result;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshTokenDoc {
    /// Base64url SHA-256 of the token.
    #[serde(rename = "_id")]
    pub hash: String,
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub issued_at: DateTime,
    /// The earlier of the idle and the absolute expiry; the TTL index deletes the token then.
    pub expires_at: DateTime,
    /// The absolute end of the family: no rotation extends past it.
    pub family_expires_at: DateTime,
    pub used: bool,
    pub revoked: bool,
}

/// What presenting a refresh token amounted to.
#[derive(Debug)]
pub enum RefreshUse {
    /// The token was valid and is now spent; issue its successor.
    Rotated(RefreshTokenDoc),
    /// The token had already been spent: someone holds a copy (RFC 9700 §4.14.2).
    Reused(RefreshTokenDoc),
    /// Revoked, expired, issued to another client, or never issued.
    Invalid,
}

impl Store {
    pub async fn insert_refresh_token(&self, token: &RefreshTokenDoc) -> Result<()> {
        self.refresh_tokens().insert_one(token).await?;
        Ok(())
    }

    /// Spends a refresh token in one atomic step, so two concurrent uses of the same token
    /// cannot both succeed.
    pub async fn use_refresh_token(&self, hash: &str, client_id: &str) -> Result<RefreshUse> {
        let at = now();
        let spent = self
            .refresh_tokens()
            .find_one_and_update(
                doc! {
                    "_id": hash,
                    "client_id": client_id,
                    "used": false,
                    "revoked": false,
                    "expires_at": { "$gt": at },
                },
                doc! { "$set": { "used": true, "used_at": at } },
            )
            .await?;
        if let Some(token) = spent {
            return Ok(RefreshUse::Rotated(token));
        }
        // Not spendable: find out whether this is reuse of a token we really issued.
        let existing = self.refresh_tokens().find_one(doc! { "_id": hash }).await?;
        Ok(match existing {
            Some(token) if token.used && token.client_id == client_id => RefreshUse::Reused(token),
            _ => RefreshUse::Invalid,
        })
    }

    pub async fn find_refresh_token(&self, hash: &str) -> Result<Option<RefreshTokenDoc>> {
        Ok(self.refresh_tokens().find_one(doc! { "_id": hash }).await?)
    }

    /// Revokes every token of a family; returns how many were still live.
    pub async fn revoke_refresh_family(&self, family_id: &str) -> Result<u64> {
        let result = self
            .refresh_tokens()
            .update_many(
                doc! { "family_id": family_id, "revoked": false },
                doc! { "$set": { "revoked": true } },
            )
            .await?;
        Ok(result.modified_count)
    }

    /// Revokes every refresh token a user holds (password change, account disabled).
    pub async fn revoke_user_refresh_tokens(&self, user_id: &str) -> Result<Vec<String>> {
        let families: Vec<String> = self
            .refresh_tokens()
            .distinct("family_id", doc! { "user_id": user_id, "revoked": false })
            .await?
            .into_iter()
            .filter_map(|family| family.as_str().map(str::to_owned))
            .collect();
        self.refresh_tokens()
            .update_many(
                doc! { "user_id": user_id, "revoked": false },
                doc! { "$set": { "revoked": true } },
            )
            .await?;
        Ok(families)
    }
}
