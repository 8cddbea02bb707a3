//! Guard failures and their RFC 6750 §3 answers: the status, a `WWW-Authenticate: Bearer`
//! challenge, and a JSON body repeating `error` and `error_description`. The Rocket and axum
//! adapters turn an answer into their framework's response; what it says is decided here.

use std::borrow::Cow;

use serde::Serialize;

use crate::verify::Rejection;

/// The realm named in every `WWW-Authenticate` challenge (Bearer and Basic).
pub const REALM: &str = "portcullis";

/// The JSON body of an error answer (RFC 6749 §5.2, RFC 6750 §3).
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub error: &'a str,
    pub error_description: Cow<'a, str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardError {
    /// No bearer credentials: 401 with a bare challenge (RFC 6750 §3.1: no error code).
    Missing,
    /// A malformed request: 400 `invalid_request`.
    InvalidRequest(&'static str),
    /// Invalid, expired or revoked: 401 `invalid_token`.
    Token(Rejection),
    /// The token lacks a scope: 403 `insufficient_scope` naming it.
    InsufficientScope(&'static str),
    /// The token's role is not the one required: 403 `insufficient_scope`.
    InsufficientRole(&'static str),
    /// A client's own token where a user's is needed: 403 `insufficient_scope`.
    UserRequired,
    /// The service has no token verifier configured: 500.
    Misconfigured,
    /// The token could not be checked right now (the authorization server is unreachable).
    Unavailable,
}

impl GuardError {
    /// The HTTP status code of the answer.
    pub fn status(&self) -> u16 {
        match self {
            GuardError::Missing | GuardError::Token(_) => 401,
            GuardError::InvalidRequest(_) => 400,
            GuardError::InsufficientScope(_)
            | GuardError::InsufficientRole(_)
            | GuardError::UserRequired => 403,
            GuardError::Misconfigured => 500,
            GuardError::Unavailable => 503,
        }
    }

    /// The RFC 6750 §3.1 error code, when the challenge carries one.
    fn code(&self) -> Option<&'static str> {
        match self {
            GuardError::Missing | GuardError::Misconfigured | GuardError::Unavailable => None,
            GuardError::InvalidRequest(_) => Some("invalid_request"),
            GuardError::Token(_) => Some("invalid_token"),
            GuardError::InsufficientScope(_)
            | GuardError::InsufficientRole(_)
            | GuardError::UserRequired => Some("insufficient_scope"),
        }
    }

    pub fn description(&self) -> String {
        match self {
            GuardError::Missing => "an access token is required".into(),
            GuardError::InvalidRequest(why) => (*why).into(),
            GuardError::Token(rejection) => rejection.description().into(),
            GuardError::InsufficientScope(scope) => format!("the {scope} scope is required"),
            GuardError::InsufficientRole(role) => format!("the {role} role is required"),
            GuardError::UserRequired => "a user's access token is required".into(),
            GuardError::Misconfigured => "the server cannot verify tokens".into(),
            GuardError::Unavailable => "the token cannot be verified right now".into(),
        }
    }

    /// RFC 6750 §3: `Bearer realm="...", error="...", error_description="...", scope="..."`;
    /// `None` when the failure is the service's, not the token's.
    pub fn challenge(&self) -> Option<String> {
        if matches!(self, GuardError::Misconfigured | GuardError::Unavailable) {
            return None;
        }
        let mut challenge = format!("Bearer realm=\"{REALM}\"");
        if let Some(code) = self.code() {
            challenge.push_str(&format!(
                ", error=\"{code}\", error_description=\"{}\"",
                self.description()
            ));
        }
        if let GuardError::InsufficientScope(scope) = self {
            challenge.push_str(&format!(", scope=\"{scope}\""));
        }
        Some(challenge)
    }

    /// The JSON body repeating the challenge's code and description.
    pub fn body(&self) -> ErrorBody<'static> {
        ErrorBody {
            error: self.code().unwrap_or(match self {
                GuardError::Unavailable => "temporarily_unavailable",
                GuardError::Misconfigured => "server_error",
                _ => "unauthorized",
            }),
            error_description: self.description().into(),
        }
    }
}

impl std::fmt::Display for GuardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description())
    }
}

impl std::error::Error for GuardError {}

#[cfg(test)]
mod tests {
    use super::{GuardError, Rejection};

    #[test]
    fn challenges_follow_rfc_6750_section_3() {
        assert_eq!(
            GuardError::Missing.challenge().as_deref(),
            Some("Bearer realm=\"portcullis\"")
        );
        assert_eq!(
            GuardError::Token(Rejection::Expired).challenge().as_deref(),
            Some(
                "Bearer realm=\"portcullis\", error=\"invalid_token\", \
                 error_description=\"the access token has expired\""
            )
        );
        let scope = GuardError::InsufficientScope("data:write");
        assert_eq!(scope.status(), 403);
        assert!(scope
            .challenge()
            .is_some_and(|c| c.ends_with(", scope=\"data:write\"")));
        // The service's own failures are not the token's: no challenge.
        assert_eq!(GuardError::Unavailable.challenge(), None);
        assert_eq!(
            GuardError::Unavailable.body().error,
            "temporarily_unavailable"
        );
        assert_eq!(GuardError::Missing.body().error, "unauthorized");
    }
}
