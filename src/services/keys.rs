//! Signing-key changes and their audit events, in one place for the command line, the admin
//! API and the schedule: generating, activating and removing keys wherever they live, and with
//! the database key store, the scheduled lifecycle (a successor published a lead before it
//! signs, retired keys withdrawn once their last token expired) and the key-encryption key's
//! rotation. Every decision is one conditional write (`store::signing_keys`), so instances
//! acting at once change each key once and record it once.

use std::path::Path;

use super::Actor;
use crate::config::{Config, KeyStoreKind};
use crate::error::{Error, Result};
use crate::keys::schedule::{self, KeyState, ScheduledKey};
use crate::keys::{self, DatabaseKeys, GeneratedKey, KeyPlace, KeyRing};
use crate::store::{now, AuditEvent, AuditKind, SigningKeyDoc, Store, Timestamp};

/// When a key made or chosen by hand starts signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Published and verifying; signs only once activated.
    Standby,
    /// As soon as every instance can have loaded it: at once from a folder (each instance
    /// reads its own), after two reads of the stored keys and a second from the database.
    Soon,
    /// At once, whether or not other instances have loaded it (a compromised key).
    Now,
}

impl Activation {
    /// When a key activated this way now signs from. From the database, never before the
    /// activation of the key signing now: on a clock behind the one that activated that key,
    /// the new key would otherwise count as retired the moment it was stored.
    async fn moment(self, place: KeyPlace<'_>) -> Result<Option<Timestamp>> {
        let delay = match (self, place) {
            (Activation::Standby, _) => return Ok(None),
            (Activation::Soon, KeyPlace::Database(keys)) => keys.lifecycle().fleet_delay,
            (Activation::Soon | Activation::Now, _) => std::time::Duration::ZERO,
        };
        let at = now().plus_millis(millis(delay));
        let KeyPlace::Database(keys) = place else {
            return Ok(Some(at));
        };
        let activations: Vec<Option<i64>> = keys
            .records()
            .await?
            .iter()
            .map(|r| r.activates_at.map(Timestamp::unix_millis))
            .collect();
        let signing_since = schedule::signing(&activations, now().unix_millis())
            .and_then(|i| activations[i])
            .unwrap_or(i64::MIN);
        let floor = Timestamp::from_unix_millis(signing_since.saturating_add(1));
        Ok(Some(at.max(floor)))
    }
}

/// The key ring `keys.store` names. From a folder as it is (`dev`: a first key generated into
/// an empty one); from the database, after acting on the schedule, which stores a first key
/// when there is none.
pub async fn open_ring(config: &Config, store: Option<&Store>, dev: bool) -> Result<KeyRing> {
    match (config.keys.store, store) {
        (KeyStoreKind::Folder, _) if dev => KeyRing::load_or_generate(&config.keys_dir),
        (KeyStoreKind::Folder, _) => KeyRing::load(&config.keys_dir),
        (KeyStoreKind::Database, None) => Err(Error::Internal(
            "keys in the database are opened with a store".into(),
        )),
        (KeyStoreKind::Database, Some(store)) => {
            let keys = DatabaseKeys::new(config, store.clone())?;
            // Opening what is stored comes first: a wrong key-encryption key must refuse to
            // start before the schedule writes anything.
            for record in keys.records().await? {
                keys.check_opens(&record)?;
            }
            follow_schedule(&keys).await?;
            KeyRing::from_database(keys).await
        }
    }
}

/// Keeps the ring current until `shutdown` completes, acting on the schedule first when the
/// keys live in the database. A failure keeps the previous keys in service and is logged
/// once until it changes.
pub async fn keep_current(ring: KeyRing, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut last_error: Option<String> = None;
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(ring.reload_interval()) => {}
        }
        let scheduled = match ring.database() {
            Some(keys) => follow_schedule(keys).await,
            None => Ok(()),
        };
        match scheduled.and(ring.refresh().await) {
            Ok(()) => last_error = None,
            Err(error) => {
                let message = error.to_string();
                if last_error.as_ref() != Some(&message) {
                    tracing::error!(%error, "signing keys: still serving the previous keys");
                    last_error = Some(message);
                }
            }
        }
    }
}

/// Does what the schedule asks for now (`keys::schedule::plan`): stores the next key, records
/// activations that have come, withdraws keys whose last token has expired. Each is one
/// conditional write, audited by the one instance whose write took effect.
pub async fn follow_schedule(keys: &DatabaseKeys) -> Result<()> {
    let records = keys.records().await?;
    let scheduled: Vec<ScheduledKey> = records
        .iter()
        .map(|r| ScheduledKey {
            activates_at: r.activates_at.map(Timestamp::unix_millis),
            activation_recorded: r.activation_recorded,
        })
        .collect();
    let plan = schedule::plan(&scheduled, keys.lifecycle(), now().unix_millis());
    let actor = Actor::KeySchedule;
    if let Some(successor) = plan.successor {
        let of = successor.of.map(|i| records[i].kid.clone());
        let der = new_private_key().await?;
        // The lead counts from when the key is stored: generating it took a moment.
        let lead = match of {
            Some(_) => millis(keys.lifecycle().publish_lead),
            None => 0,
        };
        let at = successor
            .activates_at
            .max(now().unix_millis().saturating_add(lead));
        let at = Timestamp::from_unix_millis(at);
        // One successor per activation of a key: a key activated again gets a new one.
        let successor_of = Some(match successor.of {
            Some(i) => format!(
                "{}@{}",
                records[i].kid,
                records[i].activates_at.map_or(0, Timestamp::unix_millis)
            ),
            None => String::new(),
        });
        if let Some(key) = keys.store_key(&der, Some(at), successor_of).await? {
            let why = match &of {
                Some(previous) => format!("kid {}, succeeds {previous}", key.kid),
                None => format!("kid {}, the first key", key.kid),
            };
            tracing::info!(kid = %key.kid, signs_from = %at.to_rfc3339(), "signing key scheduled");
            record(keys.store(), &actor, AuditKind::KeyGenerated, why, Some(at)).await?;
        }
    }
    for i in plan.record_activation {
        let kid = &records[i].kid;
        if keys.store().claim_activation_record(kid).await? {
            tracing::info!(%kid, "signing key now signs");
            record(
                keys.store(),
                &actor,
                AuditKind::KeyActivated,
                format!("kid {kid}"),
                None,
            )
            .await?;
        }
    }
    for i in plan.withdraw {
        let record_ = &records[i];
        if keys
            .store()
            .delete_signing_key(&record_.kid, record_.activates_at, false)
            .await?
        {
            tracing::info!(kid = %record_.kid, "signing key withdrawn");
            let why = format!("kid {}, its last token expired", record_.kid);
            record(keys.store(), &actor, AuditKind::KeyWithdrawn, why, None).await?;
        }
    }
    Ok(())
}

/// Makes a new key, signing as `activation` says. `audit`: where to record it (the command
/// line has no database with a keys folder).
pub async fn generate(
    place: KeyPlace<'_>,
    activation: Activation,
    audit: Option<&Store>,
    actor: &Actor,
) -> Result<GeneratedKey> {
    let generated = match place {
        KeyPlace::Folder(dir) => {
            let dir = dir.to_path_buf();
            let activate = activation != Activation::Standby;
            tokio::task::spawn_blocking(move || keys::generate_key(&dir, activate))
                .await
                .map_err(|_| Error::Internal("key generation stopped".into()))??
        }
        KeyPlace::Database(keys) => {
            let der = new_private_key().await?;
            // Counted from when the key is stored, not from when generating it began.
            let first = keys.records().await?.is_empty();
            // The first key signs at once, whatever was asked: nothing else could.
            let at = match first {
                true => Some(now()),
                false => activation.moment(place).await?,
            };
            keys.store_key(&der, at, None)
                .await?
                .ok_or_else(|| Error::Conflict("a key with this kid".into()))?
        }
    };
    if let Some(store) = audit {
        let kind = match generated.signs_from {
            Some(_) => AuditKind::KeyActivated,
            None => AuditKind::KeyGenerated,
        };
        let why = format!("kid {}", generated.kid);
        record(store, actor, kind, why, generated.signs_from).await?;
    }
    Ok(generated)
}

/// Makes a stored key the signing key; returns when it signs from.
pub async fn activate(
    place: KeyPlace<'_>,
    kid: &str,
    activation: Activation,
    audit: Option<&Store>,
    actor: &Actor,
) -> Result<Timestamp> {
    let at = activation
        .moment(place)
        .await?
        .ok_or_else(|| Error::Internal("activation without a moment".into()))?;
    match place {
        KeyPlace::Folder(dir) => keys::activate(dir, kid)?,
        KeyPlace::Database(keys) => {
            if !keys.store().activate_signing_key(kid, at).await? {
                return Err(Error::NotFound(format!("key {kid:?}")));
            }
        }
    }
    if let Some(store) = audit {
        let why = format!("kid {kid}");
        record(store, actor, AuditKind::KeyActivated, why, Some(at)).await?;
    }
    Ok(at)
}

/// Deletes a key that does not sign: the tokens it signed stop verifying, and it leaves the
/// JWKS on every instance with its next reload.
pub async fn remove(
    place: KeyPlace<'_>,
    kid: &str,
    audit: Option<&Store>,
    actor: &Actor,
) -> Result<()> {
    match place {
        KeyPlace::Folder(dir) => {
            keys::remove(dir, kid)?;
        }
        KeyPlace::Database(keys) => {
            let records = keys.records().await?;
            let (record_, state) = states(&records, keys)
                .into_iter()
                .find(|(r, _)| r.kid == kid)
                .ok_or_else(|| Error::NotFound(format!("key {kid:?}")))?;
            if matches!(state, KeyState::Active { .. }) {
                return Err(Error::Refused(format!(
                    "key {kid} signs new tokens; activate another key first"
                )));
            }
            let pending = matches!(state, KeyState::Pending { .. });
            if !keys
                .store()
                .delete_signing_key(kid, record_.activates_at, pending)
                .await?
            {
                return Err(Error::Conflict(format!("a change to key {kid} meanwhile")));
            }
        }
    }
    if let Some(store) = audit {
        record(
            store,
            actor,
            AuditKind::KeyRemoved,
            format!("kid {kid}"),
            None,
        )
        .await?;
    }
    Ok(())
}

/// Each stored key with its state now.
pub fn states<'r>(
    records: &'r [SigningKeyDoc],
    keys: &DatabaseKeys,
) -> Vec<(&'r SigningKeyDoc, KeyState)> {
    let activations: Vec<Option<i64>> = records
        .iter()
        .map(|r| r.activates_at.map(Timestamp::unix_millis))
        .collect();
    let withdraw_after = millis(keys.lifecycle().withdraw_after);
    records
        .iter()
        .zip(schedule::states(
            &activations,
            now().unix_millis(),
            withdraw_after,
        ))
        .collect()
}

/// Seals every stored key under the configured key-encryption key (`keys.kek`), opening
/// those sealed under another with `keys.previous_kek`. Returns how many it resealed and how
/// many were already sealed under the current one.
pub async fn rotate_kek(keys: &DatabaseKeys, actor: &Actor) -> Result<(usize, usize)> {
    let mut resealed = 0;
    let records = keys.records().await?;
    for record_ in &records {
        if keys.reseal(record_).await? {
            resealed += 1;
        }
    }
    if resealed > 0 {
        let why = format!("{resealed} keys sealed under kek {}", keys.kek_id());
        record(keys.store(), actor, AuditKind::KeysResealed, why, None).await?;
    }
    Ok((resealed, records.len() - resealed))
}

/// Stores the keys of a keys folder in an empty database key store, the step before
/// switching to `keys.store = "database"`: the folder's signing key signs, the others verify
/// until withdrawn like any key that stopped signing. Returns the kids stored.
pub async fn import_folder(keys: &DatabaseKeys, dir: &Path, actor: &Actor) -> Result<Vec<String>> {
    if !keys.records().await?.is_empty() {
        return Err(Error::Refused(
            "the database already holds signing keys; import only into an empty key store".into(),
        ));
    }
    let folder = KeyRing::load(dir)?.snapshot();
    let active = folder.active().kid().to_owned();
    let mut imported = Vec::new();
    for key in folder.keys() {
        let der = keys::pkcs8_of(key.origin())?;
        // A verifying key signed before the signing one took over: activated at the epoch,
        // it counts as retired from now on.
        let at = match key.kid() == active {
            true => now(),
            false => Timestamp::from_unix_millis(0),
        };
        if keys.store_key(&der, Some(at), None).await?.is_some() {
            imported.push(key.kid().to_owned());
        }
    }
    let why = format!(
        "kids {} imported from {}",
        imported.join(","),
        dir.display()
    );
    record(keys.store(), actor, AuditKind::KeyGenerated, why, None).await?;
    Ok(imported)
}

/// A new RSA private key (PKCS#8 DER), generated off the async workers.
async fn new_private_key() -> Result<Vec<u8>> {
    let (_, der) = tokio::task::spawn_blocking(keys::new_private_key)
        .await
        .map_err(|_| Error::Internal("key generation stopped".into()))??;
    Ok(der)
}

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// One audit event about a key.
async fn record(
    store: &Store,
    actor: &Actor,
    kind: AuditKind,
    reason: String,
    signs_from: Option<Timestamp>,
) -> Result<()> {
    let mut event = AuditEvent::new(kind);
    event.reason = Some(match signs_from {
        Some(at) => format!("{reason}, signs from {}", at.to_rfc3339()),
        None => reason,
    });
    store.audit(actor.stamp(event)).await
}
