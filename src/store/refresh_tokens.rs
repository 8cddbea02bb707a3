//! The `refresh_tokens` collection. Only the SHA-256 of a token is stored; every token belongs
//! to a family (one chain of rotations from one grant) so reuse can end the whole chain.

use mongodb::bson::{doc, DateTime};
use serde::{Deserialize, Serialize};

use super::{now, RevocationDoc, Store};
use crate::error::Result;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshTokenDoc {
    /// Base64url SHA-256 of the token.
    #[serde(rename = "_id")]
    pub hash: String,
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    /// The family's scope tokens (an array, so a narrower request can be matched in the query).
    pub scopes: Vec<String>,
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
    /// Valid, but the request asked for scopes beyond the family's; nothing was spent.
    ScopeExceeded,
    /// Revoked, expired, issued to another client, or never issued.
    Invalid,
}

impl Store {
    pub async fn insert_refresh_token(&self, token: &RefreshTokenDoc) -> Result<()> {
        self.refresh_tokens().insert_one(token).await?;
        Ok(())
    }

    /// Spends a refresh token in one atomic step, so two concurrent uses of the same token
    /// cannot both succeed. `scopes` (when narrowing) must lie within the family's scope, or
    /// nothing is spent.
    pub async fn use_refresh_token(
        &self,
        hash: &str,
        client_id: &str,
        scopes: Option<&[String]>,
    ) -> Result<RefreshUse> {
        let at = now();
        let mut filter = doc! {
            "_id": hash,
            "client_id": client_id,
            "used": false,
            "revoked": false,
            "expires_at": { "$gt": at },
        };
        if let Some(scopes) = scopes {
            filter.insert("scopes", doc! { "$all": scopes });
        }
        let spent = self
            .refresh_tokens()
            .find_one_and_update(filter, doc! { "$set": { "used": true, "used_at": at } })
            .await?;
        if let Some(token) = spent {
            return Ok(RefreshUse::Rotated(token));
        }
        // Not spent: find out why, and whether this is reuse of a token we really issued.
        let existing = self.refresh_tokens().find_one(doc! { "_id": hash }).await?;
        Ok(match existing {
            Some(token) if token.client_id != client_id => RefreshUse::Invalid,
            Some(token) if token.used => RefreshUse::Reused(token),
            Some(token) if !token.revoked && token.expires_at > at && scopes.is_some() => {
                RefreshUse::ScopeExceeded
            }
            _ => RefreshUse::Invalid,
        })
    }

    pub async fn find_refresh_token(&self, hash: &str) -> Result<Option<RefreshTokenDoc>> {
        Ok(self.refresh_tokens().find_one(doc! { "_id": hash }).await?)
    }

    /// Revokes every token of a family, and records the family as revoked until
    /// `access_expiry` so the access tokens it produced are refused too. Returns the record
    /// for the caller's in-memory revocation set.
    pub async fn revoke_refresh_family(
        &self,
        family_id: &str,
        access_expiry: DateTime,
    ) -> Result<RevocationDoc> {
        self.refresh_tokens()
            .update_many(
                doc! { "family_id": family_id, "revoked": false },
                doc! { "$set": { "revoked": true } },
            )
            .await?;
        let revocation = RevocationDoc::family(family_id, access_expiry);
        self.insert_revocation(&revocation).await?;
        Ok(revocation)
    }

    /// The current token of each of a user's live families (each family has exactly one
    /// token neither spent nor revoked).
    pub async fn live_refresh_families(&self, user_id: &str) -> Result<Vec<RefreshTokenDoc>> {
        let cursor = self
            .refresh_tokens()
            .find(doc! {
                "user_id": user_id,
                "used": false,
                "revoked": false,
                "expires_at": { "$gt": now() },
            })
            .sort(doc! { "issued_at": -1 })
            .await?;
        Ok(futures_util::TryStreamExt::try_collect(cursor).await?)
    }

    /// Revokes every refresh-token family issued to a client (the client was deleted).
    pub async fn revoke_client_refresh_tokens(
        &self,
        client_id: &str,
        access_expiry: DateTime,
    ) -> Result<usize> {
        self.revoke_families_where(
            doc! { "client_id": client_id, "revoked": false },
            access_expiry,
        )
        .await
    }

    /// Revokes every refresh-token family a user holds (password change, account disabled);
    /// returns how many families were live.
    pub async fn revoke_user_refresh_tokens(
        &self,
        user_id: &str,
        access_expiry: DateTime,
    ) -> Result<usize> {
        self.revoke_families_where(doc! { "user_id": user_id, "revoked": false }, access_expiry)
            .await
    }

    async fn revoke_families_where(
        &self,
        filter: mongodb::bson::Document,
        access_expiry: DateTime,
    ) -> Result<usize> {
        let families: Vec<String> = self
            .refresh_tokens()
            .distinct("family_id", filter)
            .await?
            .into_iter()
            .filter_map(|family| family.as_str().map(str::to_owned))
            .collect();
        for family in &families {
            self.revoke_refresh_family(family, access_expiry).await?;
        }
        Ok(families.len())
    }
}
