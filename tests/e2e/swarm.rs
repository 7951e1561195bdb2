//! Swarm bays that really come up: real nodes (system containers of the local cloud) booted by
//! cloud-init, certificates signed by the cluster CA through Magnum with the trustee, Docker with
//! mutual TLS, a real swarm. Driven through the API, RabbitMQ, the conductor and Heat, and then
//! with the upstream `openstack coe cluster config` and the `docker` CLI as a user would.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use magnum_tests::api::{Api, Driver};
use magnum_tests::nodes::{Engine, SwarmClient, host_of, route};
use magnum_tests::{Env, unique};
use serde_json::{Value, json};

pub(crate) const WAIT: Duration = Duration::from_secs(600);

pub(crate) fn registry() -> String {
    std::env::var("REGISTRY_URL").expect("REGISTRY_URL: scripts/test.sh starts the registry")
}

/// A Swarm template: the node image, floating IPs, a Docker volume per node, and the local
/// registry as an insecure registry; `extra` is merged in.
pub(crate) async fn template(api: &Api, extra: Value) -> String {
    let mut fields = json!({"insecure_registry": registry(), "docker_volume_size": 1,
                            "master_flavor_id": "m1.small"});
    if let (Some(f), Some(e)) = (fields.as_object_mut(), extra.as_object()) {
        f.extend(e.clone());
    }
    api.create_template_with(&unique("swarm"), Driver::SwarmFedoraAtomic, fields)
        .await
        .unwrap()
}

/// Every OpenStack id the bay's nodes have in the local cloud: servers, their networks (the
/// bay's own, not the shared ones), volumes.
pub(crate) async fn cloud_ids(api: &Api, stack_name: &str) -> Vec<String> {
    let mut ids: Vec<String> = api
        .servers_named(stack_name)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    let nets = api
        .neutron_get("/networks")
        .await
        .unwrap()
        .expect(200)
        .unwrap();
    for n in nets["networks"].as_array().unwrap() {
        if n["name"]
            .as_str()
            .is_some_and(|name| name.starts_with(stack_name))
        {
            ids.push(n["id"].as_str().unwrap().to_owned());
        }
    }
    let volumes = api
        .nova_get("/servers/detail")
        .await
        .unwrap()
        .expect(200)
        .unwrap();
    for s in volumes["servers"].as_array().unwrap() {
        if s["name"]
            .as_str()
            .is_some_and(|n| n.starts_with(stack_name))
        {
            for v in s["os-extended-volumes:volumes_attached"]
                .as_array()
                .into_iter()
                .flatten()
            {
                ids.push(v["id"].as_str().unwrap().to_owned());
            }
        }
    }
    ids
}

/// Waits until `f` holds (or fails after `timeout`).
pub(crate) async fn until<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t0 = Instant::now();
    while !f().await {
        assert!(t0.elapsed() < timeout, "{what}: not after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Hostnames of the swarm's nodes that are Ready (and how many are managers).
fn ready_nodes(client: &SwarmClient) -> (BTreeSet<String>, usize) {
    let out = client
        .docker(&[
            "node",
            "ls",
            "--format",
            "{{.Hostname}} {{.Status}} {{.ManagerStatus}}",
        ])
        .unwrap();
    let mut ready = BTreeSet::new();
    let mut managers = 0;
    for line in out.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.get(1) == Some(&"Ready") {
            ready.insert(w[0].to_owned());
        }
        if w.len() > 2 {
            managers += 1;
        }
    }
    (ready, managers)
}

#[tokio::test]
async fn swarm_bay_is_a_real_swarm_that_stays_on_this_machine() {
    let Some(env) = Env::get() else { return };
    let Some(engine) = Engine::get() else { return };
    let api = Api::login(&env, "demo").await.unwrap();
    let t = template(&api, json!({})).await;
    let uuid = api.create_cluster(&unique("bay"), &t, 1, 1).await.unwrap();
    let c = api
        .wait_status(&uuid, "CREATE_COMPLETE", WAIT)
        .await
        .unwrap();
    let stack_id = c["cluster_id"].as_str().unwrap().to_owned();
    let stack = api
        .heat_get(&format!("/stacks/{stack_id}"))
        .await
        .unwrap()
        .expect(200)
        .unwrap();
    let stack_name = stack["stack"]["stack_name"].as_str().unwrap().to_owned();
    let servers = api.servers_named(&stack_name).await.unwrap();
    assert_eq!(servers.len(), 2, "a master and a node in Nova: {servers:?}");
    assert!(
        servers.iter().all(|(_, _, st)| st == "ACTIVE"),
        "{servers:?}"
    );

    // Every address the bay reports routes to this machine, and the nodes' networks keep them in.
    let api_address = c["api_address"].as_str().unwrap();
    assert!(
        api_address.starts_with("tcp://") && api_address.ends_with(":2375"),
        "{api_address}"
    );
    let mut addresses: Vec<String> = vec![host_of(api_address)];
    for k in ["master_addresses", "node_addresses"] {
        addresses.extend(
            c[k].as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned()),
        );
    }
    let ports = api
        .neutron_get("/ports")
        .await
        .unwrap()
        .expect(200)
        .unwrap();
    let server_ids: Vec<&str> = servers.iter().map(|(id, _, _)| id.as_str()).collect();
    for p in ports["ports"].as_array().unwrap() {
        if server_ids.contains(&p["device_id"].as_str().unwrap_or_default()) {
            addresses.push(p["fixed_ips"][0]["ip_address"].as_str().unwrap().to_owned());
        }
    }
    for a in &addresses {
        let (local, how) = route(a).unwrap();
        assert!(local, "{a} would leave this machine: {how}");
    }
    let service_host = std::env::var("SERVICE_HOST").unwrap();
    for (id, name, _) in &servers {
        let container = format!("nova-{id}");
        let nets = engine
            .inspect(
                &container,
                "{{range $n, $e := .NetworkSettings.Networks}}{{$n}} {{end}}",
            )
            .unwrap();
        for net in nets.split_whitespace() {
            assert_eq!(
                engine.inspect(net, "{{.Internal}}").unwrap(),
                "true",
                "{name}: {net} is not internal"
            );
        }
        // DNS: Docker's resolver in the node, forwarding to an address of this machine that
        // answers nothing (refused here, never asked of the world)
        assert_eq!(
            engine
                .inspect(&container, "{{json .HostConfig.Dns}}")
                .unwrap(),
            format!("[\"{service_host}\"]")
        );
        assert!(route(&service_host).unwrap().0);
        let resolv = engine.exec(id, &["cat", "/etc/resolv.conf"]).unwrap();
        assert!(
            resolv.contains("nameserver 127.0.0.11") && !resolv.contains("8.8.8.8"),
            "{name}: {resolv}"
        );
        // the default route goes to the gateway of the node's network: this machine's bridge
        let default = engine
            .exec(id, &["ip", "route", "show", "default"])
            .unwrap();
        let gw = default.split_whitespace().nth(2).unwrap().to_owned();
        assert!(
            route(&gw).unwrap().1.starts_with("local "),
            "{name}: default via {gw} is not this machine"
        );
        // Docker's storage is on the bay's Cinder volume
        let src = engine
            .exec(id, &["findmnt", "-n", "-o", "SOURCE", "/var/lib/docker"])
            .unwrap();
        assert!(
            src.contains("/volumes/cinder-"),
            "{name}: /var/lib/docker on {src}"
        );
    }

    // The upstream client's config, then the docker CLI against the bay over TLS.
    let dir = std::env::temp_dir().join(unique("swarm-config"));
    std::fs::create_dir_all(&dir).unwrap();
    let printed = env
        .openstack(
            "demo",
            &[
                "coe",
                "cluster",
                "config",
                &uuid,
                "--dir",
                dir.to_str().unwrap(),
                "--use-certificate",
                "--output-certs",
                "--force",
            ],
        )
        .ok();
    let client = SwarmClient::from_config(&dir, &printed).unwrap();
    let (ready, managers) = ready_nodes(&client);
    assert_eq!((ready.len(), managers), (2, 1), "{ready:?}");
    let refused = client.docker_without_client_certificate(&["node", "ls"]);
    assert!(
        refused.is_err(),
        "the bay answered without a client certificate: {refused:?}"
    );
    let probe = format!("{}/magnum/probe:1", registry());
    client
        .docker(&[
            "service",
            "create",
            "--detach=false",
            "--quiet",
            "--name",
            "web",
            "--replicas",
            "3",
            &probe,
            "httpd",
            "-f",
            "-p",
            "8080",
        ])
        .unwrap();
    let tasks = client
        .docker(&[
            "service",
            "ps",
            "web",
            "--filter",
            "desired-state=running",
            "--format",
            "{{.Node}} {{.CurrentState}}",
        ])
        .unwrap();
    let nodes: BTreeSet<&str> = tasks
        .lines()
        .filter(|l| l.contains("Running"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        nodes.len() >= 2,
        "3 running tasks on several nodes: {tasks}"
    );

    // Health from the swarm itself.
    until("HEALTHY", Duration::from_secs(60), || async {
        api.cluster(&uuid).await.unwrap()["health_status"] == "HEALTHY"
    })
    .await;

    // A node group with node_labels: its node joins the swarm carrying them as engine labels,
    // and leaves with the group.
    let ngs = format!("/clusters/{uuid}/nodegroups");
    api.post(
        &ngs,
        json!({"name": "extra", "node_count": 1, "node_labels": {"tier": "extra"}}),
    )
    .await
    .unwrap()
    .expect(202)
    .unwrap();
    let ng_path = format!("{ngs}/extra");
    until("node group CREATE_COMPLETE", WAIT, || async {
        let ng = api.get(&ng_path).await.unwrap().json;
        assert!(
            !ng["status"]
                .as_str()
                .unwrap_or_default()
                .ends_with("FAILED"),
            "{ng}"
        );
        ng["status"] == "CREATE_COMPLETE"
    })
    .await;
    until("3 Ready nodes", Duration::from_secs(60), || async {
        ready_nodes(&client).0.len() == 3
    })
    .await;
    let labels = client
        .docker(&["node", "ls", "-q"])
        .unwrap()
        .lines()
        .map(|id| {
            client
                .docker(&[
                    "node",
                    "inspect",
                    "--format",
                    "{{.Description.Hostname}} {{json .Description.Engine.Labels}}",
                    id,
                ])
                .unwrap()
        })
        .collect::<Vec<_>>();
    assert!(
        labels
            .iter()
            .any(|l| l.contains("\"tier\":\"extra\"")
                && l.contains("\"magnum.nodegroup\":\"extra\"")),
        "the group's node has its labels: {labels:?}"
    );
    api.delete(&ng_path).await.unwrap().expect(204).unwrap();
    until("node group gone", WAIT, || async {
        api.get(&ng_path).await.unwrap().status == 404
    })
    .await;

    // Scale to 3 nodes: they join the swarm.
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
    until("4 Ready nodes", Duration::from_secs(60), || async {
        ready_nodes(&client).0.len() == 4
    })
    .await;

    // Back to 1, removing two named nodes: they are drained and leave before their servers go.
    let workers = api.servers(&stack_id, "swarm_node").await.unwrap();
    assert_eq!(workers.len(), 3);
    let remove = vec![workers[0].clone(), workers[2].clone()];
    let removed_names: Vec<String> = api
        .servers_named(&stack_name)
        .await
        .unwrap()
        .into_iter()
        .filter(|(id, _, _)| remove.contains(id))
        .map(|(_, name, _)| name)
        .collect();
    api.post(
        &format!("/clusters/{uuid}/actions/resize"),
        json!({"node_count": 1, "nodes_to_remove": remove}),
    )
    .await
    .unwrap()
    .expect(202)
    .unwrap();
    api.wait_status(&uuid, "UPDATE_COMPLETE", WAIT)
        .await
        .unwrap();
    let (ready, _) = ready_nodes(&client);
    let listed = client
        .docker(&["node", "ls", "--format", "{{.Hostname}}"])
        .unwrap();
    assert_eq!(ready.len(), 2, "master and one node: {listed}");
    for name in &removed_names {
        assert!(
            !listed.lines().any(|h| h == name),
            "{name} is still in the swarm: {listed}"
        );
    }
    assert_eq!(
        api.servers(&stack_id, "swarm_node").await.unwrap(),
        vec![workers[1].clone()]
    );
    let tasks = client
        .docker(&[
            "service",
            "ps",
            "web",
            "--filter",
            "desired-state=running",
            "--format",
            "{{.Node}} {{.CurrentState}}",
        ])
        .unwrap();
    assert_eq!(
        tasks.lines().filter(|l| l.contains("Running")).count(),
        3,
        "the tasks moved: {tasks}"
    );

    // A stopped node turns the bay UNHEALTHY, naming it.
    let (stopped, stopped_name, _) = api
        .servers_named(&stack_name)
        .await
        .unwrap()
        .into_iter()
        .find(|(id, _, _)| id == &workers[1])
        .unwrap();
    api.nova_post(
        &format!("/servers/{stopped}/action"),
        json!({"os-stop": null}),
    )
    .await
    .unwrap()
    .expect(202)
    .unwrap();
    until("UNHEALTHY", Duration::from_secs(90), || async {
        let c = api.cluster(&uuid).await.unwrap();
        c["health_status"] == "UNHEALTHY"
            && c["health_status_reason"][format!("{stopped_name}.Ready")] == "False"
    })
    .await;

    // Delete: nothing of the bay is left in the engine.
    let ids = cloud_ids(&api, &stack_name).await;
    assert!(ids.len() >= 4, "servers, network and volumes: {ids:?}");
    api.delete_cluster(&uuid, WAIT).await.unwrap();
    assert_eq!(engine.leftovers(&ids).unwrap(), Vec::<String>::new());
    assert!(api.servers_named(&stack_name).await.unwrap().is_empty());
    api.delete_template(&t).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two masters behind the API load balancer: the balancer (the local Octavia's TCP balancer on
/// an address of this machine) hands the Docker clients' connections to both managers, over the
/// same mutual TLS (the masters' certificates name the balancer's addresses).
#[tokio::test]
async fn masters_behind_the_load_balancer() {
    let Some(env) = Env::get() else { return };
    let Some(_engine) = Engine::get() else { return };
    let api = Api::login(&env, "demo").await.unwrap();
    let t = template(
        &api,
        json!({"master_lb_enabled": true, "docker_volume_size": null}),
    )
    .await;
    let uuid = api.create_cluster(&unique("lb"), &t, 2, 1).await.unwrap();
    let c = api
        .wait_status(&uuid, "CREATE_COMPLETE", WAIT)
        .await
        .unwrap();
    let api_address = c["api_address"].as_str().unwrap();
    let lb_ip = host_of(api_address);
    assert!(
        !c["master_addresses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == lb_ip.as_str()),
        "the API address is the balancer's, not a master's: {c}"
    );
    let (local, how) = route(&lb_ip).unwrap();
    assert!(local, "{lb_ip}: {how}");
    let dir = std::env::temp_dir().join(unique("lb-config"));
    std::fs::create_dir_all(&dir).unwrap();
    let printed = env
        .openstack(
            "demo",
            &[
                "coe",
                "cluster",
                "config",
                &uuid,
                "--dir",
                dir.to_str().unwrap(),
                "--use-certificate",
                "--output-certs",
                "--force",
            ],
        )
        .ok();
    let client = SwarmClient::from_config(&dir, &printed).unwrap();
    let (ready, managers) = ready_nodes(&client);
    assert_eq!((ready.len(), managers), (3, 2), "{ready:?}");
    // connection after connection, the balancer reaches both managers
    let mut answered = BTreeSet::new();
    for _ in 0..6 {
        answered.insert(
            client
                .docker(&["info", "--format", "{{.Name}}"])
                .unwrap()
                .trim()
                .to_owned(),
        );
    }
    assert_eq!(
        answered.len(),
        2,
        "both masters answer through the balancer: {answered:?}"
    );
    assert!(
        answered.iter().all(|n| n.contains("-master-")),
        "{answered:?}"
    );
    api.delete_cluster(&uuid, WAIT).await.unwrap();
    api.delete_template(&t).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
