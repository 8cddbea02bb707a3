//! The `[keys]` section: where the signing keys live (a folder of PEM files, or the database,
//! sealed under a key-encryption key), and, in the database, their scheduled lifecycle.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Secret;
use crate::error::Error;

/// Where the signing keys are kept.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum KeyStoreKind {
    /// `keys_dir`: PEM files each instance reads from its own folder.
    #[default]
    Folder,
    /// The `signing_keys` collection, private keys sealed with AES-256-GCM under the
    /// key-encryption key: every instance sharing the database shares the keys.
    Database,
}

/// The `[keys]` section. See `docs/configuration.md`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    pub store: KeyStoreKind,
    /// The key-encryption key itself: base64 of 32 random bytes (`PORTCULLIS_KEYS__KEK`).
    pub kek: Option<Secret>,
    /// A file holding the key-encryption key, as `kek`.
    pub kek_file: Option<PathBuf>,
    /// The key-encryption key being replaced: still opens keys sealed under it, until
    /// `portcullis keys rotate-kek` has sealed them all under `kek`.
    pub previous_kek: Option<Secret>,
    pub previous_kek_file: Option<PathBuf>,
    /// A new key takes over signing this often, in seconds; 0 turns the schedule off.
    pub rotation_interval_secs: u64,
    /// How long a scheduled key is published before it signs, in seconds; unset,
    /// `jwks_max_age_secs`, and never less.
    pub publish_lead_secs: Option<u64>,
    /// How long a key that stopped signing keeps verifying before it is withdrawn, in
    /// seconds; unset, `access_token_ttl_secs` + `token_leeway_secs`, and never less.
    pub withdraw_after_secs: Option<u64>,
    /// How often each instance reads the stored keys, in milliseconds.
    pub reload_ms: u64,
}

impl Default for KeysConfig {
    fn default() -> Self {
        KeysConfig {
            store: KeyStoreKind::Folder,
            kek: None,
            kek_file: None,
            previous_kek: None,
            previous_kek_file: None,
            rotation_interval_secs: 0,
            publish_lead_secs: None,
            withdraw_after_secs: None,
            reload_ms: 1_000,
        }
    }
}

/// The key lifecycle with every default resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLifecycle {
    /// `None`: no scheduled rotation.
    pub rotation_interval: Option<Duration>,
    pub publish_lead: Duration,
    pub withdraw_after: Duration,
    /// How long after a manual change of the signing key it takes effect: two reads of the
    /// stored keys and a second's margin (a read can wait on the schedule's own work), so
    /// every instance has loaded a new key before any signs with it.
    pub fleet_delay: Duration,
}

impl KeysConfig {
    /// The shortest publish lead allowed: a verifier that fetched the JWKS just before the
    /// key appeared keeps that copy this long.
    fn lead_floor(config: &super::Config) -> u64 {
        config.jwks_max_age_secs
    }

    /// The shortest withdrawal delay allowed: the last token a key signed is accepted until
    /// its `exp` plus the leeway.
    fn withdraw_floor(config: &super::Config) -> u64 {
        config.access_token_ttl_secs + config.token_leeway_secs
    }

    pub fn lifecycle(&self, config: &super::Config) -> KeyLifecycle {
        let lead = self.publish_lead_secs.unwrap_or(Self::lead_floor(config));
        let withdraw = self
            .withdraw_after_secs
            .unwrap_or(Self::withdraw_floor(config));
        KeyLifecycle {
            rotation_interval: (self.rotation_interval_secs > 0)
                .then(|| Duration::from_secs(self.rotation_interval_secs)),
            publish_lead: Duration::from_secs(lead),
            withdraw_after: Duration::from_secs(withdraw),
            fleet_delay: Duration::from_millis(
                self.reload_ms.saturating_mul(2).saturating_add(1_000),
            ),
        }
    }

    pub(super) fn validate(&self, config: &super::Config) -> Result<(), Error> {
        let invalid =
            |key: &str, reason: String| Err(Error::Config(format!("keys.{key}: {reason}")));
        if self.kek.is_some() && self.kek_file.is_some() {
            return invalid("kek", "give kek or kek_file, not both".into());
        }
        if self.previous_kek.is_some() && self.previous_kek_file.is_some() {
            return invalid(
                "previous_kek",
                "give previous_kek or previous_kek_file, not both".into(),
            );
        }
        let database = self.store == KeyStoreKind::Database;
        if database && self.kek.is_none() && self.kek_file.is_none() {
            return invalid(
                "kek",
                "keys.store = \"database\" needs a key-encryption key: kek_file, or kek \
                 (PORTCULLIS_KEYS__KEK); make one with `portcullis keys new-kek`"
                    .into(),
            );
        }
        if !database && self.rotation_interval_secs > 0 {
            return invalid(
                "rotation_interval_secs",
                "scheduled rotation needs keys.store = \"database\"".into(),
            );
        }
        if self.reload_ms == 0 {
            return invalid("reload_ms", "must be greater than zero".into());
        }
        let lead_floor = Self::lead_floor(config);
        if self.publish_lead_secs.is_some_and(|lead| lead < lead_floor) {
            return invalid(
                "publish_lead_secs",
                format!("must be at least jwks_max_age_secs ({lead_floor})"),
            );
        }
        let withdraw_floor = Self::withdraw_floor(config);
        if self.withdraw_after_secs.is_some_and(|w| w < withdraw_floor) {
            return invalid(
                "withdraw_after_secs",
                format!(
                    "must be at least access_token_ttl_secs + token_leeway_secs ({withdraw_floor})"
                ),
            );
        }
        let lifecycle = self.lifecycle(config);
        if self.rotation_interval_secs > 0
            && Duration::from_secs(self.rotation_interval_secs) < lifecycle.publish_lead
        {
            return invalid(
                "rotation_interval_secs",
                format!(
                    "must be at least the publish lead ({} s), or 0",
                    lifecycle.publish_lead.as_secs()
                ),
            );
        }
        Ok(())
    }
}
