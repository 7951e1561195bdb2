//! The small REST client the kubelet, controller manager, scheduler and proxy stand-ins use to
//! talk to the apiserver, with the identity their kubeconfig gives them.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::kubeconfig::{KubeConfig, KubeconfigError};
use crate::tls::{TlsError, client_config};

/// A request to the apiserver that failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The kubeconfig could not be used.
    #[error(transparent)]
    Config(#[from] KubeconfigError),
    /// The TLS settings could not be built.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The apiserver could not be reached or answered garbage.
    #[error("apiserver: {}", crate::etcd::chain(.0))]
    Http(#[from] reqwest::Error),
    /// The apiserver answered with an error status.
    #[error("apiserver answered {code}: {message}")]
    Status {
        /// The HTTP status.
        code: u16,
        /// The Status message, or the body.
        message: String,
    },
}

impl ClientError {
    /// The HTTP status the apiserver answered, if it answered.
    pub fn code(&self) -> Option<u16> {
        match self {
            ClientError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// A connection to one apiserver.
#[derive(Debug, Clone)]
pub struct Kube {
    base: String,
    http: reqwest::Client,
}

impl Kube {
    /// A client from a kubeconfig file.
    pub fn from_kubeconfig(path: &Path) -> Result<Kube, ClientError> {
        Self::new(&KubeConfig::load(path)?)
    }

    /// A client for a parsed kubeconfig.
    pub fn new(kc: &KubeConfig) -> Result<Kube, ClientError> {
        let mut builder = reqwest::Client::builder()
            .http1_only()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30));
        if let Some(ca) = &kc.ca_pem {
            let identity = match (&kc.cert_pem, &kc.key_pem) {
                (Some(c), Some(k)) => Some((c.as_slice(), k.as_slice())),
                _ => None,
            };
            builder = builder.tls_backend_preconfigured(client_config(ca, identity)?);
        }
        Ok(Kube {
            base: kc.server.clone(),
            http: builder.build()?,
        })
    }

    /// The apiserver's URL.
    pub fn server(&self) -> &str {
        &self.base
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, ClientError> {
        let resp = req.send().await?;
        let code = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        let body: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        if code >= 300 {
            let message = body
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| body.to_string());
            return Err(ClientError::Status { code, message });
        }
        Ok(body)
    }

    /// GET `path` as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// GET `path` (a list) and return its items.
    pub async fn list(&self, path: &str) -> Result<Vec<Value>, ClientError> {
        let list = self.get(path).await?;
        Ok(match list.get("items") {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        })
    }

    /// POST a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    /// PATCH with a JSON merge patch.
    pub async fn merge_patch(&self, path: &str, patch: &Value) -> Result<Value, ClientError> {
        let req = self
            .http
            .patch(format!("{}{path}", self.base))
            .header("Content-Type", "application/merge-patch+json")
            .body(patch.to_string());
        self.send(req).await
    }

    /// GET `/healthz`: true when the apiserver says ok.
    pub async fn healthz(&self) -> Result<bool, ClientError> {
        let resp = self
            .http
            .get(format!("{}/healthz", self.base))
            .send()
            .await?;
        Ok(resp.status().is_success())
    }
}

/// Waits for SIGTERM or SIGINT (Ctrl-C), whichever comes first.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(e) => {
            tracing::warn!("cannot watch SIGTERM ({e}); waiting for SIGINT only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Doubles a retry delay up to 30 seconds.
pub fn backoff(delay: Duration) -> Duration {
    (delay * 2).min(Duration::from_secs(30))
}
