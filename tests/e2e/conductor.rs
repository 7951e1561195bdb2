//! Clusters of the three drivers built for real: magnum-api → RabbitMQ → magnum-conductor → Heat
//! (its servers, ports and load balancers are Heat-side stand-ins), then scaled, resized with a
//! named node removed, given a node group (its own stack), and deleted.

use std::time::Duration;

use magnum_tests::api::{Api, Driver};
use magnum_tests::{Env, unique};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(600);

/// Creates a template and a 1-master 2-node cluster of `driver`, checks what the conductor wrote
/// back from the stack, scales to 3, resizes to 2 removing the first node by its server id, and
/// deletes; `server` is the driver's worker server resource in the templates.
async fn lifecycle(driver: Driver, server: &str, api_prefix: &str, api_port: &str) {
    let Some(env) = Env::get() else { return };
    let api = Api::login(&env, "demo").await.unwrap();
    let t = api.create_template(&unique("ct"), driver).await.unwrap();
    let uuid = api.create_cluster(&unique("c"), &t, 1, 2).await.unwrap();

    let c = api
        .wait_status(&uuid, "CREATE_COMPLETE", WAIT)
        .await
        .unwrap();
    let address = c["api_address"].as_str().unwrap();
    assert!(
        address.starts_with(api_prefix) && address.ends_with(api_port),
        "api_address {address}"
    );
    assert_eq!(c["node_addresses"].as_array().unwrap().len(), 2, "{c}");
    assert_eq!(c["master_addresses"].as_array().unwrap().len(), 1, "{c}");
    assert!(c["container_version"].is_string(), "{c}");
    // From microversion 1.13 the stack id is shown as `cluster_id`.
    let stack_id = c["cluster_id"].as_str().unwrap().to_owned();
    let stacks = api.stacks_of(&uuid).await.unwrap();
    assert_eq!(stacks.len(), 1, "one stack per cluster: {stacks:?}");
    assert_eq!(stacks[0]["id"], stack_id.as_str());
    // The default node groups carry the stack and the addresses too.
    let ngs = api
        .get(&format!("/clusters/{uuid}/nodegroups"))
        .await
        .unwrap()
        .expect(200)
        .unwrap();
    for ng in ngs["nodegroups"].as_array().unwrap() {
        let ng = api
            .get(&format!(
                "/clusters/{uuid}/nodegroups/{}",
                ng["uuid"].as_str().unwrap()
            ))
            .await
            .unwrap()
            .expect(200)
            .unwrap();
        assert_eq!(ng["status"], "CREATE_COMPLETE", "{ng}");
        assert_eq!(ng["stack_id"], stack_id.as_str(), "{ng}");
    }

    // Scale up (JSON-patch of node_count, as `cluster update` sends).
    api.patch(
        &format!("/clusters/{uuid}"),
        json!([{"op": "replace", "path": "/node_count", "value": 3}]),
    )
    .await
    .unwrap()
    .expect(202)
    .unwrap();
    let c = api
        .wait_status(&uuid, "UPDATE_COMPLETE", WAIT)
        .await
        .unwrap();
    assert_eq!(c["node_count"], 3);
    assert_eq!(c["node_addresses"].as_array().unwrap().len(), 3, "{c}");

    // Back to 2, removing the first node by its server id.
    let servers = api.servers(&stack_id, server).await.unwrap();
    assert_eq!(servers.len(), 3, "{servers:?}");
    api.post(
        &format!("/clusters/{uuid}/actions/resize"),
        json!({"node_count": 2, "nodes_to_remove": [servers[0]]}),
    )
    .await
    .unwrap()
    .expect(202)
    .unwrap();
    let c = api
        .wait_status(&uuid, "UPDATE_COMPLETE", WAIT)
        .await
        .unwrap();
    assert_eq!(c["node_count"], 2);
    assert_eq!(c["node_addresses"].as_array().unwrap().len(), 2, "{c}");
    let left = api.servers(&stack_id, server).await.unwrap();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        !left.contains(&servers[0]),
        "the named node stays: {left:?}"
    );
    assert!(
        left.contains(&servers[1]) && left.contains(&servers[2]),
        "{left:?}"
    );

    api.delete_cluster(&uuid, WAIT).await.unwrap();
    assert!(
        api.stacks_of(&uuid).await.unwrap().is_empty(),
        "stack left behind"
    );
    api.delete_template(&t).await.unwrap();
}

#[tokio::test]
async fn k8s_fedora_coreos_cluster_lifecycle() {
    lifecycle(Driver::K8sFedoraCoreos, "kube_minion", "https://", ":6443").await;
}

#[tokio::test]
async fn k8s_fedora_atomic_cluster_lifecycle() {
    lifecycle(Driver::K8sFedoraAtomic, "kube_minion", "https://", ":6443").await;
}

#[tokio::test]
async fn swarm_fedora_atomic_cluster_lifecycle() {
    lifecycle(Driver::SwarmFedoraAtomic, "swarm_node", "tcp://", ":2375").await;
}

/// A non-default node group is its own stack, joined to the cluster's network and masters; it
/// scales on its own and goes away with its stack.
#[tokio::test]
async fn nodegroup_is_its_own_stack() {
    let Some(env) = Env::get() else { return };
    let api = Api::login(&env, "demo").await.unwrap();
    let t = api
        .create_template(&unique("ct"), Driver::K8sFedoraCoreos)
        .await
        .unwrap();
    let uuid = api.create_cluster(&unique("c"), &t, 1, 1).await.unwrap();
    api.wait_status(&uuid, "CREATE_COMPLETE", WAIT)
        .await
        .unwrap();
    let ng = api
        .post(
            &format!("/clusters/{uuid}/nodegroups"),
            json!({"name": "extra", "node_count": 2, "flavor_id": "m1.large"}),
        )
        .await
        .unwrap()
        .expect(202)
        .unwrap();
    let ng_uuid = ng["uuid"].as_str().unwrap().to_owned();
    let path = format!("/clusters/{uuid}/nodegroups/{ng_uuid}");
    let shown = wait_nodegroup(&api, &path, "CREATE_COMPLETE").await;
    assert_eq!(
        shown["node_addresses"].as_array().unwrap().len(),
        2,
        "{shown}"
    );
    let ng_stack = shown["stack_id"].as_str().unwrap().to_owned();
    let stacks = api.stacks_of(&uuid).await.unwrap();
    assert_eq!(
        stacks.len(),
        2,
        "cluster stack + node group stack: {stacks:?}"
    );
    assert!(stacks.iter().any(|s| s["id"] == ng_stack.as_str()));

    // A node group scales through the cluster's resize action.
    api.post(
        &format!("/clusters/{uuid}/actions/resize"),
        json!({"node_count": 1, "nodegroup": "extra"}),
    )
    .await
    .unwrap()
    .expect(202)
    .unwrap();
    let shown = wait_nodegroup(&api, &path, "UPDATE_COMPLETE").await;
    assert_eq!(
        shown["node_addresses"].as_array().unwrap().len(),
        1,
        "{shown}"
    );

    // New node labels reach the node group's stack (nodegroup_update).
    let patched = api
        .patch(
            &path,
            json!([{"op": "add", "path": "/node_labels/tier", "value": "extra"}]),
        )
        .await
        .unwrap()
        .expect(202)
        .unwrap();
    assert_eq!(patched["status"], "UPDATE_IN_PROGRESS", "{patched}");
    let shown = wait_nodegroup(&api, &path, "UPDATE_COMPLETE").await;
    assert_eq!(shown["node_labels"], json!({"tier": "extra"}), "{shown}");

    api.delete(&path).await.unwrap().expect(204).unwrap();
    let t0 = std::time::Instant::now();
    while api.get(&path).await.unwrap().status != 404 {
        assert!(t0.elapsed() < WAIT, "node group not deleted");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(api.stacks_of(&uuid).await.unwrap().len(), 1);
    api.delete_cluster(&uuid, WAIT).await.unwrap();
}

async fn wait_nodegroup(api: &Api, path: &str, want: &str) -> serde_json::Value {
    let t0 = std::time::Instant::now();
    loop {
        let ng = api.get(path).await.unwrap().expect(200).unwrap();
        let status = ng["status"].as_str().unwrap_or_default();
        if status == want {
            return ng;
        }
        assert!(!status.ends_with("FAILED"), "{ng}");
        assert!(t0.elapsed() < WAIT, "node group still {status}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A stack Heat cannot build (the local cloud's Nova refuses an unknown availability zone, as
/// Nova does): the cluster goes CREATE_FAILED with the failing resource and Heat's reason, and
/// deletes cleanly.
#[tokio::test]
async fn failed_stack_names_the_resource_and_the_reason() {
    let Some(env) = Env::get() else { return };
    let api = Api::login(&env, "demo").await.unwrap();
    let t = api
        .create_template_with(
            &unique("ct"),
            Driver::SwarmFedoraAtomic,
            // (no Docker volume: Cinder would refuse the zone first)
            json!({"labels": {"availability_zone": "az-nowhere"}, "docker_volume_size": null}),
        )
        .await
        .unwrap();
    let uuid = api.create_cluster(&unique("c"), &t, 1, 1).await.unwrap();
    let t0 = std::time::Instant::now();
    let c = loop {
        let c = api.cluster(&uuid).await.unwrap();
        if c["status"] != "CREATE_IN_PROGRESS" {
            break c;
        }
        assert!(t0.elapsed() < WAIT, "still creating: {c}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(c["status"], "CREATE_FAILED", "{c}");
    let reason = c["status_reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("CREATE_FAILED")
            && reason.contains("swarm_master")
            && reason.contains("The requested availability zone is not available"),
        "{reason}"
    );
    api.delete_cluster(&uuid, WAIT).await.unwrap();
    assert!(api.stacks_of(&uuid).await.unwrap().is_empty());
    api.delete_template(&t).await.unwrap();
}
