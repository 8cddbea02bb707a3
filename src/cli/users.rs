//! `portcullis user ...`: account management. Passwords are read from a prompt, or from
//! standard input when it is not a terminal; never from the command line, where other users
//! of the machine could read them.

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;

use crate::ids::UserId;

use super::output::{print_json, Format};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::password::PasswordHasher;
use crate::services::profile::{change_profile, ProfileChange};
use crate::services::users::NewAccount;
use crate::services::views::{UserDetail, UserView};
use crate::services::{users, Actor};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (password from a prompt or standard input).
    Add {
        #[arg(allow_hyphen_values = true)]
        username: String,
        #[arg(long, default_value = "user")]
        role: String,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Change an account's profile: only the fields given; an empty value clears one.
    SetProfile {
        #[arg(allow_hyphen_values = true)]
        username: String,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// List accounts in id order (roughly creation order), a page at a time.
    List {
        /// Accounts per page (1 to 10000).
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Start after this account id (the last one of the previous page).
        #[arg(long, value_name = "ID")]
        after: Option<String>,
        #[command(flatten)]
        format: Format,
    },
    /// Show one account, and whether it is locked after failed sign-ins.
    Show {
        #[arg(allow_hyphen_values = true)]
        username: String,
        #[command(flatten)]
        format: Format,
    },
    /// Delete an account: its sessions and refresh tokens end, its access tokens are refused.
    Delete {
        #[arg(allow_hyphen_values = true)]
        username: String,
    },
    /// Disable an account and end its refresh tokens.
    Disable {
        #[arg(allow_hyphen_values = true)]
        username: String,
    },
    /// Re-enable a disabled account.
    Enable {
        #[arg(allow_hyphen_values = true)]
        username: String,
    },
    /// Change an account's role.
    SetRole {
        #[arg(allow_hyphen_values = true)]
        username: String,
        #[arg(allow_hyphen_values = true)]
        role: String,
    },
    /// Set a new password (from a prompt or standard input) and end the refresh tokens.
    SetPassword {
        #[arg(allow_hyphen_values = true)]
        username: String,
    },
    /// Lift a lockout after failed sign-ins.
    Unlock {
        #[arg(allow_hyphen_values = true)]
        username: String,
    },
}

/// Profile fields (OpenID Connect standard claims) as options.
#[derive(Debug, Default, clap::Args)]
pub struct ProfileArgs {
    /// Email address (unique, compared case-insensitively).
    #[arg(long)]
    email: Option<String>,
    /// Whether the address is known to be the person's (true or false).
    #[arg(long, value_name = "BOOL")]
    email_verified: Option<bool>,
    /// Full name.
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    given_name: Option<String>,
    #[arg(long)]
    family_name: Option<String>,
    /// Language tag, such as en-US.
    #[arg(long)]
    locale: Option<String>,
    /// Time zone name, such as Europe/Paris.
    #[arg(long)]
    zoneinfo: Option<String>,
}

impl From<ProfileArgs> for ProfileChange {
    fn from(args: ProfileArgs) -> Self {
        // An empty value reaches the check as a text and clears the field there.
        ProfileChange {
            email: args.email.map(Some),
            email_verified: args.email_verified,
            name: args.name.map(Some),
            given_name: args.given_name.map(Some),
            family_name: args.family_name.map(Some),
            locale: args.locale.map(Some),
            zoneinfo: args.zoneinfo.map(Some),
        }
    }
}

pub async fn run(config: &Config, command: UserCommand) -> Result<()> {
    let store = super::connect(config).await?;
    let revocations = super::revocations(&store, config);
    match command {
        UserCommand::Add {
            username,
            role,
            profile,
        } => {
            let profile = ProfileChange::from(profile);
            // Checked before the password is asked for.
            profile.applied_to(&Default::default())?;
            let password = read_password()?;
            let hasher = PasswordHasher::new(config.argon2);
            let account = NewAccount {
                username: &username,
                password: &password,
                role: &role,
                profile: &profile,
            };
            let user =
                users::create_account(&store, &hasher, config, &Actor::CommandLine, &account)
                    .await?;
            println!(
                "created user {} ({}) with role {}",
                user.username, user.id, user.role
            );
        }
        UserCommand::SetProfile { username, profile } => {
            let user = users::find_user(&store, &username)
                .await?
                .ok_or_else(|| Error::NotFound(format!("user {username:?}")))?;
            let change = ProfileChange::from(profile);
            let user = change_profile(&store, &Actor::CommandLine, &user, &change).await?;
            println!("profile changed for {}", user.username);
        }
        UserCommand::List {
            limit,
            after,
            format,
        } => {
            if !(1..=10_000).contains(&limit) {
                return Err(Error::invalid("limit", "must be between 1 and 10000"));
            }
            let after = after
                .map(|id| {
                    UserId::parse(&id)
                        .ok_or_else(|| Error::invalid("after", "is not an account id"))
                })
                .transpose()?;
            let page = store.list_users(after, limit).await?;
            if format.json {
                let views: Vec<UserView> = page.iter().map(UserView::from).collect();
                return print_json(&views);
            }
            println!("{:<24}  {:<32}  {:<12}  status", "id", "username", "role");
            for user in &page {
                let status = if user.disabled { "disabled" } else { "active" };
                println!(
                    "{:<24}  {:<32}  {:<12}  {status}",
                    user.id, user.username, user.role
                );
            }
            if let Some(last) = page.last().filter(|_| page.len() as i64 == limit) {
                eprintln!("(more may follow: --after {})", last.id);
            }
        }
        UserCommand::Show { username, format } => {
            let user = users::find_user(&store, &username)
                .await?
                .ok_or_else(|| Error::NotFound(format!("user {username:?}")))?;
            let detail = UserDetail::new(&user, users::locked_until(&store, &user).await?);
            if format.json {
                return print_json(&detail);
            }
            println!("id:            {}", user.id);
            println!("username:      {}", user.username);
            println!("role:          {}", user.role);
            println!(
                "status:        {}",
                if user.disabled { "disabled" } else { "active" }
            );
            let profile = &user.profile;
            let fields = [
                ("email:", profile.email.as_deref()),
                ("name:", profile.name.as_deref()),
                ("given name:", profile.given_name.as_deref()),
                ("family name:", profile.family_name.as_deref()),
                ("locale:", profile.locale.as_deref()),
                ("zoneinfo:", profile.zoneinfo.as_deref()),
            ];
            for (label, value) in fields {
                if let Some(value) = value {
                    println!("{label:<15}{value}");
                }
            }
            if profile.email.is_some() {
                println!("email verified: {}", profile.email_verified);
            }
            println!("created:       {}", detail.user.created_at);
            println!(
                "locked until:  {}",
                detail.locked_until.as_deref().unwrap_or("not locked")
            );
        }
        UserCommand::Delete { username } => {
            let user = users::find_user(&store, &username)
                .await?
                .ok_or_else(|| Error::NotFound(format!("user {username:?}")))?;
            users::delete_user(&store, &revocations, &Actor::CommandLine, &user).await?;
            println!("deleted {}", user.username);
        }
        UserCommand::Disable { username } => {
            let user =
                users::set_disabled(&store, &revocations, &Actor::CommandLine, &username, true)
                    .await?;
            println!("disabled {}", user.username);
        }
        UserCommand::Enable { username } => {
            let user =
                users::set_disabled(&store, &revocations, &Actor::CommandLine, &username, false)
                    .await?;
            println!("enabled {}", user.username);
        }
        UserCommand::SetRole { username, role } => {
            let user = users::set_role(
                &store,
                config,
                &revocations,
                &Actor::CommandLine,
                &username,
                &role,
            )
            .await?;
            println!("{} now has role {}", user.username, user.role);
        }
        UserCommand::Unlock { username } => {
            if users::unlock(&store, &Actor::CommandLine, &username).await? {
                println!("unlocked {username}");
            } else {
                println!("{username} was not locked");
            }
        }
        UserCommand::SetPassword { username } => {
            let password = read_password()?;
            let hasher = PasswordHasher::new(config.argon2);
            let user = users::set_password(
                &store,
                &hasher,
                &revocations,
                &Actor::CommandLine,
                &username,
                &password,
            )
            .await?;
            println!("password changed for {}", user.username);
        }
    }
    Ok(())
}

fn read_password() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password("Password: ")
            .map_err(|e| Error::invalid("password", format!("cannot read: {e}")))?;
        let second = rpassword::prompt_password("Repeat password: ")
            .map_err(|e| Error::invalid("password", format!("cannot read: {e}")))?;
        if first != second {
            return Err(Error::invalid("password", "the two entries differ"));
        }
        return Ok(first);
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::invalid("password", format!("cannot read standard input: {e}")))?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(Error::invalid("password", "none given on standard input"));
    }
    Ok(password.to_owned())
}
