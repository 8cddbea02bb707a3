//! The `users` collection: accounts that sign in with a password.

use std::fmt;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson};
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use super::deadline::Bounded;
use super::{is_duplicate_key, now, Store, Timestamp};
use crate::error::{Error, Result};
use crate::ids::UserId;

#[derive(Clone, Serialize, Deserialize)]
pub struct UserDoc {
    #[serde(rename = "_id")]
    pub id: UserId,
    /// The name as the user typed it (NFKC-normalised).
    pub username: String,
    /// The case-folded name sign-in looks up (unique).
    pub username_key: String,
    /// The UTS #39 confusable skeleton of the key (unique), so `root` and `rооt` (Cyrillic о)
    /// cannot both exist.
    #[serde(default)]
    pub username_skeleton: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    /// What the person chose to tell about themselves (OpenID Connect's standard claims).
    #[serde(default)]
    pub profile: UserProfile,
    /// The case-folded email address (unique where present), kept beside the profile so the
    /// index sees it; `None` without an email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_key: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Counts the account's changes. Each refresh-token family records the version its
    /// account had when it was last stamped (`account_version`), so a copy of the account
    /// cached before a change is not used for that family's next rotation.
    #[serde(default)]
    pub version: i64,
}

/// The standard claims an account may hold (OpenID Connect Core §5.1), each optional. Checked
/// by `services::profile` before it is stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether someone vouched that the address is the person's; only an administrator says so.
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// An RFC 5646 language tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// An IANA time zone name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zoneinfo: Option<String>,
}

impl UserProfile {
    /// The key the unique index compares: the address case-folded, so `Ann@Example.org`
    /// and `ann@example.org` cannot belong to two accounts.
    pub fn email_key(&self) -> Option<String> {
        self.email.as_deref().map(str::to_lowercase)
    }
}

impl fmt::Debug for UserDoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserDoc")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

impl Store {
    pub async fn insert_user(&self, user: &UserDoc) -> Result<()> {
        match self.users().insert_one(user).answered_within(self).await? {
            Err(e) if is_duplicate_key(&e) => Err(if is_email_conflict(&e) {
                email_taken()
            } else {
                Error::Conflict(format!(
                    "user {:?} (or a name that looks the same)",
                    user.username
                ))
            }),
            other => other.map(|_| ()).map_err(Error::from),
        }
    }

    pub async fn find_user_by_key(&self, username_key: &str) -> Result<Option<UserDoc>> {
        self.users()
            .find_one(doc! { "username_key": username_key })
            .within(self)
            .await
    }

    /// Enabled accounts with `role`, other than `except`.
    pub async fn count_enabled_with_role_except(&self, role: &str, except: UserId) -> Result<u64> {
        self.users()
            .count_documents(
                doc! { "role": role, "disabled": false, "_id": { "$ne": except.object_id() } },
            )
            .within(self)
            .await
    }

    pub async fn find_user_by_id(&self, id: UserId) -> Result<Option<UserDoc>> {
        self.users()
            .find_one(doc! { "_id": id.object_id() })
            .within(self)
            .await
    }

    /// The user another record names by its id in hex (a family, a code, a session); none
    /// when the text names no user.
    pub async fn find_user_by_hex(&self, id: &str) -> Result<Option<UserDoc>> {
        match UserId::parse(id) {
            Some(id) => self.find_user_by_id(id).await,
            None => Ok(None),
        }
    }

    /// Users in id (creation) order, starting after `after`.
    pub async fn list_users(&self, after: Option<UserId>, limit: i64) -> Result<Vec<UserDoc>> {
        let after = after.map(|id| Bson::ObjectId(id.object_id()));
        self.page_by_id(self.users(), after, limit).await
    }

    /// A page of users in key order: keys starting with `prefix`, after the key `after`.
    /// A range on the indexed key rather than a regular expression, so nothing in the prefix
    /// is ever read as a pattern.
    pub async fn users_by_key_prefix(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<UserDoc>> {
        let mut range = doc! { "$gte": prefix, "$lt": format!("{prefix}\u{10FFFF}") };
        if let Some(after) = after {
            range.insert("$gt", after);
        }
        let cursor = self
            .users()
            .find(doc! { "username_key": range })
            .sort(doc! { "username_key": 1 })
            .limit(limit)
            .within(self)
            .await?;
        cursor.try_collect().within(self).await
    }

    /// Deletes the account and what is kept only for it: consents, the example API's note,
    /// the failed-sign-in counter.
    pub async fn delete_user_data(&self, user: &UserDoc) -> Result<()> {
        let user_id = user.id.to_hex();
        self.consents()
            .delete_many(doc! { "user_id": &user_id })
            .within(self)
            .await?;
        self.notes()
            .delete_one(doc! { "_id": &user_id })
            .within(self)
            .await?;
        self.login_failures_collection()
            .delete_one(doc! { "_id": &user.username_key })
            .within(self)
            .await?;
        self.users()
            .delete_one(doc! { "_id": user.id.object_id() })
            .within(self)
            .await?;
        self.forget_user(user.id);
        Ok(())
    }

    pub async fn count_users(&self) -> Result<u64> {
        self.users().estimated_document_count().within(self).await
    }

    /// Applies `changes` to the user and returns the updated document.
    /// Makes one change to an account; `updated_at` moves with it.
    pub async fn update_user(&self, username_key: &str, change: UserChange<'_>) -> Result<UserDoc> {
        // Fields set, and the one a removed email address takes out of the unique index.
        let (mut set, unset) = match change {
            UserChange::PasswordHash(hash) => (doc! { "password_hash": hash }, None),
            UserChange::Role(role) => (doc! { "role": role }, None),
            UserChange::Disabled(disabled) => (doc! { "disabled": disabled }, None),
            UserChange::Profile(profile) => {
                let stored = mongodb::bson::to_bson(profile)
                    .map_err(|e| Error::Internal(format!("storing a profile: {e}")))?;
                let mut set = doc! { "profile": stored };
                match profile.email_key() {
                    Some(key) => {
                        set.insert("email_key", key);
                        (set, None)
                    }
                    None => (set, Some(doc! { "email_key": "" })),
                }
            }
        };
        set.insert("updated_at", now());
        let mut update = doc! { "$set": set, "$inc": { "version": 1_i64 } };
        if let Some(unset) = unset {
            update.insert("$unset", unset);
        }
        let updated = match self
            .users()
            .find_one_and_update(doc! { "username_key": username_key }, update)
            .return_document(ReturnDocument::After)
            .answered_within(self)
            .await?
        {
            Err(e) if is_duplicate_key(&e) => Err(email_taken()),
            other => other?.ok_or_else(|| Error::NotFound(format!("user {username_key:?}"))),
        }?;
        self.forget_user(updated.id);
        self.stamp_families(&updated).await?;
        Ok(updated)
    }
}

fn email_taken() -> Error {
    Error::Conflict("an account with this email address".into())
}

/// Whether a duplicate-key error is the email index's (the other unique indexes are names').
fn is_email_conflict(error: &mongodb::error::Error) -> bool {
    error.to_string().contains("email_key")
}

/// One change to an account.
#[derive(Debug, Clone, Copy)]
pub enum UserChange<'a> {
    /// A new password's Argon2id hash.
    PasswordHash(&'a str),
    Role(&'a str),
    Disabled(bool),
    /// The whole profile, already checked.
    Profile(&'a UserProfile),
}

impl UserChange<'_> {
    /// The field it changes, as the audit trail names it (never the value).
    pub fn field(&self) -> &'static str {
        match self {
            UserChange::PasswordHash(_) => "password_hash",
            UserChange::Role(_) => "role",
            UserChange::Disabled(_) => "disabled",
            UserChange::Profile(_) => "profile",
        }
    }
}
