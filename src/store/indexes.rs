//! Every index Portcullis's queries rely on, created idempotently at start-up. Each query in
//! this module's siblings is served by one of these (SecantusDB and MongoDB alike scan
//! collections without them).

use std::time::Duration;

use mongodb::bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};

use super::Store;
use crate::error::Result;

pub(super) async fn create_all(store: &Store) -> Result<()> {
    create(
        &store.users(),
        vec![unique("username_key_unique", doc! { "username_key": 1 })],
    )
    .await?;
    create(
        &store.refresh_tokens(),
        vec![
            plain("family_id", doc! { "family_id": 1 }),
            plain("user_id", doc! { "user_id": 1 }),
            plain("client_id", doc! { "client_id": 1 }),
            expiring("expires_at_ttl", doc! { "expires_at": 1 }),
        ],
    )
    .await?;
    create(
        &store.revocations(),
        vec![
            expiring("expires_at_ttl", doc! { "expires_at": 1 }),
            plain("revoked_at", doc! { "revoked_at": 1 }),
        ],
    )
    .await?;
    create(
        &store.codes(),
        vec![expiring("purge_at_ttl", doc! { "purge_at": 1 })],
    )
    .await?;
    create(
        &store.sessions(),
        vec![
            plain("user_id", doc! { "user_id": 1 }),
            expiring("expires_at_ttl", doc! { "expires_at": 1 }),
        ],
    )
    .await?;
    create(
        &store.consents(),
        vec![
            plain("user_id", doc! { "user_id": 1 }),
            plain("client_id", doc! { "client_id": 1 }),
        ],
    )
    .await?;
    create(
        &store.login_failures_collection(),
        vec![expiring("expires_at_ttl", doc! { "expires_at": 1 })],
    )
    .await?;
    create(
        &store.rate_limits(),
        vec![expiring("expires_at_ttl", doc! { "expires_at": 1 })],
    )
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
    .await?;
    Ok(())
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

/// A TTL index: MongoDB deletes a document once the indexed date has passed.
fn expiring(name: &str, keys: Document) -> IndexModel {
    let options = IndexOptions::builder()
        .name(name.to_owned())
        .expire_after(Duration::ZERO)
        .build();
    IndexModel::builder().keys(keys).options(options).build()
}
