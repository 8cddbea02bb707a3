//! The `notes` collection behind the example API: one small JSON note per user, kept as text
//! so user-supplied keys can never be read as query operators.

use mongodb::bson::doc;
use serde::{Deserialize, Serialize};

use super::deadline::Bounded;
use super::{now, Store, Timestamp};
use crate::error::Result;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoteDoc {
    /// The owner's user id.
    #[serde(rename = "_id")]
    pub user_id: String,
    /// The note, serialised JSON.
    pub json: String,
    pub updated_at: Timestamp,
}

impl Store {
    pub async fn find_note(&self, user_id: &str) -> Result<Option<NoteDoc>> {
        self.notes()
            .find_one(doc! { "_id": user_id })
            .within(self)
            .await
    }

    /// Replaces the user's note.
    pub async fn save_note(&self, user_id: &str, json: &str) -> Result<NoteDoc> {
        let note = NoteDoc {
            user_id: user_id.to_owned(),
            json: json.to_owned(),
            updated_at: now(),
        };
        self.notes()
            .replace_one(doc! { "_id": user_id }, &note)
            .upsert(true)
            .within(self)
            .await?;
        Ok(note)
    }
}
