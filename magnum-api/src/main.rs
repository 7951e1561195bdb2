//! `magnum-api`: the Magnum REST API service.

use std::io::Write;
use std::path::PathBuf;

use actix_web::HttpServer;
use actix_web::web::Data;
use anyhow::Context;
use clap::Parser;
use magnum_api::state::{AppState, num_cpus};
use magnum_common::config::{Config, sample_config};

/// The Magnum API service.
#[derive(Debug, Parser)]
#[command(
    name = "magnum-api",
    version,
    about = "The Magnum container-infra API service"
)]
struct Cli {
    /// Configuration file (repeatable; later files win).
    #[arg(long = "config-file")]
    config_file: Vec<PathBuf>,
    /// Directory of *.conf files read after --config-file, in name order.
    #[arg(long = "config-dir")]
    config_dir: Vec<PathBuf>,
    /// Print a sample magnum.conf with every option and its default, then exit.
    #[arg(long)]
    print_sample_config: bool,
    /// Print the OpenAPI document, then exit.
    #[arg(long)]
    print_openapi: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if cli.print_sample_config {
        std::io::stdout().write_all(sample_config().as_bytes())?;
        return Ok(());
    }
    if cli.print_openapi {
        std::io::stdout().write_all(magnum_api::openapi::document_json().as_bytes())?;
        return Ok(());
    }
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
    magnum_common::tls::init();
    let workers = if config.api.workers == 0 {
        num_cpus()
    } else {
        config.api.workers as usize
    };
    let bind = (config.api.host.clone(), config.api.port);
    let state = AppState::build(
        config,
        &magnum_common::policy::search_dirs(&cli.config_file, &cli.config_dir),
        true,
    )
    .context("starting magnum-api")?;
    tracing::info!(host = %bind.0, port = bind.1, workers, backend = state.db.backend().name(), "magnum-api starting");
    actix_web::rt::System::new().block_on(async move {
        // The bus connection lives on this (the main) runtime, which runs as long
        // as the server does; the workers' handlers share it.
        let mut state = state;
        state.conductor = magnum_api::conductor::ConductorClient::from_config(&state.config);
        let state = Data::new(state);
        HttpServer::new(move || magnum_api::app(state.clone()))
            .workers(workers)
            .backlog(1024)
            .bind(bind)
            .context("binding the API port")?
            .run()
            .await
            .context("running the server")
    })
}
