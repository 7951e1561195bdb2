//! The Kubernetes API of a cluster, as the conductor uses it beyond health polling: taking the
//! nodes a resize (or a node group delete) removes out of the cluster before Heat deletes their
//! servers — cordoned, their pods evicted, their Node objects deleted — as upstream's
//! `nodes_to_remove` promises. The conductor talks to the API as the cluster's administrator,
//! with the client certificate the cluster CA issued to Magnum, over mutual TLS.

use std::collections::BTreeSet;

use magnum_common::db::models::cluster::Cluster;
use magnum_common::ids::is_uuid_like;
use magnum_common::openstack::cloud::CloudClient;
use serde_json::{Value, json};

use crate::services::{ClusterSession, Services};

/// The RFC 1123 host name a node of server `name` has (what the templates make of it, and the
/// name its kubelet registers).
pub fn node_name(server_name: &str) -> String {
    let lower: String = server_name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63)
        .collect();
    lower.trim_matches('-').to_owned()
}

/// The member index of a server of a node group (`<stack>-<group>-<index>`).
fn member_index(server_name: &str, prefix: &str) -> Option<u64> {
    server_name.strip_prefix(prefix)?.parse().ok()
}

/// The node names of the servers a scale of node group `group` (of stack `stack_name`) to
/// `node_count` removes: the named ones (`nodes_to_remove`: server ids, names or member
/// indices), then the highest member indices, as Heat's resource group picks them.
pub async fn nodes_to_remove(
    svc: &Services,
    session: &ClusterSession,
    stack_name: &str,
    group: &str,
    node_count: i32,
    named: &[String],
) -> Vec<String> {
    let catalog = &session.token.info.catalog;
    let cloud = CloudClient::new(&svc.http, catalog, &session.token.token, &svc.endpoints);
    let prefix = format!("{stack_name}-{group}-");
    let servers = match cloud.servers(&[]).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(stack = stack_name, error = %e, "could not list the servers to drain");
            return Vec::new();
        }
    };
    let mut members: Vec<(u64, String, String)> = servers
        .into_iter()
        .filter_map(|s| member_index(&s.name, &prefix).map(|i| (i, s.id, s.name)))
        .collect();
    members.sort();
    let mut removed = BTreeSet::new();
    for entry in named {
        let found = members.iter().find(|(i, id, name)| {
            id == entry || name == entry || (!is_uuid_like(entry) && i.to_string() == *entry)
        });
        if let Some((_, _, name)) = found {
            removed.insert(name.clone());
        }
    }
    let keep = usize::try_from(node_count.max(0)).unwrap_or(0);
    let mut extra = members
        .len()
        .saturating_sub(keep)
        .saturating_sub(removed.len());
    for (_, _, name) in members.iter().rev() {
        if extra == 0 {
            break;
        }
        if removed.insert(name.clone()) {
            extra -= 1;
        }
    }
    removed.iter().map(|n| node_name(n)).collect()
}

/// The node names of every server of a stack (a node group's, at its delete).
pub async fn stack_nodes(
    svc: &Services,
    session: &ClusterSession,
    stack_name: &str,
) -> Vec<String> {
    crate::swarm::stack_hostnames(svc, session, stack_name)
        .await
        .iter()
        .map(|h| node_name(h))
        .collect()
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<(&str, Value)>,
) -> Result<Value, String> {
    let mut req = http.request(method.clone(), &url);
    if let Some((content_type, b)) = body {
        req = req.header("Content-Type", content_type).body(b.to_string());
    }
    let r = req.send().await.map_err(|e| e.to_string())?;
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    if status.is_success() || status.as_u16() == 404 {
        Ok(v)
    } else {
        Err(format!("{method} {url}: {status} {}", v["message"]))
    }
}

/// Takes the nodes `names` out of the cluster before their servers go: each is cordoned, its
/// pods are evicted, and its Node object deleted. Best effort: what fails is logged and the
/// resize goes on (a dead node must still be removable).
pub async fn remove_nodes(svc: &Services, c: &Cluster, names: &[String]) {
    if names.is_empty() {
        return;
    }
    let Some(api) = c.api_address.clone().filter(|a| !a.is_empty()) else {
        return;
    };
    let http = match crate::health::client_for(svc, c, &api).await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(cluster = %c.uuid, error = %e, "no client for the cluster's API; nodes are removed without a drain");
            return;
        }
    };
    for name in names {
        let node = format!("{api}/api/v1/nodes/{name}");
        let cordon = json!({"spec": {"unschedulable": true}});
        let steps = async {
            call(
                &http,
                reqwest::Method::PATCH,
                node.clone(),
                Some(("application/merge-patch+json", cordon)),
            )
            .await?;
            let pods = call(
                &http,
                reqwest::Method::GET,
                format!("{api}/api/v1/pods?fieldSelector=spec.nodeName%3D{name}"),
                None,
            )
            .await?;
            for pod in pods["items"].as_array().into_iter().flatten() {
                let (ns, pod_name) = (
                    pod["metadata"]["namespace"].as_str().unwrap_or("default"),
                    pod["metadata"]["name"].as_str().unwrap_or_default(),
                );
                let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction",
                                      "metadata": {"name": pod_name, "namespace": ns}});
                call(
                    &http,
                    reqwest::Method::POST,
                    format!("{api}/api/v1/namespaces/{ns}/pods/{pod_name}/eviction"),
                    Some(("application/json", eviction)),
                )
                .await?;
            }
            call(&http, reqwest::Method::DELETE, node.clone(), None).await?;
            Ok::<usize, String>(pods["items"].as_array().map_or(0, Vec::len))
        };
        match steps.await {
            Ok(evicted) => {
                tracing::info!(cluster = %c.uuid, node = %name, evicted, "drained and removed from the cluster's API")
            }
            Err(e) => {
                tracing::warn!(cluster = %c.uuid, node = %name, error = %e, "the node was not drained")
            }
        }
    }
}

/// Records `key` = `value` in the cluster's kube-system/magnum-cluster ConfigMap, which the
/// nodes' agents read (an upgrade's `kube_tag`, per node group as `kube_tag.<group>`). Best
/// effort: a cluster whose API does not answer is told nothing, and says so in the log.
pub async fn announce(svc: &Services, c: &Cluster, key: &str, value: &str) {
    let Some(api) = c.api_address.clone().filter(|a| !a.is_empty()) else {
        return;
    };
    let url = format!("{api}/api/v1/namespaces/kube-system/configmaps");
    let told = async {
        let http = crate::health::client_for(svc, c, &api).await?;
        let patch = json!({"data": {key: value}});
        let r = call(
            &http,
            reqwest::Method::PATCH,
            format!("{url}/magnum-cluster"),
            Some(("application/merge-patch+json", patch)),
        )
        .await?;
        if r["kind"] == "ConfigMap" {
            return Ok(());
        }
        let map = json!({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "magnum-cluster", "namespace": "kube-system"},
                         "data": {key: value}});
        call(
            &http,
            reqwest::Method::POST,
            url.clone(),
            Some(("application/json", map)),
        )
        .await
        .map(drop)
    };
    match told.await {
        Ok(()) => tracing::info!(cluster = %c.uuid, key, value, "the cluster's nodes told"),
        Err(e) => {
            tracing::warn!(cluster = %c.uuid, key, error = %e, "the cluster's nodes could not be told")
        }
    }
}

/// Keeps the trustee's new password in the cluster's kube-system/magnum-trustee Secret, where
/// the nodes' agents find it after a credential rotation. Best effort, as [`announce`].
pub async fn store_trustee_password(svc: &Services, c: &Cluster, password: &str) {
    use base64::Engine as _;
    let Some(api) = c.api_address.clone().filter(|a| !a.is_empty()) else {
        return;
    };
    let url = format!("{api}/api/v1/namespaces/kube-system/secrets");
    let encoded = base64::engine::general_purpose::STANDARD.encode(password);
    let stored = async {
        let http = crate::health::client_for(svc, c, &api).await?;
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                            "metadata": {"name": "magnum-trustee", "namespace": "kube-system"},
                            "data": {"password": encoded}});
        let r = call(
            &http,
            reqwest::Method::PUT,
            format!("{url}/magnum-trustee"),
            Some(("application/json", secret.clone())),
        )
        .await?;
        if r["kind"] == "Secret" {
            return Ok(());
        }
        call(
            &http,
            reqwest::Method::POST,
            url.clone(),
            Some(("application/json", secret)),
        )
        .await
        .map(drop)
    };
    match stored.await {
        Ok(()) => tracing::info!(cluster = %c.uuid, "the trustee's new password is in the cluster"),
        Err(e) => {
            tracing::warn!(cluster = %c.uuid, error = %e, "the trustee's new password could not be put in the cluster")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_are_rfc1123_labels() {
        assert_eq!(
            node_name("K8s_Bay-x-default-worker-0"),
            "k8s-bay-x-default-worker-0"
        );
        assert_eq!(node_name("-a.b-"), "a-b");
        assert_eq!(node_name(&"x".repeat(80)).len(), 63);
    }

    #[test]
    fn member_indices_come_from_the_group_prefix() {
        assert_eq!(
            member_index("s-default-worker-12", "s-default-worker-"),
            Some(12)
        );
        assert_eq!(member_index("s-master-0", "s-default-worker-"), None);
        assert_eq!(
            member_index("s-default-worker-x", "s-default-worker-"),
            None
        );
    }
}
