//! Portcullis: an OAuth 2.0 authorization server issuing RS256 JWT access tokens (RFC 9068),
//! backed by MongoDB.
//!
//! [`build_rocket`] assembles the server from a [`Config`], a [`Store`] and a [`KeyRing`]; the
//! binary and the tests both start from it.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod address;
pub mod cli;
pub mod config;
pub mod error;
pub mod events;
pub mod http;
pub mod ids;
pub mod keys;
pub mod listener;
pub mod metrics;
pub mod oauth;
pub mod oidc;
pub mod password;
pub mod revocation;
pub mod scope;
pub mod secrets;
pub mod server;
pub mod services;
pub mod signin;
pub mod store;
pub mod username;

use std::time::Duration;

use rocket::config::{LogLevel, SecretKey};
use rocket::data::{Limits, ToByteUnit};
use rocket::fairing::AdHoc;
use rocket::{Build, Rocket};

// Rate-limited logging, shared with the resource-server kit.
pub use portcullis_kit::limited;

pub use config::Config;
pub use http::AppState;
pub use keys::KeyRing;
pub use store::Store;

/// Builds the Rocket application. Nothing is global but the metrics recorder (shared by every
/// instance in a process): two instances can run in one process.
pub fn build_rocket(config: Config, store: Store, keys: KeyRing) -> Rocket<Build> {
    // rocket_dyn_templates reads its folder from Rocket's own configuration.
    let figment = rocket::figment::Figment::from(rocket_config(&config))
        .merge(("template_dir", config.templates_dir.clone()));
    // The process-wide metrics recorder, installed before anything is counted.
    metrics::handle();
    let app = AppState::new(config, store, keys);
    let kit_verifier = portcullis_kit::Verifier::new(app.verifier.clone());
    rocket::custom(figment)
        .attach(http::RequestObserver::new())
        .attach(http::NoStoreByDefault)
        .attach(rocket_dyn_templates::Template::fairing())
        .manage(app)
        .manage(kit_verifier)
        .mount("/", http::routes())
        .register("/", http::catchers())
        .attach(AdHoc::on_ignite("revocation set", |rocket| async {
            // Load what is already revoked before serving; if the database is down, the sync
            // task keeps trying and /readyz reports the set as stale meanwhile.
            if let Some(app) = rocket.state::<AppState>() {
                if let Err(error) = app.revoked().sync(&app.store).await {
                    tracing::warn!(%error, "could not load revocations at start");
                }
            }
            rocket
        }))
        .attach(AdHoc::on_liftoff("background tasks", |rocket| {
            Box::pin(async move {
                let Some(app) = rocket.state::<AppState>() else {
                    return;
                };
                let shutdown = rocket.shutdown();
                app.store.start_audit_writer(shutdown.clone());
                let flush = Duration::from_millis(app.config.rate_limits.flush_ms);
                app.store
                    .start_request_count_flusher(flush, shutdown.clone());
                let poll = Duration::from_millis(app.config.revocation_poll_ms);
                let (revoked, store) = (app.revoked().clone(), app.store.clone());
                tokio::spawn(revocation::keep_in_sync(
                    revoked,
                    store,
                    poll,
                    app.config.revocation_sync,
                    shutdown.clone(),
                ));
                tokio::spawn(metrics::keep_up(shutdown.clone()));
                tokio::spawn(services::keys::keep_current(app.keys.clone(), shutdown));
            })
        }))
}

fn rocket_config(config: &Config) -> rocket::Config {
    use base64::Engine;
    // A configured key keeps browser sessions valid across restarts and instances; without
    // one each start draws a random key.
    let secret_key = config
        .session_secret
        .as_ref()
        .and_then(|s| {
            base64::engine::general_purpose::STANDARD
                .decode(s.expose())
                .ok()
        })
        .filter(|bytes| bytes.len() >= 32)
        .map(|bytes| SecretKey::derive_from(&bytes))
        .or_else(SecretKey::generate);
    let defaults = rocket::Config::default();
    rocket::Config {
        address: config.address,
        port: config.port,
        secret_key: secret_key.unwrap_or(defaults.secret_key.clone()),
        limits: Limits::default()
            .limit("form", 16.kibibytes())
            .limit("data-form", 16.kibibytes())
            .limit("json", 64.kibibytes())
            .limit("string", 16.kibibytes()),
        ident: rocket::config::Ident::try_new("Portcullis").unwrap_or_default(),
        // Only a configured proxy header may name the client; by default the socket peer does.
        ip_header: config.client_ip_header.clone().map(Into::into),
        shutdown: rocket::config::Shutdown {
            grace: config.shutdown_grace_secs,
            mercy: 2,
            ..rocket::config::Shutdown::default()
        },
        // Portcullis logs through `tracing`; Rocket's own console output is off.
        log_level: LogLevel::Off,
        cli_colors: false,
        ..defaults
    }
}
