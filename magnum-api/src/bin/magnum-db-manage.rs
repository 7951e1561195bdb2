//! `magnum-db-manage upgrade|version`: the database schema.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use magnum_common::config::Config;
use magnum_common::db::{Database, migrations, redact_password};

/// Database schema management.
#[derive(Debug, Parser)]
#[command(name = "magnum-db-manage", version)]
struct Cli {
    /// Configuration file (repeatable; later files win).
    #[arg(long = "config-file")]
    config_file: Vec<PathBuf>,
    /// Directory of *.conf files.
    #[arg(long = "config-dir")]
    config_dir: Vec<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply every pending migration.
    Upgrade,
    /// Print the schema version of the database (and of this build).
    Version,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config =
        Config::load(&cli.config_file, &cli.config_dir).context("loading configuration")?;
    let url = config.database_url();
    let db = Database::connect(
        &url,
        1,
        Duration::from_secs(config.database.connection_timeout),
    )
    .with_context(|| format!("opening {}", redact_password(&url)))?;
    let mut out = std::io::stdout();
    match cli.command {
        Command::Upgrade => {
            let applied = db.migrate()?;
            if applied.is_empty() {
                writeln!(out, "database is up to date")?;
            }
            for v in applied {
                writeln!(out, "applied {v}")?;
            }
        }
        Command::Version => {
            let current = migrations::version(&mut *db.conn()?)?;
            writeln!(
                out,
                "{}",
                current.as_deref().unwrap_or("none (empty database)")
            )?;
            if current != migrations::latest_known() {
                writeln!(
                    out,
                    "latest known: {}",
                    migrations::latest_known().unwrap_or_default()
                )?;
            }
        }
    }
    Ok(())
}
