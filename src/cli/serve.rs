//! `portcullis serve`: start the HTTP server. `--dev` is the local development run: it creates
//! a signing key and demo data when there are none, and turns self-registration on.

use clap::Args;

use crate::config::{Config, KeyStoreKind};
use crate::error::Result;
use crate::services::keys::open_ring;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Development run: generate a key if the keys folder has none, seed a demo admin and a
    /// demo client into an empty database, allow self-registration. Never use in production.
    #[arg(long)]
    dev: bool,
}

pub async fn run(mut config: Config, args: ServeArgs) -> Result<()> {
    if args.dev {
        config.self_registration = true;
    }
    // A keys folder is checked before the database is reached, so a broken folder is the
    // one line an operator sees; keys in the database need it first.
    let folder_keys = match config.keys.store {
        KeyStoreKind::Folder => Some(open_ring(&config, None, args.dev).await?),
        KeyStoreKind::Database => None,
    };
    let store = super::connect(&config).await?;
    let keys = match folder_keys {
        Some(keys) => keys,
        None => open_ring(&config, Some(&store), args.dev).await?,
    };
    if args.dev {
        super::dev::seed_demo_data(&store, &config).await?;
    }
    if config.address.is_loopback() && in_container() {
        tracing::warn!(
            address = %config.address,
            "listening on a loopback address inside a container: unreachable from outside it; \
             set PORTCULLIS_ADDRESS=0.0.0.0 (or address in Portcullis.toml)"
        );
    }
    let running = crate::server::start(config, store, keys).await?;
    // Said once the socket is bound and TLS is set up, never before.
    tracing::info!(address = %running.address, "Portcullis listening");
    running.stopped().await
}

/// Whether this process runs in a container (Docker and Podman leave these files behind).
fn in_container() -> bool {
    ["/.dockerenv", "/run/.containerenv"]
        .iter()
        .any(|marker| std::path::Path::new(marker).exists())
}
