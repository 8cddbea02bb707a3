//! Built-in TLS on the listening socket: the configured certificate chain and key, TLS 1.2
//! and 1.3 through rustls with ring, and HTTP/1.1 as the only protocol offered by ALPN.

use std::sync::Arc;

use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};
use tokio_rustls::TlsAcceptor;

use crate::config::tls_files::{self, TlsMaterial};
use crate::config::TlsFiles;
use crate::error::Error;

/// The acceptor for the configured files (already checked when the configuration loaded).
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, Error> {
    let invalid = |key: &str, why: String| Error::Config(format!("{key}: {why}"));
    let TlsMaterial { certs, key } = tls_files::read(files).map_err(|(k, why)| invalid(k, why))?;
    let certs: Vec<CertificateDer<'static>> = certs
        .into_iter()
        .map(|block| CertificateDer::from(block.into_contents()))
        .collect();
    let key = match key.tag() {
        "PRIVATE KEY" => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.into_contents())),
        "RSA PRIVATE KEY" => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(key.into_contents())),
        "EC PRIVATE KEY" => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(key.into_contents())),
        other => return Err(invalid("tls.key", format!("a {other} is not usable"))),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("tls", e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid("tls.key", e.to_string()))?;
    // HTTP/2 is not served (its streams are not bounded here), so it is not offered either.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
