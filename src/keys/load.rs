//! Reading the keys folder: every `*.pem` file is a key; the file `active` names the `kid` that
//! signs. With a single key the marker may be left out.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{KeyOrigin, KeySet, SigningKey};
use crate::error::{Error, Result};

/// File in the keys folder holding the `kid` of the signing key.
pub const ACTIVE_MARKER: &str = "active";

/// The `*.pem` files of the folder, sorted by name.
pub(super) fn key_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::Keys(format!("cannot read keys folder {}: {e}", dir.display())))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| Error::Keys(format!("cannot read keys folder {}: {e}", dir.display())))?
            .path();
        if path.extension().is_some_and(|ext| ext == "pem") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

pub(super) fn read_dir(dir: &Path) -> Result<KeySet> {
    let files = key_files(dir)?;
    if files.is_empty() {
        return Err(Error::Keys(format!(
            "no signing key in {} (create one with `portcullis keys generate`)",
            dir.display()
        )));
    }
    let mut keys: Vec<Arc<SigningKey>> = Vec::new();
    for file in files {
        let key = read_key(&file)?;
        if keys.iter().any(|k| k.kid == key.kid) {
            return Err(Error::Keys(format!(
                "{}: the same key is in the folder twice",
                file.display()
            )));
        }
        keys.push(Arc::new(key));
    }
    let active = match read_marker(dir)? {
        Some(kid) => keys.iter().position(|k| k.kid == kid).ok_or_else(|| {
            Error::Keys(format!(
                "{}/{ACTIVE_MARKER} names key {kid}, which is not in the folder",
                dir.display()
            ))
        })?,
        None if keys.len() == 1 => 0,
        None => {
            return Err(Error::Keys(format!(
                "{} holds several keys and no `{ACTIVE_MARKER}` file naming the signing one",
                dir.display()
            )))
        }
    };
    Ok(KeySet::with_active(keys, active))
}

fn read_key(file: &Path) -> Result<SigningKey> {
    let text = std::fs::read(file)
        .map_err(|e| Error::Keys(format!("cannot read {}: {e}", file.display())))?;
    let block = pem::parse(&text)
        .map_err(|_| Error::Keys(format!("{}: not a PEM file", file.display())))?;
    match block.tag() {
        "PRIVATE KEY" => {
            SigningKey::from_pkcs8(block.contents(), KeyOrigin::File(file.to_path_buf()))
        }
        "RSA PRIVATE KEY" => Err(Error::Keys(format!(
            "{}: PKCS#1 key; convert it with `openssl pkcs8 -topk8 -nocrypt`",
            file.display()
        ))),
        other => Err(Error::Keys(format!(
            "{}: expected an unencrypted PKCS#8 private key, found {other:?}",
            file.display()
        ))),
    }
}

/// The PKCS#8 DER of a key read from a file (to store it elsewhere).
pub(crate) fn pkcs8_of(origin: &KeyOrigin) -> Result<Vec<u8>> {
    let KeyOrigin::File(file) = origin else {
        return Err(Error::Internal("a stored key has no file".into()));
    };
    let text = std::fs::read(file)
        .map_err(|e| Error::Keys(format!("cannot read {}: {e}", file.display())))?;
    let block = pem::parse(&text)
        .map_err(|_| Error::Keys(format!("{}: not a PEM file", file.display())))?;
    Ok(block.contents().to_vec())
}

pub(super) fn read_marker(dir: &Path) -> Result<Option<String>> {
    let path = dir.join(ACTIVE_MARKER);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Keys(format!("cannot read {}: {e}", path.display()))),
    }
}

/// The names, sizes and modification times of the folder's key files and marker: enough to
/// notice a rotation without parsing keys again.
pub(super) type Fingerprint = Vec<(PathBuf, u64, Option<std::time::SystemTime>)>;

pub(super) fn fingerprint(dir: &Path) -> Result<Fingerprint> {
    let mut files = key_files(dir)?;
    files.push(dir.join(ACTIVE_MARKER));
    Ok(files
        .into_iter()
        .map(|file| {
            let meta = std::fs::metadata(&file).ok();
            let len = meta.as_ref().map_or(0, std::fs::Metadata::len);
            let modified = meta.and_then(|m| m.modified().ok());
            (file, len, modified)
        })
        .collect())
}
