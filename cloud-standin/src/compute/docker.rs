//! A small client of the Docker Engine API (v1.41, Debian's docker.io 20.10) over its unix
//! socket: just the calls the local cloud makes. One HTTP/1.1 connection per call keeps it
//! simple; the engine is local and the calls are few.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// API version prefix: the oldest engine we support (Debian 12's 20.10) speaks 1.41.
const API: &str = "/v1.41";
/// Upper bound of one call (a container stop waits for its own timeout first).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a Docker call failed.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The engine could not be reached.
    #[error("the Docker Engine at {0} is not reachable: {1}")]
    Unreachable(String, String),
    /// The engine answered with an error status.
    #[error("Docker Engine: {message} (HTTP {status})")]
    Status {
        /// HTTP status.
        status: u16,
        /// The engine's `message`.
        message: String,
    },
    /// The engine's answer was not what the API describes.
    #[error("Docker Engine: unexpected answer: {0}")]
    Protocol(String),
}

impl DockerError {
    /// The engine said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, DockerError::Status { status: 404, .. })
    }
}

/// The Docker Engine of the local cloud.
#[derive(Debug, Clone)]
pub struct Docker {
    socket: PathBuf,
}

/// A query string from pairs (values percent-encoded).
fn query(pairs: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

impl Docker {
    /// A client for `unix:///path` (or a plain path).
    pub fn new(host: &str) -> Result<Self, String> {
        let path = host.strip_prefix("unix://").unwrap_or(host);
        if !path.starts_with('/') {
            return Err(format!(
                "DOCKER_HOST must be a unix socket (unix:///path), got {host}"
            ));
        }
        Ok(Docker {
            socket: PathBuf::from(path),
        })
    }

    /// One request; returns the status and the whole body.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Bytes), DockerError> {
        let unreachable = |e: &dyn std::fmt::Display| {
            DockerError::Unreachable(self.socket.display().to_string(), e.to_string())
        };
        let fut = async {
            let stream = tokio::net::UnixStream::connect(&self.socket)
                .await
                .map_err(|e| unreachable(&e))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| unreachable(&e))?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "docker connection ended");
                }
            });
            let data = match body {
                Some(v) => Bytes::from(
                    serde_json::to_vec(v).map_err(|e| DockerError::Protocol(e.to_string()))?,
                ),
                None => Bytes::new(),
            };
            let req = Request::builder()
                .method(method)
                .uri(format!("{API}{path}"))
                .header("host", "docker")
                .header("content-type", "application/json")
                .body(Full::new(data))
                .map_err(|e| DockerError::Protocol(e.to_string()))?;
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| unreachable(&e))?;
            let status = resp.status();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| unreachable(&e))?
                .to_bytes();
            Ok::<_, DockerError>((status, bytes))
        };
        tokio::time::timeout(CALL_TIMEOUT, fut)
            .await
            .map_err(|_| unreachable(&"no answer within two minutes"))?
    }

    /// A call whose success statuses are 2xx and `also_ok`; the body parsed as JSON
    /// (`Value::Null` when empty).
    async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        also_ok: &[u16],
    ) -> Result<Value, DockerError> {
        let (status, bytes) = self.call(method, path, body).await?;
        if !status.is_success() && !also_ok.contains(&status.as_u16()) {
            let message = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_owned());
            return Err(DockerError::Status {
                status: status.as_u16(),
                message,
            });
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| DockerError::Protocol(e.to_string()))
    }

    /// `GET /_ping`.
    pub async fn ping(&self) -> Result<(), DockerError> {
        let (status, body) = self.call(Method::GET, "/_ping", None).await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(DockerError::Status {
                status: status.as_u16(),
                message: String::from_utf8_lossy(&body).into_owned(),
            })
        }
    }

    /// The engine's CPU count (`GET /info`, `NCPU`).
    pub async fn cpus(&self) -> Result<u64, DockerError> {
        let info = self.json(Method::GET, "/info", None, &[]).await?;
        Ok(info["NCPU"].as_u64().unwrap_or(1).max(1))
    }

    /// Whether the engine has the image `reference`.
    pub async fn has_image(&self, reference: &str) -> Result<bool, DockerError> {
        let path = format!("/images/{}/json", urlencode(reference));
        match self.json(Method::GET, &path, None, &[]).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Creates a container; returns its id.
    pub async fn create_container(
        &self,
        name: &str,
        config: &Value,
    ) -> Result<String, DockerError> {
        let v = self
            .json(
                Method::POST,
                &format!("/containers/create?{}", query(&[("name", name)])),
                Some(config),
                &[],
            )
            .await?;
        v["Id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| DockerError::Protocol("container create answered no Id".to_owned()))
    }

    /// Starts a container (already running is fine).
    pub async fn start(&self, id: &str) -> Result<(), DockerError> {
        self.json(
            Method::POST,
            &format!("/containers/{id}/start"),
            None,
            &[304],
        )
        .await
        .map(drop)
    }

    /// Stops a container, killing it after `timeout` seconds (already stopped is fine).
    pub async fn stop(&self, id: &str, timeout: u32) -> Result<(), DockerError> {
        let path = format!("/containers/{id}/stop?t={timeout}");
        self.json(Method::POST, &path, None, &[304]).await.map(drop)
    }

    /// Removes a container and its anonymous volumes (gone already is fine).
    pub async fn remove_container(&self, id: &str) -> Result<(), DockerError> {
        let path = format!("/containers/{id}?force=true&v=true");
        match self.json(Method::DELETE, &path, None, &[]).await {
            Err(e) if e.is_not_found() => Ok(()),
            r => r.map(drop),
        }
    }

    /// `GET /containers/{id}/json`, or `None` when there is no such container.
    pub async fn inspect(&self, id: &str) -> Result<Option<Value>, DockerError> {
        match self
            .json(Method::GET, &format!("/containers/{id}/json"), None, &[])
            .await
        {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The last `tail` lines of a TTY container's output (its console).
    pub async fn logs(&self, id: &str, tail: usize) -> Result<String, DockerError> {
        let path = format!("/containers/{id}/logs?stdout=1&stderr=1&tail={tail}");
        let (status, bytes) = self.call(Method::GET, &path, None).await?;
        if !status.is_success() {
            return Err(DockerError::Status {
                status: status.as_u16(),
                message: String::from_utf8_lossy(&bytes).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Containers carrying `label` (`key` or `key=value`), stopped ones included.
    pub async fn containers_with_label(&self, label: &str) -> Result<Vec<Value>, DockerError> {
        let filters = json!({"label": [label]}).to_string();
        let path = format!(
            "/containers/json?{}",
            query(&[("all", "1"), ("filters", &filters)])
        );
        let v = self.json(Method::GET, &path, None, &[]).await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// Creates a network; returns its id.
    pub async fn create_network(&self, config: &Value) -> Result<String, DockerError> {
        let v = self
            .json(Method::POST, "/networks/create", Some(config), &[])
            .await?;
        v["Id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| DockerError::Protocol("network create answered no Id".to_owned()))
    }

    /// `GET /networks/{id}`, or `None`.
    pub async fn inspect_network(&self, id: &str) -> Result<Option<Value>, DockerError> {
        match self
            .json(Method::GET, &format!("/networks/{id}"), None, &[])
            .await
        {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes a network (gone already is fine).
    pub async fn remove_network(&self, id: &str) -> Result<(), DockerError> {
        match self
            .json(Method::DELETE, &format!("/networks/{id}"), None, &[])
            .await
        {
            Err(e) if e.is_not_found() => Ok(()),
            r => r.map(drop),
        }
    }

    /// Connects a container to a network with a fixed IPv4 address.
    pub async fn connect(
        &self,
        network: &str,
        container: &str,
        ip: &str,
    ) -> Result<(), DockerError> {
        let body =
            json!({"Container": container, "EndpointConfig": {"IPAMConfig": {"IPv4Address": ip}}});
        self.json(
            Method::POST,
            &format!("/networks/{network}/connect"),
            Some(&body),
            &[],
        )
        .await
        .map(drop)
    }

    /// Disconnects a container from a network (not connected, or gone, is fine).
    pub async fn disconnect(&self, network: &str, container: &str) -> Result<(), DockerError> {
        let body = json!({"Container": container, "Force": true});
        match self
            .json(
                Method::POST,
                &format!("/networks/{network}/disconnect"),
                Some(&body),
                &[],
            )
            .await
        {
            Err(e) if e.is_not_found() => Ok(()),
            Err(DockerError::Status {
                status: 403 | 500,
                message,
            }) if message.contains("is not connected") => Ok(()),
            r => r.map(drop),
        }
    }

    /// Creates (or finds) a named local volume; returns its host mount point.
    pub async fn create_volume(&self, name: &str, labels: &Value) -> Result<String, DockerError> {
        let body = json!({"Name": name, "Driver": "local", "Labels": labels});
        let v = self
            .json(Method::POST, "/volumes/create", Some(&body), &[])
            .await?;
        v["Mountpoint"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| DockerError::Protocol("volume create answered no Mountpoint".to_owned()))
    }

    /// Removes a volume (gone already is fine).
    pub async fn remove_volume(&self, name: &str) -> Result<(), DockerError> {
        match self
            .json(
                Method::DELETE,
                &format!("/volumes/{}", urlencode(name)),
                None,
                &[],
            )
            .await
        {
            Err(e) if e.is_not_found() => Ok(()),
            r => r.map(drop),
        }
    }
}

/// Percent-encodes one path segment.
fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
