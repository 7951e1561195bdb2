//! The kubeconfig files that the bootstrap scripts write for the kubelet, controller manager,
//! scheduler and proxy: which server, which CA, which client certificate. Only what those
//! files use is read (no exec plugins, no tokens).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

use crate::tls::{TlsError, read_file};

/// A kubeconfig that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// Not YAML of a kubeconfig's shape.
    #[error("kubeconfig {path}: {detail}")]
    Parse {
        /// The file.
        path: String,
        /// What was wrong.
        detail: String,
    },
    /// A referenced certificate or key file could not be read.
    #[error(transparent)]
    File(#[from] TlsError),
}

#[derive(Debug, Deserialize)]
struct Raw {
    #[serde(rename = "current-context", default)]
    current_context: Option<String>,
    #[serde(default)]
    clusters: Vec<NamedCluster>,
    #[serde(default)]
    contexts: Vec<NamedContext>,
    #[serde(default)]
    users: Vec<NamedUser>,
}

#[derive(Debug, Deserialize)]
struct NamedCluster {
    name: String,
    cluster: Cluster,
}

#[derive(Debug, Deserialize)]
struct Cluster {
    server: String,
    #[serde(rename = "certificate-authority")]
    ca_file: Option<String>,
    #[serde(rename = "certificate-authority-data")]
    ca_data: Option<String>,
}

#[derive(Debug, Deserialize)]
struct NamedContext {
    name: String,
    context: Context,
}

#[derive(Debug, Deserialize)]
struct Context {
    cluster: String,
    #[serde(default)]
    user: String,
}

#[derive(Debug, Deserialize)]
struct NamedUser {
    name: String,
    #[serde(default)]
    user: User,
}

#[derive(Debug, Default, Deserialize)]
struct User {
    #[serde(rename = "client-certificate")]
    cert_file: Option<String>,
    #[serde(rename = "client-certificate-data")]
    cert_data: Option<String>,
    #[serde(rename = "client-key")]
    key_file: Option<String>,
    #[serde(rename = "client-key-data")]
    key_data: Option<String>,
}

/// What a component needs to reach the apiserver.
#[derive(Debug, Clone)]
pub struct KubeConfig {
    /// The apiserver's URL, e.g. `https://10.0.0.5:6443`.
    pub server: String,
    /// The CA that signed the apiserver's certificate (PEM), if given.
    pub ca_pem: Option<Vec<u8>>,
    /// The client certificate (PEM), if given.
    pub cert_pem: Option<Vec<u8>>,
    /// The client key (PEM), if given.
    pub key_pem: Option<Vec<u8>>,
}

impl KubeConfig {
    /// Reads a kubeconfig file; relative file names in it are relative to its folder.
    pub fn load(path: &Path) -> Result<KubeConfig, KubeconfigError> {
        let text = read_file(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(
            &String::from_utf8_lossy(&text),
            base,
            &path.display().to_string(),
        )
    }

    /// Parses kubeconfig YAML: the current context (or else the first one) picks the cluster
    /// and user.
    pub fn parse(text: &str, base: &Path, path: &str) -> Result<KubeConfig, KubeconfigError> {
        let err = |detail: String| KubeconfigError::Parse {
            path: path.to_string(),
            detail,
        };
        let raw: Raw = yaml_serde::from_str(text).map_err(|e| err(e.to_string()))?;
        let context = raw
            .current_context
            .as_deref()
            .filter(|c| !c.is_empty())
            .and_then(|c| raw.contexts.iter().find(|x| x.name == c))
            .or_else(|| raw.contexts.first());
        let cluster = match context {
            Some(ctx) => raw.clusters.iter().find(|c| c.name == ctx.context.cluster),
            None => raw.clusters.first(),
        }
        .ok_or_else(|| err("no cluster for the current context".into()))?;
        let user = match context {
            Some(ctx) => raw.users.iter().find(|u| u.name == ctx.context.user),
            None => raw.users.first(),
        };
        let data = |inline: &Option<String>, file: &Option<String>, what: &str| {
            if let Some(d) = inline {
                return base64::engine::general_purpose::STANDARD
                    .decode(d.trim())
                    .map(Some)
                    .map_err(|e| err(format!("{what}: {e}")));
            }
            match file {
                Some(f) => Ok(Some(read_file(&resolve(base, f))?)),
                None => Ok(None),
            }
        };
        let (cert_pem, key_pem) = match user {
            Some(u) => (
                data(
                    &u.user.cert_data,
                    &u.user.cert_file,
                    "client-certificate-data",
                )?,
                data(&u.user.key_data, &u.user.key_file, "client-key-data")?,
            ),
            None => (None, None),
        };
        Ok(KubeConfig {
            server: cluster.cluster.server.trim_end_matches('/').to_string(),
            ca_pem: data(
                &cluster.cluster.ca_data,
                &cluster.cluster.ca_file,
                "certificate-authority-data",
            )?,
            cert_pem,
            key_pem,
        })
    }
}

fn resolve(base: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const CONFIG: &str = r#"
apiVersion: v1
kind: Config
clusters:
- name: other
  cluster:
    server: https://other:6443
- name: kubernetes
  cluster:
    server: https://10.0.0.5:6443/
    certificate-authority-data: Y2EtcGVt
contexts:
- name: first
  context: {cluster: other, user: nobody}
- name: default
  context:
    cluster: kubernetes
    user: kubelet
current-context: default
users:
- name: kubelet
  user:
    client-certificate: certs/kubelet.crt
    client-key-data: a2V5LXBlbQ==
"#;

    #[test]
    fn current_context_picks_cluster_and_user() {
        let dir = std::env::temp_dir().join(format!("kcfg-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("certs")).unwrap();
        std::fs::write(dir.join("certs/kubelet.crt"), b"cert-pem").unwrap();
        let kc = KubeConfig::parse(CONFIG, &dir, "test").unwrap();
        assert_eq!(kc.server, "https://10.0.0.5:6443");
        assert_eq!(kc.ca_pem.as_deref(), Some(&b"ca-pem"[..]));
        assert_eq!(kc.cert_pem.as_deref(), Some(&b"cert-pem"[..]));
        assert_eq!(kc.key_pem.as_deref(), Some(&b"key-pem"[..]));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn first_context_without_current_and_errors() {
        let text = CONFIG.replace("current-context: default", "");
        let kc = KubeConfig::parse(&text, Path::new("/nonexistent"), "t").unwrap();
        assert_eq!(kc.server, "https://other:6443");
        assert!(kc.cert_pem.is_none() && kc.ca_pem.is_none());
        assert!(KubeConfig::parse("clusters: 3", Path::new("."), "t").is_err());
        assert!(KubeConfig::parse("clusters: []", Path::new("."), "t").is_err());
        let missing = CONFIG.replace("client-key-data: a2V5LXBlbQ==", "");
        assert!(KubeConfig::parse(&missing, Path::new("/nonexistent"), "t").is_err());
    }
}
