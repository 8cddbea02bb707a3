//! Built-in TLS on the listening socket: the configured certificate chain and key, TLS 1.2
//! and 1.3 through rustls with ring, and HTTP/1.1 as the only protocol offered by ALPN.

use std::sync::Arc;

use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;
use crate::error::Error;

/// The acceptor for the configured files (already checked when the configuration loaded).
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, Error> {
    let invalid = |key: &str, why: String| Error::Config(format!("{key}: {why}"));
    let read = |key: &str, path: &std::path::Path| {
        let bytes = std::fs::read(path)
            .map_err(|e| invalid(key, format!("{} cannot be read: {e}", path.display())))?;
        pem::parse_many(bytes).map_err(|e| invalid(key, format!("is not PEM: {e}")))
    };
    let certs: Vec<CertificateDer<'static>> = read("tls.certs", &files.certs)?
        .into_iter()
        .filter(|block| block.tag() == "CERTIFICATE")
        .map(|block| CertificateDer::from(block.into_contents()))
        .collect();
    let key = read("tls.key", &files.key)?
        .into_iter()
        .find_map(|block| match block.tag() {
            "PRIVATE KEY" => Some(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                block.into_contents(),
            ))),
            "RSA PRIVATE KEY" => Some(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(
                block.into_contents(),
            ))),
            "EC PRIVATE KEY" => Some(PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(
                block.into_contents(),
            ))),
            _ => None,
        })
        .ok_or_else(|| invalid("tls.key", "holds no PRIVATE KEY".to_owned()))?;
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
