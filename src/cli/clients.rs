//! `portcullis client ...`: OAuth client registration. The secret of a confidential client is
//! printed once, at creation; only its hash is stored.

use clap::Subcommand;

use crate::config::Config;
use crate::error::Result;
use crate::services::clients::{self, NewClient};
use crate::services::Actor;
use crate::store::ClientKind;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client and print its id and (for confidential clients) its secret.
    Add {
        /// Display name shown on the consent page.
        #[arg(long)]
        name: String,
        /// Client id, not 24 hex digits (default: random).
        #[arg(long)]
        id: Option<String>,
        /// A public client (native or browser app): no secret.
        #[arg(long)]
        public: bool,
        /// Grant types it may use: authorization_code, password, refresh_token,
        /// client_credentials (repeat or separate with commas).
        #[arg(long = "grant-type", value_delimiter = ',', required = true)]
        grant_types: Vec<String>,
        /// Scopes it may be granted.
        #[arg(long = "scope", value_delimiter = ',')]
        scopes: Vec<String>,
        /// Scopes granted when a request names none (default: all its scopes).
        #[arg(long = "default-scope", value_delimiter = ',')]
        default_scopes: Option<Vec<String>>,
        /// Registered redirect URIs (exact match).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// May call the introspection endpoint (for resource servers; not with --public).
        #[arg(long)]
        introspect: bool,
    },
    /// List clients.
    List,
    /// Remove a client.
    Remove { client_id: String },
}

pub async fn run(config: &Config, command: ClientCommand) -> Result<()> {
    let store = super::connect(config).await?;
    match command {
        ClientCommand::Add {
            name,
            id,
            public,
            grant_types,
            scopes,
            default_scopes,
            redirect_uris,
            introspect,
        } => {
            let kind = if public {
                ClientKind::Public
            } else {
                ClientKind::Confidential
            };
            let new = NewClient {
                client_id: id,
                name,
                kind,
                redirect_uris,
                grant_types,
                scopes,
                default_scopes,
                can_introspect: introspect,
            };
            let (client, secret) = clients::create_client(&store, &Actor::CommandLine, new).await?;
            println!("client_id: {}", client.client_id);
            if let Some(secret) = secret {
                println!("client_secret: {}", secret.expose());
                println!("(the secret is shown only now; store it safely)");
            }
        }
        ClientCommand::List => {
            println!(
                "{:<24}  {:<12}  {:<24}  grant types",
                "client_id", "type", "name"
            );
            for client in store.list_clients().await? {
                let kind = match client.kind {
                    ClientKind::Confidential => "confidential",
                    ClientKind::Public => "public",
                };
                println!(
                    "{:<24}  {:<12}  {:<24}  {}",
                    client.client_id,
                    kind,
                    client.name,
                    client.grant_types.join(",")
                );
            }
        }
        ClientCommand::Remove { client_id } => {
            clients::remove_client(&store, config, &Actor::CommandLine, &client_id).await?;
            println!("removed client {client_id}");
        }
    }
    Ok(())
}
