//! OAuth protocol errors (RFC 6749 §5.2): the error code a client acts on, a short ASCII
//! description that never echoes input or secrets, and the HTTP status to answer with.

use std::borrow::Cow;
use std::fmt;

/// RFC 6749 §5.2 error codes, plus the ones the server needs for its own failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// RFC 6749 §4.1.2.1: the server met an unexpected condition.
    ServerError,
    /// RFC 6749 §4.1.2.1: the server cannot handle the request now (database down).
    TemporarilyUnavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// RFC 6749 §5.2: 400 for everything but client authentication failures (401); the two
    /// server-side conditions use their natural HTTP statuses.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidClient => 401,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

/// An error answered to an OAuth client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    /// A status other than the code's usual one (413 for an oversized body).
    pub status_override: Option<u16>,
    /// Seconds to wait before retrying, for `Retry-After`.
    pub retry_after_secs: Option<u64>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            status_override: None,
            retry_after_secs: None,
        }
    }

    /// 429: the client sent too many requests (RFC 6585 §4).
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut error =
            Self::new(ErrorCode::TemporarilyUnavailable, "too many requests").with_status(429);
        error.retry_after_secs = Some(retry_after_secs);
        error
    }

    /// Answers with `status` instead of the code's usual status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status_override = Some(status);
        self
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        self.status_override.unwrap_or_else(|| self.code.status())
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "client authentication failed")
    }

    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    pub fn unauthorized_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, description)
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

/// Application failures become `server_error` or `temporarily_unavailable`; the cause is
/// logged here and never sent to the client.
impl From<crate::error::Error> for OAuthError {
    fn from(error: crate::error::Error) -> Self {
        match error {
            crate::error::Error::Database(_) => {
                crate::limited!(error, %error, "database failure during an OAuth request");
                Self::new(
                    ErrorCode::TemporarilyUnavailable,
                    "the service is temporarily unavailable",
                )
            }
            other => {
                crate::limited!(error, error = %other, "internal failure during an OAuth request");
                Self::new(
                    ErrorCode::ServerError,
                    "the server could not complete the request",
                )
            }
        }
    }
}
