//! The kinds of security event Portcullis records in its audit trail and counts in its
//! metrics.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
}
