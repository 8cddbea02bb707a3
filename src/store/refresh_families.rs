//! The `refresh_families` collection: one document per refresh-token family (one chain of
//! rotations from one grant). The document holds the SHA-256 of the family's one live token,
//! so a rotation is a single atomic `find_one_and_update` whose filter carries every condition
//! (the presented token is the live one, the family is not revoked, the token has not expired)
//! and whose update swaps in the successor. Revoking the family flips `revoked` on the same
//! document, so a spend and a revocation are ordered by the database: a spend that comes after
//! the revocation fails, and one that came before left its successor in a revoked family.

use std::time::Duration;

use futures_util::TryStreamExt;
use mongodb::bson::doc;
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use super::deadline::Bounded;
use super::{now, SignInRecord, Store, Timestamp, UserDoc};
use crate::error::Result;
use crate::ids::{ClientId, FamilyId, SessionId, UserId};
use crate::secrets::random_id;

/// How many spent tokens a family remembers for reuse detection (RFC 9700 §4.14.2). A token
/// spent longer ago than this many rotations is refused as unknown rather than as reuse; it
/// can no longer be exchanged either way.
pub const SPENT_KEPT: i32 = 32;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshFamilyDoc {
    #[serde(rename = "_id")]
    pub family_id: FamilyId,
    pub client_id: ClientId,
    #[serde(with = "crate::ids::user_id_as_hex")]
    pub user_id: UserId,
    /// The family's scope tokens (an array, so a narrower request can be matched in the query).
    pub scopes: Vec<String>,
    /// Base64url SHA-256 of the family's live token.
    pub current: String,
    /// When the live token was issued.
    pub rotated_at: Timestamp,
    /// The live token's idle expiry (it stops working at the earlier of this and `expires_at`).
    pub current_expires_at: Timestamp,
    /// The absolute end of the family: no rotation extends past it, and the TTL index deletes
    /// the document then.
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
    /// Base64url SHA-256 of the most recently spent tokens (at most `SPENT_KEPT`).
    #[serde(default)]
    pub spent: Vec<String>,
    pub revoked: bool,
    /// How the user signed in for the grant that began the family, so a refresh's id token
    /// keeps its `auth_time`, `amr` and `sid` (OpenID Connect Core §12.2); families stored
    /// before it was kept have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<SignInRecord>,
    /// The token the last rotation spent, and when: within the reuse grace period it may be
    /// presented again for a new successor (`retry_within_grace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_spent_at: Option<Timestamp>,
    /// The account's `version` when the family began or the account last changed: a rotation
    /// does not use a cached copy of the account older than this.
    #[serde(default)]
    pub account_version: i64,
}

/// A successor for a rotation: its hash and its idle expiry.
pub struct Successor<'a> {
    pub hash: &'a str,
    pub idle_expires_at: Timestamp,
}

/// What presenting a refresh token amounted to.
#[derive(Debug)]
pub enum RefreshUse {
    /// The token was live and is now spent; the family holds the successor.
    Rotated(RefreshFamilyDoc),
    /// The token had already been spent: someone holds a copy (RFC 9700 §4.14.2).
    Reused(RefreshFamilyDoc),
    /// Live, but the request asked for scopes beyond the family's; nothing was spent.
    ScopeExceeded,
    /// Revoked, expired, issued to another client, or never issued.
    Invalid,
}

/// What a refresh token is, looked up without spending it.
#[derive(Debug)]
pub enum RefreshLookup {
    /// The family's live token (the family may still be revoked or expired: see `is_live`).
    Current(RefreshFamilyDoc),
    /// A token of the family that was already spent.
    Spent(RefreshFamilyDoc),
}

impl RefreshFamilyDoc {
    /// Whether the live token can be exchanged now.
    pub fn is_live(&self) -> bool {
        !self.revoked && self.token_expires_at() > now()
    }

    /// When the live token stops working.
    pub fn token_expires_at(&self) -> Timestamp {
        self.current_expires_at.min(self.expires_at)
    }
}

impl Store {
    /// Starts a family with its first token.
    pub async fn insert_refresh_family(&self, family: &RefreshFamilyDoc) -> Result<()> {
        self.refresh_families()
            .insert_one(family)
            .within(self)
            .await?;
        Ok(())
    }

    /// Spends a refresh token and stores its successor in one atomic step, so two concurrent
    /// uses of one token cannot both succeed and no rotation survives a revocation. `scopes`
    /// (when narrowing) must lie within the family's scope, or nothing is spent.
    pub async fn rotate_refresh_token(
        &self,
        hash: &str,
        client_id: &str,
        scopes: Option<&[String]>,
        successor: Successor<'_>,
    ) -> Result<RefreshUse> {
        let at = now();
        let mut filter = doc! {
            "current": hash,
            "client_id": client_id,
            "revoked": false,
            "current_expires_at": { "$gt": at },
            "expires_at": { "$gt": at },
        };
        if let Some(scopes) = scopes {
            filter.insert("scopes", doc! { "$all": scopes });
        }
        let rotated = self
            .refresh_families()
            .find_one_and_update(
                filter,
                doc! {
                    "$set": {
                        "current": successor.hash,
                        "rotated_at": at,
                        "current_expires_at": successor.idle_expires_at,
                        "previous": hash,
                        "previous_spent_at": at,
                    },
                    "$push": { "spent": { "$each": [hash], "$slice": -SPENT_KEPT } },
                },
            )
            // The spent hashes (most of the document) are the database's business only.
            .projection(doc! { "spent": 0 })
            .return_document(ReturnDocument::After)
            .within(self)
            .await?;
        if let Some(family) = rotated {
            return Ok(RefreshUse::Rotated(family));
        }
        // Not spent: find out why, and whether this is reuse of a token we really issued.
        Ok(match self.find_refresh_token(hash).await? {
            Some(RefreshLookup::Spent(family)) if family.client_id == client_id => {
                RefreshUse::Reused(family)
            }
            Some(RefreshLookup::Current(family))
                if family.client_id == client_id && family.is_live() && scopes.is_some() =>
            {
                RefreshUse::ScopeExceeded
            }
            _ => RefreshUse::Invalid,
        })
    }

    /// Records a change of `user` on each of its families, so their next rotations do not use
    /// a copy of the account cached before it (`find_user_cached`).
    pub(super) async fn stamp_families(&self, user: &UserDoc) -> Result<()> {
        self.refresh_families()
            .update_many(
                doc! {
                    "user_id": user.id.to_hex(),
                    // A revoked family never rotates again.
                    "revoked": false,
                    // Families stored before versions were kept have none.
                    "$or": [
                        { "account_version": { "$lt": user.version } },
                        { "account_version": { "$exists": false } },
                    ],
                },
                doc! { "$set": { "account_version": user.version } },
            )
            .within(self)
            .await?;
        Ok(())
    }

    /// A retry with the token the family's last rotation spent, within `grace` of it: the
    /// family's live token (which the lost answer carried) is retired as spent and `successor`
    /// takes its place, so the family never has two live branches. One conditional update on
    /// the live token seen, repeated while concurrent retries change it; `None` when the
    /// token is not that one, the window has passed, or the family is no longer live.
    pub async fn retry_within_grace(
        &self,
        hash: &str,
        client_id: &str,
        scopes: Option<&[String]>,
        grace: Duration,
        successor: &Successor<'_>,
    ) -> Result<Option<RefreshFamilyDoc>> {
        let at = now();
        let since = Timestamp::from_unix_millis(
            at.unix_millis() - i64::try_from(grace.as_millis()).unwrap_or(i64::MAX),
        );
        let mut window = doc! {
            "previous": hash,
            "previous_spent_at": { "$gte": since },
            "client_id": client_id,
            "revoked": false,
            "expires_at": { "$gt": at },
        };
        if let Some(scopes) = scopes {
            window.insert("scopes", doc! { "$all": scopes });
        }
        // Each pass either replaces the live token it saw or sees a newer one; a handful of
        // passes covers every retry that can arrive within a few seconds.
        for _ in 0..8 {
            let Some(family) = self
                .refresh_families()
                .find_one(window.clone())
                .within(self)
                .await?
            else {
                return Ok(None);
            };
            let mut seen = window.clone();
            seen.insert("_id", family.family_id.as_str());
            seen.insert("current", &family.current);
            let replaced = self
                .refresh_families()
                .find_one_and_update(
                    seen,
                    doc! {
                        "$set": {
                            "current": successor.hash,
                            "rotated_at": at,
                            "current_expires_at": successor.idle_expires_at,
                        },
                        "$push": { "spent": { "$each": [&family.current], "$slice": -SPENT_KEPT } },
                    },
                )
                .return_document(ReturnDocument::After)
                .within(self)
                .await?;
            if replaced.is_some() {
                return Ok(replaced);
            }
        }
        Ok(None)
    }

    /// The family a refresh token belongs to, live or spent, without spending it.
    pub async fn find_refresh_token(&self, hash: &str) -> Result<Option<RefreshLookup>> {
        let found = self
            .refresh_families()
            .find_one(doc! { "$or": [{ "current": hash }, { "spent": hash }] })
            .within(self)
            .await?;
        Ok(found.map(|family| {
            if family.current == hash {
                RefreshLookup::Current(family)
            } else {
                RefreshLookup::Spent(family)
            }
        }))
    }

    /// Marks a family revoked: no token of it can be spent from now on. The revocation
    /// record that refuses its access tokens is `crate::revocation`'s to write.
    pub async fn mark_family_revoked(&self, family_id: &FamilyId) -> Result<()> {
        self.refresh_families()
            .update_one(
                doc! { "_id": family_id.as_str() },
                doc! { "$set": { "revoked": true, "revoked_at": now() } },
            )
            .within(self)
            .await?;
        Ok(())
    }

    /// A user's live families, most recently used first.
    pub async fn live_refresh_families(&self, user_id: UserId) -> Result<Vec<RefreshFamilyDoc>> {
        let cursor = self
            .refresh_families()
            .find(doc! {
                "user_id": user_id.to_hex(),
                "revoked": false,
                "current_expires_at": { "$gt": now() },
                "expires_at": { "$gt": now() },
            })
            .sort(doc! { "rotated_at": -1 })
            .within(self)
            .await?;
        cursor.try_collect().within(self).await
    }

    /// Marks revoked every unrevoked family of a user or a client, in one write tagged with
    /// a mark of this call's own, and returns exactly the families that write revoked: a
    /// family that begins while this runs is either caught by the write or was not yet there
    /// to revoke, so the caller can record each one.
    pub async fn mark_families_revoked(&self, owner: FamilyOwner<'_>) -> Result<Vec<FamilyId>> {
        let mark = random_id()?;
        let mut filter = match owner {
            FamilyOwner::User(user_id) => doc! { "user_id": user_id.to_hex() },
            FamilyOwner::Client(client_id) => doc! { "client_id": client_id },
            FamilyOwner::Session(sid) => doc! { "sign_in.sid": sid.as_str() },
        };
        filter.insert("revoked", false);
        self.refresh_families()
            .update_many(
                filter,
                doc! { "$set": { "revoked": true, "revoked_at": now(), "revocation": &mark } },
            )
            .within(self)
            .await?;
        let families = self
            .refresh_families()
            .distinct("_id", doc! { "revocation": &mark })
            .within(self)
            .await?;
        Ok(families
            .iter()
            .filter_map(|family| family.as_str().map(FamilyId::carried))
            .collect())
    }
}

/// Whose refresh-token families a revocation takes.
#[derive(Debug, Clone, Copy)]
pub enum FamilyOwner<'a> {
    User(UserId),
    Client(&'a str),
    /// The families begun by sign-ins in one browser session (its codes' grants).
    Session(&'a SessionId),
}
