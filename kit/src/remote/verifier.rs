//! [`RemoteVerifier`]: the issuer's metadata, keys and introspection, put to the shared check.

use std::sync::Arc;

use serde::Deserialize;

use super::fetch::{self, EndpointError, FetchError, METADATA_CAP};
use super::introspection::Introspector;
use super::keys::{Lookup, RemoteKeys};
use super::KitConfig;
use crate::bearer::{BearerRequest, BearerVerifier};
use crate::claims::AccessClaims;
use crate::error::GuardError;
use crate::verify::{AccessTokenRules, Rejection};

/// The RFC 8414 metadata members the kit reads.
#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    jwks_uri: String,
    introspection_endpoint: Option<String>,
}

/// Why the kit could not start.
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    #[error("cannot read the issuer's metadata or keys: {0}")]
    Unreachable(#[from] FetchError),
    #[error("the issuer's endpoint is not used: {0}")]
    Endpoint(#[from] EndpointError),
    #[error("the metadata names issuer {found:?}, not {expected:?} (RFC 8414 §3.3)")]
    WrongIssuer { expected: String, found: String },
    #[error("introspection credentials were given but the issuer has no introspection endpoint")]
    NoIntrospection,
}

pub struct RemoteVerifier {
    http: reqwest::Client,
    keys: Arc<RemoteKeys>,
    introspection: Option<Introspector>,
    rules: AccessTokenRules,
}

impl RemoteVerifier {
    /// Reads the issuer's metadata and key set.
    pub async fn connect(config: KitConfig) -> Result<Self, KitError> {
        let http = fetch::client(config.timeout).map_err(FetchError::from)?;
        // The issuer itself is held to the rule its endpoints are: https off loopback.
        fetch::on_issuer_origin(&config.issuer, &config.issuer)?;
        let metadata_uri = format!("{}/.well-known/oauth-authorization-server", config.issuer);
        let (_, metadata): (_, Metadata) =
            fetch::json(http.get(metadata_uri), METADATA_CAP).await?;
        if metadata.issuer != config.issuer {
            return Err(KitError::WrongIssuer {
                expected: config.issuer,
                found: metadata.issuer,
            });
        }
        let jwks_uri = fetch::on_issuer_origin(&config.issuer, &metadata.jwks_uri)?;
        let keys = RemoteKeys::new(jwks_uri, config.jwks_refetch_interval);
        keys.fetch(&http).await?;
        let introspection = match (config.introspection, metadata.introspection_endpoint) {
            (Some(credentials), Some(endpoint)) => Some(Introspector::new(
                fetch::on_issuer_origin(&config.issuer, &endpoint)?,
                credentials,
                config.introspection_cache,
            )),
            (Some(_), None) => return Err(KitError::NoIntrospection),
            (None, _) => None,
        };
        let rules =
            AccessTokenRules::new(&config.issuer, &config.audience, config.leeway.as_secs());
        Ok(RemoteVerifier {
            http,
            keys,
            introspection,
            rules,
        })
    }
}

#[async_trait::async_trait]
impl BearerVerifier for RemoteVerifier {
    async fn verify_bearer(
        &self,
        request: &BearerRequest<'_>,
    ) -> Result<Arc<AccessClaims>, GuardError> {
        let token = request.token;
        let kid = self.rules.key_id(token).map_err(GuardError::Token)?;
        let key = match self.keys.find(&self.http, &kid).await {
            Lookup::Found(key) => key,
            Lookup::Unknown => return Err(GuardError::Token(Rejection::Invalid)),
            Lookup::Unavailable => return Err(GuardError::Unavailable),
        };
        let claims = self.rules.claims(token, &key).map_err(GuardError::Token)?;
        if let Some(introspection) = &self.introspection {
            match introspection.is_active(&self.http, token).await {
                Ok(true) => {}
                Ok(false) => return Err(GuardError::Token(Rejection::Revoked)),
                Err(error) => {
                    crate::limited!(warn, %error, "cannot reach the introspection endpoint");
                    return Err(GuardError::Unavailable);
                }
            }
        }
        Ok(Arc::new(claims))
    }
}
