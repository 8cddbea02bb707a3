//! `portcullis serve`: start the HTTP server. `--dev` is the local development run: it creates
//! a signing key and demo data when there are none, and turns self-registration on.

use clap::Args;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::keys::KeyRing;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Development run: generate a key if the keys folder has none, seed a demo admin and a
    /// demo client into an empty database, allow self-registration. Never use in production.
    #[arg(long)]
    dev: bool,
}

pub async fn run(mut config: Config, args: ServeArgs) -> Result<()> {
    let keys = if args.dev {
        config.self_registration = true;
        KeyRing::load_or_generate(&config.keys_dir)?
    } else {
        KeyRing::load(&config.keys_dir)?
    };
    let store = Store::from_config(&config).await?;
    store.ensure_indexes().await.map_err(|e| match e {
        Error::Database(why) => Error::Database(format!("cannot reach MongoDB: {why}")),
        other => other,
    })?;
    if args.dev {
        super::dev::seed_demo_data(&store, &config).await?;
    }
    let address = format!("{}:{}", config.address, config.port);
    let rocket = crate::build_rocket(config, store, keys)
        // Said once the socket is bound and TLS is set up, never before.
        .attach(rocket::fairing::AdHoc::on_liftoff("listening", move |_| {
            Box::pin(async move { tracing::info!(%address, "Portcullis listening") })
        }))
        .ignite()
        .await
        .map_err(launch_error)?;
    rocket.launch().await.map_err(launch_error)?;
    Ok(())
}

/// Rocket's errors print several lines (and panic if dropped unread); operators get one line.
fn launch_error(error: rocket::Error) -> Error {
    use rocket::error::ErrorKind;
    let message = match error.kind() {
        ErrorKind::Bind(e) => format!("cannot bind the listening address: {e}"),
        ErrorKind::Io(e) => format!("I/O error: {e}"),
        ErrorKind::Config(e) => format!("server configuration: {e}"),
        ErrorKind::InsecureSecretKey(_) => "session_secret must be set".to_owned(),
        other => format!("server failed to start: {other}"),
    };
    Error::Internal(message)
}
