//! `portcullis keys ...`: the signing keys in the keys folder. A running server notices the
//! change within seconds; old keys keep verifying until their files are removed.

use clap::Subcommand;

use crate::config::Config;
use crate::error::Result;
use crate::keys::{self, KeyRing};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new RSA-2048 key (active only if it is the first).
    Generate,
    /// List the keys and which one signs.
    List,
    /// Add a new key and make it the signing key; the previous keys stay for verification.
    Rotate,
    /// Make a key already in the folder the signing key (the multi-instance rotation's step).
    Activate {
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// Delete a key that no longer signs: tokens it signed stop verifying.
    Remove {
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

pub fn run(config: &Config, command: KeysCommand) -> Result<()> {
    let dir = &config.keys_dir;
    match command {
        KeysCommand::Generate => {
            let key = keys::generate_key(dir, false)?;
            let state = if key.active { "active" } else { "inactive" };
            println!(
                "generated key {} ({state}) in {}",
                key.kid,
                key.file.display()
            );
        }
        KeysCommand::Rotate => {
            let key = keys::rotate(dir)?;
            println!("key {} now signs; earlier keys still verify", key.kid);
        }
        KeysCommand::List => {
            print_keys(&KeyRing::load(dir)?);
        }
        KeysCommand::Activate { kid } => {
            keys::activate(dir, &kid)?;
            println!("key {kid} now signs (running servers pick it up within 10 s)");
        }
        KeysCommand::Remove { kid } => {
            let file = keys::remove(dir, &kid)?;
            println!("removed key {kid} ({})", file.display());
        }
    }
    Ok(())
}

fn print_keys(ring: &KeyRing) {
    let set = ring.snapshot();
    println!("{:<44}  {:<5}  {:<6}  file", "kid", "bits", "state");
    for key in set.keys() {
        let state = if key.kid() == set.active().kid() {
            "active"
        } else {
            "verify"
        };
        println!(
            "{:<44}  {:<5}  {:<6}  {}",
            key.kid(),
            key.bits(),
            state,
            key.file().display()
        );
    }
}
