//! Swarm bays whose nodes fail: a bootstrap step that fails, a node that dies while its bay or
//! node group is being built. The bay (or group) fails at once with the reason, Heat stops
//! waiting, and nothing is left in the local cloud after the delete.

use std::time::{Duration, Instant};

use magnum_tests::api::Api;
use magnum_tests::nodes::Engine;
use magnum_tests::{Env, unique};
use serde_json::json;

use crate::swarm::{WAIT, cloud_ids, template, until};

#[tokio::test]
async fn a_bootstrap_that_fails_says_why() {
    let Some(env) = Env::get() else { return };
    let Some(engine) = Engine::get() else { return };
    let api = Api::login(&env, "demo").await.unwrap();
    // a storage driver the nodes' file system cannot do: Docker refuses to start
    let t = template(
        &api,
        json!({"docker_storage_driver": "btrfs", "docker_volume_size": null}),
    )
    .await;
    let uuid = api.create_cluster(&unique("bad"), &t, 1, 1).await.unwrap();
    let err = api
        .wait_status(&uuid, "CREATE_COMPLETE", WAIT)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("CREATE_FAILED"), "{err}");
    let c = api.cluster(&uuid).await.unwrap();
    let reason = c["status_reason"].as_str().unwrap();
    assert!(reason.contains("WaitConditionFailure"), "{reason}");
    assert!(reason.contains("starting Docker failed"), "{reason}");
    assert!(
        reason.contains("failed to start daemon"),
        "Docker's own words: {reason}"
    );
    let stack_id = c["cluster_id"].as_str().unwrap().to_owned();
    let stack = api
        .heat_get(&format!("/stacks/{stack_id}"))
        .await
        .unwrap()
        .expect(200)
        .unwrap();
    let ids = cloud_ids(&api, stack["stack"]["stack_name"].as_str().unwrap()).await;
    api.delete_cluster(&uuid, WAIT).await.unwrap();
    assert_eq!(engine.leftovers(&ids).unwrap(), Vec::<String>::new());
    api.delete_template(&t).await.unwrap();
}

#[tokio::test]
async fn a_node_killed_during_create_fails_the_bay_at_once() {
    let Some(env) = Env::get() else { return };
    let Some(engine) = Engine::get() else { return };
    let api = Api::login(&env, "demo").await.unwrap();
    let t = template(&api, json!({"docker_volume_size": null})).await;
    let name = unique("killed");
    let uuid = api.create_cluster(&name, &t, 1, 1).await.unwrap();
    // the worker, as soon as Nova has it running
    let mut worker = None;
    let t0 = Instant::now();
    while worker.is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no worker server appeared"
        );
        worker = api
            // (the group's stack name keeps only the start of the cluster's)
            .servers_named(&name[..name.rfind('-').unwrap()].to_ascii_lowercase())
            .await
            .unwrap()
            .into_iter()
            .find(|(_, n, st)| n.contains("-node-") && st == "ACTIVE");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (id, node_name, _) = worker.unwrap();
    engine.kill(&id).unwrap();
    let killed_at = Instant::now();
    let err = api
        .wait_status(&uuid, "CREATE_COMPLETE", Duration::from_secs(120))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("CREATE_FAILED"), "{err}");
    assert!(
        killed_at.elapsed() < Duration::from_secs(60),
        "took {:?}",
        killed_at.elapsed()
    );
    let c = api.cluster(&uuid).await.unwrap();
    let reason = c["status_reason"].as_str().unwrap();
    assert!(
        reason.contains(&node_name) && reason.contains("SHUTOFF"),
        "{reason}"
    );
    assert!(reason.contains("console"), "{reason}");
    // Heat was told to stop waiting
    let stack_id = c["cluster_id"].as_str().unwrap().to_owned();
    until("the stack stopped", Duration::from_secs(60), || async {
        let s = api
            .heat_get(&format!("/stacks/{stack_id}"))
            .await
            .unwrap()
            .json;
        s["stack"]["stack_status"] == "CREATE_FAILED"
    })
    .await;
    let stack = api
        .heat_get(&format!("/stacks/{stack_id}"))
        .await
        .unwrap()
        .expect(200)
        .unwrap();
    let ids = cloud_ids(&api, stack["stack"]["stack_name"].as_str().unwrap()).await;
    api.delete_cluster(&uuid, WAIT).await.unwrap();
    assert_eq!(engine.leftovers(&ids).unwrap(), Vec::<String>::new());
    api.delete_template(&t).await.unwrap();
}

/// A node of a non-default node group dies while the group is being built: the group (not only
/// the cluster) goes CREATE_FAILED with the node named, and the group's stack stops.
#[tokio::test]
async fn a_node_killed_while_its_group_builds_fails_the_group() {
    let Some(env) = Env::get() else { return };
    let Some(engine) = Engine::get() else { return };
    let api = Api::login(&env, "demo").await.unwrap();
    let t = template(&api, json!({"docker_volume_size": null})).await;
    let name = unique("ngkill");
    let uuid = api.create_cluster(&name, &t, 1, 1).await.unwrap();
    api.wait_status(&uuid, "CREATE_COMPLETE", WAIT)
        .await
        .unwrap();
    let ng = api
        .post(
            &format!("/clusters/{uuid}/nodegroups"),
            json!({"name": "doomed", "node_count": 1}),
        )
        .await
        .unwrap()
        .expect(202)
        .unwrap();
    let path = format!(
        "/clusters/{uuid}/nodegroups/{}",
        ng["uuid"].as_str().unwrap()
    );
    let mut node = None;
    let t0 = Instant::now();
    while node.is_none() {
        assert!(t0.elapsed() < Duration::from_secs(120), "no group server");
        node = api
            // (the group's stack name keeps only the start of the cluster's)
            .servers_named(&name[..name.rfind('-').unwrap()].to_ascii_lowercase())
            .await
            .unwrap()
            .into_iter()
            .find(|(_, n, st)| n.contains("-doomed-") && st == "ACTIVE");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (id, node_name, _) = node.unwrap();
    engine.kill(&id).unwrap();
    let killed_at = Instant::now();
    let shown = loop {
        let shown = api.get(&path).await.unwrap().expect(200).unwrap();
        if shown["status"] != "CREATE_IN_PROGRESS" {
            break shown;
        }
        assert!(killed_at.elapsed() < Duration::from_secs(60), "{shown}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(shown["status"], "CREATE_FAILED", "{shown}");
    let reason = shown["status_reason"].as_str().unwrap_or_default();
    assert!(reason.contains(&node_name), "{reason}");
    let stack_id = shown["stack_id"].as_str().unwrap().to_owned();
    until(
        "the group's stack stopped",
        Duration::from_secs(60),
        || async {
            api.heat_get(&format!("/stacks/{stack_id}"))
                .await
                .unwrap()
                .json["stack"]["stack_status"]
                == "CREATE_FAILED"
        },
    )
    .await;
    api.delete_cluster(&uuid, WAIT).await.unwrap();
    api.delete_template(&t).await.unwrap();
}
