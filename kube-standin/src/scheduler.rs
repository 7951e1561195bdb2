//! The kube-scheduler stand-in: every 2 seconds, binds each unscheduled pod to a Ready,
//! schedulable node that its nodeSelector and tolerations allow, round robin.

use std::time::Duration;

use serde_json::{Value, json};

use crate::client::{Kube, backoff, shutdown_signal};
use crate::flags::Flags;

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Whether a node takes new pods: Ready and not cordoned.
pub fn schedulable(node: &Value) -> bool {
    let ready = node
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| s(c, "/type") == "Ready" && s(c, "/status") == "True")
        });
    ready && node.pointer("/spec/unschedulable").and_then(Value::as_bool) != Some(true)
}

fn tolerates(pod: &Value, taint: &Value) -> bool {
    let tolerations = pod.pointer("/spec/tolerations").and_then(Value::as_array);
    tolerations.is_some_and(|ts| {
        ts.iter().any(|t| {
            let key_ok = s(t, "/key").is_empty() || s(t, "/key") == s(taint, "/key");
            let value_ok = s(t, "/operator") == "Exists" || s(t, "/value") == s(taint, "/value");
            let effect_ok = s(t, "/effect").is_empty() || s(t, "/effect") == s(taint, "/effect");
            key_ok && value_ok && effect_ok
        })
    })
}

/// Whether `pod` may go to `node`: its nodeSelector matches and it tolerates the node's
/// NoSchedule and NoExecute taints.
pub fn fits(pod: &Value, node: &Value) -> bool {
    let selector_ok = pod
        .pointer("/spec/nodeSelector")
        .and_then(Value::as_object)
        .is_none_or(|sel| {
            sel.iter()
                .all(|(k, v)| node.pointer("/metadata/labels").and_then(|l| l.get(k)) == Some(v))
        });
    let taints_ok = node
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .is_none_or(|ts| {
            ts.iter()
                .filter(|t| matches!(s(t, "/effect"), "NoSchedule" | "NoExecute"))
                .all(|t| tolerates(pod, t))
        });
    selector_ok && taints_ok
}

/// Runs the scheduler until SIGTERM or SIGINT.
pub async fn run(flags: &Flags) -> anyhow::Result<()> {
    let kubeconfig = flags.required("kubeconfig")?.to_string();
    tokio::select! {
        r = work(&kubeconfig) => r,
        _ = shutdown_signal() => {
            tracing::info!("scheduler stopped");
            Ok(())
        }
    }
}

async fn work(kubeconfig: &str) -> anyhow::Result<()> {
    let mut delay = Duration::from_secs(1);
    let kube = loop {
        match Kube::from_kubeconfig(kubeconfig.as_ref()) {
            Ok(k) => break k,
            Err(e) => tracing::warn!("kubeconfig (retrying in {delay:?}): {e}"),
        }
        tokio::time::sleep(delay).await;
        delay = backoff(delay);
    };
    tracing::info!("scheduling pods on {}", kube.server());
    let mut next = 0usize;
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        if let Err(e) = schedule(&kube, &mut next).await {
            tracing::warn!("scheduling: {e}");
        }
    }
}

async fn schedule(kube: &Kube, next: &mut usize) -> Result<(), crate::client::ClientError> {
    let pods = kube
        .list("/api/v1/pods?fieldSelector=spec.nodeName%3D")
        .await?;
    let pending: Vec<&Value> = pods
        .iter()
        .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
        .filter(|p| matches!(s(p, "/spec/schedulerName"), "" | "default-scheduler"))
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    let mut nodes: Vec<Value> = kube
        .list("/api/v1/nodes")
        .await?
        .into_iter()
        .filter(schedulable)
        .collect();
    nodes.sort_by(|a, b| s(a, "/metadata/name").cmp(s(b, "/metadata/name")));
    for pod in pending {
        let (ns, name) = (s(pod, "/metadata/namespace"), s(pod, "/metadata/name"));
        let candidates: Vec<&Value> = nodes.iter().filter(|n| fits(pod, n)).collect();
        if candidates.is_empty() {
            tracing::debug!("pod {ns}/{name}: no Ready node fits");
            continue;
        }
        let node = s(candidates[*next % candidates.len()], "/metadata/name");
        *next = next.wrapping_add(1);
        let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                             "target": {"apiVersion": "v1", "kind": "Node", "name": node}});
        match kube
            .post(
                &format!("/api/v1/namespaces/{ns}/pods/{name}/binding"),
                &binding,
            )
            .await
        {
            Ok(_) => tracing::info!("pod {ns}/{name} bound to node {node}"),
            Err(e) => tracing::warn!("binding pod {ns}/{name}: {e}"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_choice() {
        let ready = json!({"metadata": {"name": "n1", "labels": {"role": "worker"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let mut cordoned = ready.clone();
        cordoned["spec"] = json!({"unschedulable": true});
        let unknown = json!({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        assert!(schedulable(&ready) && !schedulable(&cordoned) && !schedulable(&unknown));
        let pod = json!({"spec": {"nodeSelector": {"role": "worker"}}});
        assert!(fits(&pod, &ready));
        assert!(!fits(
            &json!({"spec": {"nodeSelector": {"role": "master"}}}),
            &ready
        ));
        let mut tainted = ready.clone();
        tainted["spec"] =
            json!({"taints": [{"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}]});
        assert!(!fits(&pod, &tainted));
        let tolerant = json!({"spec": {"tolerations": [{"key": "node-role.kubernetes.io/master", "operator": "Exists"}]}});
        assert!(fits(&tolerant, &tainted));
        let soft = json!({"spec": {"taints": [{"key": "x", "effect": "PreferNoSchedule"}]}, "metadata": {}});
        assert!(fits(&json!({}), &soft));
    }
}
