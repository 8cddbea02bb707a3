//! How management commands print: aligned text for people, or `--json` for scripts (the same
//! views the admin API answers with).

use clap::Args;
use serde::Serialize;

use crate::error::{Error, Result};

/// The `--json` switch of the list and show commands.
#[derive(Debug, Args)]
pub struct Format {
    /// Print JSON (the admin API's shape) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Prints `value` as pretty JSON on standard output.
pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Internal(format!("cannot write JSON: {e}")))?;
    println!("{text}");
    Ok(())
}
