//! Client authentication at the token endpoint (RFC 6749 §2.3): `client_secret_basic`,
//! `client_secret_post`, or a bare `client_id` for public clients. Secrets are compared as
//! SHA-256 digests in constant time.

use std::sync::Arc;

use super::context::{OAuthContext, RequestMeta};
use super::error::OAuthError;
use super::rate_limit::{self, Bucket};
use crate::secrets::{constant_time_eq, SecretString};
use crate::store::{AuditEvent, AuditKind, ClientDoc, ClientKind};

/// The credentials a request presented, as the HTTP layer found them.
#[derive(Debug, Default)]
pub struct PresentedClient {
    /// From `Authorization: Basic` (RFC 6749 §2.3.1), already form-decoded.
    pub basic: Option<(String, SecretString)>,
    /// The `client_id` body parameter.
    pub body_id: Option<String>,
    /// The `client_secret` body parameter.
    pub body_secret: Option<SecretString>,
}

/// Whether what was presented authenticates the client: a confidential client's secret,
/// compared as a SHA-256 digest in constant time, or nothing at all for a public client,
/// which has no secret to present and must not pretend to.
pub fn credentials_match(client: &ClientDoc, secret: Option<&SecretString>) -> bool {
    match (client.kind, secret) {
        (ClientKind::Confidential, Some(secret)) => client
            .secret_hash
            .as_deref()
            .is_some_and(|stored| constant_time_eq(stored, &secret.hash())),
        (ClientKind::Public, None) => true,
        _ => false,
    }
}

/// Resolves and authenticates the client, or answers `invalid_client` without saying which
/// part was wrong.
pub async fn authenticate(
    ctx: &OAuthContext<'_>,
    presented: PresentedClient,
    meta: &RequestMeta,
) -> Result<Arc<ClientDoc>, OAuthError> {
    let (client_id, secret) = match presented {
        // RFC 6749 §2.3: a client MUST NOT use more than one authentication method.
        PresentedClient {
            basic: Some(_),
            body_secret: Some(_),
            ..
        } => {
            return Err(OAuthError::invalid_request(
                "more than one client authentication method",
            ))
        }
        PresentedClient {
            basic: Some((id, secret)),
            body_id,
            ..
        } => {
            if body_id.is_some_and(|body_id| body_id != id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the authenticated client",
                ));
            }
            (id, Some(secret))
        }
        PresentedClient {
            body_id: Some(id),
            body_secret,
            ..
        } => (id, body_secret),
        PresentedClient { body_id: None, .. } => return Err(OAuthError::invalid_client()),
    };

    let client = ctx.store.find_client_cached(&client_id).await?;
    match client {
        Some(client) if credentials_match(&client, secret.as_ref()) => Ok(client),
        _ => {
            // Failures are counted per address: past the limit the address is told to wait,
            // and its failures are no longer recorded one by one (one `throttled` record marks
            // the window), so nobody can make the server write without bound.
            let throttled =
                rate_limit::count(ctx.store, ctx.config, Bucket::ClientAuthFailure, meta).await?;
            if throttled.is_none_or(|t| t.first) {
                let mut event = AuditEvent::new(AuditKind::ClientAuthFailed);
                // Only ids that could exist are recorded; anything longer is attacker noise.
                event.client_id = (client_id.len() <= 64).then_some(client_id);
                event.remote_addr = meta.remote_addr.clone();
                event.reason = throttled.map(|_| "throttled".to_owned());
                ctx.store.audit(event).await?;
            } else {
                // Not recorded one by one, but still counted in the metrics.
                crate::metrics::audit_event(AuditKind::ClientAuthFailed, None);
            }
            match throttled {
                Some(t) => Err(OAuthError::too_many_requests(t.retry_after_secs)),
                None => Err(OAuthError::invalid_client()),
            }
        }
    }
}
