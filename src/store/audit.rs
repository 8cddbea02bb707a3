//! The `audit` collection: security-relevant events. Records name who and what, never a
//! password, secret or token (a `jti` identifies a token without being one).

use mongodb::bson::doc;
use serde::{Deserialize, Serialize};

use super::audit_queue::Message;
use super::deadline::Bounded;
use super::{now, Store, Timestamp};
use crate::error::Result;
use crate::ids::EventId;
use tokio::sync::mpsc;

pub use crate::events::{AuditKind, Durability};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEvent {
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    pub id: Option<EventId>,
    pub at: Timestamp,
    pub kind: AuditKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// A short class of failure (`bad_password`, `unknown_user`, ...), never user input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_addr: Option<String>,
    /// Who made a change: an administrator's username, or `command line`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The administrator's user id, for changes made through the admin API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
}

impl AuditEvent {
    pub fn new(kind: AuditKind) -> Self {
        AuditEvent {
            id: None,
            at: now(),
            kind,
            client_id: None,
            user_id: None,
            username: None,
            grant_type: None,
            jti: None,
            scope: None,
            reason: None,
            remote_addr: None,
            actor: None,
            actor_id: None,
        }
    }
}

/// Which events to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub kind: Option<AuditKind>,
    /// Events at or after this time.
    pub since: Option<Timestamp>,
    /// Events before this time.
    pub until: Option<Timestamp>,
    /// Events that come after this one, newest first (the previous page's last event).
    pub before: Option<EventId>,
    pub limit: i64,
}

impl Store {
    /// Records one event and mirrors it to the log. A [`Durability::BeforeAnswer`] kind, or
    /// any kind while no batch writer runs (the command line, or a server stopping), is
    /// written before this returns; a batched kind is queued.
    pub async fn audit(&self, event: AuditEvent) -> Result<()> {
        tracing::info!(
            target: "portcullis::audit",
            kind = ?event.kind,
            client_id = event.client_id.as_deref(),
            user_id = event.user_id.as_deref(),
            username = event.username.as_deref(),
            grant_type = event.grant_type.as_deref(),
            jti = event.jti.as_deref(),
            scope = event.scope.as_deref(),
            reason = event.reason.as_deref(),
            remote_addr = event.remote_addr.as_deref(),
            actor = event.actor.as_deref(),
            "audit"
        );
        crate::metrics::audit_event(event.kind, event.grant_type.as_deref());
        let queue = self.audit_queue.sender();
        let Some(queue) = queue.filter(|_| event.kind.durability() == Durability::Batched) else {
            return self.insert_audit_event(&event).await;
        };
        match queue.send(Message::Event(Box::new(event))).await {
            Ok(()) => Ok(()),
            // The writer has stopped (shutdown): write directly.
            Err(mpsc::error::SendError(Message::Event(event))) => {
                self.insert_audit_event(&event).await
            }
            Err(mpsc::error::SendError(Message::Flush(_))) => Ok(()),
        }
    }

    async fn insert_audit_event(&self, event: &AuditEvent) -> Result<()> {
        self.audit_events().insert_one(event).within(self).await?;
        Ok(())
    }

    pub(super) async fn insert_audit_events(&self, events: &[AuditEvent]) -> Result<()> {
        if !events.is_empty() {
            self.audit_events().insert_many(events).within(self).await?;
        }
        Ok(())
    }

    /// Events matching the query, newest first (this instance's queued events included).
    pub async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        use futures_util::TryStreamExt;
        self.flush_audit().await;
        let mut filter = doc! {};
        if let Some(user_id) = &query.user_id {
            filter.insert("user_id", user_id);
        }
        if let Some(client_id) = &query.client_id {
            filter.insert("client_id", client_id);
        }
        if let Some(kind) = query.kind {
            let kind = mongodb::bson::to_bson(&kind)
                .map_err(|e| crate::error::Error::Internal(e.to_string()))?;
            filter.insert("kind", kind);
        }
        let mut at = doc! {};
        if let Some(since) = query.since {
            at.insert("$gte", since);
        }
        if let Some(until) = query.until {
            at.insert("$lt", until);
        }
        if !at.is_empty() {
            filter.insert("at", at);
        }
        if let Some(before) = query.before {
            // Strictly after the cursor event in (at, _id) descending order.
            let Some(mark) = self
                .audit_events()
                .find_one(doc! { "_id": before.object_id() })
                .within(self)
                .await?
            else {
                return Ok(Vec::new());
            };
            filter.insert(
                "$or",
                vec![
                    doc! { "at": { "$lt": mark.at } },
                    doc! { "at": mark.at, "_id": { "$lt": before.object_id() } },
                ],
            );
        }
        let cursor = self
            .audit_events()
            .find(filter)
            .sort(doc! { "at": -1, "_id": -1 })
            .limit(query.limit)
            .within(self)
            .await?;
        cursor.try_collect().within(self).await
    }

    /// The newest events first, at most `limit` (this instance's queued events included).
    pub async fn recent_audit_events(&self, limit: i64) -> Result<Vec<AuditEvent>> {
        use futures_util::TryStreamExt;
        self.flush_audit().await;
        let cursor = self
            .audit_events()
            .find(doc! {})
            .sort(doc! { "at": -1 })
            .limit(limit)
            .within(self)
            .await?;
        cursor.try_collect().within(self).await
    }
}
