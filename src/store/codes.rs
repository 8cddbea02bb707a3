//! The `authorization_codes` collection (RFC 6749 §4.1.2). Only a code's SHA-256 is stored.
//! A code is spent by one atomic update; the spent record is kept a while longer, with the
//! tokens it produced, so a second redemption can revoke them.

use mongodb::bson::{doc, DateTime};
use serde::{Deserialize, Serialize};

use super::{now, Store};
use crate::error::Result;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthCodeDoc {
    /// Base64url SHA-256 of the code.
    #[serde(rename = "_id")]
    pub hash: String,
    pub client_id: String,
    pub user_id: String,
    /// The redirect URI the code was issued for (RFC 6749 §4.1.3 compares it).
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    /// The PKCE challenge as oxide-auth encodes it (`<challenge>S`).
    pub pkce: Option<String>,
    /// End of the code's validity.
    pub expires_at: DateTime,
    /// When the TTL index deletes the record (later than `expires_at`, for reuse detection).
    pub purge_at: DateTime,
    pub used: bool,
    /// What the redemption issued, recorded right after it.
    pub family_id: Option<String>,
    pub jti: Option<String>,
    pub access_expires_at: Option<DateTime>,
}

/// What presenting a code amounted to.
#[derive(Debug)]
pub enum CodeUse {
    Redeemed(AuthCodeDoc),
    /// Presented again after a successful redemption.
    Reused(AuthCodeDoc),
    /// Unknown or expired.
    Invalid,
}

impl Store {
    pub async fn insert_code(&self, code: &AuthCodeDoc) -> Result<()> {
        self.codes().insert_one(code).await?;
        Ok(())
    }

    /// Spends a code in one atomic step: of two concurrent redemptions, one wins.
    pub async fn redeem_code(&self, hash: &str) -> Result<CodeUse> {
        let spent = self
            .codes()
            .find_one_and_update(
                doc! { "_id": hash, "used": false, "expires_at": { "$gt": now() } },
                doc! { "$set": { "used": true } },
            )
            .await?;
        if let Some(code) = spent {
            return Ok(CodeUse::Redeemed(code));
        }
        Ok(match self.codes().find_one(doc! { "_id": hash }).await? {
            Some(code) if code.used => CodeUse::Reused(code),
            _ => CodeUse::Invalid,
        })
    }

    /// Records the tokens a redemption issued.
    pub async fn record_code_tokens(
        &self,
        hash: &str,
        family_id: Option<&str>,
        jti: &str,
        access_expires_at: DateTime,
    ) -> Result<()> {
        self.codes()
            .update_one(
                doc! { "_id": hash },
                doc! { "$set": {
                    "family_id": family_id,
                    "jti": jti,
                    "access_expires_at": access_expires_at,
                } },
            )
            .await?;
        Ok(())
    }
}
