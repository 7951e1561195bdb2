//! Bays: the legacy twin of clusters, served at every microversion.

use magnum_common::db::models::{Scope, cluster};
use serde_json::json;

use crate::app;
use crate::harness::{TestApp, k8s_template};

async fn baymodel(app: &TestApp) -> String {
    let r = app
        .post("/v1/baymodels")
        .user("demo")
        .json(k8s_template("k8s"))
        .send()
        .await
        .expect(201);
    r.json["uuid"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn bay_create_as_the_legacy_client_sends_it() {
    let app = app!();
    let bm = baymodel(&app).await;
    // magnum 3.7's bay-create: GET the baymodel, then POST with its uuid, at `latest`.
    let r = app
        .post("/v1/bays")
        .user("demo")
        .version("latest")
        .json(json!({"name": "b1", "baymodel_id": bm, "node_count": 3, "master_count": 1, "discovery_url": null, "bay_create_timeout": 60}))
        .send()
        .await
        .expect(202);
    let uuid = r.json["uuid"].as_str().unwrap();
    let b = app
        .get(&format!("/v1/bays/{uuid}"))
        .user("demo")
        .version("latest")
        .send()
        .await
        .expect(200)
        .json;
    assert_eq!(
        (
            b["baymodel_id"].clone(),
            b["node_count"].clone(),
            b["bay_create_timeout"].clone()
        ),
        (json!(bm), json!(3), json!(60))
    );
    assert_eq!(b["status"], "CREATE_IN_PROGRESS");
    assert!(
        b.get("cluster_template_id").is_none()
            && b.get("project_id").is_none()
            && b.get("health_status").is_none()
    );
    let list = app.get("/v1/bays").user("demo").send().await.expect(200);
    let keys: Vec<&String> = list.json["bays"][0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "bay_create_timeout",
            "baymodel_id",
            "docker_volume_size",
            "flavor_id",
            "floating_ip_enabled",
            "labels",
            "links",
            "master_count",
            "master_flavor_id",
            "name",
            "node_count",
            "stack_id",
            "status",
            "uuid"
        ]
    );
    // The same cluster through the modern API.
    app.get(&format!("/v1/clusters/{uuid}"))
        .user("demo")
        .send()
        .await
        .expect(200);
    app.delete(&format!("/v1/bays/{uuid}"))
        .user("demo")
        .version("latest")
        .send()
        .await
        .expect(204);
}

#[actix_web::test]
async fn bay_rules() {
    let app = app!();
    let bm = baymodel(&app).await;
    app.post("/v1/bays")
        .user("demo")
        .version("latest")
        .json(json!({"baymodel_id": "nope"}))
        .send()
        .await
        .expect_error(400, "ClusterTemplate nope could not be found.");
    app.post("/v1/bays")
        .user("demo")
        .version("latest")
        .json(json!({"baymodel_id": bm, "node_count": 0}))
        .send()
        .await
        .expect_error(400, "Value should be greater or equal to 1");
    app.post("/v1/bays")
        .user("demo")
        .version("latest")
        .json(json!({"baymodel_id": bm, "keypair": "x"}))
        .send()
        .await
        .expect_error(400, "Unknown attribute for argument bay: keypair");
    // Nothing above was written.
    {
        let mut conn = app.state.db.conn().unwrap();
        assert_eq!(cluster::count(&mut conn, &Scope::All).unwrap(), 0);
    }
    // At 1.1 a bay create is a synchronous conductor call. Without a conductor the bay is
    // still recorded with its pending operation (the outbox is the truth) and answered 201
    // as CREATE_IN_PROGRESS, so the create proceeds once a conductor runs.
    let created = app
        .post("/v1/bays")
        .user("demo")
        .json(json!({"baymodel_id": bm}))
        .send()
        .await
        .expect(201)
        .json;
    assert_eq!(created["status"], "CREATE_IN_PROGRESS");
    let uuid = created["uuid"].as_str().unwrap().to_owned();
    let mut conn = app.state.db.conn().unwrap();
    assert_eq!(cluster::count(&mut conn, &Scope::All).unwrap(), 1);
    let parsed: magnum_common::ids::ClusterUuid = uuid.parse().unwrap();
    assert!(magnum_common::db::models::pending_operation::has_pending(&mut conn, parsed).unwrap());
}
