//! Stats and magnum services.

use magnum_common::db::models::magnum_service;
use serde_json::json;

use crate::app;
use crate::clusters::create_cluster;

#[actix_web::test]
async fn stats_count_clusters_and_all_nodes() {
    let app = app!();
    create_cluster(&app, "demo", "s1", 2).await;
    create_cluster(&app, "demo", "s2", 3).await;
    create_cluster(&app, "alt_demo", "s3", 1).await;
    let mine = app.get("/v1/stats").user("demo").send().await.expect(200);
    assert_eq!(
        mine.json,
        json!({"clusters": 2, "nodes": 7}),
        "masters count as nodes"
    );
    let demo = app.project("demo");
    app.get(&format!("/v1/stats?project_id={demo}&type=cluster"))
        .user("demo")
        .send()
        .await
        .expect(200);
    app.get(&format!("/v1/stats?project_id={}", app.project("alt_demo")))
        .user("demo")
        .send()
        .await
        .expect_error(403, "Not authorized.");
    app.get("/v1/stats?type=node")
        .user("demo")
        .send()
        .await
        .expect_error(400, "Invalid stats type. Allowed values are 'cluster'");
    let all = app.get("/v1/stats").user("admin").send().await.expect(200);
    assert_eq!(all.json, json!({"clusters": 3, "nodes": 9}));
}

#[actix_web::test]
async fn mservices_for_admins() {
    let app = app!();
    app.get("/v1/mservices")
        .user("demo")
        .send()
        .await
        .expect(403);
    let empty = app
        .get("/v1/mservices")
        .user("admin")
        .send()
        .await
        .expect(200);
    assert_eq!(empty.json, json!({"mservices": []}));
    magnum_service::heartbeat(
        &mut app.state.db.conn().unwrap(),
        "node-1",
        "magnum-conductor",
    )
    .unwrap();
    let r = app
        .get("/v1/mservices")
        .user("admin")
        .send()
        .await
        .expect(200);
    let s = &r.json["mservices"][0];
    assert_eq!(
        (
            s["host"].clone(),
            s["binary"].clone(),
            s["state"].clone(),
            s["report_count"].clone()
        ),
        (
            json!("node-1"),
            json!("magnum-conductor"),
            json!("up"),
            json!(1)
        )
    );
}
