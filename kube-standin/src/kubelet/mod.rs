//! The kubelet stand-in: registers the node's Node, posts its status (Ready, with a fresh
//! heartbeat) every `--node-status-update-frequency`, and marks the pods scheduled to it as
//! never to run, since the stand-in runs no containers.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::client::{Kube, backoff, shutdown_signal};
use crate::flags::Flags;

mod objects;

pub use objects::NO_CONTAINERS;
use objects::{
    Machine, NO_CONTAINERS_MESSAGE, conditions, node_object, parse_taints, pod_status_patch,
    read_trim,
};

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn host_name() -> String {
    read_trim("/proc/sys/kernel/hostname").to_lowercase()
}

/// Runs the kubelet until SIGTERM or SIGINT.
pub async fn run(flags: &Flags, version: &str) -> anyhow::Result<()> {
    let kubeconfig = flags.required("kubeconfig")?.to_string();
    let name = flags
        .get("hostname-override")
        .map_or_else(host_name, |n| n.to_lowercase());
    let frequency = flags.duration("node-status-update-frequency", Duration::from_secs(10))?;
    let taints =
        parse_taints(flags.get_or("register-with-taints", "")).map_err(anyhow::Error::msg)?;
    if let Some(cp) = flags.get("cloud-provider") {
        tracing::info!("--cloud-provider={cp}: the Kubernetes stand-in has no cloud integration");
    }
    let machine = Machine::gather(name, flags.get("node-ip").map(str::to_string));
    let node = node_object(
        &machine,
        version,
        &flags.pairs("node-labels"),
        &taints,
        &now(),
    );
    tokio::select! {
        r = work(&kubeconfig, &machine, node, frequency) => r,
        _ = shutdown_signal() => {
            tracing::info!("stopping; the Node's status is left to go stale, as a real kubelet leaves it");
            Ok(())
        }
    }
}

async fn connect(kubeconfig: &str) -> Kube {
    let mut delay = Duration::from_secs(1);
    loop {
        match Kube::from_kubeconfig(Path::new(kubeconfig)) {
            Ok(k) => return k,
            Err(e) => tracing::warn!("kubeconfig (retrying in {delay:?}): {e}"),
        }
        tokio::time::sleep(delay).await;
        delay = backoff(delay);
    }
}

async fn register(kube: &Kube, node: &Value, name: &str) {
    let mut delay = Duration::from_secs(1);
    loop {
        let result = match kube.post("/api/v1/nodes", node).await {
            Err(e) if e.code() == Some(409) => {
                let path = format!("/api/v1/nodes/{name}");
                let labels = json!({"metadata": {"labels": node["metadata"]["labels"]}});
                match kube.merge_patch(&path, &labels).await {
                    Ok(_) => kube
                        .merge_patch(
                            &format!("{path}/status"),
                            &json!({"status": node["status"]}),
                        )
                        .await
                        .map(|_| ()),
                    Err(e) => Err(e),
                }
            }
            other => other.map(|_| ()),
        };
        match result {
            Ok(()) => {
                tracing::info!("registered Node {name} with {}", kube.server());
                return;
            }
            Err(e) => tracing::warn!("registering Node {name} (retrying in {delay:?}): {e}"),
        }
        tokio::time::sleep(delay).await;
        delay = backoff(delay);
    }
}

async fn work(
    kubeconfig: &str,
    m: &Machine,
    node: Value,
    frequency: Duration,
) -> anyhow::Result<()> {
    let kube = connect(kubeconfig).await;
    register(&kube, &node, &m.name).await;
    let since = now();
    let status_path = format!("/api/v1/nodes/{}/status", m.name);
    let pods_path = format!("/api/v1/pods?fieldSelector=spec.nodeName%3D{}", m.name);
    let mut node_gone = false;
    let mut marked: HashSet<String> = HashSet::new();
    let mut tick = tokio::time::interval(frequency);
    loop {
        tick.tick().await;
        if !node_gone {
            let patch = json!({"status": {"conditions": conditions(&now(), &since)}});
            match kube.merge_patch(&status_path, &patch).await {
                Ok(_) => renew_lease(&kube, &m.name, frequency).await,
                Err(e) if e.code() == Some(404) => {
                    node_gone = true;
                    tracing::warn!(
                        "Node {} was deleted; the stand-in's kubelet registers it again only when restarted",
                        m.name
                    );
                }
                Err(e) => tracing::warn!("posting node status: {e}"),
            }
        }
        match kube.list(&pods_path).await {
            Ok(pods) => mark_pods(&kube, &pods, m, &mut marked).await,
            Err(e) => tracing::debug!("listing pods: {e}"),
        }
    }
}

/// Renews (or creates) the Node's Lease in `kube-node-lease`, as kubelets do since 1.17.
async fn renew_lease(kube: &Kube, name: &str, frequency: Duration) {
    let path = format!("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}");
    let renew = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let spec = json!({"holderIdentity": name, "renewTime": renew,
                      "leaseDurationSeconds": (frequency.as_secs() * 4).max(40)});
    let result = match kube.merge_patch(&path, &json!({"spec": spec})).await {
        Err(e) if e.code() == Some(404) => {
            let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                               "metadata": {"name": name}, "spec": spec});
            kube.post(
                "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                &lease,
            )
            .await
        }
        other => other,
    };
    match result {
        Ok(_) => tracing::debug!("node status posted, lease renewed"),
        Err(e) => tracing::debug!("node lease: {e}"),
    }
}

async fn mark_pods(kube: &Kube, pods: &[Value], m: &Machine, marked: &mut HashSet<String>) {
    for pod in pods {
        let uid = pod
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let done = pod.pointer("/status/reason").and_then(Value::as_str) == Some(NO_CONTAINERS);
        if done || marked.contains(&uid) || pod.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        let ns = pod
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default");
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let path = format!("/api/v1/namespaces/{ns}/pods/{name}/status");
        match kube
            .merge_patch(&path, &pod_status_patch(pod, m.ip.as_deref(), &now()))
            .await
        {
            Ok(_) => {
                tracing::info!("pod {ns}/{name}: {NO_CONTAINERS} ({NO_CONTAINERS_MESSAGE})");
                marked.insert(uid);
            }
            Err(e) => tracing::warn!("marking pod {ns}/{name}: {e}"),
        }
    }
}
