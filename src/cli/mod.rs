//! The `portcullis` command line: `serve`, and the `user`, `client` and `keys` management
//! commands. Each command prints one line `error: ...` and exits non-zero on failure.

mod clients;
mod dev;
mod keys;
mod output;
mod serve;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat};
use crate::error::{DatabaseError, Error, Result};
use crate::store::Store;

/// What `--help` says about the environment.
const ENVIRONMENT_HELP: &str = "\
Environment:
  MONGODB_URI        The database (default mongodb://127.0.0.1:27017).
  PORTCULLIS_CONFIG  The configuration file, as --config.
  PORTCULLIS_<KEY>   Any configuration key, e.g. PORTCULLIS_PORT=8080; nested keys with __, e.g.
                     PORTCULLIS_RATE_LIMITS__LOGIN_PER_MINUTE=100 (docs/configuration.md).

In a development checkout, ./scripts/portcullis runs these commands against the database that
./scripts/run.sh started.";

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "An OAuth 2.0 authorization server",
    arg_required_else_help = true,
    after_help = ENVIRONMENT_HELP
)]
struct Cli {
    /// Configuration file (default: $PORTCULLIS_CONFIG, else ./Portcullis.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve(serve::ServeArgs),
    /// Manage user accounts.
    #[command(subcommand, arg_required_else_help = true, after_help = ENVIRONMENT_HELP)]
    User(users::UserCommand),
    /// Manage OAuth clients.
    #[command(subcommand, arg_required_else_help = true, after_help = ENVIRONMENT_HELP)]
    Client(clients::ClientCommand),
    /// Manage the RSA signing keys.
    #[command(subcommand, arg_required_else_help = true, after_help = ENVIRONMENT_HELP)]
    Keys(keys::KeysCommand),
}

/// Runs the command line; the binary's whole `main`.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // A command group without its subcommand: the whole usage, not one line.
            let _ = e.print();
            return ExitCode::from(2);
        }
        Err(e) => {
            // clap's message up to the usage block, on one line.
            let rendered = e.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect();
            eprintln!("{}", message.join(" "));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    init_logging(&config, matches!(cli.command, Command::Serve(_)));
    // Rocket runs on this runtime; its workers carry the name Rocket gives its own, which is
    // how Rocket tells that it is not on a foreign runtime (and does not warn that it is).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("rocket-worker-thread")
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(config, args).await,
            Command::User(command) => users::run(&config, command).await,
            Command::Client(command) => clients::run(&config, command).await,
            Command::Keys(command) => keys::run(&config, command).await,
        }
    })
}

/// Logs go to stderr, as text or JSON lines (`log_format`). Management commands only show warnings, so their stdout stays clean.
fn init_logging(config: &Config, serving: bool) {
    let filter = if serving { config.log.as_str() } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logger = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Text => logger
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => logger.json().flatten_event(true).try_init(),
    };
}

/// Revocations made from the command line: recorded in the database, where every running
/// instance reads them with its next poll (the set here serves no one).
fn revocations(store: &Store, config: &Config) -> crate::revocation::Revocations {
    crate::revocation::Revocations::new(store.clone(), Default::default(), config)
}

/// Connects to the database for a command, with indexes in place so unique names are
/// enforced. A database that does not answer is one line naming where it was looked for.
async fn connect(config: &Config) -> Result<Store> {
    let store = Store::from_config(config).await?;
    store.ensure_indexes().await.map_err(|error| match error {
        Error::Database(why) => Error::Database(DatabaseError::Unreachable {
            hosts: crate::store::hosts_of(config.mongodb_uri.expose()),
            within: seconds(config.database_timeout_ms),
            cause: Box::new(why),
        }),
        other => other,
    })?;
    Ok(store)
}

/// `3 s`, `2.5 s`.
fn seconds(millis: u64) -> String {
    if millis.is_multiple_of(1000) {
        format!("{} s", millis / 1000)
    } else {
        format!("{:.1} s", millis as f64 / 1000.0)
    }
}
