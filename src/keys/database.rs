//! Signing keys kept in the database (`keys.store = "database"`): every instance sharing it
//! loads the same keys, each private key sealed under the key-encryption key. This module
//! seals, opens and loads; what to change and when (the schedule, administrators' changes,
//! their audit) is `services::keys`.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::{kek::Sealed, GeneratedKey, Keks, KeyOrigin, KeySet, SigningKey};
use crate::config::{Config, KeyLifecycle};
use crate::error::{Error, Result};
use crate::store::{now, SealedKeyDoc, SigningKeyDoc, Store, Timestamp};

/// The database key store of one instance: the store, its key-encryption keys, and the
/// lifecycle the configuration sets.
pub struct DatabaseKeys {
    store: Store,
    keks: Keks,
    lifecycle: KeyLifecycle,
    reload: Duration,
}

impl DatabaseKeys {
    /// Reads the key-encryption keys `[keys]` names (a missing or malformed one is one line).
    pub fn new(config: &Config, store: Store) -> Result<DatabaseKeys> {
        Ok(DatabaseKeys {
            store,
            keks: Keks::from_config(&config.keys)?,
            lifecycle: config.keys.lifecycle(config),
            reload: Duration::from_millis(config.keys.reload_ms),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn lifecycle(&self) -> &KeyLifecycle {
        &self.lifecycle
    }

    /// The id of the key-encryption key new keys are sealed under.
    pub fn kek_id(&self) -> &str {
        self.keks.current.id()
    }

    pub(super) fn reload_interval(&self) -> Duration {
        self.reload
    }

    /// The stored keys, as stored.
    pub async fn records(&self) -> Result<Vec<SigningKeyDoc>> {
        self.store.signing_keys().await
    }

    /// The stored keys as a key set. Keys already in `previous` are reused, so only a new
    /// key is opened and parsed. Without `previous` (start-up) every key must open: a wrong
    /// key-encryption key fails here, before anything is served or written. With it (a
    /// reload), a key that does not open is left out of the set, so one bad record cannot
    /// keep an instance from following every other change; its error comes back beside the
    /// set.
    pub(super) async fn load_set(
        &self,
        previous: Option<&KeySet>,
    ) -> Result<(KeySet, Option<Error>)> {
        let records = self.records().await?;
        if records.is_empty() {
            return Err(Error::Keys(
                "no signing key in the database (create one with `portcullis keys generate`)"
                    .into(),
            ));
        }
        let (mut keys, mut activations, mut left_out) = (Vec::new(), Vec::new(), None);
        for record in &records {
            let known = previous.and_then(|set| set.find(&record.kid)).cloned();
            let key = match (known, previous) {
                (Some(key), _) => key,
                (None, None) => Arc::new(self.open(record)?),
                (None, Some(_)) => match self.open(record) {
                    Ok(key) => Arc::new(key),
                    Err(error) => {
                        left_out.get_or_insert(error);
                        continue;
                    }
                },
            };
            keys.push(key);
            activations.push(record.activates_at.map(Timestamp::unix_millis));
        }
        if activations.iter().all(Option::is_none) {
            return Err(left_out.unwrap_or_else(|| {
                Error::Keys(
                    "no stored key signs: activate one with `portcullis keys activate KID`".into(),
                )
            }));
        }
        let set = KeySet {
            keys,
            activations,
            withdraw_after_ms: i64::try_from(self.lifecycle.withdraw_after.as_millis())
                .unwrap_or(i64::MAX),
        };
        Ok((set, left_out))
    }

    /// Whether a stored key opens under this instance's key-encryption keys (one line
    /// naming the key and the KEK ids when not).
    pub fn check_opens(&self, record: &SigningKeyDoc) -> Result<()> {
        self.open(record).map(|_| ())
    }

    /// Opens one stored key and checks it is the key its `kid` names.
    fn open(&self, record: &SigningKeyDoc) -> Result<SigningKey> {
        let der = self.keks.open(&record.kid, &sealed_of(record)?)?;
        let key = SigningKey::from_pkcs8(&der, KeyOrigin::Database)?;
        if key.kid() != record.kid {
            return Err(Error::Keys(format!(
                "signing key {}: the stored key is another key ({})",
                record.kid,
                key.kid()
            )));
        }
        Ok(key)
    }

    /// Seals and stores a private key (PKCS#8 DER) made elsewhere: generated, or imported
    /// from a keys folder.
    pub async fn store_key(
        &self,
        der: &[u8],
        activates_at: Option<Timestamp>,
        successor_of: Option<String>,
    ) -> Result<Option<GeneratedKey>> {
        let key = SigningKey::from_pkcs8(der, KeyOrigin::Database)?;
        let record = SigningKeyDoc {
            kid: key.kid().to_owned(),
            bits: u32::try_from(key.bits()).unwrap_or(u32::MAX),
            created_at: now(),
            activates_at,
            // An activation set by hand is recorded by whoever set it.
            activation_recorded: successor_of.is_none() && activates_at.is_some(),
            successor_of,
            sealed: sealed_doc(&self.keks.seal(key.kid(), der)?),
        };
        if !self.store.insert_signing_key(&record).await? {
            return Ok(None);
        }
        Ok(Some(GeneratedKey {
            kid: record.kid,
            origin: KeyOrigin::Database,
            signs_from: activates_at,
        }))
    }

    /// Seals a stored key under the current key-encryption key, if another sealed it;
    /// returns whether this call resealed it.
    pub async fn reseal(&self, record: &SigningKeyDoc) -> Result<bool> {
        if record.sealed.kek_id == self.kek_id() {
            return Ok(false);
        }
        let der = self.keks.open(&record.kid, &sealed_of(record)?)?;
        let fresh = sealed_doc(&self.keks.seal(&record.kid, &der)?);
        self.store
            .reseal_signing_key(&record.kid, &record.sealed.kek_id, &fresh)
            .await
    }
}

fn sealed_doc(sealed: &Sealed) -> SealedKeyDoc {
    SealedKeyDoc {
        kek_id: sealed.kek_id.clone(),
        nonce: URL_SAFE_NO_PAD.encode(&sealed.nonce),
        ciphertext: URL_SAFE_NO_PAD.encode(&sealed.ciphertext),
    }
}

/// A stored key's sealed form, as the KEK opens it.
fn sealed_of(record: &SigningKeyDoc) -> Result<Sealed> {
    let doc = &record.sealed;
    let decode = |text: &str| {
        URL_SAFE_NO_PAD.decode(text).map_err(|_| {
            Error::Keys(format!(
                "signing key {}: the stored record is damaged",
                record.kid
            ))
        })
    };
    Ok(Sealed {
        kek_id: doc.kek_id.clone(),
        nonce: decode(&doc.nonce)?,
        ciphertext: decode(&doc.ciphertext)?,
    })
}
