//! OAuth protocol errors (RFC 6749 §5.2, §4.1.2.1): the error code a client acts on and a
//! short ASCII description that never echoes input or secrets. Nothing here knows HTTP:
//! `http::error` decides the status and headers each code is answered with.

use std::borrow::Cow;
use std::fmt;

/// RFC 6749 §5.2 and §4.1.2.1 error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// RFC 6749 §4.1.2.1: the resource owner or the server refused the request.
    AccessDenied,
    /// RFC 6749 §4.1.2.1: the server met an unexpected condition.
    ServerError,
    /// RFC 6749 §4.1.2.1: the server cannot handle the request now (database down, or too
    /// many requests from this client).
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
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// An error answered to an OAuth client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    /// Set when the request was refused for the rate of requests behind it: the seconds
    /// until one may succeed.
    pub throttled_for_secs: Option<u64>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            throttled_for_secs: None,
        }
    }

    /// Too many requests from this address or for this account; retry after `wait` seconds.
    pub fn too_many_requests(wait: u64) -> Self {
        OAuthError {
            throttled_for_secs: Some(wait),
            ..Self::new(ErrorCode::TemporarilyUnavailable, "too many requests")
        }
    }

    /// The server cannot decide now (its database, or its revocation set not read yet).
    pub fn temporarily_unavailable() -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "the service is temporarily unavailable",
        )
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

    pub fn access_denied(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::AccessDenied, description)
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

/// Application failures become `temporarily_unavailable` (the database) or `server_error`;
/// the cause is logged here and never sent to the client.
impl From<crate::error::Error> for OAuthError {
    fn from(error: crate::error::Error) -> Self {
        match error {
            crate::error::Error::Database(_) => {
                crate::limited!(error, %error, "database failure during an OAuth request");
                Self::temporarily_unavailable()
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
