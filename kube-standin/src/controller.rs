//! The kube-controller-manager stand-in: the node lifecycle controller's one duty that
//! Magnum sees (a node whose kubelet stopped posting status turns Unknown after the grace
//! period), workloads' status counts, and each namespace's `default` service account. It
//! creates no pods: the stand-in runs no containers.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::client::{Kube, backoff, shutdown_signal};
use crate::flags::Flags;

/// The conditions a node gets when its heartbeat is older than `grace`, or None while fresh
/// (or already Unknown).
pub fn stale_conditions(node: &Value, now: DateTime<Utc>, grace: Duration) -> Option<Value> {
    let conditions = node
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ready = conditions
        .iter()
        .find(|c| c.get("type") == Some(&json!("Ready")));
    if ready.is_some_and(|r| r.get("status") == Some(&json!("Unknown"))) {
        return None;
    }
    let heartbeat = ready
        .and_then(|r| r.get("lastHeartbeatTime"))
        .or_else(|| node.pointer("/metadata/creationTimestamp"))
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())?
        .with_timezone(&Utc);
    let age = (now - heartbeat).to_std().unwrap_or_default();
    if age <= grace {
        return None;
    }
    let stamp = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if ready.is_none() {
        return Some(
            json!([{"type": "Ready", "status": "Unknown", "reason": "NodeStatusNeverUpdated",
            "message": "Kubelet never posted node status.", "lastHeartbeatTime": heartbeat.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "lastTransitionTime": stamp}]),
        );
    }
    Some(Value::Array(
        conditions
            .into_iter()
            .map(|mut c| {
                c["status"] = json!("Unknown");
                c["reason"] = json!("NodeStatusUnknown");
                c["message"] = json!("Kubelet stopped posting node status.");
                c["lastTransitionTime"] = json!(stamp);
                c
            })
            .collect(),
    ))
}

/// The status fields a workload should show (no pod ever runs), or None when it does.
pub fn workload_fix(kind: &str, obj: &Value) -> Option<Value> {
    let replicas = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let generation = obj
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let mut want = json!({"replicas": replicas, "observedGeneration": generation});
    if kind == "deployments" {
        want["updatedReplicas"] = json!(replicas);
        want["unavailableReplicas"] = json!(replicas);
    }
    let status = obj.get("status").cloned().unwrap_or(json!({}));
    let differs = want
        .as_object()
        .is_some_and(|w| w.iter().any(|(k, v)| status.get(k) != Some(v)));
    differs.then_some(want)
}

/// Runs the controller manager until SIGTERM or SIGINT.
pub async fn run(flags: &Flags) -> anyhow::Result<()> {
    let kubeconfig = flags.required("kubeconfig")?.to_string();
    let grace = flags.duration("node-monitor-grace-period", Duration::from_secs(40))?;
    let period = flags.duration("node-monitor-period", Duration::from_secs(5))?;
    tokio::select! {
        r = work(&kubeconfig, grace, period) => r,
        _ = shutdown_signal() => {
            tracing::info!("controller manager stopped");
            Ok(())
        }
    }
}

async fn work(kubeconfig: &str, grace: Duration, period: Duration) -> anyhow::Result<()> {
    let mut delay = Duration::from_secs(1);
    let kube = loop {
        match Kube::from_kubeconfig(kubeconfig.as_ref()) {
            Ok(k) => break k,
            Err(e) => tracing::warn!("kubeconfig (retrying in {delay:?}): {e}"),
        }
        tokio::time::sleep(delay).await;
        delay = backoff(delay);
    };
    tracing::info!(
        "watching nodes (grace period {grace:?}, every {period:?}) on {}",
        kube.server()
    );
    let mut tick = tokio::time::interval(period.max(Duration::from_millis(200)));
    loop {
        tick.tick().await;
        if let Err(e) = nodes(&kube, grace).await {
            tracing::warn!("node monitor: {e}");
        }
        if let Err(e) = workloads(&kube).await {
            tracing::debug!("workloads: {e}");
        }
        if let Err(e) = service_accounts(&kube).await {
            tracing::debug!("service accounts: {e}");
        }
    }
}

async fn nodes(kube: &Kube, grace: Duration) -> Result<(), crate::client::ClientError> {
    for node in kube.list("/api/v1/nodes").await? {
        let Some(conditions) = stale_conditions(&node, Utc::now(), grace) else {
            continue;
        };
        let name = node
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let patch = json!({"metadata": {"resourceVersion": node.pointer("/metadata/resourceVersion")},
                           "status": {"conditions": conditions}});
        match kube
            .merge_patch(&format!("/api/v1/nodes/{name}/status"), &patch)
            .await
        {
            Ok(_) => tracing::info!(
                "node {name}: Kubelet stopped posting node status; conditions now Unknown"
            ),
            Err(e) if e.code() == Some(409) => tracing::debug!("node {name} changed meanwhile"),
            Err(e) => tracing::warn!("node {name}: {e}"),
        }
    }
    Ok(())
}

async fn workloads(kube: &Kube) -> Result<(), crate::client::ClientError> {
    for (kind, base) in [
        ("deployments", "/apis/apps/v1"),
        ("replicasets", "/apis/apps/v1"),
        ("statefulsets", "/apis/apps/v1"),
        ("replicationcontrollers", "/api/v1"),
    ] {
        for obj in kube.list(&format!("{base}/{kind}")).await? {
            let Some(status) = workload_fix(kind, &obj) else {
                continue;
            };
            let ns = obj
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let path = format!("{base}/namespaces/{ns}/{kind}/{name}/status");
            kube.merge_patch(&path, &json!({"status": status})).await?;
            tracing::debug!("{kind} {ns}/{name}: status updated");
        }
    }
    Ok(())
}

async fn service_accounts(kube: &Kube) -> Result<(), crate::client::ClientError> {
    let accounts = kube.list("/api/v1/serviceaccounts").await?;
    for ns in kube.list("/api/v1/namespaces").await? {
        let ns = ns
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let has = accounts.iter().any(|a| {
            a.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns)
                && a.pointer("/metadata/name").and_then(Value::as_str) == Some("default")
        });
        if !has && !ns.is_empty() {
            let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}});
            match kube
                .post(&format!("/api/v1/namespaces/{ns}/serviceaccounts"), &sa)
                .await
            {
                Ok(_) => tracing::debug!("service account {ns}/default created"),
                Err(e) if e.code() == Some(409) || e.code() == Some(404) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(status: &str, heartbeat: &str) -> Value {
        json!({"metadata": {"name": "n1", "creationTimestamp": "2024-01-01T00:00:00Z"},
               "status": {"conditions": [
                 {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": heartbeat},
                 {"type": "Ready", "status": status, "lastHeartbeatTime": heartbeat}]}})
    }

    #[test]
    fn nodes_go_unknown_after_the_grace_period() {
        let now = DateTime::parse_from_rfc3339("2024-01-01T00:01:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let grace = Duration::from_secs(40);
        assert!(stale_conditions(&node("True", "2024-01-01T00:00:30Z"), now, grace).is_none());
        let stale = stale_conditions(&node("True", "2024-01-01T00:00:10Z"), now, grace).unwrap();
        assert_eq!(stale[1]["status"], "Unknown");
        assert_eq!(stale[1]["reason"], "NodeStatusUnknown");
        assert_eq!(stale[0]["message"], "Kubelet stopped posting node status.");
        assert_eq!(stale[1]["lastHeartbeatTime"], "2024-01-01T00:00:10Z");
        assert!(stale_conditions(&node("Unknown", "2024-01-01T00:00:10Z"), now, grace).is_none());
        let bare = json!({"metadata": {"creationTimestamp": "2024-01-01T00:00:00Z"}});
        assert_eq!(
            stale_conditions(&bare, now, grace).unwrap()[0]["reason"],
            "NodeStatusNeverUpdated"
        );
    }

    #[test]
    fn workload_status() {
        let d = json!({"metadata": {"generation": 2}, "spec": {"replicas": 3}, "status": {"replicas": 1}});
        let fix = workload_fix("deployments", &d).unwrap();
        assert_eq!(
            (fix["replicas"].as_i64(), fix["updatedReplicas"].as_i64()),
            (Some(3), Some(3))
        );
        assert_eq!(fix["observedGeneration"], 2);
        let ok = json!({"metadata": {"generation": 1}, "spec": {"replicas": 2}, "status": {"replicas": 2, "observedGeneration": 1}});
        assert!(workload_fix("replicationcontrollers", &ok).is_none());
    }
}
