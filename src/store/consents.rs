//! The `consents` collection: the scopes a user approved for a client, so a returning user is
//! not asked again for the same scopes (a new scope asks again).

use mongodb::bson::doc;
use serde::{Deserialize, Serialize};

use super::deadline::Bounded;
use super::{now, Store, Timestamp};
use crate::error::Result;
use crate::ids::UserId;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsentDoc {
    /// `<user_id>:<client_id>`.
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(with = "crate::ids::user_id_as_hex")]
    pub user_id: UserId,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub updated_at: Timestamp,
}

fn consent_id(user_id: UserId, client_id: &str) -> String {
    format!("{user_id}:{client_id}")
}

impl Store {
    pub async fn find_consent(
        &self,
        user_id: UserId,
        client_id: &str,
    ) -> Result<Option<ConsentDoc>> {
        self.consents()
            .find_one(doc! { "_id": consent_id(user_id, client_id) })
            .within(self)
            .await
    }

    /// Forgets every consent given to a client (the client was deleted).
    pub async fn delete_client_consents(&self, client_id: &str) -> Result<()> {
        self.consents()
            .delete_many(doc! { "client_id": client_id })
            .within(self)
            .await?;
        Ok(())
    }

    /// Adds scopes to what the user approved for the client.
    pub async fn save_consent(
        &self,
        user_id: UserId,
        client_id: &str,
        scopes: &[String],
    ) -> Result<()> {
        self.consents()
            .update_one(
                doc! { "_id": consent_id(user_id, client_id) },
                doc! {
                    "$set": { "user_id": user_id.to_hex(), "client_id": client_id, "updated_at": now() },
                    "$addToSet": { "scopes": { "$each": scopes } },
                },
            )
            .upsert(true)
            .within(self)
            .await?;
        Ok(())
    }
}
