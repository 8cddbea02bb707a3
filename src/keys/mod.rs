//! The signing key ring: RSA keys loaded from the keys folder, one active for signing and the
//! rest kept for verification until removed, each named by its RFC 7638 thumbprint (`kid`).

mod generate;
mod load;
mod signer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use portcullis_kit::crypto as jwt_crypto;
use ring::signature::{RsaKeyPair, RsaPublicKeyComponents};
use serde::Serialize;

pub use generate::{activate, generate_key, remove, rotate, GeneratedKey};
pub use load::ACTIVE_MARKER;
pub use signer::SignedClaims;

use crate::error::{Error, Result};

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// One RSA key, parsed once.
pub struct SigningKey {
    kid: String,
    bits: usize,
    file: PathBuf,
    encoding: EncodingKey,
    decoding: DecodingKey,
    public: Jwk,
}

/// A public key as published in the JWKS (RFC 7517 §4, RFC 7518 §6.3).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub kid: String,
    pub n: String,
    pub e: String,
}

impl SigningKey {
    /// Builds a key from PKCS#8 DER, refusing anything but RSA of at least 2048 bits.
    fn from_pkcs8(der: &[u8], file: PathBuf) -> Result<SigningKey> {
        let pair = RsaKeyPair::from_pkcs8(der).map_err(|e| {
            let why = match e.to_string().as_str() {
                "WrongAlgorithm" => "not an RSA key".to_owned(),
                "TooSmall" => format!("RSA key smaller than {MIN_RSA_BITS} bits"),
                other => format!("not a usable RSA private key ({other})"),
            };
            Error::Keys(format!("{}: {why}", file.display()))
        })?;
        let bits = pair.public().modulus_len() * 8;
        if bits < MIN_RSA_BITS {
            return Err(Error::Keys(format!(
                "{}: RSA key of {bits} bits, at least {MIN_RSA_BITS} required",
                file.display()
            )));
        }
        let components = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
        let n = strip_leading_zeros(&components.n);
        let e = strip_leading_zeros(&components.e);
        let kid = thumbprint(n, e);
        let pair = Arc::new(pair);
        jwt_crypto::register(der, pair);
        Ok(SigningKey {
            public: Jwk {
                kty: "RSA",
                use_: "sig",
                alg: "RS256",
                kid: kid.clone(),
                n: URL_SAFE_NO_PAD.encode(n),
                e: URL_SAFE_NO_PAD.encode(e),
            },
            decoding: DecodingKey::from_rsa_raw_components(n, e),
            encoding: EncodingKey::from_rsa_der(der),
            kid,
            bits,
            file,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn bits(&self) -> usize {
        self.bits
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    pub fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    pub fn jwk(&self) -> &Jwk {
        &self.public
    }
}

/// RFC 7518 §6.3.1: `n` and `e` are unsigned big-endian integers without leading zero octets.
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// RFC 7638 §3: SHA-256 over the required members in lexicographic order, no white space.
fn thumbprint(n: &[u8], e: &[u8]) -> String {
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(e),
        URL_SAFE_NO_PAD.encode(n)
    );
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        canonical.as_bytes(),
    ))
}

/// The keys in use at one moment.
pub struct KeySet {
    keys: Vec<Arc<SigningKey>>,
    active: usize,
}

impl KeySet {
    pub fn active(&self) -> &Arc<SigningKey> {
        &self.keys[self.active]
    }

    pub fn keys(&self) -> &[Arc<SigningKey>] {
        &self.keys
    }

    pub fn find(&self, kid: &str) -> Option<&Arc<SigningKey>> {
        self.keys.iter().find(|key| key.kid == kid)
    }
}

/// The key ring shared by every request. `reload` swaps in a new set read from the folder, so a
/// rotation done with the CLI reaches a running server without a restart.
#[derive(Clone)]
pub struct KeyRing {
    dir: PathBuf,
    current: Arc<RwLock<Arc<KeySet>>>,
    seen: Arc<Mutex<load::Fingerprint>>,
}

impl KeyRing {
    /// Loads every key in `dir`; fails on an empty folder or any unusable key.
    pub fn load(dir: &Path) -> Result<KeyRing> {
        jwt_crypto::install();
        let seen = load::fingerprint(dir)?;
        let set = load::read_dir(dir)?;
        Ok(KeyRing {
            dir: dir.to_path_buf(),
            current: Arc::new(RwLock::new(Arc::new(set))),
            seen: Arc::new(Mutex::new(seen)),
        })
    }

    /// Loads the folder, first generating a key when it holds none (the development run).
    pub fn load_or_generate(dir: &Path) -> Result<KeyRing> {
        if !dir.exists() || load::key_files(dir)?.is_empty() {
            let generated = generate_key(dir, true)?;
            tracing::warn!(kid = %generated.kid, "generated a development signing key");
        }
        KeyRing::load(dir)
    }

    /// Re-reads the folder when a file in it changed; returns whether the set was replaced.
    /// A broken folder keeps the previous keys in service.
    pub fn reload_if_changed(&self) -> Result<bool> {
        let now = load::fingerprint(&self.dir)?;
        let mut seen = self
            .seen
            .lock()
            .map_err(|_| Error::Internal("key ring lock".into()))?;
        if *seen == now {
            return Ok(false);
        }
        let set = load::read_dir(&self.dir)?;
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(set);
        }
        *seen = now;
        tracing::info!(active = %self.snapshot().active().kid(), "signing keys reloaded");
        Ok(true)
    }

    /// The current key set (cheap: one reference count).
    pub fn snapshot(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(set) => set.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}
