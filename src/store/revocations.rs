//! The `revocations` collection: access tokens (by `jti`), refresh-token families, users and
//! clients whose tokens were revoked before they expired, each under a typed
//! [`RevocationKey`]. Records delete themselves (TTL) once the tokens they cover would have
//! expired anyway. What to revoke, and when, is `crate::revocation`'s to decide.

use std::time::Duration;

use futures_util::TryStreamExt;
use mongodb::bson::doc;
use mongodb::change_stream::event::ChangeStreamEvent;
use mongodb::change_stream::ChangeStream;
use mongodb::error::ErrorKind;
use mongodb::options::FullDocumentType;
use serde::{Deserialize, Serialize};

use super::deadline::Bounded;
use super::{now, Store, Timestamp};
use crate::error::{DatabaseError, Error, Result};
use crate::ids::{ClientId, FamilyId, Jti, UserId};

/// Revocations per round trip when the set is read.
const READ_BATCH: u32 = 1_000;

/// What a revocation refuses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RevocationKey {
    /// One access token, by its `jti`.
    AccessToken(Jti),
    /// A refresh-token family, and the access tokens issued from it (their `sid`).
    Family(FamilyId),
    /// The access tokens of a user issued before the record's cutoff.
    User(UserId),
    /// The access tokens issued to a client before the record's cutoff.
    Client(ClientId),
}

impl RevocationKey {
    /// The kind, as the metrics label it.
    pub fn kind(&self) -> &'static str {
        match self {
            RevocationKey::AccessToken(_) => "jti",
            RevocationKey::Family(_) => "family",
            RevocationKey::User(_) => "user",
            RevocationKey::Client(_) => "client",
        }
    }

    /// The stored form: `kind:id`.
    fn stored(&self) -> String {
        let kind = self.kind();
        match self {
            RevocationKey::AccessToken(jti) => format!("{kind}:{jti}"),
            RevocationKey::Family(family) => format!("{kind}:{family}"),
            RevocationKey::User(user) => format!("{kind}:{user}"),
            RevocationKey::Client(client) => format!("{kind}:{client}"),
        }
    }

    /// The key a stored `_id` names; `None` for a kind or id this version does not know.
    fn from_stored(stored: &str) -> Option<RevocationKey> {
        let (kind, id) = stored.split_once(':')?;
        match kind {
            "jti" => Some(RevocationKey::AccessToken(Jti::carried(id))),
            "family" => Some(RevocationKey::Family(FamilyId::carried(id))),
            "user" => UserId::parse(id).map(RevocationKey::User),
            "client" => Some(RevocationKey::Client(ClientId::registered(id))),
            _ => None,
        }
    }
}

/// A revocation as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub key: RevocationKey,
    pub revoked_at: Timestamp,
    /// When the tokens it refuses would have expired anyway; the record goes then.
    pub expires_at: Timestamp,
    /// For a user or client: tokens whose `iat` is before this second are refused.
    pub issued_before: Option<Timestamp>,
}

/// The stored document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct RevocationDoc {
    /// `jti:<jti>`, `family:<id>`, `user:<id>` or `client:<id>`.
    #[serde(rename = "_id")]
    id: String,
    revoked_at: Timestamp,
    expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued_before: Option<Timestamp>,
}

impl RevocationDoc {
    fn into_revocation(self) -> Option<Revocation> {
        Some(Revocation {
            key: RevocationKey::from_stored(&self.id)?,
            revoked_at: self.revoked_at,
            expires_at: self.expires_at,
            issued_before: self.issued_before,
        })
    }
}

impl Store {
    /// Records a revocation; recording the same one twice keeps the later expiry.
    pub async fn insert_revocation(&self, revocation: &Revocation) -> Result<()> {
        let mut later = doc! { "expires_at": revocation.expires_at };
        if let Some(issued_before) = revocation.issued_before {
            later.insert("issued_before", issued_before);
        }
        // A repeated `user:`/`client:` revocation moves `revoked_at` (and so its cutoff reaches
        // other instances with their next poll); a token's or family's keeps its first one.
        let revoked_at = if revocation.issued_before.is_some() {
            "$set"
        } else {
            "$setOnInsert"
        };
        let update = doc! {
            "$max": later,
            revoked_at: { "revoked_at": revocation.revoked_at },
        };
        self.revocations()
            .update_one(doc! { "_id": revocation.key.stored() }, update)
            .upsert(true)
            .within(self)
            .await?;
        Ok(())
    }

    pub async fn find_revocation(&self, key: &RevocationKey) -> Result<Option<Revocation>> {
        let found = self
            .revocations()
            .find_one(doc! { "_id": key.stored() })
            .within(self)
            .await?;
        Ok(found.and_then(RevocationDoc::into_revocation))
    }

    /// Revocations that still matter, recorded at or after `since` (every one when `None`),
    /// handed to `take` a batch at a time. The time limit bounds each round trip to the
    /// database, not the whole read, so a set of any size loads; the read is one cursor in the
    /// order the database keeps them, since the caller keeps only the newest `revoked_at`.
    pub async fn read_revocations(
        &self,
        since: Option<Timestamp>,
        mut take: impl FnMut(&[Revocation]),
    ) -> Result<()> {
        let mut filter = doc! { "expires_at": { "$gt": now() } };
        if let Some(since) = since {
            filter.insert("revoked_at", doc! { "$gte": since });
        }
        let mut cursor = self
            .revocations()
            .find(filter)
            .batch_size(READ_BATCH)
            .within(self)
            .await?;
        let mut batch = Vec::with_capacity(READ_BATCH as usize);
        while let Some(found) = cursor.try_next().within(self).await? {
            batch.extend(found.into_revocation());
            if batch.len() == batch.capacity() {
                take(&batch);
                batch.clear();
            }
        }
        take(&batch);
        Ok(())
    }
}

/// Revocations pushed by the database as they are recorded: a change stream on the
/// `revocations` collection, where the deployment offers one (a replica set or a sharded
/// cluster).
pub struct RevocationFeed {
    stream: ChangeStream<ChangeStreamEvent<RevocationDoc>>,
    /// How long one wait may take: the server's await time and the store's time limit.
    limit: Duration,
}

impl Store {
    /// Opens the feed. `Ok(None)`: the database answered that it offers no change stream (a
    /// standalone server); an error: it could not be asked.
    pub async fn watch_revocations(&self, wait: Duration) -> Result<Option<RevocationFeed>> {
        // Inserts and updates only: the upsert of a repeated revocation is an update, and the
        // TTL monitor's deletes remove what has expired anyway.
        let pipeline = [doc! {
            "$match": { "operationType": { "$in": ["insert", "update", "replace"] } }
        }];
        let opened = self
            .revocations()
            .watch()
            .pipeline(pipeline)
            .full_document(FullDocumentType::UpdateLookup)
            .max_await_time(wait)
            .answered_within(self)
            .await?;
        match opened {
            Ok(stream) => Ok(Some(RevocationFeed {
                stream,
                limit: wait + self.operation_timeout,
            })),
            // The server answered that it has no change streams: code 40573 on a standalone
            // `mongod`. Any other refusal (authorisation, an election) is tried again later.
            Err(error) if matches!(&*error.kind, ErrorKind::Command(e) if e.code == 40573) => {
                tracing::debug!(%error, "no change stream on this deployment");
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }
}

impl RevocationFeed {
    /// The next revocation recorded, waiting at most the await time given to
    /// [`Store::watch_revocations`]; `None` when none came (or a change this version cannot
    /// read). The driver resumes after a resumable error by itself; an error here, a closed
    /// stream among them, means the feed must be opened again.
    pub async fn next(&mut self) -> Result<Option<Revocation>> {
        // A closed stream answers `None` at once, forever: waiting on it would spin.
        if !self.stream.is_alive() {
            return Err(Error::Database(DatabaseError::StreamClosed));
        }
        let change = tokio::time::timeout(self.limit, self.stream.next_if_any())
            .await
            .map_err(|_| Error::Database(DatabaseError::Timeout))??;
        if change.is_none() && !self.stream.is_alive() {
            return Err(Error::Database(DatabaseError::StreamClosed));
        }
        Ok(change
            .and_then(|change| change.full_document)
            .and_then(RevocationDoc::into_revocation))
    }
}
