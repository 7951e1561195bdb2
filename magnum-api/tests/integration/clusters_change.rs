//! Clusters after creation: PATCH (node count and health only), DELETE, and the
//! resize and upgrade actions.

use magnum_common::db::models::nodegroup;
use magnum_common::status::ClusterStatus;
use serde_json::{Value, json};

use crate::app;
use crate::cluster_templates::create_template;
use crate::clusters::{create_cluster, operations, set_status};
use crate::harness::k8s_template;

#[actix_web::test]
async fn patch_changes_node_count_and_health_only() {
    let app = app!();
    let uuid = create_cluster(&app, "demo", "p", 1).await;
    let url = format!("/v1/clusters/{uuid}");
    app.patch(&url)
        .user("demo")
        .json(json!([{"op": "replace", "path": "/node_count", "value": 3}]))
        .send()
        .await
        .expect_error(
            400,
            "Updating a cluster when status is \"CREATE_IN_PROGRESS\" is not supported.",
        );
    set_status(
        &app,
        &uuid,
        ClusterStatus::CreateComplete,
        Some("https://10.0.0.5:6443"),
    );
    for (ops, detail) in [
        (
            json!([{"op": "replace", "path": "/name", "value": "x"}]),
            "cannot change cluster property(ies) name.",
        ),
        (
            json!([{"op": "replace", "path": "/master_count", "value": 3}, {"op": "replace", "path": "/flavor_id", "value": "m1.large"}]),
            "cannot change cluster property(ies) flavor_id, master_count.",
        ),
        (
            json!([{"op": "replace", "path": "/api_address", "value": "x"}]),
            "'/api_address' is an internal attribute and can not be updated",
        ),
        (
            json!([{"op": "replace", "path": "/stack_id", "value": "x"}]),
            "internal attribute",
        ),
        (
            json!([{"op": "remove", "path": "/cluster_template_id"}]),
            "'/cluster_template_id' is a mandatory attribute and can not be removed",
        ),
        (
            json!([{"op": "replace", "path": "/node_count", "value": -2}]),
            "Value should be greater or equal to 0",
        ),
        (
            json!([{"op": "replace", "path": "/health_status", "value": "GREAT"}]),
            "Value should be one of: HEALTHY, UNHEALTHY, UNKNOWN",
        ),
    ] {
        app.patch(&url)
            .user("demo")
            .json(ops)
            .send()
            .await
            .expect_error(400, detail);
    }
    app.patch(&url)
        .user("demo")
        .version("1.9")
        .json(json!([{"op": "replace", "path": "/node_count", "value": 0}]))
        .send()
        .await
        .expect(400);
    let r = app
        .patch(&format!("{url}?rollback=True"))
        .user("demo")
        .version("1.3")
        .json(json!([{"op": "replace", "path": "/node_count", "value": 4}]))
        .send()
        .await
        .expect(202);
    assert_eq!(r.json["uuid"], uuid);
    let c = app.get(&url).user("demo").send().await.json;
    assert_eq!(
        (c["status"].clone(), c["node_count"].clone()),
        (json!("UPDATE_IN_PROGRESS"), json!(4))
    );
    assert_eq!(
        operations(&app, &uuid),
        ["cluster_create", "cluster_update"]
    );
    app.patch(&format!("{url}?rollback=True"))
        .user("demo")
        .version("1.2")
        .json(json!([]))
        .send()
        .await
        .expect_error(400, "Unknown argument: \"rollback\"");
    // Health alone is saved directly (the auto-healer pushes it this way).
    set_status(&app, &uuid, ClusterStatus::UpdateComplete, None);
    app.patch(&url)
        .user("demo")
        .json(json!([{"op": "replace", "path": "/health_status", "value": "UNHEALTHY"}, {"op": "replace", "path": "/health_status_reason", "value": "{'api': 'ok'}"}]))
        .send()
        .await
        .expect(202);
    let c = app.get(&url).user("demo").send().await.json;
    assert_eq!(
        (
            c["health_status"].clone(),
            c["health_status_reason"].clone()
        ),
        (json!("UNHEALTHY"), json!({"api": "ok"}))
    );
    assert_eq!(c["status"], "UPDATE_COMPLETE");
}

#[actix_web::test]
async fn delete_marks_the_cluster_and_records_the_operation() {
    let app = app!();
    let uuid = create_cluster(&app, "demo", "d", 1).await;
    let r = app
        .delete(&format!("/v1/clusters/{uuid}"))
        .user("demo")
        .header("Content-Type", "application/octet-stream")
        .send()
        .await
        .expect(204);
    assert!(r.text.is_empty());
    let c = app
        .get(&format!("/v1/clusters/{uuid}"))
        .user("demo")
        .send()
        .await
        .json;
    assert_eq!(c["status"], "DELETE_IN_PROGRESS");
    app.delete(&format!("/v1/clusters/{uuid}"))
        .user("demo")
        .send()
        .await
        .expect(204);
    assert_eq!(
        operations(&app, &uuid),
        ["cluster_create", "cluster_delete"],
        "a repeated delete records nothing new"
    );
}

#[actix_web::test]
async fn resize_and_upgrade_actions() {
    let app = app!();
    let uuid = create_cluster(&app, "demo", "r", 2).await;
    let url = format!("/v1/clusters/{uuid}/actions/resize");
    let resize = |body: Value| app.post(&url).user("demo").version("latest").json(body);
    resize(json!({"node_count": 3})).send().await.expect_error(
        400,
        "Resizing a cluster when status is \"CREATE_IN_PROGRESS\" is not supported.",
    );
    set_status(
        &app,
        &uuid,
        ClusterStatus::CreateComplete,
        Some("https://10.0.0.5:6443"),
    );
    resize(json!({"node_count": 3, "nodegroup": "default-master"}))
        .send()
        .await
        .expect_error(400, "Resizing a master nodegroup is not supported.");
    resize(json!({"node_count": 3, "nodegroup": "nope"}))
        .send()
        .await
        .expect_error(404, "Nodegroup nope could not be found.");
    resize(json!({}))
        .send()
        .await
        .expect_error(400, "node_count. Value: 'None'. Mandatory field missing.");
    app.post(&url)
        .user("demo")
        .version("1.9")
        .json(json!({"node_count": 0}))
        .send()
        .await
        .expect_error(400, "Resizing a nodegroup to zero");
    let r = resize(json!({"node_count": 5, "nodes_to_remove": ["abc"]}))
        .send()
        .await
        .expect(202);
    assert_eq!(r.json["uuid"], uuid);
    let c = app
        .get(&format!("/v1/clusters/{uuid}"))
        .user("demo")
        .send()
        .await
        .json;
    assert_eq!(
        (c["status"].clone(), c["node_count"].clone()),
        (json!("UPDATE_IN_PROGRESS"), json!(5))
    );
    assert_eq!(
        operations(&app, &uuid),
        ["cluster_create", "cluster_resize"]
    );
    // A resize may retry while an update runs (the autoscaler does).
    resize(json!({"node_count": 4})).send().await.expect(202);
    // Bounds of the node group.
    let mut conn = app.state.db.conn().unwrap();
    let mut worker = nodegroup::list_for_clusters(&mut conn, &[uuid.parse().unwrap()])
        .unwrap()
        .pop()
        .unwrap();
    worker.min_node_count = 2;
    worker.max_node_count = Some(6);
    nodegroup::save(&mut conn, worker).unwrap();
    resize(json!({"node_count": 7})).send().await.expect_error(
        400,
        "Resizing default-worker outside the allowed range: min_node_count = 2, max_node_count = 6",
    );
    resize(json!({"node_count": 1})).send().await.expect(400);
    // Upgrade: 1.7 answers not supported; 1.8+ needs the conductor (synchronous), after its checks.
    let up = format!("/v1/clusters/{uuid}/actions/upgrade");
    app.post(&up)
        .user("demo")
        .version("1.7")
        .json(json!({"cluster_template": "x"}))
        .send()
        .await
        .expect_error(
            400,
            "Cluster upgrade is not supported in the provided microversion.",
        );
    app.post(&up)
        .user("demo")
        .version("1.8")
        .json(json!({"cluster_template": "nope"}))
        .send()
        .await
        .expect_error(404, "ClusterTemplate nope could not be found.");
    set_status(&app, &uuid, ClusterStatus::UpdateComplete, None);
    let ct2 = create_template(&app, "demo", k8s_template("newer")).await;
    app.post(&up)
        .user("demo")
        .version("1.8")
        .json(json!({"cluster_template": ct2}))
        .send()
        .await
        .expect_error(503, "conductor is not available");
}
