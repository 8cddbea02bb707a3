//! A ring-backed `jsonwebtoken` crypto provider, so ring stays the one crypto library: RS256
//! verification always, RS256 signing with the `signing` feature (the authorization server's).
//! With the `aws-lc-rs` feature the signatures alone are made by AWS-LC, whose RSA is about
//! twice as fast on x86-64; keys are still parsed and checked by ring.
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
    use ring::signature::RsaPublicKeyComponents;

    use super::backend::{self, RsaKeyPair, SystemRandom};

    type Registry = RwLock<HashMap<Vec<u8>, Arc<RsaKeyPair>>>;

    fn registry() -> &'static Registry {
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        REGISTRY.get_or_init(Registry::default)
    }

    /// Makes a key pair ring has parsed and checked available to the signer for its PKCS#8 DER
    /// bytes (as the signing library's own key pair).
    pub fn register(pkcs8_der: &[u8], pair: Arc<ring::signature::RsaKeyPair>) {
        let Some(pair) = backend::from_ring(pkcs8_der, pair) else {
            return;
        };
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
            let mut signature = vec![0; backend::modulus_len(&self.0)];
            // RSASSA-PKCS1-v1_5 with SHA-256: RS256 (RFC 7518 §3.3).
            self.0
                .sign(
                    &backend::RSA_PKCS1_SHA256,
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
        let pair = ring::signature::RsaKeyPair::from_pkcs8(der)
            .map_err(|e| Error::from(ErrorKind::InvalidRsaKey(e.to_string())))?;
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
        Ok((public.n, public.e))
    }
}

/// The library that makes RS256 signatures: ring.
#[cfg(all(feature = "signing", not(feature = "aws-lc-rs")))]
mod backend {
    use std::sync::Arc;

    pub use ring::rand::SystemRandom;
    pub use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};

    /// ring's own pair, as parsed.
    pub fn from_ring(_pkcs8_der: &[u8], pair: Arc<RsaKeyPair>) -> Option<Arc<RsaKeyPair>> {
        Some(pair)
    }

    pub fn modulus_len(pair: &RsaKeyPair) -> usize {
        pair.public().modulus_len()
    }
}

/// The library that makes RS256 signatures: AWS-LC, through aws-lc-rs (ring's interface).
#[cfg(feature = "aws-lc-rs")]
mod backend {
    use std::sync::Arc;

    pub use aws_lc_rs::rand::SystemRandom;
    pub use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};

    /// The same key parsed by AWS-LC; `None` (the signer parses on demand, and reports the
    /// error then) if AWS-LC refuses a key ring accepted.
    pub fn from_ring(
        pkcs8_der: &[u8],
        _pair: Arc<ring::signature::RsaKeyPair>,
    ) -> Option<Arc<RsaKeyPair>> {
        RsaKeyPair::from_pkcs8(pkcs8_der).ok().map(Arc::new)
    }

    pub fn modulus_len(pair: &RsaKeyPair) -> usize {
        pair.public_modulus_len()
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

#[cfg(all(test, feature = "signing"))]
mod tests {
    use std::process::Command;
    use std::sync::Arc;

    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
    use ring::rand::SystemRandom;
    use ring::signature::{RsaKeyPair, RsaPublicKeyComponents, RSA_PKCS1_SHA256};

    /// A fresh 2048-bit key as PKCS#8 DER, made by the `openssl` command the key ring's
    /// `keys generate` uses too.
    fn fresh_key() -> Vec<u8> {
        let dir =
            std::env::temp_dir().join(format!("portcullis-kit-crypto-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pem = dir.join("key.pem").to_string_lossy().into_owned();
        let der = dir.join("key.der").to_string_lossy().into_owned();
        let run = |args: &[&str]| {
            let status = Command::new("openssl").args(args).status().unwrap();
            assert!(status.success(), "openssl {args:?}");
        };
        run(&[
            "genpkey",
            "-quiet",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &pem,
        ]);
        run(&[
            "pkcs8", "-topk8", "-nocrypt", "-in", &pem, "-outform", "DER", "-out", &der,
        ]);
        let bytes = std::fs::read(&der).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        bytes
    }

    /// RSASSA-PKCS1-v1_5 is deterministic, so whichever library signs (ring, or AWS-LC with
    /// the `aws-lc-rs` feature), a token's signature is exactly the one ring makes itself,
    /// whether the key was registered or is parsed on the spot; and the token verifies.
    #[test]
    fn rs256_signatures_are_byte_for_byte_ring_s() {
        super::install();
        let der = fresh_key();
        let pair = Arc::new(RsaKeyPair::from_pkcs8(&der).unwrap());
        let claims = serde_json::json!({ "sub": "alice", "scope": "profile" });
        let sign = || {
            jsonwebtoken::encode(
                &Header::new(Algorithm::RS256),
                &claims,
                &EncodingKey::from_rsa_der(&der),
            )
            .unwrap()
        };
        let unregistered = sign();
        super::register(&der, pair.clone());
        let registered = sign();

        for token in [unregistered, registered] {
            let (input, signature) = token.rsplit_once('.').unwrap();
            let mut expected = vec![0; pair.public().modulus_len()];
            pair.sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut expected,
            )
            .unwrap();
            assert_eq!(URL_SAFE_NO_PAD.decode(signature).unwrap(), expected);

            let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
            let key = DecodingKey::from_rsa_raw_components(&public.n, &public.e);
            let mut validation = Validation::new(Algorithm::RS256);
            validation.required_spec_claims.clear();
            validation.validate_exp = false;
            validation.validate_aud = false;
            let decoded = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation);
            assert_eq!(decoded.unwrap().claims, claims);
        }
    }
}
