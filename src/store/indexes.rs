//! Every index Portcullis's queries rely on, created idempotently at start-up. Each query in
//! this module's siblings is served by one of these (SecantusDB and MongoDB alike scan
//! collections without them).

use std::time::Duration;

use mongodb::bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};

use super::deadline::Bounded;
use super::Store;
use crate::error::Result;

pub(super) async fn create_all(store: &Store) -> Result<()> {
    create(
        &store.users(),
        vec![
            unique("username_key_unique", doc! { "username_key": 1 }),
            unique("username_skeleton_unique", doc! { "username_skeleton": 1 }),
            // Partial: accounts without an address are not in it, so any number may lack one.
            unique_where(
                "email_key_unique",
                doc! { "email_key": 1 },
                doc! { "email_key": { "$type": "string" } },
            ),
            plain("role_disabled", doc! { "role": 1, "disabled": 1 }),
        ],
    )
    .within(store)
    .await?;
    create(
        &store.refresh_families(),
        vec![
            unique("current_unique", doc! { "current": 1 }),
            plain("spent", doc! { "spent": 1 }),
            plain("user_id", doc! { "user_id": 1 }),
            plain("client_id", doc! { "client_id": 1 }),
            plain("sign_in_sid", doc! { "sign_in.sid": 1 }),
            plain("previous", doc! { "previous": 1 }),
            plain("revocation", doc! { "revocation": 1 }),
            expiring("expires_at_ttl", doc! { "expires_at": 1 }),
        ],
    )
    .within(store)
    .await?;
    create(
        &store.signing_keys_collection(),
        vec![unique_where(
            "successor_of_unique",
            doc! { "successor_of": 1 },
            doc! { "successor_of": { "$type": "string" } },
        )],
    )
    .within(store)
    .await?;
    create(
        &store.revocations(),
        vec![
            expiring("expires_at_ttl", doc! { "expires_at": 1 }),
            plain("revoked_at", doc! { "revoked_at": 1 }),
        ],
    )
    .within(store)
    .await?;
    create(
        &store.codes(),
        vec![expiring("purge_at_ttl", doc! { "purge_at": 1 })],
    )
    .within(store)
    .await?;
    create(
        &store.sessions(),
        vec![
            plain("user_id", doc! { "user_id": 1 }),
            expiring("expires_at_ttl", doc! { "expires_at": 1 }),
        ],
    )
    .within(store)
    .await?;
    create(
        &store.consents(),
        vec![
            plain("user_id", doc! { "user_id": 1 }),
            plain("client_id", doc! { "client_id": 1 }),
        ],
    )
    .within(store)
    .await?;
    create(
        &store.login_failures_collection(),
        vec![expiring("expires_at_ttl", doc! { "expires_at": 1 })],
    )
    .within(store)
    .await?;
    create(
        &store.rate_limits(),
        vec![expiring("expires_at_ttl", doc! { "expires_at": 1 })],
    )
    .within(store)
    .await?;
    create(
        &store.audit_events(),
        vec![
            plain("at", doc! { "at": -1 }),
            plain("user_at", doc! { "user_id": 1, "at": -1 }),
            plain("client_at", doc! { "client_id": 1, "at": -1 }),
            plain("kind_at", doc! { "kind": 1, "at": -1 }),
        ],
    )
    .within(store)
    .await?;
    audit_retention(store).await
}

/// The audit trail's TTL index (`audit_retention_days`; none keeps events forever). A changed
/// retention is applied to the existing index in place (`collMod`), so the trail is never
/// without one.
async fn audit_retention(store: &Store) -> Result<()> {
    const NAME: &str = "at_retention_ttl";
    let collection = store.audit_events();
    let Some(retention) = store.audit_retention else {
        return match collection.drop_index(NAME).answered_within(store).await? {
            // No such collection or index yet: nothing to drop.
            Err(error) if is_code(&error, &[26, 27]) => Ok(()),
            other => other.map_err(Into::into),
        };
    };
    let options = IndexOptions::builder()
        .name(NAME.to_owned())
        .expire_after(retention)
        .build();
    let model = IndexModel::builder()
        .keys(doc! { "at": 1 })
        .options(options)
        .build();
    match collection
        .create_index(model)
        .answered_within(store)
        .await?
    {
        // Index options or key specs conflict: the retention changed.
        Err(error) if is_code(&error, &[85, 86]) => {
            let command = doc! {
                "collMod": super::collections::AUDIT,
                "index": {
                    "name": NAME,
                    "expireAfterSeconds": i64::try_from(retention.as_secs()).unwrap_or(i64::MAX),
                },
            };
            store.database().run_command(command).within(store).await?;
            Ok(())
        }
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// Whether a server error carries one of these codes.
fn is_code(error: &mongodb::error::Error, codes: &[i32]) -> bool {
    matches!(
        error.kind.as_ref(),
        mongodb::error::ErrorKind::Command(e) if codes.contains(&e.code)
    )
}

async fn create<T: Send + Sync>(collection: &Collection<T>, models: Vec<IndexModel>) -> Result<()> {
    collection.create_indexes(models).await?;
    Ok(())
}

fn plain(name: &str, keys: Document) -> IndexModel {
    let options = IndexOptions::builder().name(name.to_owned()).build();
    IndexModel::builder().keys(keys).options(options).build()
}

fn unique(name: &str, keys: Document) -> IndexModel {
    let options = IndexOptions::builder()
        .name(name.to_owned())
        .unique(true)
        .build();
    IndexModel::builder().keys(keys).options(options).build()
}

/// A unique index over the documents that match `filter` only.
fn unique_where(name: &str, keys: Document, filter: Document) -> IndexModel {
    let options = IndexOptions::builder()
        .name(name.to_owned())
        .unique(true)
        .partial_filter_expression(filter)
        .build();
    IndexModel::builder().keys(keys).options(options).build()
}

/// A TTL index: MongoDB deletes a document once the indexed date has passed.
fn expiring(name: &str, keys: Document) -> IndexModel {
    let options = IndexOptions::builder()
        .name(name.to_owned())
        .expire_after(Duration::ZERO)
        .build();
    IndexModel::builder().keys(keys).options(options).build()
}
