//! Clusters: list, detail and look-ups by name or uuid, and how failures show.

use magnum_common::status::ClusterStatus;
use serde_json::json;

use crate::app;
use crate::cluster_templates::create_template;
use crate::clusters::{create_cluster, create_cluster_from, set_status};
use crate::harness::k8s_template;

#[actix_web::test]
async fn list_detail_and_lookups() {
    let app = app!();
    let uuid = create_cluster(&app, "demo", "one", 2).await;
    let list = app
        .get("/v1/clusters")
        .user("demo")
        .send()
        .await
        .expect(200);
    let item = &list.json["clusters"][0];
    let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "cluster_template_id",
            "create_timeout",
            "docker_volume_size",
            "flavor_id",
            "health_status",
            "keypair",
            "labels",
            "links",
            "master_count",
            "master_flavor_id",
            "merge_labels",
            "name",
            "node_count",
            "stack_id",
            "status",
            "uuid"
        ]
    );
    let detail = app
        .get("/v1/clusters/detail")
        .user("demo")
        .send()
        .await
        .expect(200);
    assert!(detail.json["clusters"][0].get("labels_added").is_some());
    app.get("/v1/clusters/one")
        .user("demo")
        .send()
        .await
        .expect(200);
    app.get(&format!("/v1/clusters/{uuid}/detail"))
        .user("demo")
        .send()
        .await
        .expect(404);
    let ct = create_template(&app, "demo", k8s_template("k8s2")).await;
    create_cluster_from(&app, "demo", &ct, "one", 1).await;
    app.get("/v1/clusters/one")
        .user("demo")
        .send()
        .await
        .expect_error(
            409,
            "Multiple clusters exist with same name. Please use the cluster uuid instead.",
        );
    app.get("/v1/clusters/missing")
        .user("demo")
        .send()
        .await
        .expect_error(404, "Cluster missing could not be found.");
}

#[actix_web::test]
async fn failed_clusters_show_faults() {
    let app = app!();
    let uuid = create_cluster(&app, "demo", "f", 1).await;
    set_status(&app, &uuid, ClusterStatus::CreateFailed, None);
    let c = app
        .get(&format!("/v1/clusters/{uuid}"))
        .user("demo")
        .send()
        .await
        .expect(200);
    assert_eq!(
        c.json["faults"],
        json!({"default-master": "", "default-worker": ""})
    );
}
