//! The `authorization_codes` collection (RFC 6749 §4.1.2). Only a code's SHA-256 is stored.
//! A code is spent by one atomic update, and only by the client it was issued to; the spent
//! record is kept a while longer, with the tokens it produced, so a second redemption can
//! revoke them.

use mongodb::bson::doc;
use serde::{Deserialize, Serialize};

use super::deadline::Bounded;
use super::{now, Store, Timestamp};
use crate::error::Result;
use crate::ids::{ClientId, FamilyId, Jti, SessionId, UserId};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthCodeDoc {
    /// Base64url SHA-256 of the code.
    #[serde(rename = "_id")]
    pub hash: String,
    pub client_id: ClientId,
    #[serde(with = "crate::ids::user_id_as_hex")]
    pub user_id: UserId,
    /// The redirect URI the code was delivered to.
    pub redirect_uri: String,
    /// The authorization request's `redirect_uri` parameter exactly as sent, `None` when it
    /// was left out: RFC 6749 §4.1.3 then requires the identical value at the token endpoint.
    pub requested_redirect_uri: Option<String>,
    pub scopes: Vec<String>,
    /// The PKCE challenge as oxide-auth encodes it (`<challenge>S`).
    pub pkce: Option<String>,
    /// End of the code's validity.
    pub expires_at: Timestamp,
    /// When the TTL index deletes the record (later than `expires_at`, for reuse detection).
    pub purge_at: Timestamp,
    pub used: bool,
    /// How the user signed in for this code, for the tokens it is redeemed for (OpenID
    /// Connect's `auth_time` and `amr`); `None` on codes stored before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<SignInRecord>,
    /// The authorization request's `nonce`, exactly as sent, to be echoed in an id token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// What the redemption issued, recorded right after it.
    pub family_id: Option<FamilyId>,
    pub jti: Option<Jti>,
    pub access_expires_at: Option<Timestamp>,
}

/// How the user behind a code (and the refresh family it starts) signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInRecord {
    pub auth_time: Timestamp,
    /// RFC 8176 method names.
    pub amr: Vec<String>,
    /// The browser session signed in, when there was one (not for the password grant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<SessionId>,
}

/// What presenting a code amounted to.
#[derive(Debug)]
pub enum CodeUse {
    Redeemed(AuthCodeDoc),
    /// Presented again by its own client after a successful redemption.
    Reused(AuthCodeDoc),
    /// Presented by a client it was not issued to; left unspent.
    OtherClient(AuthCodeDoc),
    /// Unknown or expired.
    Invalid,
}

impl Store {
    pub async fn insert_code(&self, code: &AuthCodeDoc) -> Result<()> {
        self.codes().insert_one(code).within(self).await?;
        Ok(())
    }

    /// Spends a code in one atomic step: of two concurrent redemptions, one wins. The client
    /// is part of the condition (RFC 6749 §4.1.3: the code must have been issued to it), so
    /// another client presenting a stolen code cannot burn it and make the rightful
    /// redemption look like reuse.
    pub async fn redeem_code(&self, hash: &str, client_id: &str) -> Result<CodeUse> {
        let spent = self
            .codes()
            .find_one_and_update(
                doc! {
                    "_id": hash,
                    "client_id": client_id,
                    "used": false,
                    "expires_at": { "$gt": now() },
                },
                doc! { "$set": { "used": true } },
            )
            .within(self)
            .await?;
        if let Some(code) = spent {
            return Ok(CodeUse::Redeemed(code));
        }
        Ok(
            match self
                .codes()
                .find_one(doc! { "_id": hash })
                .within(self)
                .await?
            {
                Some(code) if code.client_id != client_id => CodeUse::OtherClient(code),
                Some(code) if code.used => CodeUse::Reused(code),
                _ => CodeUse::Invalid,
            },
        )
    }

    /// Records the tokens a redemption issued.
    pub async fn record_code_tokens(
        &self,
        hash: &str,
        family_id: Option<&FamilyId>,
        jti: &Jti,
        access_expires_at: Timestamp,
    ) -> Result<()> {
        self.codes()
            .update_one(
                doc! { "_id": hash },
                doc! { "$set": {
                    "family_id": family_id.map(FamilyId::as_str),
                    "jti": jti.as_str(),
                    "access_expires_at": access_expires_at,
                } },
            )
            .within(self)
            .await?;
        Ok(())
    }
}
