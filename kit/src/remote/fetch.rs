//! Requests from the kit to the issuer, and what the kit trusts of their answers: redirects
//! are never followed (a 307 on introspection would re-send a user's token to wherever it
//! points), only 2xx answers count, bodies are read up to a cap, and the endpoints the
//! metadata names must be on the issuer's own origin, over https unless the issuer is on a
//! loopback address.

use std::time::Duration;

use serde::de::DeserializeOwned;

/// Caps on what the kit reads from the issuer, by answer.
pub(super) const METADATA_CAP: usize = 64 * 1024;
pub(super) const JWKS_CAP: usize = 256 * 1024;
pub(super) const INTROSPECTION_CAP: usize = 64 * 1024;

/// Why a request to the issuer gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("answered {0}")]
    Status(reqwest::StatusCode),
    #[error("answer larger than {0} bytes")]
    TooLarge(usize),
    #[error("answer is not the expected JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The kit's HTTP client: a time limit on each request, no redirects.
pub(super) fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("portcullis-kit/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Sends `request` and reads its JSON answer, refusing anything but 2xx and any body over
/// `cap` bytes (checked as it arrives, whatever `Content-Length` says).
pub(super) async fn json<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
    cap: usize,
) -> Result<(reqwest::header::HeaderMap, T), FetchError> {
    let mut response = request.send().await?;
    if !response.status().is_success() {
        return Err(FetchError::Status(response.status()));
    }
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(FetchError::TooLarge(cap));
    }
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > cap {
            return Err(FetchError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((headers, serde_json::from_slice(&body)?))
}

/// Why an endpoint named by the metadata is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("{0:?} is not a URL")]
    NotAUrl(String),
    #[error("{0:?} is not on the issuer's origin")]
    ForeignOrigin(String),
    #[error("{0:?} must use https (only a loopback issuer may use http)")]
    NotHttps(String),
}

/// `endpoint`, when it is on `issuer`'s scheme, host and port, and that scheme is https or
/// the host a loopback address.
pub(super) fn on_issuer_origin(issuer: &str, endpoint: &str) -> Result<url::Url, EndpointError> {
    let parse = |text: &str| url::Url::parse(text).map_err(|_| EndpointError::NotAUrl(text.into()));
    let (issuer_url, url) = (parse(issuer)?, parse(endpoint)?);
    if url.origin() != issuer_url.origin() {
        return Err(EndpointError::ForeignOrigin(endpoint.into()));
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err(EndpointError::NotHttps(endpoint.into()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::{on_issuer_origin, EndpointError};

    #[test]
    fn endpoints_stay_on_the_issuers_origin() {
        let issuer = "https://auth.example.com";
        assert!(on_issuer_origin(issuer, "https://auth.example.com/jwks.json").is_ok());
        assert!(on_issuer_origin(issuer, "https://auth.example.com:443/x").is_ok());
        for foreign in [
            "https://evil.example.com/jwks.json",
            "https://auth.example.com:8443/jwks.json",
            "http://auth.example.com/jwks.json",
        ] {
            assert_eq!(
                on_issuer_origin(issuer, foreign),
                Err(EndpointError::ForeignOrigin(foreign.into()))
            );
        }
        assert!(on_issuer_origin("http://127.0.0.1:8000", "http://127.0.0.1:8000/j").is_ok());
        assert!(on_issuer_origin("http://localhost:8000", "http://localhost:8000/j").is_ok());
        assert_eq!(
            on_issuer_origin("http://auth.example.com", "http://auth.example.com/j"),
            Err(EndpointError::NotHttps("http://auth.example.com/j".into()))
        );
        assert!(matches!(
            on_issuer_origin(issuer, "jwks.json"),
            Err(EndpointError::NotAUrl(_))
        ));
    }
}
