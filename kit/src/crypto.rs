//! A ring-backed `jsonwebtoken` crypto provider, so ring stays the one crypto library: RS256
//! verification always, RS256 signing with the `signing` feature (the authorization server's).
//!
//! jsonwebtoken hands its provider only the key bytes, through plain function pointers, so a
//! provider cannot carry state. To keep "parse the key once" the key ring registers each parsed
//! `RsaKeyPair` here when it loads a key, and signing looks the parsed pair up by its DER bytes;
//! an unregistered key is parsed on the spot (correct, only slower).

use std::sync::Once;

use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::jwk::ThumbprintHash;
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use ring::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signing::new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: signing::rsa_components_from_private_key,
        rsa_pub_components_from_public_key: |_| Err(ErrorKind::UnsupportedAlgorithm.into()),
        ec_pub_components_from_private_key: |_, _| Err(ErrorKind::UnsupportedAlgorithm.into()),
        ed_pub_components_from_private_key: |_, _| Err(ErrorKind::UnsupportedAlgorithm.into()),
        compute_digest,
    },
};

/// Installs the provider for the process. Idempotent; every entry point calls it first.
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Fails only if another provider was installed first, which nothing in Portcullis does.
        let _ = PROVIDER.install_default();
    });
}

/// Only RS256 exists here: every other algorithm is refused, whatever a token header claims.
fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    if *algorithm != Algorithm::RS256 {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    match key.kind() {
        DecodingKeyKind::RsaModulusExponent { n, e } => Ok(Box::new(Rs256Verifier {
            n: n.clone(),
            e: e.clone(),
        })),
        DecodingKeyKind::SecretOrDer(_) => Err(ErrorKind::InvalidKeyFormat.into()),
    }
}

struct Rs256Verifier {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl signature::Verifier<Vec<u8>> for Rs256Verifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
        .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Rs256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>, Error> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &ring::digest::SHA256,
        ThumbprintHash::SHA384 => &ring::digest::SHA384,
        ThumbprintHash::SHA512 => &ring::digest::SHA512,
        _ => return Err(ErrorKind::UnsupportedAlgorithm.into()),
    };
    Ok(ring::digest::digest(algorithm, data).as_ref().to_vec())
}

#[cfg(feature = "signing")]
pub use signing::register;

/// Signing with keys the key ring parsed once.
#[cfg(feature = "signing")]
mod signing {
    use std::collections::HashMap;
    use std::sync::{Arc, OnceLock, RwLock};

    use jsonwebtoken::crypto::JwtSigner;
    use jsonwebtoken::errors::{Error, ErrorKind};
    use jsonwebtoken::signature;
    use jsonwebtoken::{Algorithm, EncodingKey};
    use ring::rand::SystemRandom;
    use ring::signature::{RsaKeyPair, RsaPublicKeyComponents};

    type Registry = RwLock<HashMap<Vec<u8>, Arc<RsaKeyPair>>>;

    fn registry() -> &'static Registry {
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        REGISTRY.get_or_init(Registry::default)
    }

    /// Makes an already-parsed key pair available to the signer for its PKCS#8 DER bytes.
    pub fn register(pkcs8_der: &[u8], pair: Arc<RsaKeyPair>) {
        if let Ok(mut map) = registry().write() {
            map.insert(pkcs8_der.to_vec(), pair);
        }
    }

    fn key_pair_for(der: &[u8]) -> Result<Arc<RsaKeyPair>, Error> {
        if let Some(pair) = registry().read().ok().and_then(|map| map.get(der).cloned()) {
            return Ok(pair);
        }
        RsaKeyPair::from_pkcs8(der)
            .map(Arc::new)
            .map_err(|e| ErrorKind::InvalidRsaKey(e.to_string()).into())
    }

    /// Only RS256 exists here: every other algorithm is refused, whatever a token header claims.
    pub(super) fn new_signer(
        algorithm: &Algorithm,
        key: &EncodingKey,
    ) -> Result<Box<dyn JwtSigner>, Error> {
        if *algorithm != Algorithm::RS256 {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        Ok(Box::new(Rs256Signer(key_pair_for(key.as_bytes())?)))
    }

    struct Rs256Signer(Arc<RsaKeyPair>);

    impl signature::Signer<Vec<u8>> for Rs256Signer {
        fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
            let mut signature = vec![0; self.0.public().modulus_len()];
            self.0
                .sign(
                    &ring::signature::RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(|_| signature::Error::new())?;
            Ok(signature)
        }
    }

    impl JwtSigner for Rs256Signer {
        fn algorithm(&self) -> Algorithm {
            Algorithm::RS256
        }
    }

    pub(super) fn rsa_components_from_private_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
        let pair = key_pair_for(der)?;
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
        Ok((public.n, public.e))
    }
}

/// Without the `signing` feature the provider only verifies.
#[cfg(not(feature = "signing"))]
mod signing {
    use jsonwebtoken::crypto::JwtSigner;
    use jsonwebtoken::errors::{Error, ErrorKind};
    use jsonwebtoken::{Algorithm, EncodingKey};

    pub(super) fn new_signer(_: &Algorithm, _: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
        Err(ErrorKind::InvalidAlgorithm.into())
    }

    pub(super) fn rsa_components_from_private_key(_: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
        Err(ErrorKind::InvalidAlgorithm.into())
    }
}
