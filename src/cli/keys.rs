//! `portcullis keys ...`: the signing keys, where `keys.store` keeps them. In a folder, a
//! running server notices a change within 10 seconds; in the database, every instance within
//! `keys.reload_ms`, and changes there are audited.

use std::path::PathBuf;

use clap::Subcommand;

use crate::config::{Config, KeyStoreKind};
use crate::error::{Error, Result};
use crate::keys::{DatabaseKeys, Kek, KeyPlace, KeyRing, KeyState};
use crate::services::keys::{self as key_changes, Activation};
use crate::services::Actor;
use crate::store::{Store, Timestamp};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new RSA-2048 key that verifies but does not sign (the first key signs).
    Generate,
    /// List the keys, their state and when they sign or are withdrawn.
    List,
    /// Add a new key that signs from now on (in the database: once every instance has loaded
    /// it); the previous keys keep verifying.
    Rotate {
        /// In the database: sign with it at once, before other instances may have loaded it
        /// (a compromised key).
        #[arg(long)]
        now: bool,
    },
    /// Make a key already stored the signing key.
    Activate {
        #[arg(allow_hyphen_values = true)]
        kid: String,
        /// In the database: at once, as `rotate --now`.
        #[arg(long)]
        now: bool,
    },
    /// Delete a key that no longer signs: tokens it signed stop verifying.
    Remove {
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// Print a new random key-encryption key (for `keys.kek_file` or `PORTCULLIS_KEYS__KEK`).
    NewKek,
    /// Seal every stored key under `keys.kek`, opening the others with `keys.previous_kek`.
    RotateKek,
    /// Store the keys of a keys folder in an empty database key store.
    Import {
        /// The folder (default: `keys_dir`).
        #[arg(long, value_name = "DIR")]
        from: Option<PathBuf>,
    },
}

pub async fn run(config: &Config, command: KeysCommand) -> Result<()> {
    if let KeysCommand::NewKek = command {
        println!("{}", Kek::generate()?);
        return Ok(());
    }
    match config.keys.store {
        KeyStoreKind::Folder => in_folder(config, command).await,
        KeyStoreKind::Database => {
            let store = super::connect(config).await?;
            let keys = DatabaseKeys::new(config, store.clone())?;
            in_database(config, &keys, &store, command).await
        }
    }
}

/// The folder's commands. Nothing is audited: a folder needs no database.
async fn in_folder(config: &Config, command: KeysCommand) -> Result<()> {
    let dir = &config.keys_dir;
    let place = KeyPlace::Folder(dir);
    let actor = Actor::CommandLine;
    match command {
        KeysCommand::Generate => {
            let key = key_changes::generate(place, Activation::Standby, None, &actor).await?;
            let state = if key.signs_from.is_some() {
                "active"
            } else {
                "inactive"
            };
            println!("generated key {} ({state}) in {}", key.kid, key.origin);
        }
        KeysCommand::Rotate { .. } => {
            let key = key_changes::generate(place, Activation::Now, None, &actor).await?;
            println!("key {} now signs; earlier keys still verify", key.kid);
        }
        KeysCommand::List => {
            let ring = KeyRing::load(dir)?;
            let set = ring.snapshot();
            println!("{:<44}  {:<5}  {:<7}  file", "kid", "bits", "state");
            for (key, state) in set.states() {
                let state = match state {
                    KeyState::Active { .. } => "active",
                    _ => "verify",
                };
                println!(
                    "{:<44}  {:<5}  {:<7}  {}",
                    key.kid(),
                    key.bits(),
                    state,
                    key.origin()
                );
            }
        }
        KeysCommand::Activate { kid, .. } => {
            key_changes::activate(place, &kid, Activation::Now, None, &actor).await?;
            println!("key {kid} now signs (running servers pick it up within 10 s)");
        }
        KeysCommand::Remove { kid } => {
            key_changes::remove(place, &kid, None, &actor).await?;
            println!("removed key {kid} from {}", dir.display());
        }
        KeysCommand::RotateKek | KeysCommand::Import { .. } => {
            return Err(Error::Refused(
                "this command acts on keys kept in the database: set keys.store = \"database\""
                    .into(),
            ))
        }
        KeysCommand::NewKek => {}
    }
    Ok(())
}

async fn in_database(
    config: &Config,
    keys: &DatabaseKeys,
    store: &Store,
    command: KeysCommand,
) -> Result<()> {
    let place = KeyPlace::Database(keys);
    let actor = Actor::CommandLine;
    let audit = Some(store);
    // A key sealed under a key-encryption key the servers do not hold would be left out of
    // every instance's ring: a command that stores or activates a key first checks that this
    // configuration opens every stored key, as the servers' must.
    if matches!(
        command,
        KeysCommand::Generate
            | KeysCommand::Rotate { .. }
            | KeysCommand::Activate { .. }
            | KeysCommand::Import { .. }
    ) {
        for record in keys.records().await? {
            keys.check_opens(&record)?;
        }
    }
    let soon_or_now = |now: bool| match now {
        true => Activation::Now,
        false => Activation::Soon,
    };
    match command {
        KeysCommand::Generate => {
            let key = key_changes::generate(place, Activation::Standby, audit, &actor).await?;
            match key.signs_from {
                Some(at) => println!("generated key {} (signs from {})", key.kid, at.to_rfc3339()),
                None => println!(
                    "generated key {} (standby: published, not signing)",
                    key.kid
                ),
            }
        }
        KeysCommand::Rotate { now } => {
            let key = key_changes::generate(place, soon_or_now(now), audit, &actor).await?;
            println!(
                "key {} signs from {}; earlier keys still verify",
                key.kid,
                time(key.signs_from)
            );
        }
        KeysCommand::List => print_stored(keys).await?,
        KeysCommand::Activate { kid, now } => {
            let at = key_changes::activate(place, &kid, soon_or_now(now), audit, &actor).await?;
            println!("key {kid} signs from {}", at.to_rfc3339());
        }
        KeysCommand::Remove { kid } => {
            key_changes::remove(place, &kid, audit, &actor).await?;
            println!("removed key {kid}");
        }
        KeysCommand::RotateKek => {
            let (resealed, kept) = key_changes::rotate_kek(keys, &actor).await?;
            println!(
                "{resealed} keys sealed under key-encryption key {}; {kept} already were",
                keys.kek_id()
            );
        }
        KeysCommand::Import { from } => {
            let dir = from.unwrap_or_else(|| config.keys_dir.clone());
            let kids = key_changes::import_folder(keys, &dir, &actor).await?;
            println!(
                "stored {} keys from {}: {}",
                kids.len(),
                dir.display(),
                kids.join(", ")
            );
        }
        KeysCommand::NewKek => {}
    }
    Ok(())
}

/// The stored keys, without opening them (no key-encryption key is needed to list).
async fn print_stored(keys: &DatabaseKeys) -> Result<()> {
    let records = keys.records().await?;
    println!(
        "{:<44}  {:<5}  {:<8}  {:<24}  {:<24}  kek",
        "kid", "bits", "state", "signs from", "withdrawn at"
    );
    for (record, state) in key_changes::states(&records, keys) {
        let (signs, withdraws) = match state {
            KeyState::Standby => (None, None),
            KeyState::Pending { signs_from } => (Some(signs_from), None),
            KeyState::Active { since } => (Some(since), None),
            KeyState::Retired { withdraw_at, .. } => (
                record.activates_at.map(|a| a.unix_millis()),
                Some(withdraw_at),
            ),
        };
        let at = |millis: Option<i64>| time(millis.map(Timestamp::from_unix_millis));
        println!(
            "{:<44}  {:<5}  {:<8}  {:<24}  {:<24}  {}",
            record.kid,
            record.bits,
            state.name(),
            at(signs),
            at(withdraws),
            record.sealed.kek_id
        );
    }
    Ok(())
}

fn time(at: Option<Timestamp>) -> String {
    at.map_or_else(|| "-".to_owned(), Timestamp::to_rfc3339)
}
