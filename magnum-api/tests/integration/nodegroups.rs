//! Node groups (1.9+).

use magnum_common::status::ClusterStatus;
use serde_json::json;

use crate::app;
use crate::clusters::{create_cluster, set_status};

#[actix_web::test]
async fn nodegroup_lifecycle() {
    let app = app!();
    let c = create_cluster(&app, "demo", "ngc", 2).await;
    let base = format!("/v1/clusters/{c}/nodegroups");
    let list = app
        .get(&format!("{base}/"))
        .user("demo")
        .version("1.9")
        .send()
        .await
        .expect(200);
    let names: Vec<&str> = list.json["nodegroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default-master", "default-worker"]);
    assert!(
        list.json["nodegroups"][0].get("links").is_none(),
        "lists carry no links"
    );
    let masters = app
        .get(&format!("{base}?role=master"))
        .user("demo")
        .version("1.9")
        .send()
        .await
        .expect(200);
    assert_eq!(masters.json["nodegroups"].as_array().unwrap().len(), 1);
    let w = app
        .get(&format!("{base}/default-worker"))
        .user("demo")
        .version("1.9")
        .send()
        .await
        .expect(200)
        .json;
    assert_eq!(
        (
            w["node_count"].clone(),
            w["role"].clone(),
            w["is_default"].clone()
        ),
        (json!(2), json!("worker"), json!(true))
    );
    let id = w["id"].as_i64().unwrap();
    app.get(&format!("{base}/{id}"))
        .user("demo")
        .version("1.9")
        .send()
        .await
        .expect(200);
    app.get(&format!("{base}/detail"))
        .user("demo")
        .version("1.9")
        .send()
        .await
        .expect_error(404, "Nodegroup detail could not be found.");

    let create =
        |body: serde_json::Value| app.post(&base).user("demo").version("latest").json(body);
    create(json!({"name": "gpu"}))
        .send()
        .await
        .expect_error(409, "Cluster API address is not available yet");
    set_status(
        &app,
        &c,
        ClusterStatus::CreateComplete,
        Some("https://10.0.0.5:6443"),
    );
    for (body, status, detail) in [
        (
            json!({}),
            400,
            "name. Value: 'None'. Mandatory field missing.",
        ),
        (
            json!({"name": "default-worker"}),
            409,
            "A node group with name default-worker already exists in the cluster ngc.",
        ),
        (
            json!({"name": "x", "node_count": 5, "max_node_count": 3}),
            409,
            "max_node_count for x is invalid (node_count (5) should be less or equal to max_node_count (3)).",
        ),
        (
            json!({"name": "x", "min_node_count": 4, "max_node_count": 3}),
            409,
            "max_node_count for x is invalid (min_node_count (4) should be less or equal to max_node_count (3)).",
        ),
        (
            json!({"name": "x", "node_count": 1, "min_node_count": 2}),
            409,
            "min_node_count for x is invalid (min_node_count (2) should be less or equal to node_count (1)).",
        ),
        (
            json!({"name": "x", "role": "master"}),
            400,
            "Creating master nodegroups is currently not supported.",
        ),
        (
            json!({"name": "x", "node_labels": {"kubernetes.io/role": "x"}}),
            409,
            "node label 'kubernetes.io/role' is in a restricted Kubernetes namespace",
        ),
        (
            json!({"name": "x", "node_taints": [{"key": "a", "effect": "Never"}]}),
            409,
            "node_taints[0].effect must be one of NoSchedule, PreferNoSchedule, NoExecute",
        ),
        (
            json!({"name": "x", "node_taints": [{"effect": "NoSchedule"}]}),
            409,
            "node_taints[0].key is required",
        ),
    ] {
        create(body).send().await.expect_error(status, detail);
    }
    let r = create(json!({"name": "gpu", "node_count": 2, "flavor_id": "m1.large", "max_node_count": 5, "node_labels": {"node.kubernetes.io/gpu": "yes"}, "node_taints": [{"key": "gpu", "effect": "NoSchedule"}]}))
        .send()
        .await
        .expect(202);
    let ng = &r.json;
    assert_eq!(
        (
            ng["status"].clone(),
            ng["image_id"].clone(),
            ng["is_default"].clone()
        ),
        (
            json!("CREATE_IN_PROGRESS"),
            json!("fedora-coreos-40"),
            json!(false)
        )
    );
    assert_eq!(
        ng["node_taints"],
        json!([{"key": "gpu", "effect": "NoSchedule"}])
    );
    let cl = app
        .get(&format!("/v1/clusters/{c}"))
        .user("demo")
        .send()
        .await
        .json;
    assert_eq!(
        (cl["status"].clone(), cl["node_count"].clone()),
        (json!("UPDATE_IN_PROGRESS"), json!(4))
    );
    // Only the bounds (and node labels/taints) are patchable.
    set_status(&app, &c, ClusterStatus::UpdateComplete, None);
    let gpu = format!("{base}/gpu");
    app.patch(&gpu)
        .user("demo")
        .version("1.9")
        .json(json!([{"op": "replace", "path": "/node_count", "value": 3}]))
        .send()
        .await
        .expect_error(400, "'/node_count' is an internal attribute");
    app.patch(&gpu)
        .user("demo")
        .version("1.9")
        .json(json!([{"op": "replace", "path": "/max_node_count", "value": 1}]))
        .send()
        .await
        .expect(409);
    let r = app
        .patch(&gpu)
        .user("demo")
        .version("1.9")
        .json(json!([{"op": "replace", "path": "/min_node_count", "value": 1}]))
        .send()
        .await
        .expect(202);
    assert_eq!(r.json["min_node_count"], 1);
    let listed = app.get(&base).user("demo").version("1.9").send().await.json;
    assert_eq!(
        listed["nodegroups"][2]["min_node_count"], 1,
        "lists show stored bounds"
    );
    app.delete(&format!("{base}/default-worker"))
        .user("demo")
        .version("1.9")
        .send()
        .await
        .expect_error(400, "Deleting a default nodegroup is not supported.");
    app.delete(&gpu)
        .user("demo")
        .version("1.9")
        .send()
        .await
        .expect(204);
    let g = app.get(&gpu).user("demo").version("1.9").send().await.json;
    assert_eq!(g["status"], "DELETE_IN_PROGRESS");
    app.get(&base)
        .user("alt_demo")
        .version("1.9")
        .send()
        .await
        .expect(404);
}
