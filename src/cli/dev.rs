//! Demo data for the development run: an admin account and a confidential client allowed
//! every grant, created only when the database has no users and no clients. Their credentials
//! are printed once.

use crate::config::Config;
use crate::error::Result;
use crate::oauth::grant_type;
use crate::password::PasswordHasher;
use crate::secrets::random_token;
use crate::services::clients::{create_client, NewClient};
use crate::services::users::create_user;
use crate::services::Actor;
use crate::store::{ClientKind, Store};

pub const DEMO_ADMIN: &str = "admin";
pub const DEMO_CLIENT: &str = "demo-client";
pub const DEMO_REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";

pub async fn seed_demo_data(store: &Store, config: &Config) -> Result<()> {
    if store.count_users().await? > 0 || store.count_clients().await? > 0 {
        return Ok(());
    }
    let password = random_token()?;
    let hasher = PasswordHasher::new(config.argon2);
    create_user(
        store,
        &hasher,
        config,
        &Actor::CommandLine,
        DEMO_ADMIN,
        &password,
        "admin",
    )
    .await?;
    let all_scopes: Vec<String> = config
        .roles
        .values()
        .flatten()
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let (client, secret) = create_client(
        store,
        &Actor::CommandLine,
        NewClient {
            client_id: Some(DEMO_CLIENT.into()),
            name: "Demo client".into(),
            kind: ClientKind::Confidential,
            redirect_uris: vec![DEMO_REDIRECT_URI.into()],
            grant_types: grant_type::ALL.iter().map(|g| (*g).to_owned()).collect(),
            scopes: all_scopes,
            default_scopes: None,
            can_introspect: true,
        },
    )
    .await?;
    println!("Demo data created (shown once; reset with `portcullis user set-password admin`):");
    println!("  admin user:     {DEMO_ADMIN} / {password}");
    println!("  client_id:      {}", client.client_id);
    if let Some(secret) = secret {
        println!("  client_secret:  {}", secret.expose());
    }
    Ok(())
}
