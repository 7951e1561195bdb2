//! The kubelet, controller manager and scheduler stand-ins with real kubectl: a Ready node,
//! a node going NotReady when its kubelet stops, pods scheduled and marked, cordon and
//! node deletion.

use serde_json::Value;

use crate::harness::{Cluster, VERSION, wait_for};

fn condition(node: &Value, kind: &str) -> (String, String) {
    let c = node["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
        .cloned()
        .unwrap_or_default();
    (
        c["status"].as_str().unwrap_or_default().to_string(),
        c["reason"].as_str().unwrap_or_default().to_string(),
    )
}

fn kubelet_args(c: &Cluster) -> Vec<String> {
    vec![
        format!("--kubeconfig={}", c.kubeconfig("kubelet").display()),
        "--hostname-override=n1".into(),
        "--node-ip=127.0.0.1".into(),
        "--node-labels=node-role.kubernetes.io/worker=,magnum.openstack.org/role=worker".into(),
        "--node-status-update-frequency=1s".into(),
        "--cgroup-driver=systemd".into(),
        "--container-runtime=remote".into(),
    ]
}

async fn ready_row(c: &Cluster) -> String {
    wait_for("node n1 Ready in kubectl get nodes", 30, || async {
        let (_, out, _) = c.kubectl(&["get", "nodes"]).await;
        out.lines()
            .find(|l| l.starts_with("n1 ") && l.contains(" Ready "))
            .map(str::to_string)
    })
    .await
}

#[tokio::test]
async fn kubelet_registers_and_goes_unknown_when_stopped() {
    let Some(mut c) = Cluster::start(true).await else {
        return;
    };
    let args = kubelet_args(&c);
    let kubelet = c.component(
        "kubelet",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let admin_kc = format!("--kubeconfig={}", c.kubeconfig("admin").display());
    let cm = c.component(
        "controller-manager",
        &[
            &admin_kc,
            "--node-monitor-grace-period=3s",
            "--node-monitor-period=1s",
            "--leader-elect=true",
        ],
    );
    c.others.push(cm);
    let row = ready_row(&c).await;
    assert!(row.contains(VERSION) && row.contains("worker"), "{row}");
    let waited = c
        .kubectl_ok(&["wait", "--for=condition=Ready", "node/n1", "--timeout=30s"])
        .await;
    assert!(waited.contains("condition met"), "{waited}");
    let node = c.kubectl_json(&["get", "node", "n1"]).await;
    assert_eq!(
        condition(&node, "Ready"),
        ("True".into(), "KubeletReady".into())
    );
    assert_eq!(node["status"]["nodeInfo"]["kubeletVersion"], VERSION);
    assert_eq!(
        node["status"]["nodeInfo"]["containerRuntimeVersion"],
        "docker://stand-in"
    );
    assert_eq!(node["metadata"]["labels"]["kubernetes.io/hostname"], "n1");
    assert_eq!(node["status"]["addresses"][0]["address"], "127.0.0.1");
    assert!(
        node["status"]["capacity"]["memory"]
            .as_str()
            .is_some_and(|m| m.ends_with("Ki"))
    );
    // A heartbeat a second; the node stays Ready well past the grace period.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let node = c.kubectl_json(&["get", "node", "n1"]).await;
    assert_eq!(condition(&node, "Ready").0, "True");
    let lease = c
        .kubectl_json(&["-n", "kube-node-lease", "get", "lease", "n1"])
        .await;
    assert_eq!(lease["spec"]["holderIdentity"], "n1");

    assert!(kubelet.terminate(), "the kubelet exits 0 on SIGTERM");
    let node = wait_for("node n1 Unknown", 30, || async {
        let node = c.kubectl_json(&["get", "node", "n1"]).await;
        (condition(&node, "Ready").0 == "Unknown").then_some(node)
    })
    .await;
    assert_eq!(condition(&node, "Ready").1, "NodeStatusUnknown");
    assert_eq!(condition(&node, "MemoryPressure").0, "Unknown");
    let table = c.kubectl_ok(&["get", "nodes"]).await;
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("n1 ") && l.contains("NotReady")),
        "{table}"
    );
    // Back again after a restart.
    let kubelet = c.component(
        "kubelet",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    c.others.push(kubelet);
    ready_row(&c).await;
    c.stop_api();
}

#[tokio::test]
async fn pods_are_scheduled_marked_and_nodes_cordoned() {
    let Some(mut c) = Cluster::start(true).await else {
        return;
    };
    let args = kubelet_args(&c);
    c.others.push(c.component(
        "kubelet",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    let admin_kc = format!("--kubeconfig={}", c.kubeconfig("admin").display());
    c.others
        .push(c.component("scheduler", &[&admin_kc, "--leader-elect=false"]));
    ready_row(&c).await;
    assert!(
        c.kubectl_ok(&["run", "p1", "--image=nginx:1.25"])
            .await
            .contains("pod/p1 created")
    );
    let pod = wait_for("pod p1 scheduled and marked", 30, || async {
        let pod = c.kubectl_json(&["get", "pod", "p1"]).await;
        (pod["status"]["reason"] == "StandinDoesNotRunContainers").then_some(pod)
    })
    .await;
    assert_eq!(pod["spec"]["nodeName"], "n1");
    assert_eq!(pod["status"]["phase"], "Pending");
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
        "StandinDoesNotRunContainers"
    );
    let table = c.kubectl_ok(&["get", "pods", "-o", "wide"]).await;
    assert!(
        table.lines().any(|l| l.starts_with("p1 ")
            && l.contains("0/1")
            && l.contains("StandinDoesNotRunContainers")
            && l.contains("n1")),
        "{table}"
    );
    let (ok, _, err) = c.kubectl(&["logs", "p1"]).await;
    assert!(
        !ok && err.contains("waiting to start: StandinDoesNotRunContainers"),
        "{err}"
    );

    // Cordoned: shown so, and new pods stay unscheduled.
    assert!(c.kubectl_ok(&["cordon", "n1"]).await.contains("cordoned"));
    let table = c.kubectl_ok(&["get", "nodes"]).await;
    assert!(table.contains("Ready,SchedulingDisabled"), "{table}");
    c.kubectl_ok(&["run", "p2", "--image=busybox"]).await;
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let pod = c.kubectl_json(&["get", "pod", "p2"]).await;
    assert!(pod["spec"]["nodeName"].is_null(), "{pod}");
    c.kubectl_ok(&["uncordon", "n1"]).await;
    wait_for("pod p2 scheduled after uncordon", 30, || async {
        let pod = c.kubectl_json(&["get", "pod", "p2"]).await;
        (pod["spec"]["nodeName"] == "n1").then_some(())
    })
    .await;

    // Drain evicts; then the node is deleted as Magnum deletes drained nodes.
    let out = c
        .kubectl_ok(&[
            "drain",
            "n1",
            "--force",
            "--ignore-daemonsets",
            "--timeout=30s",
        ])
        .await;
    assert!(out.contains("evicted"), "{out}");
    assert!(c.kubectl_ok(&["get", "pods"]).await.is_empty());
    assert!(
        c.kubectl_ok(&["delete", "node", "n1"])
            .await
            .contains("node \"n1\" deleted")
    );
    let (ok, _, err) = c.kubectl(&["get", "node", "n1"]).await;
    assert!(!ok && err.contains("nodes \"n1\" not found"), "{err}");
    // The kubelet does not bring it back until restarted.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let (ok, _, _) = c.kubectl(&["get", "node", "n1"]).await;
    assert!(!ok);
}
