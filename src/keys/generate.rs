//! Key generation. ring signs and verifies but cannot generate RSA keys, so generation runs
//! `openssl genpkey`, found on every system that has a TLS stack; the result is then loaded and
//! checked like any other key.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::load::{key_files, read_marker};
use super::{KeyOrigin, SigningKey, ACTIVE_MARKER, MIN_RSA_BITS};
use crate::error::{Error, Result};
use crate::store::Timestamp;

/// A key just made.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    pub kid: String,
    pub origin: KeyOrigin,
    /// When it signs from; `None`: it only verifies until activated.
    pub signs_from: Option<Timestamp>,
}

/// Generates a 2048-bit RSA key into `dir` as `<kid>.pem` (mode 0600). It becomes the active
/// key when `activate` is set or when no key is active yet.
pub fn generate_key(dir: &Path, activate: bool) -> Result<GeneratedKey> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Keys(format!("cannot create {}: {e}", dir.display())))?;
    let (pem_text, der) = new_private_key()?;
    let key = SigningKey::from_pkcs8(&der, KeyOrigin::File(PathBuf::new()))?;
    let file = dir.join(format!("{}.pem", key.kid()));
    write_private(&file, &pem_text)?;
    let first = key_files(dir)?.len() == 1 && read_marker(dir)?.is_none();
    let active = activate || first;
    if active {
        set_active(dir, key.kid())?;
    }
    Ok(GeneratedKey {
        kid: key.kid().to_owned(),
        origin: KeyOrigin::File(file),
        signs_from: active.then(crate::store::now),
    })
}

/// A new RSA-2048 private key: its PEM text and the PKCS#8 DER inside it.
pub(crate) fn new_private_key() -> Result<(Vec<u8>, Vec<u8>)> {
    let output = Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
        .arg(format!("rsa_keygen_bits:{MIN_RSA_BITS}"))
        .output()
        .map_err(|e| Error::Keys(format!("cannot run openssl to generate a key: {e}")))?;
    if !output.status.success() {
        return Err(Error::Keys(format!(
            "openssl genpkey failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let block = pem::parse(&output.stdout)
        .map_err(|_| Error::Keys("openssl produced no PEM key".into()))?;
    let der = block.contents().to_vec();
    Ok((output.stdout, der))
}

/// Rotation: a new key becomes the signing key; the old ones stay for verification.
pub fn rotate(dir: &Path) -> Result<GeneratedKey> {
    generate_key(dir, true)
}

/// Makes a key already in the folder the signing key. The folder must load as the server
/// would load it, before and after.
pub fn activate(dir: &Path, kid: &str) -> Result<()> {
    let ring = super::KeyRing::load(dir)?;
    if ring.snapshot().find(kid).is_none() {
        return Err(Error::NotFound(format!("key {kid:?} in {}", dir.display())));
    }
    set_active(dir, kid)
}

/// Deletes a key that no longer signs: tokens it signed stop verifying, and it leaves the
/// JWKS, once servers reload the folder. Returns the file removed.
pub fn remove(dir: &Path, kid: &str) -> Result<PathBuf> {
    let ring = super::KeyRing::load(dir)?;
    let set = ring.snapshot();
    let key = set
        .find(kid)
        .ok_or_else(|| Error::NotFound(format!("key {kid:?} in {}", dir.display())))?;
    if set.active().kid() == kid {
        return Err(Error::Refused(format!(
            "key {kid} signs new tokens; activate another key first"
        )));
    }
    let KeyOrigin::File(file) = key.origin() else {
        return Err(Error::Internal("a folder key without a file".into()));
    };
    std::fs::remove_file(file)
        .map_err(|e| Error::Keys(format!("cannot remove {}: {e}", file.display())))?;
    Ok(file.clone())
}

/// Writes the `active` marker atomically (write then rename), so a server reloading the folder
/// never reads half a name.
fn set_active(dir: &Path, kid: &str) -> Result<()> {
    let tmp = dir.join(format!(".{ACTIVE_MARKER}.tmp"));
    std::fs::write(&tmp, format!("{kid}\n"))
        .and_then(|()| std::fs::rename(&tmp, dir.join(ACTIVE_MARKER)))
        .map_err(|e| {
            Error::Keys(format!(
                "cannot write {}/{ACTIVE_MARKER}: {e}",
                dir.display()
            ))
        })
}

fn write_private(file: &Path, contents: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(file)
        .and_then(|mut f| f.write_all(contents))
        .map_err(|e| Error::Keys(format!("cannot write {}: {e}", file.display())))
}
