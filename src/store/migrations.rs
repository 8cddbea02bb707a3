//! One-time moves of data stored by earlier versions, run at start-up after the indexes.
//! Each is idempotent: running it again, or on several instances at once, changes nothing
//! more.

use futures_util::TryStreamExt;
use mongodb::bson::doc;
use serde::Deserialize;

use super::deadline::Bounded;
use super::refresh_families::{RefreshFamilyDoc, SPENT_KEPT};
use super::{collections, now, Store, Timestamp};
use crate::error::Result;
use crate::ids::{ClientId, FamilyId, UserId};

/// A row of the `refresh_tokens` collection that held one document per token.
#[derive(Deserialize)]
struct LegacyRefreshToken {
    #[serde(rename = "_id")]
    hash: String,
    family_id: String,
    client_id: String,
    user_id: String,
    scopes: Vec<String>,
    issued_at: Timestamp,
    expires_at: Timestamp,
    family_expires_at: Timestamp,
}

/// Moves that the indexes depend on (a unique index cannot be built over missing values).
pub(super) async fn before_indexes(store: &Store) -> Result<()> {
    username_skeletons(store).await
}

pub(super) async fn after_indexes(store: &Store) -> Result<()> {
    refresh_tokens_to_families(store).await
}

/// Gives every account stored without one its confusable skeleton. Two accounts that already
/// look alike both keep working: the later one's skeleton is made unique with its id (and a
/// warning names it for an operator to rename), while new look-alikes are refused.
async fn username_skeletons(store: &Store) -> Result<()> {
    #[derive(Deserialize)]
    struct Unskeletoned {
        #[serde(rename = "_id")]
        id: mongodb::bson::oid::ObjectId,
        username: String,
        username_key: String,
    }
    let users = store
        .database()
        .collection::<Unskeletoned>(collections::USERS);
    let mut missing = users
        .find(doc! { "username_skeleton": { "$exists": false } })
        .sort(doc! { "created_at": 1 })
        .within(store)
        .await?;
    while let Some(user) = missing.try_next().within(store).await? {
        let mut skeleton = crate::username::username_skeleton(&user.username_key);
        let taken = users
            .find_one(doc! { "username_skeleton": &skeleton })
            .within(store)
            .await?
            .is_some();
        if taken {
            tracing::warn!(
                username = %user.username,
                "this account's name looks like another's; consider renaming one of them"
            );
            skeleton = format!("{skeleton}#{}", user.id.to_hex());
        }
        users
            .update_one(
                doc! { "_id": user.id },
                doc! { "$set": { "username_skeleton": skeleton } },
            )
            .within(store)
            .await?;
    }
    Ok(())
}

/// Each live family of the per-token collection becomes one family document (its live token
/// current, its spent ones remembered for reuse detection); then the old collection is
/// dropped. Revoked and expired families are not carried over: none of their tokens can be
/// exchanged, and their access tokens are refused by their `family:` revocation records.
async fn refresh_tokens_to_families(store: &Store) -> Result<()> {
    let legacy = store
        .database()
        .collection::<LegacyRefreshToken>(collections::LEGACY_REFRESH_TOKENS);
    if legacy.estimated_document_count().within(store).await? == 0 {
        return Ok(());
    }
    let at = now();
    let mut live_rows = legacy
        .find(doc! { "used": false, "revoked": false, "expires_at": { "$gt": at } })
        .within(store)
        .await?;
    let mut moved = 0_u64;
    while let Some(live) = live_rows.try_next().within(store).await? {
        // A token whose user id is not one could never be refreshed: it is not moved.
        let Some(user_id) = UserId::parse(&live.user_id) else {
            continue;
        };
        let spent: Vec<LegacyRefreshToken> = legacy
            .find(doc! { "family_id": &live.family_id, "used": true })
            .sort(doc! { "issued_at": -1 })
            .limit(i64::from(SPENT_KEPT))
            .within(store)
            .await?
            .try_collect()
            .within(store)
            .await?;
        let family = RefreshFamilyDoc {
            family_id: FamilyId::carried(live.family_id.as_str()),
            client_id: ClientId::registered(live.client_id),
            user_id,
            scopes: live.scopes,
            current: live.hash,
            rotated_at: live.issued_at,
            current_expires_at: live.expires_at,
            expires_at: live.family_expires_at,
            created_at: live.issued_at,
            spent: spent.into_iter().rev().map(|row| row.hash).collect(),
            revoked: false,
            sign_in: None,
            previous: None,
            previous_spent_at: None,
            account_version: 0,
        };
        let mut document = mongodb::bson::to_document(&family)
            .map_err(|e| crate::error::Error::Internal(format!("a refresh family: {e}")))?;
        document.remove("_id");
        store
            .refresh_families()
            .update_one(
                doc! { "_id": family.family_id.as_str() },
                doc! { "$setOnInsert": document },
            )
            .upsert(true)
            .within(store)
            .await?;
        moved += 1;
    }
    legacy.drop().within(store).await?;
    tracing::info!(
        families = moved,
        "refresh tokens moved to one document per family"
    );
    Ok(())
}
