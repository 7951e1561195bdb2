//! The apiserver over plain HTTPS: mutual TLS, health and version, Kubernetes Status errors,
//! storage in etcd, watches.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::harness::{Cluster, VERSION};

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.unwrap();
    let code = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        code,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn health_version_and_mutual_tls() {
    let Some(c) = Cluster::start(false).await else {
        return;
    };
    let admin = c.api_client(Some("admin"));
    for path in ["/healthz", "/livez", "/readyz"] {
        let (code, body) = send(admin.get(format!("{}{path}", c.api_url))).await;
        assert_eq!((code, body), (200, json!("ok")), "{path}");
    }
    let (code, version) = send(admin.get(format!("{}/version", c.api_url))).await;
    assert_eq!(code, 200);
    assert_eq!(version["gitVersion"], VERSION);
    assert_eq!(
        (version["major"].as_str(), version["minor"].as_str()),
        (Some("1"), Some("26"))
    );
    assert_eq!(version["goVersion"], "none (Kubernetes stand-in)");
    // No client certificate: the TLS handshake is refused, even for /healthz.
    let anonymous = c.api_client(None);
    assert!(
        anonymous
            .get(format!("{}/healthz", c.api_url))
            .send()
            .await
            .is_err()
    );
    // A certificate from another CA: refused too.
    let stranger = c.api_client(Some("stranger"));
    assert!(
        stranger
            .get(format!("{}/version", c.api_url))
            .send()
            .await
            .is_err()
    );
    // The kubelet's certificate works (no authorization is enforced).
    let kubelet = c.api_client(Some("kubelet"));
    let (code, _) = send(kubelet.get(format!("{}/api/v1/nodes", c.api_url))).await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn errors_are_kubernetes_status_objects() {
    let Some(c) = Cluster::start(false).await else {
        return;
    };
    let admin = c.api_client(Some("admin"));
    let api = &c.api_url;
    let (code, s) = send(admin.get(format!("{api}/api/v1/namespaces/default/pods/nope"))).await;
    assert_eq!(code, 404);
    assert_eq!(s["kind"], "Status");
    assert_eq!(s["reason"], "NotFound");
    assert_eq!(s["message"], "pods \"nope\" not found");
    assert_eq!(s["details"], json!({"name": "nope", "kind": "pods"}));
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"}, "data": {"a": "b"}});
    let url = format!("{api}/api/v1/namespaces/default/configmaps");
    let (code, created) = send(admin.post(&url).json(&cm)).await;
    assert_eq!(code, 201, "{created}");
    assert!(
        created["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| u.len() == 36)
    );
    let (code, s) = send(admin.post(&url).json(&cm)).await;
    assert_eq!((code, s["reason"].as_str()), (409, Some("AlreadyExists")));
    assert_eq!(s["message"], "configmaps \"c1\" already exists");
    let (code, s) = send(
        admin
            .post(format!("{api}/apis/apps/v1/namespaces/default/deployments"))
            .json(&json!({"metadata": {"name": "d"}, "spec": {"replicas": 1}})),
    )
    .await;
    assert_eq!(code, 201, "{s}");
    let (code, s) = send(
        admin
            .post(format!("{api}/apis/apps/v1/namespaces/default/deployments"))
            .json(&json!({"metadata": {"name": "d"}})),
    )
    .await;
    assert_eq!(
        (code, s["message"].as_str()),
        (409, Some("deployments.apps \"d\" already exists"))
    );
    // A stale resourceVersion.
    let mut stale = created.clone();
    stale["metadata"]["resourceVersion"] = json!("1");
    let (code, s) = send(admin.put(format!("{url}/c1")).json(&stale)).await;
    assert_eq!((code, s["reason"].as_str()), (409, Some("Conflict")));
    // The current one.
    let (code, s) = send(admin.put(format!("{url}/c1")).json(&created)).await;
    assert_eq!(code, 200, "{s}");
    // A missing namespace.
    let (code, s) = send(
        admin
            .post(format!("{api}/api/v1/namespaces/nons/configmaps"))
            .json(&cm),
    )
    .await;
    assert_eq!(
        (code, s["message"].as_str()),
        (404, Some("namespaces \"nons\" not found"))
    );
    // Protobuf is refused; YAML is read.
    let (code, s) = send(
        admin
            .post(&url)
            .header("Content-Type", "application/vnd.kubernetes.protobuf")
            .body("x"),
    )
    .await;
    assert_eq!(
        (code, s["reason"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: gen-\ndata:\n  k: v\n";
    let (code, s) = send(
        admin
            .post(&url)
            .header("Content-Type", "application/yaml")
            .body(yaml),
    )
    .await;
    assert_eq!(code, 201, "{s}");
    assert!(
        s["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("gen-") && n.len() == 9)
    );
    let (code, s) = send(admin.get(format!("{api}/apis/nope/v1/things"))).await;
    assert_eq!((code, s["reason"].as_str()), (404, Some("NotFound")));
}

#[tokio::test]
async fn objects_live_in_etcd_across_restarts() {
    let Some(mut c) = Cluster::start(false).await else {
        return;
    };
    let admin = c.api_client(Some("admin"));
    let url = format!("{}/api/v1/namespaces/default/configmaps", c.api_url);
    let cm = json!({"metadata": {"name": "kept", "labels": {"app": "x"}}, "data": {"a": "b"}});
    let (code, created) = send(admin.post(&url).json(&cm)).await;
    assert_eq!(code, 201);
    // Read the key straight from etcd.
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.encode("/registry/configmaps/default/kept");
    let (code, range) = send(
        c.etcd_client()
            .post(format!("{}/v3/kv/range", c.etcd_url))
            .json(&json!({"key": key})),
    )
    .await;
    assert_eq!(code, 200);
    let kv = &range["kvs"][0];
    assert_eq!(
        kv["mod_revision"].as_str(),
        created["metadata"]["resourceVersion"].as_str()
    );
    let stored: Value =
        serde_json::from_slice(&b64.decode(kv["value"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(stored["data"]["a"], "b");
    assert_eq!(stored["kind"], "ConfigMap");
    // The apiserver keeps nothing itself: after a restart the object is still there.
    assert!(c.stop_api(), "the apiserver exits 0 on SIGTERM");
    c.start_api().await;
    let (code, again) = send(admin.get(format!("{url}/kept"))).await;
    assert_eq!(code, 200);
    assert_eq!(again, created);
    // And the default service got the first cluster IP.
    let (_, svc) = send(admin.get(format!(
        "{}/api/v1/namespaces/default/services/kubernetes",
        c.api_url
    )))
    .await;
    assert_eq!(svc["spec"]["clusterIP"], "10.254.0.1");
    let (_, list) = send(admin.get(format!("{url}?labelSelector=app%3Dx"))).await;
    assert_eq!(list["kind"], "ConfigMapList");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let (_, list) = send(admin.get(format!("{url}?labelSelector=app%21%3Dx"))).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn watches_stream_changes() {
    let Some(c) = Cluster::start(false).await else {
        return;
    };
    let admin = c.api_client(Some("admin"));
    let url = format!("{}/api/v1/namespaces/default/configmaps", c.api_url);
    let (_, list) = send(admin.get(&url)).await;
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let mut watch = admin
        .get(format!(
            "{url}?watch=true&resourceVersion={rv}&timeoutSeconds=20"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(watch.status().as_u16(), 200);
    // The stand-in polls etcd every second: space the changes out so that each is seen.
    let pause = || tokio::time::sleep(Duration::from_millis(1500));
    let (code, _) = send(admin.post(&url).json(&json!({"metadata": {"name": "w"}}))).await;
    assert_eq!(code, 201);
    pause().await;
    let patch = admin
        .patch(format!("{url}/w"))
        .header("Content-Type", "application/merge-patch+json")
        .body(r#"{"data":{"x":"y"}}"#);
    assert_eq!(send(patch).await.0, 200);
    pause().await;
    assert_eq!(send(admin.delete(format!("{url}/w"))).await.0, 200);
    let mut seen = Vec::new();
    let mut buffer = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < 3 && std::time::Instant::now() < deadline {
        if let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(Duration::from_secs(1), watch.chunk()).await
        {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(i) = buffer.find('\n') {
                let line: String = buffer.drain(..=i).collect();
                let event: Value = serde_json::from_str(line.trim()).unwrap();
                seen.push((
                    event["type"].as_str().unwrap_or_default().to_string(),
                    event["object"]["data"].clone(),
                ));
            }
        }
    }
    let kinds: Vec<&str> = seen.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, vec!["ADDED", "MODIFIED", "DELETED"], "{seen:?}");
    assert_eq!(seen[1].1, json!({"x": "y"}));
}
