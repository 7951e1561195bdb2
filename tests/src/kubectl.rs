//! A Kubernetes bay seen through what `openstack coe cluster config --use-certificate` writes:
//! Debian's `kubectl` (`KUBECTL_BIN`, unpacked by devstack/lib/kube-tools.sh) with that kubeconfig.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::{Env, unique};

/// A new directory with what `openstack coe cluster config --use-certificate` writes, as
/// `user`, for cluster `uuid` (its kubeconfig is `<dir>/config`).
pub fn config_dir(env: &Env, user: &str, uuid: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(unique("kube-config"));
    std::fs::create_dir_all(&dir)?;
    let dir_arg = dir.to_string_lossy().into_owned();
    env.openstack(
        user,
        &[
            "coe",
            "cluster",
            "config",
            uuid,
            "--dir",
            &dir_arg,
            "--use-certificate",
            "--force",
        ],
    )
    .ok();
    Ok(dir)
}

/// `kubectl` with the kubeconfig the upstream client wrote.
#[derive(Debug, Clone)]
pub struct KubeClient {
    /// The kubeconfig (`<dir>/config`).
    pub config: PathBuf,
}

/// The kubectl to run: `KUBECTL_BIN` (scripts/test.sh sets it), else `kubectl`.
pub fn kubectl_bin() -> String {
    std::env::var("KUBECTL_BIN").unwrap_or_else(|_| "kubectl".to_owned())
}

impl KubeClient {
    /// The client of the kubeconfig in `dir` (`config`, as `cluster config --dir` writes it).
    pub fn from_dir(dir: &Path) -> Result<KubeClient> {
        let config = dir.join("config");
        let text = std::fs::read_to_string(&config)
            .with_context(|| format!("cluster config wrote no {}", config.display()))?;
        if !text.contains("client-certificate") {
            bail!("the kubeconfig names no client certificate:\n{text}");
        }
        Ok(KubeClient { config })
    }

    /// `kubectl ARGS…`; stdout.
    pub fn kubectl(&self, args: &[&str]) -> Result<String> {
        let out = Command::new(kubectl_bin())
            .env("KUBECONFIG", &self.config)
            .args(["--request-timeout=20s"])
            .args(args)
            .output()
            .context("running kubectl")?;
        if !out.status.success() {
            bail!(
                "kubectl {args:?}: {}\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `kubectl ARGS… -o json`, parsed.
    pub fn json(&self, args: &[&str]) -> Result<Value> {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        Ok(serde_json::from_str(&self.kubectl(&all)?)?)
    }

    /// The nodes: (name, Ready condition's status, kubelet version).
    pub fn nodes(&self) -> Result<Vec<(String, String, String)>> {
        let list = self.json(&["get", "nodes"])?;
        Ok(list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| {
                let ready = n["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|c| c["type"] == "Ready")
                    .and_then(|c| c["status"].as_str())
                    .unwrap_or("absent")
                    .to_owned();
                (
                    n["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    ready,
                    n["status"]["nodeInfo"]["kubeletVersion"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect())
    }
}
