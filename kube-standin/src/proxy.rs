//! The kube-proxy stand-in: checks once that the apiserver answers, then idles. No service
//! traffic is proxied (the stand-in runs no containers that would receive it).

use std::time::Duration;

use crate::client::{Kube, backoff, shutdown_signal};
use crate::flags::Flags;

/// Runs the proxy until SIGTERM or SIGINT.
pub async fn run(flags: &Flags) -> anyhow::Result<()> {
    let kubeconfig = flags.required("kubeconfig")?.to_string();
    tokio::select! {
        _ = check(&kubeconfig) => {
            shutdown_signal().await;
            tracing::info!("proxy stopped");
            Ok(())
        }
        _ = shutdown_signal() => {
            tracing::info!("proxy stopped");
            Ok(())
        }
    }
}

async fn check(kubeconfig: &str) {
    let mut delay = Duration::from_secs(1);
    loop {
        match Kube::from_kubeconfig(kubeconfig.as_ref()) {
            Ok(kube) => match kube.healthz().await {
                Ok(true) => {
                    tracing::info!(
                        "the apiserver at {} answers; the Kubernetes stand-in proxies no services",
                        kube.server()
                    );
                    return;
                }
                Ok(false) => tracing::warn!(
                    "{}/healthz is not ok (retrying in {delay:?})",
                    kube.server()
                ),
                Err(e) => tracing::warn!("{e} (retrying in {delay:?})"),
            },
            Err(e) => tracing::warn!("kubeconfig (retrying in {delay:?}): {e}"),
        }
        tokio::time::sleep(delay).await;
        delay = backoff(delay);
    }
}
