//! The kinds of security event Portcullis records in its audit trail and counts in its
//! metrics, and for each kind whether it is written before the answer or batched.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    TokenIssued,
    LoginFailed,
    AccountLocked,
    AccountUnlocked,
    ClientAuthFailed,
    RefreshTokenReuse,
    AuthorizationCodeReuse,
    /// A client presented a code issued to another client.
    AuthorizationCodeWrongClient,
    RefreshTokensRevoked,
    TokenRevoked,
    UserCreated,
    UserUpdated,
    UserDeleted,
    SessionsEnded,
    ClientCreated,
    ClientUpdated,
    ClientSecretRotated,
    ClientRemoved,
    KeyGenerated,
    KeyActivated,
    /// A key that stopped signing left the key set once its last token had expired.
    KeyWithdrawn,
    /// An administrator deleted a key.
    KeyRemoved,
    /// The stored keys were sealed under a new key-encryption key.
    KeysResealed,
}

/// When an event reaches the database, relative to the answer of the request that caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Written (majority, journaled) before the request answers: a crash after the answer
    /// cannot lose it, and a request whose event cannot be written fails.
    BeforeAnswer,
    /// Queued and written in batches by one task: a crash loses what is still queued.
    Batched,
}

impl AuditKind {
    /// Changes of state, detected attacks and anything an administrator did are written before
    /// the answer. The kinds that come with every grant or every failed guess are batched:
    /// writing each before answering would add a round trip to the hottest paths, and what
    /// they record is also in the log (`portcullis::audit`) and the metrics.
    pub fn durability(self) -> Durability {
        match self {
            AuditKind::TokenIssued | AuditKind::LoginFailed | AuditKind::ClientAuthFailed => {
                Durability::Batched
            }
            AuditKind::AccountLocked
            | AuditKind::AccountUnlocked
            | AuditKind::RefreshTokenReuse
            | AuditKind::AuthorizationCodeReuse
            | AuditKind::AuthorizationCodeWrongClient
            | AuditKind::RefreshTokensRevoked
            | AuditKind::TokenRevoked
            | AuditKind::UserCreated
            | AuditKind::UserUpdated
            | AuditKind::UserDeleted
            | AuditKind::SessionsEnded
            | AuditKind::ClientCreated
            | AuditKind::ClientUpdated
            | AuditKind::ClientSecretRotated
            | AuditKind::ClientRemoved
            | AuditKind::KeyGenerated
            | AuditKind::KeyActivated
            | AuditKind::KeyWithdrawn
            | AuditKind::KeyRemoved
            | AuditKind::KeysResealed => Durability::BeforeAnswer,
        }
    }
}
