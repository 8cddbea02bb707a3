//! The key-encryption key (KEK): 32 random bytes, from a file or the environment, that seal
//! the signing keys kept in the database with AES-256-GCM (ring). The KEK itself is never
//! stored, logged or printed; it is named by a short id derived from it, which the stored
//! keys record so that a wrong KEK is told apart from damaged data.

use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

use crate::config::{KeysConfig, Secret};
use crate::error::{Error, Result};

/// Bytes in a key-encryption key (AES-256).
const KEK_LEN: usize = 32;
/// Domain separation for the id, so the id is no other hash of the key.
const ID_CONTEXT: &[u8] = b"portcullis key-encryption key id\0";

/// One key-encryption key.
pub struct Kek {
    key: LessSafeKey,
    id: String,
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kek({})", self.id)
    }
}

/// A private key sealed under a KEK: the AES-256-GCM nonce and the ciphertext with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub kek_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl Kek {
    /// Reads a KEK written as base64 (standard or URL-safe, padding optional) of 32 bytes.
    /// `source` names where it came from, for the message; the value never appears in one.
    pub fn parse(text: &str, source: &str) -> Result<Kek> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| Error::Keys(format!("{source}: the key-encryption key is not base64")))?;
        if bytes.len() != KEK_LEN {
            return Err(Error::Keys(format!(
                "{source}: the key-encryption key must be {KEK_LEN} bytes, found {}",
                bytes.len()
            )));
        }
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| Error::Keys(format!("{source}: unusable key-encryption key")))?;
        let digest = ring::digest::digest(&ring::digest::SHA256, &[ID_CONTEXT, &bytes].concat());
        Ok(Kek {
            key: LessSafeKey::new(unbound),
            id: URL_SAFE_NO_PAD.encode(&digest.as_ref()[..8]),
        })
    }

    /// A new random KEK, as the base64 text `parse` reads.
    pub fn generate() -> Result<String> {
        Ok(STANDARD.encode(crate::secrets::random_bytes::<KEK_LEN>()?))
    }

    /// The short public name of this KEK.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Seals `plaintext` for the key `kid`; the `kid` is bound as associated data, so a
    /// sealed key copied onto another record does not open.
    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> Result<Sealed> {
        let nonce_bytes = crate::secrets::random_bytes::<NONCE_LEN>()?;
        let mut in_out = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(aad(kid)),
                &mut in_out,
            )
            .map_err(|_| Error::Internal("sealing a signing key failed".into()))?;
        Ok(Sealed {
            kek_id: self.id.clone(),
            nonce: nonce_bytes.to_vec(),
            ciphertext: in_out,
        })
    }

    /// Opens what `seal` made for `kid`; `None` when this KEK did not seal it or it was
    /// altered (GCM's tag does not match).
    fn open(&self, kid: &str, sealed: &Sealed) -> Option<Vec<u8>> {
        let nonce = Nonce::try_assume_unique_for_key(&sealed.nonce).ok()?;
        let mut in_out = sealed.ciphertext.clone();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(aad(kid)), &mut in_out)
            .ok()?;
        Some(plaintext.to_vec())
    }
}

fn aad(kid: &str) -> Vec<u8> {
    [b"portcullis signing key ".as_slice(), kid.as_bytes()].concat()
}

/// The KEKs an instance holds: the one that seals, and during a KEK rotation the one being
/// replaced, which still opens.
#[derive(Debug)]
pub struct Keks {
    pub current: Kek,
    pub previous: Option<Kek>,
}

impl Keks {
    /// The KEKs `[keys]` names (`kek` or `kek_file`, `previous_kek` or `previous_kek_file`).
    pub fn from_config(keys: &KeysConfig) -> Result<Keks> {
        let current = read(keys.kek.as_ref(), keys.kek_file.as_deref(), "keys.kek")?
            .ok_or_else(|| Error::Keys("keys.kek: no key-encryption key configured".into()))?;
        let previous = read(
            keys.previous_kek.as_ref(),
            keys.previous_kek_file.as_deref(),
            "keys.previous_kek",
        )?;
        Ok(Keks { current, previous })
    }

    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> Result<Sealed> {
        self.current.seal(kid, plaintext)
    }

    /// Opens a sealed key with whichever KEK sealed it. A KEK this instance lacks, or a
    /// record that does not open, is one line naming the key and both KEK ids.
    pub fn open(&self, kid: &str, sealed: &Sealed) -> Result<Vec<u8>> {
        let kek = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|kek| kek.id == sealed.kek_id);
        let Some(kek) = kek else {
            return Err(Error::Keys(format!(
                "signing key {kid} is sealed under key-encryption key {}, and the configured \
                 one is {} (wrong keys.kek? during a KEK rotation, set keys.previous_kek)",
                sealed.kek_id, self.current.id
            )));
        };
        kek.open(kid, sealed).ok_or_else(|| {
            Error::Keys(format!(
                "signing key {kid} does not open under key-encryption key {}: the stored \
                 record was altered",
                kek.id
            ))
        })
    }
}

/// A KEK from its value or its file, if either is given.
fn read(value: Option<&Secret>, file: Option<&Path>, key: &str) -> Result<Option<Kek>> {
    if let Some(value) = value {
        return Kek::parse(value.expose(), key).map(Some);
    }
    let Some(file) = file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::Keys(format!("{key}_file: cannot read {}: {e}", file.display())))?;
    Kek::parse(&text, &format!("{key}_file {}", file.display())).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek() -> Kek {
        Kek::parse(&Kek::generate().unwrap(), "test").unwrap()
    }

    #[test]
    fn sealed_keys_open_only_with_their_kek_and_kid() {
        let (one, two) = (kek(), kek());
        let sealed = one.seal("kid-a", b"private key").unwrap();
        assert_eq!(one.open("kid-a", &sealed).unwrap(), b"private key");
        assert!(one.open("kid-b", &sealed).is_none(), "bound to its kid");
        assert!(two.open("kid-a", &sealed).is_none(), "another KEK");
        let mut altered = sealed.clone();
        altered.ciphertext[0] ^= 1;
        assert!(one.open("kid-a", &altered).is_none(), "altered");
        assert_ne!(one.id(), two.id());
    }

    #[test]
    fn the_kek_is_32_bytes_of_base64_and_never_printed() {
        let text = Kek::generate().unwrap();
        let parsed = Kek::parse(&format!(" {text}\n"), "file").unwrap();
        assert_eq!(format!("{parsed:?}"), format!("Kek({})", parsed.id()));
        assert!(!format!("{parsed:?}").contains(&text));
        let short = Kek::parse("c2hvcnQ=", "keys.kek").unwrap_err().to_string();
        assert_eq!(
            short,
            "signing keys: keys.kek: the key-encryption key must be 32 bytes, found 5"
        );
        assert!(Kek::parse("not base64!", "keys.kek").is_err());
    }

    #[test]
    fn a_missing_kek_is_named_with_both_ids() {
        let keks = Keks {
            current: kek(),
            previous: None,
        };
        let sealed = kek().seal("kid", b"x").unwrap();
        let message = keks.open("kid", &sealed).unwrap_err().to_string();
        assert!(message.contains(&sealed.kek_id), "{message}");
        assert!(message.contains(keks.current.id()), "{message}");
    }
}
