//! `magnum-conductor`: the Magnum conductor service.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use magnum_common::config::Config;
use magnum_conductor::service::Conductor;

/// The Magnum conductor.
#[derive(Debug, Parser)]
#[command(
    name = "magnum-conductor",
    version,
    about = "The Magnum conductor service"
)]
struct Cli {
    /// Configuration file (repeatable; later files win).
    #[arg(long = "config-file")]
    config_file: Vec<PathBuf>,
    /// Directory of *.conf files read after --config-file, in name order.
    #[arg(long = "config-dir")]
    config_dir: Vec<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config =
        Config::load(&cli.config_file, &cli.config_dir).context("loading configuration")?;
    let level = if config.default.debug {
        "debug"
    } else {
        "info"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("conductor")
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let conductor = Conductor::start(config)
            .await
            .context("starting magnum-conductor")?;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("installing the SIGTERM handler")?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("magnum-conductor stopping");
        conductor.shutdown().await;
        Ok(())
    })
}
