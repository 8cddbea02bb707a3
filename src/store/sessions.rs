//! The `sessions` collection: browser sign-ins, so a session can be ended server-side. The
//! cookie holds a random token; only its SHA-256 is stored.

use mongodb::bson::doc;
use serde::{Deserialize, Serialize};

use super::deadline::Bounded;
use super::{now, Store, Timestamp};
use crate::error::Result;
use crate::ids::{SessionId, UserId};

#[derive(Clone, Serialize, Deserialize)]
pub struct SessionDoc {
    #[serde(rename = "_id")]
    pub hash: String,
    #[serde(with = "crate::ids::user_id_as_hex")]
    pub user_id: UserId,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    pub created_at: Timestamp,
    /// The TTL index deletes the session then.
    pub expires_at: Timestamp,
    /// When the user signed in (OpenID Connect's `auth_time`); sessions stored before it was
    /// recorded have none, and count from `created_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<Timestamp>,
    /// How the user signed in (RFC 8176 `amr` values).
    #[serde(default)]
    pub amr: Vec<String>,
    /// The session's public id, for id tokens' `sid`; sessions stored before it was kept
    /// have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<SessionId>,
}

impl std::fmt::Debug for SessionDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionDoc")
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Store {
    pub async fn insert_session(&self, session: &SessionDoc) -> Result<()> {
        self.sessions().insert_one(session).within(self).await?;
        Ok(())
    }

    /// A live session (the TTL monitor runs only every minute, so expiry is checked here).
    pub async fn find_session(&self, hash: &str) -> Result<Option<SessionDoc>> {
        self.sessions()
            .find_one(doc! { "_id": hash, "expires_at": { "$gt": now() } })
            .within(self)
            .await
    }

    pub async fn delete_session(&self, hash: &str) -> Result<()> {
        self.sessions()
            .delete_one(doc! { "_id": hash })
            .within(self)
            .await?;
        Ok(())
    }

    /// A user's live browser sessions, newest first.
    pub async fn user_sessions(&self, user_id: UserId) -> Result<Vec<SessionDoc>> {
        use futures_util::TryStreamExt;
        let cursor = self
            .sessions()
            .find(doc! { "user_id": user_id.to_hex(), "expires_at": { "$gt": now() } })
            .sort(doc! { "created_at": -1 })
            .within(self)
            .await?;
        cursor.try_collect().within(self).await
    }

    /// Ends every browser session of a user (password change, account disabled).
    pub async fn delete_user_sessions(&self, user_id: UserId) -> Result<u64> {
        let result = self
            .sessions()
            .delete_many(doc! { "user_id": user_id.to_hex() })
            .within(self)
            .await?;
        Ok(result.deleted_count)
    }
}
