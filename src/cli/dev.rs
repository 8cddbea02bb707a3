//! Demo data for the development run: an admin account and a confidential client allowed
//! every grant, created only when the database has no users and no clients. Their credentials
//! are printed once; later starts say how to get new ones.

use crate::config::Config;
use crate::error::Result;
use crate::oauth::GrantType;
use crate::password::PasswordHasher;
use crate::secrets::random_token;
use crate::services::clients::{create_client, NewClient};
use crate::services::users::create_user;
use crate::services::Actor;
use crate::store::{ClientKind, Store};

pub const DEMO_ADMIN: &str = "admin";
pub const DEMO_CLIENT: &str = "demo-client";
pub const DEMO_REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";
/// Where the demo client's RP-initiated logout may return the browser.
pub const DEMO_POST_LOGOUT_REDIRECT_URI: &str = "http://127.0.0.1:8765/signed-out";

/// The management command as typed in a development checkout, beside `./scripts/run.sh`.
const DEV_COMMAND: &str = "./scripts/portcullis";

pub async fn seed_demo_data(store: &Store, config: &Config) -> Result<()> {
    if store.count_users().await? > 0 || store.count_clients().await? > 0 {
        let has_admin = store.find_user_by_key(DEMO_ADMIN).await?.is_some();
        let has_client = store.find_client(DEMO_CLIENT).await?.is_some();
        if has_admin || has_client {
            println!("Demo data exists (created at an earlier start). Lost its credentials? In a second terminal:");
            if has_admin {
                println!("  {DEV_COMMAND} user set-password {DEMO_ADMIN}");
            }
            if has_client {
                println!("  {DEV_COMMAND} client rotate-secret {DEMO_CLIENT}");
            }
        }
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
            post_logout_redirect_uris: vec![DEMO_POST_LOGOUT_REDIRECT_URI.into()],
            grant_types: GrantType::ALL
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            scopes: all_scopes,
            default_scopes: None,
            can_introspect: true,
        },
    )
    .await?;
    println!("Demo data created (credentials shown only now):");
    println!("  admin user:     {DEMO_ADMIN} / {password}");
    println!("  client_id:      {}", client.client_id);
    if let Some(secret) = secret {
        println!("  client_secret:  {}", secret.expose());
    }
    println!(
        "New ones later, in a second terminal: {DEV_COMMAND} user set-password {DEMO_ADMIN}, \
         {DEV_COMMAND} client rotate-secret {DEMO_CLIENT}"
    );
    Ok(())
}
