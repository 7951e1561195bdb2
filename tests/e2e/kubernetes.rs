//! Kubernetes bays on real nodes, both drivers: the bootstrap of heat-templates/kubernetes
//! (etcd over TLS, certificates signed through Magnum, the components from the local registry's
//! images — the project's Kubernetes stand-in, see kube-standin/) to CREATE_COMPLETE; Debian's
//! kubectl through what `openstack coe cluster config` writes (nodes Ready, a Deployment and a
//! Service applied and read back; refused without the client certificate); a scale-up whose
//! node registers; a resize that removes a named node, drained and deleted from the API first;
//! an upgrade the nodes roll to; delete with nothing left; two masters sharing etcd behind the
//! load balancer; and a bootstrap that fails with its reason.

use std::time::Duration;

use magnum_tests::api::{Api, Driver, kube_image_prefix, kube_tags};
use magnum_tests::kubectl::{KubeClient, config_dir};
use magnum_tests::nodes::{Engine, host_of, route};
use magnum_tests::{Env, unique};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(600);

/// Waits until kubectl lists `want` nodes, all Ready; the last listing.
fn wait_ready_nodes(client: &KubeClient, want: usize) -> Vec<(String, String, String)> {
    let t0 = std::time::Instant::now();
    loop {
        let nodes = client.nodes().unwrap_or_default();
        if nodes.len() == want && nodes.iter().all(|(_, ready, _)| ready == "True") {
            return nodes;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "wanted {want} Ready nodes: {nodes:?}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

const MANIFEST: &str = "apiVersion: apps/v1
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
      - name: web
        image: PROBE
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
";

async fn bay_through_kubectl(driver: Driver) {
    let Some(env) = Env::get() else { return };
    let Some(engine) = Engine::get() else { return };
    let api = Api::login(&env, "demo").await.unwrap();
    // created at the second newest version the registry has, upgraded to the newest below
    let tags = kube_tags();
    let (tag, newer_tag) = (tags[tags.len() - 2].clone(), tags[tags.len() - 1].clone());
    let t = api
        .create_template_with(&unique("ct"), driver, json!({"labels": {"kube_tag": tag}}))
        .await
        .unwrap();
    let uuid = api.create_cluster(&unique("k8s"), &t, 1, 2).await.unwrap();
    let c = api
        .wait_status(&uuid, "CREATE_COMPLETE", WAIT)
        .await
        .unwrap();
    let address = c["api_address"].as_str().unwrap().to_owned();
    assert!(
        address.starts_with("https://") && address.ends_with(":6443"),
        "{c}"
    );
    let (local, how) = route(&host_of(&address)).unwrap();
    assert!(local, "{address}: {how}");

    // kubectl with what the upstream client writes
    let dir = config_dir(&env, "demo", &uuid).unwrap();
    let client = KubeClient::from_dir(&dir).unwrap();
    let nodes = wait_ready_nodes(&client, 3);
    assert!(nodes.iter().all(|(_, _, v)| *v == tag), "{nodes:?}");
    assert_eq!(
        nodes
            .iter()
            .filter(|(n, _, _)| n.contains("-master-"))
            .count(),
        1,
        "{nodes:?}"
    );
    let version = client.kubectl(&["version", "-o", "json"]).unwrap();
    assert!(version.contains(&tag), "{version}");

    // without the client certificate the API refuses the connection
    let ca = api
        .get(&format!("/certificates/{uuid}"))
        .await
        .unwrap()
        .expect(200)
        .unwrap();
    let ca = ca["pem"].as_str().unwrap().as_bytes().to_vec();
    let anonymous = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let refused = anonymous
        .get(format!("{address}/api/v1/nodes"))
        .send()
        .await;
    assert!(
        refused
            .as_ref()
            .map_or(true, |r| r.status() == 401 || r.status() == 403),
        "answered without a client certificate: {refused:?}"
    );

    // a Deployment and a Service, applied and read back
    let manifest = dir.join("web.yaml");
    let probe = format!("{}probe:1", kube_image_prefix());
    std::fs::write(&manifest, MANIFEST.replace("PROBE", &probe)).unwrap();
    let applied = client
        .kubectl(&["apply", "-f", manifest.to_str().unwrap()])
        .unwrap();
    assert!(
        applied.contains("deployment.apps/web created") && applied.contains("service/web created"),
        "{applied}"
    );
    let deploy = client.json(&["get", "deployment", "web"]).unwrap();
    assert_eq!(deploy["spec"]["replicas"], 2, "{deploy}");
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        probe.as_str()
    );
    let svc = client.json(&["get", "service", "web"]).unwrap();
    assert!(
        svc["spec"]["clusterIP"]
            .as_str()
            .is_some_and(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok()),
        "{svc}"
    );
    let dns = client
        .json(&["get", "service", "kube-dns", "-n", "kube-system"])
        .unwrap();
    assert!(
        dns["spec"]["clusterIP"].is_string(),
        "CoreDNS deployed: {dns}"
    );

    // scale up: the new node registers
    api.patch(
        &format!("/clusters/{uuid}"),
        json!([{"op": "replace", "path": "/node_count", "value": 3}]),
    )
    .await
    .unwrap()
    .expect(202)
    .unwrap();
    api.wait_status(&uuid, "UPDATE_COMPLETE", WAIT)
        .await
        .unwrap();
    let nodes = wait_ready_nodes(&client, 4);

    // resize to 2 removing a named minion: drained and gone from the API, its server deleted
    let stack_id = c["stack_id"].as_str().or(c["cluster_id"].as_str()).unwrap();
    let minions = api.servers(stack_id, "kube_minion").await.unwrap();
    assert_eq!(minions.len(), 3, "{minions:?}");
    let victim = minions[0].clone();
    let victim_node = engine
        .exec(&victim, &["hostname"])
        .unwrap()
        .trim()
        .to_owned();
    assert!(
        nodes.iter().any(|(n, _, _)| *n == victim_node),
        "{victim_node}: {nodes:?}"
    );
    api.post(
        &format!("/clusters/{uuid}/actions/resize"),
        json!({"node_count": 2, "nodes_to_remove": [victim]}),
    )
    .await
    .unwrap()
    .expect(202)
    .unwrap();
    api.wait_status(&uuid, "UPDATE_COMPLETE", WAIT)
        .await
        .unwrap();
    let nodes = wait_ready_nodes(&client, 3);
    assert!(
        !nodes.iter().any(|(n, _, _)| *n == victim_node),
        "{nodes:?}"
    );
    assert!(
        !api.servers(stack_id, "kube_minion")
            .await
            .unwrap()
            .contains(&victim),
        "the named server is gone"
    );
    let log = std::fs::read_to_string(
        std::path::Path::new(&std::env::var("MAGNUM_DIR").unwrap()).join("conductor.log"),
    )
    .unwrap_or_default();
    assert!(
        log.lines()
            .any(|l| l.contains("drained and removed from the cluster's API")
                && l.contains(&victim_node)),
        "the conductor drained {victim_node} before its server went"
    );

    // upgrade to a template of the newest version: every node rolls its components to it
    let newer = api
        .create_template_with(
            &unique("ct"),
            driver,
            json!({"labels": {"kube_tag": newer_tag}}),
        )
        .await
        .unwrap();
    api.post(
        &format!("/clusters/{uuid}/actions/upgrade"),
        json!({"cluster_template": newer}),
    )
    .await
    .unwrap()
    .expect(202)
    .unwrap();
    api.wait_status(&uuid, "UPDATE_COMPLETE", WAIT)
        .await
        .unwrap();
    let t0 = std::time::Instant::now();
    loop {
        let nodes = client.nodes().unwrap_or_default();
        if nodes.len() == 3 && nodes.iter().all(|(_, r, v)| r == "True" && *v == newer_tag) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(180),
            "not all at {newer_tag}: {nodes:?}"
        );
        std::thread::sleep(Duration::from_secs(3));
    }

    // delete: nothing of the bay is left
    let stack = api
        .heat_get(&format!("/stacks/{stack_id}"))
        .await
        .unwrap()
        .expect(200)
        .unwrap();
    let servers: Vec<String> = api
        .servers_named(stack["stack"]["stack_name"].as_str().unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(servers.len(), 3);
    api.delete_cluster(&uuid, WAIT).await.unwrap();
    assert_eq!(engine.leftovers(&servers).unwrap(), Vec::<String>::new());
    api.delete_template(&t).await.unwrap();
    api.delete_template(&newer).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn coreos_bay_through_kubectl() {
    bay_through_kubectl(Driver::K8sFedoraCoreos).await;
}

#[tokio::test]
async fn atomic_bay_through_kubectl() {
    bay_through_kubectl(Driver::K8sFedoraAtomic).await;
}

/// A bootstrap that cannot finish (no images of that Kubernetes version in the registry):
/// CREATE_FAILED, with the failing step and the node's last lines in the status reason.
#[tokio::test]
async fn failing_bootstrap_gives_the_nodes_reason() {
    let Some(env) = Env::get() else { return };
    let api = Api::login(&env, "demo").await.unwrap();
    let t = api
        .create_template_with(
            &unique("ct"),
            Driver::K8sFedoraAtomic,
            json!({"labels": {"kube_tag": "v0.0.404"}, "docker_volume_size": null}),
        )
        .await
        .unwrap();
    let uuid = api.create_cluster(&unique("k8s"), &t, 1, 1).await.unwrap();
    let err = api
        .wait_status(&uuid, "CREATE_COMPLETE", WAIT)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("CREATE_FAILED"), "{err}");
    assert!(err.contains("pulling") && err.contains("v0.0.404"), "{err}");
    api.delete_cluster(&uuid, WAIT).await.unwrap();
    api.delete_template(&t).await.unwrap();
}

/// Two masters behind the API load balancer: the second joins the first's etcd through the
/// etcd load balancer, both register, and kubectl works through the balancer's address.
#[tokio::test]
async fn two_masters_share_etcd_behind_the_load_balancer() {
    let Some(env) = Env::get() else { return };
    let Some(engine) = Engine::get() else { return };
    let api = Api::login(&env, "demo").await.unwrap();
    let t = api
        .create_template_with(
            &unique("ct"),
            Driver::K8sFedoraCoreos,
            json!({"master_lb_enabled": true, "docker_volume_size": null}),
        )
        .await
        .unwrap();
    let uuid = api.create_cluster(&unique("k8s"), &t, 2, 1).await.unwrap();
    let c = api
        .wait_status(&uuid, "CREATE_COMPLETE", WAIT)
        .await
        .unwrap();
    let stack_id = c["stack_id"].as_str().or(c["cluster_id"].as_str()).unwrap();
    let masters = api.servers(stack_id, "kube_master").await.unwrap();
    assert_eq!(masters.len(), 2, "{masters:?}");
    let address = c["api_address"].as_str().unwrap().to_owned();
    let master_ips: Vec<String> = c["master_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert!(
        !master_ips.iter().any(|ip| address.contains(ip.as_str())),
        "the API address is the balancer's, not a master's: {address} {master_ips:?}"
    );
    let (local, how) = route(&host_of(&address)).unwrap();
    assert!(local, "{address}: {how}");
    // one etcd cluster of both masters
    for m in &masters {
        let list = engine
            .exec(
                m,
                &[
                    "curl",
                    "-sf",
                    "--cacert",
                    "/etc/kubernetes/certs/etcd-ca.crt",
                    "--cert",
                    "/etc/kubernetes/certs/apiserver-etcd-client.crt",
                    "--key",
                    "/etc/kubernetes/certs/apiserver-etcd-client.key",
                    "-X",
                    "POST",
                    "-d",
                    "{}",
                    "https://127.0.0.1:2379/v3/cluster/member/list",
                ],
            )
            .unwrap();
        let list: serde_json::Value = serde_json::from_str(&list).unwrap();
        assert_eq!(list["members"].as_array().map(Vec::len), Some(2), "{list}");
    }
    let dir = config_dir(&env, "demo", &uuid).unwrap();
    let client = KubeClient::from_dir(&dir).unwrap();
    let nodes = wait_ready_nodes(&client, 3);
    assert_eq!(
        nodes
            .iter()
            .filter(|(n, _, _)| n.contains("-master-"))
            .count(),
        2,
        "{nodes:?}"
    );
    // what one master's API stores, the other's serves (through the balancer, either)
    client
        .kubectl(&["create", "namespace", "shared-etcd"])
        .unwrap();
    for _ in 0..4 {
        let ns = client.json(&["get", "namespace", "shared-etcd"]).unwrap();
        assert_eq!(ns["metadata"]["name"], "shared-etcd");
    }
    api.delete_cluster(&uuid, WAIT).await.unwrap();
    api.delete_template(&t).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
