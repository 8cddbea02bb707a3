//! The signing key ring: RSA keys, each named by its RFC 7638 thumbprint (`kid`), one of
//! which signs while the others verify. They come from the keys folder (`load`, `generate`)
//! or, shared by every instance, from the database, sealed under a key-encryption key
//! (`database`, `kek`), where `schedule` decides when each signs and when it is withdrawn.

mod database;
mod generate;
mod kek;
mod load;
pub mod schedule;
mod signer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use portcullis_kit::crypto as jwt_crypto;
use ring::signature::{RsaKeyPair, RsaPublicKeyComponents};
use serde::Serialize;

pub use database::DatabaseKeys;
pub(crate) use generate::new_private_key;
pub use generate::{activate, generate_key, remove, rotate, GeneratedKey};
pub use kek::{Kek, Keks, Sealed};
pub(crate) use load::pkcs8_of;
pub use load::ACTIVE_MARKER;
pub use schedule::KeyState;
pub use signer::SignedClaims;

use crate::error::{Error, Result};

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// One RSA key, parsed once.
pub struct SigningKey {
    kid: String,
    bits: usize,
    origin: KeyOrigin,
    encoding: EncodingKey,
    decoding: DecodingKey,
    public: Jwk,
}

/// Where a key was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    File(PathBuf),
    Database,
}

impl fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyOrigin::File(path) => write!(f, "{}", path.display()),
            KeyOrigin::Database => f.write_str("database"),
        }
    }
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
    fn from_pkcs8(der: &[u8], origin: KeyOrigin) -> Result<SigningKey> {
        let pair = RsaKeyPair::from_pkcs8(der).map_err(|e| {
            let why = match e.to_string().as_str() {
                "WrongAlgorithm" => "not an RSA key".to_owned(),
                "TooSmall" => format!("RSA key smaller than {MIN_RSA_BITS} bits"),
                other => format!("not a usable RSA private key ({other})"),
            };
            Error::Keys(format!("{origin}: {why}"))
        })?;
        let bits = pair.public().modulus_len() * 8;
        if bits < MIN_RSA_BITS {
            return Err(Error::Keys(format!(
                "{origin}: RSA key of {bits} bits, at least {MIN_RSA_BITS} required"
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
            origin,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn bits(&self) -> usize {
        self.bits
    }

    pub fn origin(&self) -> &KeyOrigin {
        &self.origin
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

/// The keys in use at one moment, and when each signs.
pub struct KeySet {
    keys: Vec<Arc<SigningKey>>,
    /// When each key signs from, in Unix milliseconds; `None`: it only verifies.
    activations: Vec<Option<i64>>,
    /// How long a key that stopped signing keeps verifying (for showing states).
    withdraw_after_ms: i64,
}

impl KeySet {
    /// A set in which `active` signs and every other key only verifies (the folder's way).
    fn with_active(keys: Vec<Arc<SigningKey>>, active: usize) -> KeySet {
        let activations = (0..keys.len())
            .map(|i| (i == active).then_some(0))
            .collect();
        KeySet {
            keys,
            activations,
            withdraw_after_ms: 0,
        }
    }

    /// The key that signs now (`schedule::signing`).
    pub fn active(&self) -> &Arc<SigningKey> {
        let now = crate::store::now().unix_millis();
        &self.keys[schedule::signing(&self.activations, now).unwrap_or(0)]
    }

    pub fn keys(&self) -> &[Arc<SigningKey>] {
        &self.keys
    }

    pub fn find(&self, kid: &str) -> Option<&Arc<SigningKey>> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    /// Each key with its state now.
    pub fn states(&self) -> Vec<(&Arc<SigningKey>, KeyState)> {
        let now = crate::store::now().unix_millis();
        let states = schedule::states(&self.activations, now, self.withdraw_after_ms);
        self.keys.iter().zip(states).collect()
    }
}

/// Where the keys a ring reads, or a change acts on, live.
#[derive(Clone, Copy)]
pub enum KeyPlace<'a> {
    Folder(&'a Path),
    Database(&'a DatabaseKeys),
}

/// Where a ring's keys come from.
enum Source {
    Folder {
        dir: PathBuf,
        seen: Mutex<load::Fingerprint>,
    },
    Database(Box<DatabaseKeys>),
}

/// The key ring shared by every request. A rotation made elsewhere (the command line, another
/// instance's admin API, the schedule) reaches it without a restart: the folder is re-read when
/// it changes, the database every `keys.reload_ms`.
#[derive(Clone)]
pub struct KeyRing {
    current: Arc<RwLock<Arc<KeySet>>>,
    source: Arc<Source>,
}

/// How often a running server looks for a rotated key in the keys folder.
const FOLDER_RELOAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

impl KeyRing {
    /// Loads every key in `dir`; fails on an empty folder or any unusable key.
    pub fn load(dir: &Path) -> Result<KeyRing> {
        jwt_crypto::install();
        let seen = load::fingerprint(dir)?;
        let set = load::read_dir(dir)?;
        Ok(KeyRing::with(
            set,
            Source::Folder {
                dir: dir.to_path_buf(),
                seen: Mutex::new(seen),
            },
        ))
    }

    /// Loads the folder, first generating a key when it holds none (the development run).
    pub fn load_or_generate(dir: &Path) -> Result<KeyRing> {
        if !dir.exists() || load::key_files(dir)?.is_empty() {
            let generated = generate_key(dir, true)?;
            tracing::warn!(kid = %generated.kid, "generated a development signing key");
        }
        KeyRing::load(dir)
    }

    /// A ring over the keys stored in the database; fails when none is stored or one does
    /// not open.
    pub async fn from_database(keys: DatabaseKeys) -> Result<KeyRing> {
        jwt_crypto::install();
        let (set, _) = keys.load_set(None).await?;
        Ok(KeyRing::with(set, Source::Database(Box::new(keys))))
    }

    fn with(set: KeySet, source: Source) -> KeyRing {
        KeyRing {
            current: Arc::new(RwLock::new(Arc::new(set))),
            source: Arc::new(source),
        }
    }

    /// Where the ring's keys live.
    pub fn place(&self) -> KeyPlace<'_> {
        match &*self.source {
            Source::Folder { dir, .. } => KeyPlace::Folder(dir),
            Source::Database(keys) => KeyPlace::Database(keys),
        }
    }

    /// The database key store, when the keys live there.
    pub fn database(&self) -> Option<&DatabaseKeys> {
        match self.place() {
            KeyPlace::Database(keys) => Some(keys),
            KeyPlace::Folder(_) => None,
        }
    }

    /// Re-reads the folder when a file in it changed; returns whether the set was replaced.
    /// A broken folder keeps the previous keys in service. A database ring: `Ok(false)`.
    pub fn reload_if_changed(&self) -> Result<bool> {
        let Source::Folder { dir, seen } = &*self.source else {
            return Ok(false);
        };
        let now = load::fingerprint(dir)?;
        let mut seen = seen
            .lock()
            .map_err(|_| Error::Internal("key ring lock".into()))?;
        if *seen == now {
            return Ok(false);
        }
        let set = load::read_dir(dir)?;
        self.replace(set);
        *seen = now;
        tracing::info!(active = %self.snapshot().active().kid(), "signing keys reloaded");
        Ok(true)
    }

    /// Brings the ring up to date with where its keys live, at once: the folder if it
    /// changed, or the stored keys (opening only the new ones).
    pub async fn refresh(&self) -> Result<()> {
        match &*self.source {
            Source::Folder { .. } => self.reload_if_changed().map(|_| ()),
            Source::Database(keys) => {
                let (set, left_out) = keys.load_set(Some(&self.snapshot())).await?;
                self.replace(set);
                left_out.map_or(Ok(()), Err)
            }
        }
    }

    fn replace(&self, set: KeySet) {
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(set);
        }
    }

    /// How often the ring should be brought up to date: the folder every 10 seconds, the
    /// database every `keys.reload_ms`.
    pub fn reload_interval(&self) -> std::time::Duration {
        match &*self.source {
            Source::Folder { .. } => FOLDER_RELOAD_INTERVAL,
            Source::Database(keys) => keys.reload_interval(),
        }
    }

    /// The current key set (cheap: one reference count).
    pub fn snapshot(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(set) => set.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}
