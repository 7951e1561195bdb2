//! Clusters: create (202, visible at once, in one transaction), and the helpers
//! other tests use to make clusters and play the conductor. Reads are in
//! `clusters_read`, updates, deletes and actions in `clusters_change`.

use magnum_common::db::models::{Scope, cluster, nodegroup, pending_operation};
use magnum_common::ids::ClusterUuid;
use magnum_common::status::ClusterStatus;
use serde_json::{Value, json};

use crate::app;
use crate::cluster_templates::create_template;
use crate::harness::{TestApp, k8s_template};

/// Creates a template and a cluster from it; returns the cluster uuid.
pub async fn create_cluster(app: &TestApp, user: &str, name: &str, nodes: i64) -> String {
    let ct = create_template(app, user, k8s_template(&format!("{name}-t"))).await;
    create_cluster_from(app, user, &ct, name, nodes).await
}

/// Creates a cluster from template `ct`; returns its uuid.
pub async fn create_cluster_from(
    app: &TestApp,
    user: &str,
    ct: &str,
    name: &str,
    nodes: i64,
) -> String {
    let r = app
        .post("/v1/clusters")
        .user(user)
        .version("latest")
        .json(json!({"name": name, "cluster_template_id": ct, "node_count": nodes}))
        .send()
        .await
        .expect(202);
    r.json["uuid"].as_str().unwrap().to_owned()
}

/// Sets a cluster's status (and api address) directly, as the conductor would.
pub fn set_status(app: &TestApp, uuid: &str, status: ClusterStatus, api_address: Option<&str>) {
    let mut conn = app.state.db.conn().unwrap();
    let uuid: ClusterUuid = uuid.parse().unwrap();
    let mut c = cluster::get_by_uuid(&mut conn, &Scope::All, uuid)
        .unwrap()
        .unwrap();
    c.status = status;
    c.api_address = api_address.map(str::to_owned).or(c.api_address);
    cluster::save(&mut conn, c).unwrap();
    for mut ng in nodegroup::list_for_clusters(&mut conn, &[uuid]).unwrap() {
        ng.status = status;
        nodegroup::save(&mut conn, ng).unwrap();
    }
}

/// The conductor operations recorded for a cluster, oldest first.
pub fn operations(app: &TestApp, uuid: &str) -> Vec<String> {
    let mut conn = app.state.db.conn().unwrap();
    pending_operation::list_for_cluster(&mut conn, uuid.parse().unwrap())
        .unwrap()
        .into_iter()
        .map(|o| o.method)
        .collect()
}

#[actix_web::test]
async fn create_is_202_and_the_cluster_exists_at_once() {
    let app = app!();
    let ct = create_template(&app, "demo", k8s_template("k8s")).await;
    let r = app
        .post("/v1/clusters")
        .user("demo")
        .json(json!({"name": "c1", "cluster_template_id": "k8s", "node_count": 3}))
        .send()
        .await
        .expect(202);
    let uuid = r.json["uuid"].as_str().unwrap();
    assert_eq!(r.json.as_object().unwrap().len(), 1, "only the uuid");
    let c = app
        .get(&format!("/v1/clusters/{uuid}"))
        .user("demo")
        .send()
        .await
        .expect(200)
        .json;
    assert_eq!(c["status"], "CREATE_IN_PROGRESS");
    assert_eq!(c["name"], "c1");
    assert_eq!(
        c["cluster_template_id"], ct,
        "a template name is resolved to its uuid"
    );
    assert_eq!(
        (c["node_count"].clone(), c["master_count"].clone()),
        (json!(3), json!(1))
    );
    assert_eq!(c["keypair"], "default", "inherited from the template");
    assert_eq!(
        (c["flavor_id"].clone(), c["master_flavor_id"].clone()),
        (json!("m1.small"), json!("m1.medium"))
    );
    assert_eq!(c["docker_volume_size"], 3);
    assert_eq!(c["create_timeout"], 60);
    assert_eq!(
        c["labels"],
        json!({"kube_tag": "v1.27.4", "min_node_count": "0"})
    );
    assert_eq!(c["project_id"], app.project("demo"));
    assert_eq!(c["master_lb_enabled"], false);
    assert_eq!(c["floating_ip_enabled"], true);
    assert_eq!(
        c["cluster_id"],
        Value::Null,
        "1.1 shows stack_id, 1.13+ cluster_id"
    );
    assert!(c.get("stack_id").is_some());
    assert!(c.get("faults").is_none());
    assert_eq!(
        operations(&app, uuid),
        ["cluster_create"],
        "the operation for the conductor was recorded"
    );
    let mut conn = app.state.db.conn().unwrap();
    let ngs = nodegroup::list_for_clusters(&mut conn, &[uuid.parse().unwrap()]).unwrap();
    let summary: Vec<(&str, &str, i32, bool)> = ngs
        .iter()
        .map(|n| (n.name.as_str(), n.role.as_str(), n.node_count, n.is_default))
        .collect();
    assert_eq!(
        summary,
        [
            ("default-master", "master", 1, true),
            ("default-worker", "worker", 3, true)
        ]
    );
}

#[actix_web::test]
async fn create_defaults_labels_and_names() {
    let app = app!();
    let ct = create_template(&app, "demo", k8s_template("k8s")).await;
    let create = |body: Value| {
        app.post("/v1/clusters")
            .user("demo")
            .version("latest")
            .json(body)
    };
    let merged = create(json!({"cluster_template_id": ct, "labels": {"kube_tag": "v1.28", "extra": true}, "merge_labels": true})).send().await.expect(202);
    let c = app
        .get(&format!(
            "/v1/clusters/{}",
            merged.json["uuid"].as_str().unwrap()
        ))
        .user("demo")
        .version("latest")
        .send()
        .await
        .json;
    assert_eq!(
        c["labels"],
        json!({"kube_tag": "v1.28", "extra": "True", "min_node_count": "0"})
    );
    assert_eq!(
        c["labels_overridden"],
        json!({"kube_tag": "v1.27.4"}),
        "the value shown is the template's"
    );
    assert_eq!(c["labels_added"], json!({"extra": "True"}));
    assert_eq!(c["labels_skipped"], json!({}));
    assert!(
        c.get("stack_id").is_none() && c.get("cluster_id").is_some(),
        "1.13+: cluster_id replaces stack_id"
    );
    let name = c["name"].as_str().unwrap();
    assert!(name.ends_with("-cluster"), "{name}");
    let replaced = create(json!({"cluster_template_id": ct, "labels": {"only": "me"}}))
        .send()
        .await
        .expect(202);
    let c = app
        .get(&format!(
            "/v1/clusters/{}",
            replaced.json["uuid"].as_str().unwrap()
        ))
        .user("demo")
        .send()
        .await
        .json;
    assert_eq!(c["labels"], json!({"only": "me"}));
    assert_eq!(
        c["labels_skipped"],
        json!({"kube_tag": "v1.27.4", "min_node_count": "0"})
    );
    let explicit = create(json!({"cluster_template_id": ct, "keypair": "default", "flavor_id": "m1.large", "master_count": 3, "master_lb_enabled": true, "create_timeout": 0, "node_count": 0}))
        .send()
        .await
        .expect(202);
    let c = app
        .get(&format!(
            "/v1/clusters/{}",
            explicit.json["uuid"].as_str().unwrap()
        ))
        .user("demo")
        .send()
        .await
        .json;
    assert_eq!(
        (
            c["master_count"].clone(),
            c["node_count"].clone(),
            c["create_timeout"].clone()
        ),
        (json!(3), json!(0), json!(0))
    );
}

#[actix_web::test]
async fn create_validation() {
    let app = app!();
    let ct = create_template(&app, "demo", k8s_template("k8s")).await;
    let body = |patch: Value| {
        let mut b = json!({"name": "v", "cluster_template_id": ct});
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for (patch, version, status, detail) in [
        (
            json!({"cluster_template_id": "nope"}),
            "1.1",
            400,
            "ClusterTemplate nope could not be found.",
        ),
        (
            json!({"cluster_template_id": "nope"}),
            "1.10",
            404,
            "ClusterTemplate nope could not be found.",
        ),
        (
            json!({"node_count": 0}),
            "1.9",
            400,
            "Resizing a nodegroup to zero is not supported in the provided microversion.",
        ),
        (
            json!({"node_count": -1}),
            "1.10",
            400,
            "Value should be greater or equal to 0",
        ),
        (
            json!({"master_count": 0}),
            "1.10",
            400,
            "Value should be greater or equal to 1",
        ),
        (
            json!({"master_count": 3}),
            "1.10",
            400,
            "master_count must be 1 when master_lb_enabled is False",
        ),
        (
            json!({"name": "9lives"}),
            "1.10",
            400,
            "Value should match the pattern ^[a-zA-Z][a-zA-Z0-9_.-]*$",
        ),
        (
            json!({"name": "a".repeat(243)}),
            "1.10",
            400,
            "maximum character requirement of 242",
        ),
        (
            json!({"keypair": "nokey"}),
            "1.10",
            404,
            "Unable to find keypair nokey.",
        ),
        (
            json!({"flavor_id": "m1.huge"}),
            "1.10",
            400,
            "Unable to find flavor m1.huge.",
        ),
        (
            json!({"fixed_network": "nowhere"}),
            "1.10",
            400,
            "Unable to find fixed network nowhere.",
        ),
        (
            json!({"docker_volume_size": 0}),
            "1.10",
            400,
            "Value should be greater or equal to 1",
        ),
        (
            json!({"labels": "a=b"}),
            "1.10",
            400,
            "Value not a valid dict: a=b",
        ),
        (
            json!({"create_timeout": "soon"}),
            "1.10",
            400,
            "create_timeout",
        ),
        (
            json!({"api_address": "x"}),
            "1.10",
            400,
            "Cannot set read only field.",
        ),
        (
            json!({"bogus": 1}),
            "1.10",
            400,
            "Unknown attribute for argument cluster: bogus",
        ),
    ] {
        app.post("/v1/clusters")
            .user("demo")
            .version(version)
            .json(body(patch.clone()))
            .send()
            .await
            .expect_error(status, detail);
    }
    let list = app
        .get("/v1/clusters")
        .user("demo")
        .send()
        .await
        .expect(200);
    assert_eq!(list.json["clusters"], json!([]), "nothing half-written");
    let mut conn = app.state.db.conn().unwrap();
    assert!(
        pending_operation::list_pending(&mut conn)
            .unwrap()
            .is_empty()
    );
}

#[actix_web::test]
async fn quota_is_enforced_on_create() {
    let app = app!();
    let ct = create_template(&app, "demo", k8s_template("k8s")).await;
    app.post("/v1/quotas")
        .user("admin")
        .json(json!({"project_id": app.project("demo"), "resource": "Cluster", "hard_limit": 2}))
        .send()
        .await
        .expect(201);
    for i in 0..2 {
        create_cluster_from(&app, "demo", &ct, &format!("q{i}"), 1).await;
    }
    app.post("/v1/clusters")
        .user("demo")
        .json(json!({"cluster_template_id": ct}))
        .send()
        .await
        .expect_error(403, "Resource limit exceeded: You have reached the maximum clusters per project, 2. You may delete a cluster to make room for a new one.");
    // Other projects are unaffected (the default is 20).
    let alt_ct = create_template(&app, "alt_demo", k8s_template("k8s")).await;
    create_cluster_from(&app, "alt_demo", &alt_ct, "other", 1).await;
    app.patch(&format!("/v1/quotas/{}/Cluster", app.project("demo")))
        .user("admin")
        .json(json!({"hard_limit": 0}))
        .send()
        .await
        .expect(202);
    app.post("/v1/clusters")
        .user("demo")
        .json(json!({"cluster_template_id": ct}))
        .send()
        .await
        .expect(403);
}
