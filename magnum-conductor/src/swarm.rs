//! The Docker API of a Swarm cluster, as the conductor uses it: the health of the swarm, and
//! taking the nodes a resize removes out of it (drained, then gone) before Heat deletes their
//! servers. The conductor talks to the cluster as its administrator, with the client
//! certificate the cluster CA issued to Magnum, over mutual TLS (plain HTTP when the cluster
//! template disables TLS).

use std::time::Duration;

use magnum_common::db::models::cluster::Cluster;
use magnum_common::ids::is_uuid_like;
use magnum_common::openstack::cloud::CloudClient;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::services::Services;

/// How long a drained node may keep running tasks before it leaves anyway.
const DRAIN_WAIT: Duration = Duration::from_secs(60);

/// One node as the swarm's managers see it.
#[derive(Debug, Clone)]
pub struct SwarmNode {
    /// Swarm's node id.
    pub id: String,
    /// Version of its spec (updates must name it).
    pub version: u64,
    /// The node's host name.
    pub hostname: String,
    /// `ready`, `down`, `unknown`, `disconnected`.
    pub state: String,
    /// The address it advertises (its fixed address).
    pub addr: String,
    /// Its spec, as the API gives it (updates send it back).
    pub spec: Value,
    /// `reachable`/`unreachable` for managers.
    pub manager_reachability: Option<String>,
}

#[derive(Deserialize)]
struct RawNode {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "Version", default)]
    version: Value,
    #[serde(rename = "Spec", default)]
    spec: Value,
    #[serde(rename = "Description", default)]
    description: Value,
    #[serde(rename = "Status", default)]
    status: Value,
    #[serde(rename = "ManagerStatus", default)]
    manager_status: Value,
}

/// A client of one Docker endpoint of a cluster.
pub struct SwarmApi {
    http: reqwest::Client,
    base: String,
}

/// `tcp://host:port` (Magnum's api_address of a Swarm cluster) as a URL.
fn base_url(address: &str, tls: bool) -> Option<String> {
    let rest = address
        .strip_prefix("tcp://")
        .or_else(|| address.strip_prefix("https://"))
        .or_else(|| address.strip_prefix("http://"))?;
    let host_port = rest.trim_end_matches('/');
    if host_port.is_empty() {
        return None;
    }
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:2375")
    };
    Some(format!(
        "{}://{host_port}",
        if tls { "https" } else { "http" }
    ))
}

impl SwarmApi {
    /// The cluster's Docker API at `address` (its `api_address`, or `tcp://<node>:2375`).
    pub async fn connect(svc: &Services, c: &Cluster, address: &str) -> Result<Self, String> {
        let tls = !svc_tls_disabled(svc, c).await;
        let base =
            base_url(address, tls).ok_or_else(|| format!("not a Docker address: {address}"))?;
        let http = crate::health::client_for(svc, c, &base).await?;
        Ok(SwarmApi { http, base })
    }

    async fn get(&self, path_and_query: &str) -> Result<Value, String> {
        let path = path_and_query;
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        if !status.is_success() {
            return Err(format!("GET {path}: {status}"));
        }
        r.json().await.map_err(|e| e.to_string())
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(), String> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await.map_err(|e| e.to_string())?;
        if r.status().is_success() {
            Ok(())
        } else {
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            Err(format!("{method} {path}: {status} {}", text.trim()))
        }
    }

    /// Whether the engine answers `GET /_ping` with OK.
    pub async fn ping(&self) -> bool {
        match self.http.get(format!("{}/_ping", self.base)).send().await {
            Ok(r) if r.status().is_success() => r.text().await.is_ok_and(|t| t.trim() == "OK"),
            _ => false,
        }
    }

    /// The swarm's nodes (only a manager answers).
    pub async fn nodes(&self) -> Result<Vec<SwarmNode>, String> {
        let raw: Vec<RawNode> =
            serde_json::from_value(self.get("/nodes").await?).map_err(|e| e.to_string())?;
        Ok(raw
            .into_iter()
            .map(|n| SwarmNode {
                version: n.version["Index"].as_u64().unwrap_or(0),
                hostname: n.description["Hostname"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                state: n.status["State"].as_str().unwrap_or("unknown").to_owned(),
                addr: n.status["Addr"].as_str().unwrap_or_default().to_owned(),
                manager_reachability: n.manager_status["Reachability"].as_str().map(str::to_owned),
                spec: n.spec,
                id: n.id,
            })
            .collect())
    }

    /// Tasks the swarm still wants running on node `id`.
    async fn running_tasks(&self, id: &str) -> Result<usize, String> {
        let filters = json!({"node": [id], "desired-state": ["running"]}).to_string();
        let tasks = self
            .get(&format!("/tasks?filters={}", percent_encode(&filters)))
            .await?;
        Ok(tasks.as_array().map_or(0, |t| {
            t.iter()
                .filter(|t| t["Status"]["State"] == "running")
                .count()
        }))
    }

    /// Sets a node's availability to `drain`: its tasks move to other nodes.
    async fn drain(&self, node: &SwarmNode) -> Result<(), String> {
        let mut spec = node.spec.clone();
        spec["Availability"] = json!("drain");
        let path = format!("/nodes/{}/update?version={}", node.id, node.version);
        self.send(reqwest::Method::POST, &path, Some(&spec)).await
    }

    /// Removes a node from the swarm's list (forcibly: it may not have said goodbye).
    async fn remove_node(&self, id: &str) -> Result<(), String> {
        self.send(
            reqwest::Method::DELETE,
            &format!("/nodes/{id}?force=true"),
            None,
        )
        .await
    }

    /// Tells this engine to leave its swarm.
    async fn leave(&self) -> Result<(), String> {
        self.send(reqwest::Method::POST, "/swarm/leave?force=true", None)
            .await
    }
}

async fn svc_tls_disabled(svc: &Services, c: &Cluster) -> bool {
    let t = c.cluster_template_id;
    svc.db
        .run(move |conn| {
            magnum_common::db::models::cluster_template::get_by_uuid(
                conn,
                &magnum_common::db::models::cluster_template::Visibility::All,
                t,
            )
        })
        .await
        .ok()
        .flatten()
        .is_some_and(|t| t.tls_disabled)
}

/// Percent-encodes a query value (every byte but unreserved characters).
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A host name as Nova makes it from a server name.
pub fn hostname_of(server_name: &str) -> String {
    server_name.to_ascii_lowercase()
}

/// The host names of the nodes a resize removes: `nodes_to_remove` holds Nova server ids (their
/// names are looked up), member indices of the stack's node group (`<stack>-node-<index>`), or
/// server names.
pub async fn hostnames_to_remove(
    svc: &Services,
    session: &crate::services::ClusterSession,
    stack_name: &str,
    to_remove: &[String],
) -> Vec<String> {
    let catalog = &session.token.info.catalog;
    let cloud = CloudClient::new(&svc.http, catalog, &session.token.token, &svc.endpoints);
    let mut out = Vec::new();
    for entry in to_remove {
        let name = if is_uuid_like(entry) {
            match cloud.server(entry).await {
                Ok(Some(s)) => s.name,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(server = %entry, error = %e, "could not look the server up to drain it");
                    continue;
                }
            }
        } else if entry.chars().all(|c| c.is_ascii_digit()) {
            format!("{stack_name}-node-{entry}")
        } else {
            entry.clone()
        };
        out.push(hostname_of(&name));
    }
    out
}

/// The host names of every node of a stack (its servers are named `<stack>-…`).
pub async fn stack_hostnames(
    svc: &Services,
    session: &crate::services::ClusterSession,
    stack_name: &str,
) -> Vec<String> {
    let catalog = &session.token.info.catalog;
    let cloud = CloudClient::new(&svc.http, catalog, &session.token.token, &svc.endpoints);
    let prefix = format!("{stack_name}-");
    match cloud.servers(&[]).await {
        Ok(servers) => servers
            .into_iter()
            .filter(|s| s.name.starts_with(&prefix))
            .map(|s| hostname_of(&s.name))
            .collect(),
        Err(e) => {
            tracing::warn!(stack = stack_name, error = %e, "could not list the stack's servers to drain them");
            Vec::new()
        }
    }
}

/// Takes the nodes named `hostnames` out of the swarm before their servers go: each is drained
/// (its tasks move away, waited for up to a minute), leaves the swarm, and is removed from the
/// managers' list. Best effort: what fails is logged, and the resize goes on (a node that is
/// already dead must still be removable).
pub async fn remove_nodes(svc: &Services, c: &Cluster, hostnames: &[String]) {
    let Some(api_address) = c.api_address.clone().filter(|a| !a.is_empty()) else {
        return;
    };
    let manager = match SwarmApi::connect(svc, c, &api_address).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(cluster = %c.uuid, error = %e, "no client for the swarm; nodes are removed without a drain");
            return;
        }
    };
    let nodes = match manager.nodes().await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(cluster = %c.uuid, error = %e, "the swarm's managers did not list its nodes; nodes are removed without a drain");
            return;
        }
    };
    for wanted in hostnames {
        let Some(node) = nodes
            .iter()
            .find(|n| n.hostname.eq_ignore_ascii_case(wanted))
        else {
            tracing::info!(cluster = %c.uuid, node = %wanted, "not in the swarm: nothing to drain");
            continue;
        };
        if node.manager_reachability.is_some() {
            tracing::warn!(cluster = %c.uuid, node = %wanted, "a manager is not drained away by a resize");
            continue;
        }
        if let Err(e) = manager.drain(node).await {
            tracing::warn!(cluster = %c.uuid, node = %wanted, error = %e, "drain failed");
        }
        let deadline = tokio::time::Instant::now() + DRAIN_WAIT;
        while tokio::time::Instant::now() < deadline {
            match manager.running_tasks(&node.id).await {
                Ok(0) => break,
                Ok(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                Err(e) => {
                    tracing::warn!(cluster = %c.uuid, node = %wanted, error = %e, "could not follow the drain");
                    break;
                }
            }
        }
        if !node.addr.is_empty() {
            match SwarmApi::connect(svc, c, &format!("tcp://{}:2375", node.addr)).await {
                Ok(own) => {
                    if let Err(e) = own.leave().await {
                        tracing::info!(cluster = %c.uuid, node = %wanted, error = %e, "the node did not leave by itself");
                    }
                }
                Err(e) => {
                    tracing::info!(cluster = %c.uuid, node = %wanted, error = %e, "no client for the node itself")
                }
            }
        }
        match manager.remove_node(&node.id).await {
            Ok(()) => {
                tracing::info!(cluster = %c.uuid, node = %wanted, "drained and removed from the swarm")
            }
            Err(e) => {
                tracing::warn!(cluster = %c.uuid, node = %wanted, error = %e, "the managers did not remove the node")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_addresses_become_urls() {
        assert_eq!(
            base_url("tcp://172.24.4.5:2375", true).as_deref(),
            Some("https://172.24.4.5:2375")
        );
        assert_eq!(
            base_url("tcp://10.0.0.3", false).as_deref(),
            Some("http://10.0.0.3:2375")
        );
        assert_eq!(
            base_url("https://h:6443", true).as_deref(),
            Some("https://h:6443")
        );
        assert_eq!(base_url("10.0.0.3:2375", true), None);
        assert_eq!(base_url("tcp://", true), None);
    }

    #[test]
    fn filters_are_percent_encoded() {
        assert_eq!(
            percent_encode(r#"{"node":["a b"]}"#),
            "%7B%22node%22%3A%5B%22a%20b%22%5D%7D"
        );
    }
}
