//! `portcullis client ...`: OAuth client registration and upkeep. The secret of a confidential
//! client is printed once, at creation or rotation; only its hash is stored.

use clap::{Args, Subcommand};

use super::output::{print_json, Format};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::services::clients::{self, ClientChanges, NewClient};
use crate::services::views::ClientView;
use crate::services::Actor;
use crate::store::{ClientDoc, ClientKind};

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
        #[command(flatten)]
        settings: Settings,
    },
    /// List clients with their grants, scopes and redirect URIs.
    List {
        #[command(flatten)]
        format: Format,
    },
    /// Show one client.
    Show {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        #[command(flatten)]
        format: Format,
    },
    /// Change a client: each option given replaces that setting as a whole.
    Update {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        settings: Settings,
        /// Whether it may call the introspection endpoint.
        #[arg(long, value_name = "true|false")]
        can_introspect: Option<bool>,
    },
    /// Issue a new secret (printed once); the old one stops working at once.
    RotateSecret {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Remove a client, its refresh tokens and consents; its access tokens are refused.
    Remove {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
}

/// The settings `add` and `update` share.
#[derive(Debug, Args)]
pub struct Settings {
    /// Grant types it may use: authorization_code, password, refresh_token,
    /// client_credentials (repeat or separate with commas).
    #[arg(long = "grant-type", value_delimiter = ',')]
    grant_types: Option<Vec<String>>,
    /// Scopes it may be granted.
    #[arg(long = "scope", value_delimiter = ',')]
    scopes: Option<Vec<String>>,
    /// Scopes granted when a request names none (default: all its scopes).
    #[arg(long = "default-scope", value_delimiter = ',')]
    default_scopes: Option<Vec<String>>,
    /// Registered redirect URIs (exact match; repeat for several).
    #[arg(long = "redirect-uri")]
    redirect_uris: Option<Vec<String>>,
    /// Where RP-initiated logout may return the browser (exact match; repeat for several).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Option<Vec<String>>,
    /// May call the introspection endpoint (for resource servers; not with --public).
    #[arg(long)]
    introspect: bool,
}

pub async fn run(config: &Config, command: ClientCommand) -> Result<()> {
    let store = super::connect(config).await?;
    let revocations = super::revocations(&store, config);
    match command {
        ClientCommand::Add {
            name,
            id,
            public,
            settings,
        } => {
            let kind = if public {
                ClientKind::Public
            } else {
                ClientKind::Confidential
            };
            let grant_types = settings
                .grant_types
                .ok_or_else(|| Error::invalid("grant-type", "name at least one grant type"))?;
            let new = NewClient {
                client_id: id,
                name,
                kind,
                redirect_uris: settings.redirect_uris.unwrap_or_default(),
                post_logout_redirect_uris: settings.post_logout_redirect_uris.unwrap_or_default(),
                grant_types,
                scopes: settings.scopes.unwrap_or_default(),
                default_scopes: settings.default_scopes,
                can_introspect: settings.introspect,
            };
            let (client, secret) = clients::create_client(&store, &Actor::CommandLine, new).await?;
            println!("client_id: {}", client.client_id);
            if let Some(secret) = secret {
                println!("client_secret: {}", secret.expose());
                println!("(the secret is shown only now; store it safely)");
            }
        }
        ClientCommand::List { format } => {
            let all = store.list_clients().await?;
            if format.json {
                let views: Vec<ClientView> = all.iter().map(ClientView::from).collect();
                return print_json(&views);
            }
            println!(
                "{:<24}  {:<12}  {:<24}  {:<40}  {:<32}  redirect URIs",
                "client_id", "type", "name", "grant types", "scopes"
            );
            for client in &all {
                println!(
                    "{:<24}  {:<12}  {:<24}  {:<40}  {:<32}  {}",
                    client.client_id,
                    kind(client),
                    client.name,
                    client.grant_types.join(","),
                    client.scopes.join(","),
                    client.redirect_uris.join(" ")
                );
            }
        }
        ClientCommand::Show { client_id, format } => {
            let client = store
                .find_client(&client_id)
                .await?
                .ok_or_else(|| Error::NotFound(format!("client {client_id:?}")))?;
            if format.json {
                return print_json(&ClientView::from(&client));
            }
            print_client(&client);
        }
        ClientCommand::Update {
            client_id,
            name,
            settings,
            can_introspect,
        } => {
            if settings.introspect {
                return Err(Error::invalid(
                    "introspect",
                    "use --can-introspect true|false with update",
                ));
            }
            let changes = ClientChanges {
                name,
                redirect_uris: settings.redirect_uris,
                post_logout_redirect_uris: settings.post_logout_redirect_uris,
                grant_types: settings.grant_types,
                scopes: settings.scopes,
                default_scopes: settings.default_scopes,
                can_introspect,
            };
            let client =
                clients::update_client(&store, &Actor::CommandLine, &client_id, changes).await?;
            print_client(&client);
        }
        ClientCommand::RotateSecret { client_id } => {
            let secret = clients::rotate_secret(&store, &Actor::CommandLine, &client_id).await?;
            println!("client_id: {client_id}");
            println!("client_secret: {}", secret.expose());
            println!("(the secret is shown only now; the previous one no longer works)");
        }
        ClientCommand::Remove { client_id } => {
            clients::remove_client(&store, &revocations, &Actor::CommandLine, &client_id).await?;
            println!("removed client {client_id}");
        }
    }
    Ok(())
}

fn kind(client: &ClientDoc) -> &'static str {
    match client.kind {
        ClientKind::Confidential => "confidential",
        ClientKind::Public => "public",
    }
}

fn print_client(client: &ClientDoc) {
    println!("client_id:       {}", client.client_id);
    println!("name:            {}", client.name);
    println!("type:            {}", kind(client));
    println!("grant types:     {}", client.grant_types.join(", "));
    println!("scopes:          {}", client.scopes.join(", "));
    println!("default scopes:  {}", client.default_scopes.join(", "));
    println!("redirect URIs:   {}", client.redirect_uris.join(" "));
    println!(
        "after logout:    {}",
        client.post_logout_redirect_uris.join(" ")
    );
    println!(
        "introspection:   {}",
        if client.can_introspect { "yes" } else { "no" }
    );
}
