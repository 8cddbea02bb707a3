//! The `clients` collection: registered OAuth clients (RFC 6749 §2).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson};
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use super::deadline::Bounded;
use super::{is_duplicate_key, now, Store, Timestamp};
use crate::error::{Error, Result};
use crate::ids::ClientId;

/// RFC 6749 §2.1 client types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    /// Can keep a secret (a server-side application).
    Confidential,
    /// Cannot keep a secret (a native or browser application).
    Public,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientDoc {
    #[serde(rename = "_id")]
    pub client_id: ClientId,
    pub name: String,
    pub kind: ClientKind,
    /// Base64url SHA-256 of the secret; `None` for public clients. Not secret by itself.
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser afterwards (exact match, OpenID Connect
    /// RP-Initiated Logout 1.0 §3); registrations stored before it existed have none.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    /// Scopes the client may ever be granted.
    pub scopes: Vec<String>,
    /// Scopes granted when a request names none.
    pub default_scopes: Vec<String>,
    /// Whether the client may call the introspection endpoint (resource servers).
    pub can_introspect: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ClientDoc {
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

/// How long a client read for authentication is reused. A change made on this instance
/// applies at once; one made on another instance within this time.
const CLIENT_CACHE_TTL: Duration = Duration::from_secs(5);
/// More clients than this and the cache starts over (only clients that exist are cached).
const CLIENT_CACHE_CAPACITY: usize = 10_000;

/// A client as read at an instant.
type CachedClient = (Instant, Arc<ClientDoc>);

/// Registered clients recently read, by id.
#[derive(Clone, Default)]
pub(super) struct ClientCache(Arc<RwLock<foldhash::HashMap<String, CachedClient>>>);

impl Store {
    /// A client, from a few-seconds cache: client authentication on every token request would
    /// otherwise cost a database round trip each time.
    pub async fn find_client_cached(&self, client_id: &str) -> Result<Option<Arc<ClientDoc>>> {
        let cached = self.client_cache.0.read().ok().and_then(|cache| {
            cache
                .get(client_id)
                .filter(|(at, _)| at.elapsed() < CLIENT_CACHE_TTL)
                .map(|(_, client)| Arc::clone(client))
        });
        if cached.is_some() {
            return Ok(cached);
        }
        let Some(found) = self.find_client(client_id).await?.map(Arc::new) else {
            return Ok(None);
        };
        if let Ok(mut cache) = self.client_cache.0.write() {
            if cache.len() >= CLIENT_CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(client_id.to_owned(), (Instant::now(), Arc::clone(&found)));
        }
        Ok(Some(found))
    }

    fn forget_client(&self, client_id: &str) {
        if let Ok(mut cache) = self.client_cache.0.write() {
            cache.remove(client_id);
        }
    }

    pub async fn insert_client(&self, client: &ClientDoc) -> Result<()> {
        match self
            .clients()
            .insert_one(client)
            .answered_within(self)
            .await?
        {
            Err(e) if is_duplicate_key(&e) => {
                Err(Error::Conflict(format!("client {:?}", client.client_id)))
            }
            other => other.map(|_| ()).map_err(Error::from),
        }
    }

    pub async fn find_client(&self, client_id: &str) -> Result<Option<ClientDoc>> {
        self.clients()
            .find_one(doc! { "_id": client_id })
            .within(self)
            .await
    }

    pub async fn list_clients(&self) -> Result<Vec<ClientDoc>> {
        let cursor = self
            .clients()
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .within(self)
            .await?;
        cursor.try_collect().within(self).await
    }

    pub async fn count_clients(&self) -> Result<u64> {
        self.clients().estimated_document_count().within(self).await
    }

    /// A page of clients in id order, after the id `after`.
    pub async fn clients_page(&self, after: Option<&str>, limit: i64) -> Result<Vec<ClientDoc>> {
        self.page_by_id(self.clients(), after.map(Bson::from), limit)
            .await
    }

    /// Makes one change to a client; `updated_at` moves with it, and this instance's cache
    /// forgets the client.
    pub async fn update_client(
        &self,
        client_id: &str,
        change: ClientChange<'_>,
    ) -> Result<ClientDoc> {
        let mut changes = match change {
            ClientChange::Settings(settings) => doc! {
                "name": &settings.name,
                "redirect_uris": &settings.redirect_uris,
                "post_logout_redirect_uris": &settings.post_logout_redirect_uris,
                "grant_types": &settings.grant_types,
                "scopes": &settings.scopes,
                "default_scopes": &settings.default_scopes,
                "can_introspect": settings.can_introspect,
            },
            ClientChange::SecretHash(hash) => doc! { "secret_hash": hash },
        };
        changes.insert("updated_at", now());
        let updated = self
            .clients()
            .find_one_and_update(doc! { "_id": client_id }, doc! { "$set": changes })
            .return_document(ReturnDocument::After)
            .within(self)
            .await?;
        self.forget_client(client_id);
        updated.ok_or_else(|| Error::NotFound(format!("client {client_id:?}")))
    }

    pub async fn delete_client(&self, client_id: &str) -> Result<bool> {
        let result = self
            .clients()
            .delete_one(doc! { "_id": client_id })
            .within(self)
            .await?;
        self.forget_client(client_id);
        Ok(result.deleted_count == 1)
    }
}

/// A client's registered settings, as a change replaces them all.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub default_scopes: Vec<String>,
    pub can_introspect: bool,
}

/// One change to a client.
#[derive(Debug, Clone, Copy)]
pub enum ClientChange<'a> {
    Settings(&'a ClientSettings),
    /// A new secret's SHA-256.
    SecretHash(&'a str),
}
