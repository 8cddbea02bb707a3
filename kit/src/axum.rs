//! The kit for axum 0.8: extractors that protect handlers with Portcullis access tokens, and
//! the RFC 6750 §3 response for their refusals.
//!
//! ```ignore
//! use portcullis_kit::{DataRead, GuardError, KitConfig, RemoteVerifier, RequireScope, Verifier};
//!
//! async fn reports(RequireScope(claims, _): RequireScope<DataRead>) -> String {
//!     format!("reports for {}", claims.sub)
//! }
//!
//! let verifier = Verifier::new(RemoteVerifier::connect(KitConfig::new(issuer)).await?);
//! let app = axum::Router::new().route("/reports", get(reports)).with_state(verifier);
//! ```
//!
//! The extractors read the [`Verifier`] from the router's state (directly, or through
//! `FromRef` from a state of your own) and verify the token once per request however many
//! extractors a handler has.

use std::sync::Arc;

use axum_core::extract::{FromRef, FromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::bearer::{RequestHeaders, Verifier};
use crate::claims::AccessClaims;
use crate::error::GuardError;
use crate::require::{RequireRole, RequireScope, RequiredRole, RequiredScope};

impl RequestHeaders for HeaderMap {
    /// Values that are not UTF-8 are left out, as Rocket leaves them out.
    fn values(&self, name: &str) -> Vec<&str> {
        self.get_all(name)
            .iter()
            .filter_map(|value| std::str::from_utf8(value.as_bytes()).ok())
            .collect()
    }
}

/// The verdict of the first extractor, kept in the request's extensions for the others.
#[derive(Clone)]
struct Verdict(Result<Arc<AccessClaims>, GuardError>);

async fn verdict<S>(parts: &mut Parts, state: &S) -> Result<Arc<AccessClaims>, GuardError>
where
    Verifier: FromRef<S>,
{
    if let Some(Verdict(known)) = parts.extensions.get::<Verdict>() {
        return known.clone();
    }
    let verifier = Verifier::from_ref(state);
    let verdict = verifier
        .verify(
            parts.method.as_str(),
            parts.uri.path(),
            parts.uri.query(),
            &parts.headers,
        )
        .await;
    parts.extensions.insert(Verdict(verdict.clone()));
    verdict
}

/// A verified, unrevoked access token.
impl<S: Send + Sync> FromRequestParts<S> for AccessClaims
where
    Verifier: FromRef<S>,
{
    type Rejection = GuardError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, GuardError> {
        verdict(parts, state).await.map(Arc::unwrap_or_clone)
    }
}

/// A valid token carrying scope `S`.
impl<St: Send + Sync, S: RequiredScope> FromRequestParts<St> for RequireScope<S>
where
    Verifier: FromRef<St>,
{
    type Rejection = GuardError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, GuardError> {
        RequireScope::check(AccessClaims::from_request_parts(parts, state).await?)
    }
}

/// A valid token of a user with role `R`.
impl<St: Send + Sync, R: RequiredRole> FromRequestParts<St> for RequireRole<R>
where
    Verifier: FromRef<St>,
{
    type Rejection = GuardError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, GuardError> {
        RequireRole::check(AccessClaims::from_request_parts(parts, state).await?)
    }
}

/// The RFC 6750 §3 answer: status, challenge, JSON body, never cached.
impl IntoResponse for GuardError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&self.body()).unwrap_or_default();
        let mut response = (
            status,
            [
                (CONTENT_TYPE, "application/json"),
                (CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response();
        if let Some(challenge) = self.challenge() {
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert(WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}
