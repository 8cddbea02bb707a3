//! The built-in TLS certificate and key, checked when the configuration loads, before anything
//! says the server is up: both files must hold PEM of the right kind, and the key must be the
//! one the first certificate names.

use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING,
    ECDSA_P384_SHA384_ASN1_SIGNING,
};

use super::TlsFiles;

/// The PEM blocks TLS is served with: the certificate chain, leaf first, and the private key.
pub struct TlsMaterial {
    pub certs: Vec<pem::Pem>,
    pub key: pem::Pem,
}

/// Reads both files: at least one `CERTIFICATE`, and a `... PRIVATE KEY` block. An error names
/// the configuration key to blame and the reason.
pub fn read(tls: &TlsFiles) -> Result<TlsMaterial, (&'static str, String)> {
    let blocks = |key: &'static str, path: &std::path::Path| {
        let bytes = std::fs::read(path)
            .map_err(|e| (key, format!("{} cannot be read: {e}", path.display())))?;
        pem::parse_many(bytes).map_err(|e| (key, format!("is not PEM: {e}")))
    };
    let certs: Vec<pem::Pem> = blocks("tls.certs", &tls.certs)?
        .into_iter()
        .filter(|block| block.tag() == "CERTIFICATE")
        .collect();
    if certs.is_empty() {
        return Err(("tls.certs", "holds no CERTIFICATE".to_owned()));
    }
    let key = blocks("tls.key", &tls.key)?
        .into_iter()
        .find(|block| block.tag().ends_with("PRIVATE KEY"))
        .ok_or_else(|| ("tls.key", "holds no PRIVATE KEY".to_owned()))?;
    Ok(TlsMaterial { certs, key })
}

/// Why the files cannot serve TLS: the configuration key to blame and the reason.
pub fn check(tls: &TlsFiles) -> Result<(), (&'static str, String)> {
    let TlsMaterial { certs, key } = read(tls)?;
    let leaf = &certs[0];
    match public_key(key.tag(), key.contents()) {
        // The certificate's SubjectPublicKeyInfo holds the public key's bytes as they are.
        Some(public) if !contains(leaf.contents(), &public) => Err((
            "tls.key",
            "does not belong to the first certificate in tls.certs".to_owned(),
        )),
        Some(_) => Ok(()),
        None if key.tag() == "EC PRIVATE KEY" => Ok(()), // SEC1: left to the TLS library.
        None => Err((
            "tls.key",
            "is not an RSA, Ed25519 or ECDSA private key".to_owned(),
        )),
    }
}

/// The public key of a PKCS#8 (RSA, Ed25519, ECDSA P-256/P-384) or PKCS#1 RSA private key.
fn public_key(tag: &str, der: &[u8]) -> Option<Vec<u8>> {
    match tag {
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(der)
            .ok()
            .map(|k| k.public_key().as_ref().to_vec()),
        "PRIVATE KEY" => {
            if let Ok(key) = RsaKeyPair::from_pkcs8(der) {
                return Some(key.public_key().as_ref().to_vec());
            }
            if let Ok(key) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
                return Some(key.public_key().as_ref().to_vec());
            }
            let rng = SystemRandom::new();
            [
                &ECDSA_P256_SHA256_ASN1_SIGNING,
                &ECDSA_P384_SHA384_ASN1_SIGNING,
            ]
            .into_iter()
            .find_map(|alg| EcdsaKeyPair::from_pkcs8(alg, der, &rng).ok())
            .map(|key| key.public_key().as_ref().to_vec())
        }
        _ => None,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}
