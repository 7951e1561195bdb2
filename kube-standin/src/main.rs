//! magnum-kube-standin: the **Kubernetes stand-in**. No Kubernetes server binaries can be had
//! where Magnum's bays are built, so bays' nodes run this one program instead of
//! kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy and kubelet. It serves
//! the part of the Kubernetes API that Magnum and a bay's users touch (enough for kubectl),
//! over mutual TLS with the cluster's certificates, kept in the bay's real etcd. It runs no
//! containers.

mod apiserver;
mod client;
mod component;
mod controller;
mod etcd;
mod flags;
mod kubeconfig;
mod kubelet;
mod proxy;
mod scheduler;
mod tls;

use std::collections::BTreeSet;
use std::io::Write as _;

use anyhow::Context as _;
use component::Component;
use flags::Flags;

/// The Kubernetes version reported when neither the environment nor a flag names one.
const DEFAULT_VERSION: &str = "v1.27.4";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let env_version = std::env::var("KUBE_STANDIN_VERSION")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let Some((component, rest)) = component::choose(&args) else {
        let version = env_version.unwrap_or_else(|| DEFAULT_VERSION.into());
        let asked = args.iter().any(|a| matches!(a.as_str(), "-h" | "--help"));
        if args.iter().any(|a| a == "--version") {
            writeln!(
                std::io::stdout(),
                "Kubernetes {version} (magnum-kube-standin)"
            )?;
            return Ok(());
        }
        if asked {
            write!(std::io::stdout(), "{}", component::general_help(&version))?;
            return Ok(());
        }
        write!(std::io::stderr(), "{}", component::general_help(&version))?;
        std::process::exit(2);
    };
    let flags = Flags::parse(rest, &component.flag_names());
    let version = env_version
        .or_else(|| flags.get("version-override").map(str::to_string))
        .unwrap_or_else(|| DEFAULT_VERSION.into());
    if flags.help {
        write!(std::io::stdout(), "{}", component.help(&version))?;
        return Ok(());
    }
    if flags.version {
        writeln!(
            std::io::stdout(),
            "Kubernetes {version} (magnum-kube-standin)"
        )?;
        return Ok(());
    }
    init_logging(&flags);
    let mut seen = BTreeSet::new();
    for arg in &flags.ignored {
        let name = arg.split('=').next().unwrap_or(arg);
        if seen.insert(name.to_string()) {
            tracing::info!("{arg}: ignored by the Kubernetes stand-in");
        }
    }
    // Several crates reach rustls; ring is the one provider this program uses.
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing::info!(
        "Kubernetes stand-in {} as {} (reports Kubernetes {version})",
        env!("CARGO_PKG_VERSION"),
        component.program()
    );
    match component {
        Component::ApiServer => {
            actix_web::rt::System::new().block_on(apiserver::run(&flags, version))
        }
        other => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("tokio runtime")?;
            runtime.block_on(async {
                match other {
                    Component::Kubelet => kubelet::run(&flags, &version).await,
                    Component::ControllerManager => controller::run(&flags).await,
                    Component::Scheduler => scheduler::run(&flags).await,
                    _ => proxy::run(&flags).await,
                }
            })
        }
    }
}

/// Logs to stderr; `RUST_LOG` wins, else klog's `--v` (4 or more: debug, which logs every
/// request with its user).
fn init_logging(flags: &Flags) {
    let verbose = flags
        .get("v")
        .and_then(|v| v.parse::<u32>().ok())
        .is_some_and(|v| v >= 4);
    let default = if verbose {
        "info,magnum_kube_standin=debug"
    } else {
        "info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
