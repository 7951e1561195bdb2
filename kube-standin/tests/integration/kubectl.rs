//! Real kubectl (1.20) against the stand-in: apply (create, then the strategic merge patch
//! path), get as Tables and JSON, scale, namespaces, delete, errors.

use crate::harness::Cluster;

const APP: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.24
        ports:
        - containerPort: 80
      - name: sidecar
        image: busybox:1.36
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 80
"#;

#[tokio::test]
async fn get_watch_follows_changes() {
    let Some(c) = Cluster::start(true).await else {
        return;
    };
    let watch = c.spawn_kubectl(&["get", "configmaps", "-w"]);
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(2500));
    pause().await;
    c.kubectl_ok(&["create", "configmap", "cm1", "--from-literal=a=b"])
        .await;
    pause().await;
    c.kubectl_ok(&["label", "configmap", "cm1", "x=y"]).await;
    pause().await;
    c.kubectl_ok(&["delete", "configmap", "cm1"]).await;
    pause().await;
    let out = Cluster::stop_kubectl(watch).await;
    let rows = out.lines().filter(|l| l.starts_with("cm1 ")).count();
    assert_eq!(rows, 3, "added, modified, deleted: {out}");
    // kubectl wait uses a watch too.
    c.kubectl_ok(&["create", "configmap", "cm2"]).await;
    let wait = c.spawn_kubectl(&["wait", "--for=delete", "configmap/cm2", "--timeout=30s"]);
    pause().await;
    c.kubectl_ok(&["delete", "configmap", "cm2", "--wait=false"])
        .await;
    let done =
        tokio::time::timeout(std::time::Duration::from_secs(20), wait.wait_with_output()).await;
    let out = done.expect("kubectl wait returns").unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test]
async fn apply_get_scale_and_delete() {
    let Some(c) = Cluster::start(true).await else {
        return;
    };
    let app = c.file("app.yaml", APP);
    let out = c.kubectl_ok(&["apply", "-f", &app]).await;
    assert!(
        out.contains("deployment.apps/web created") && out.contains("service/web created"),
        "{out}"
    );
    let list = c.kubectl_json(&["get", "deploy,svc"]).await;
    let items = list["items"].as_array().unwrap();
    let deploy = items.iter().find(|i| i["kind"] == "Deployment").unwrap();
    assert_eq!(deploy["spec"]["replicas"], 2);
    assert_eq!(deploy["status"]["replicas"], 2);
    assert_eq!(deploy["metadata"]["generation"], 1);
    let svc = items
        .iter()
        .find(|i| i["kind"] == "Service" && i["metadata"]["name"] == "web")
        .unwrap();
    assert_eq!(svc["spec"]["clusterIP"], "10.254.1.0");
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    // The Table kubectl prints.
    let table = c.kubectl_ok(&["get", "deploy", "web"]).await;
    assert!(
        table.starts_with("NAME") && table.contains("READY") && table.contains("0/2"),
        "{table}"
    );
    let table = c.kubectl_ok(&["get", "svc", "web"]).await;
    assert!(
        table.contains("10.254.1.0") && table.contains("80/TCP"),
        "{table}"
    );

    // Apply a change: kubectl sends a strategic merge patch; the other container and the
    // ports stay.
    let changed = APP
        .replace("nginx:1.24", "nginx:1.25")
        .replace("replicas: 2", "replicas: 1");
    let app = c.file("app.yaml", &changed);
    let out = c.kubectl_ok(&["apply", "-f", &app]).await;
    assert!(out.contains("deployment.apps/web configured"), "{out}");
    let deploy = c.kubectl_json(&["get", "deploy", "web"]).await;
    let containers = &deploy["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["image"], "nginx:1.25");
    assert_eq!(containers[0]["ports"][0]["containerPort"], 80);
    assert_eq!(containers[1]["name"], "sidecar");
    assert_eq!(deploy["spec"]["replicas"], 1);
    assert_eq!(deploy["metadata"]["generation"], 2);
    assert!(
        deploy["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string()
    );

    // Scale (the scale subresource).
    let out = c
        .kubectl_ok(&["scale", "deploy", "web", "--replicas=3"])
        .await;
    assert!(out.contains("scaled"), "{out}");
    let deploy = c.kubectl_json(&["get", "deploy", "web"]).await;
    assert_eq!(
        (
            deploy["spec"]["replicas"].as_i64(),
            deploy["status"]["replicas"].as_i64()
        ),
        (Some(3), Some(3))
    );

    // Nothing runs, so a rollout with replicas never finishes; with none it does.
    let (ok, out, _) = c
        .kubectl(&["rollout", "status", "deploy/web", "--timeout=2s"])
        .await;
    assert!(
        !ok && out.contains("0 of 3 updated replicas are available"),
        "{out}"
    );
    c.kubectl_ok(&["scale", "deploy", "web", "--replicas=0"])
        .await;
    let out = c
        .kubectl_ok(&["rollout", "status", "deploy/web", "--timeout=20s"])
        .await;
    assert!(out.contains("successfully rolled out"), "{out}");

    // Namespaces.
    assert!(
        c.kubectl_ok(&["create", "namespace", "demo"])
            .await
            .contains("namespace/demo created")
    );
    let (ok, _, err) = c.kubectl(&["create", "namespace", "demo"]).await;
    assert!(
        !ok && err.contains("(AlreadyExists)")
            && err.contains("namespaces \"demo\" already exists"),
        "{err}"
    );
    let ns = c.kubectl_ok(&["get", "ns"]).await;
    for name in [
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "demo",
    ] {
        assert!(ns.contains(name), "{ns}");
    }
    c.kubectl_ok(&[
        "-n",
        "demo",
        "create",
        "configmap",
        "c",
        "--from-literal=a=b",
    ])
    .await;
    assert!(
        c.kubectl_ok(&["delete", "namespace", "demo"])
            .await
            .contains("deleted")
    );
    let (ok, _, err) = c.kubectl(&["-n", "demo", "get", "configmap", "c"]).await;
    assert!(!ok && err.contains("NotFound"), "{err}");

    // Delete, then the objects are gone.
    let out = c.kubectl_ok(&["delete", "-f", &app]).await;
    assert!(out.contains("deployment.apps \"web\" deleted"), "{out}");
    let (ok, _, err) = c.kubectl(&["get", "deploy", "web"]).await;
    assert!(
        !ok && err.contains("deployments.apps \"web\" not found"),
        "{err}"
    );
    let (ok, _, err) = c.kubectl(&["get", "pod", "nope"]).await;
    assert!(
        !ok && err.contains("(NotFound): pods \"nope\" not found"),
        "{err}"
    );
    let (ok, _, err) = c.kubectl(&["-n", "nons", "create", "configmap", "x"]).await;
    assert!(
        !ok && err.contains("namespaces \"nons\" not found"),
        "{err}"
    );
    // kubectl's own checks work with the stand-in's discovery.
    assert!(
        c.kubectl_ok(&["auth", "can-i", "create", "pods"])
            .await
            .contains("yes")
    );
    let resources = c.kubectl_ok(&["api-resources"]).await;
    assert!(
        resources.contains("deploy") && resources.contains("clusterrolebindings"),
        "{resources}"
    );
    let version = c.kubectl_ok(&["version"]).await;
    assert!(version.contains("GitVersion:\"v1.26.8\""), "{version}");
}
