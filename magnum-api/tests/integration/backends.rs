//! The same user flow on every database backend the environment offers.

use magnum_common::db::testing::all_backends;
use serde_json::json;

use crate::harness::{TestApp, k8s_template};

#[actix_web::test]
async fn full_flow_on_every_backend() {
    let Some(env) = crate::harness::env() else {
        return;
    };
    for db in all_backends("api_flow") {
        let name = db.name();
        let app = TestApp::on(env.clone(), db, |_| {}).await;
        let ct = app
            .post("/v1/clustertemplates")
            .user("demo")
            .json(k8s_template("k8s"))
            .send()
            .await
            .expect(201)
            .json;
        let ct_uuid = ct["uuid"].as_str().unwrap().to_owned();
        let mut uuids = Vec::new();
        for i in 0..5 {
            let r = app.post("/v1/clusters").user("demo").json(json!({"name": format!("c{i}"), "cluster_template_id": ct_uuid, "node_count": i + 1})).send().await.expect(202);
            uuids.push(r.json["uuid"].as_str().unwrap().to_owned());
        }
        let page = app
            .get("/v1/clusters?limit=2&sort_key=name&sort_dir=desc")
            .user("demo")
            .send()
            .await
            .expect(200);
        let names: Vec<&str> = page.json["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["c4", "c3"], "{name}");
        let next = page.json["next"].as_str().unwrap();
        let page2 = app
            .get(&next[next.find("/v1/").unwrap()..])
            .user("demo")
            .send()
            .await
            .expect(200);
        assert_eq!(page2.json["clusters"][0]["name"], "c2", "{name}");
        let stats = app.get("/v1/stats").user("demo").send().await.expect(200);
        assert_eq!(stats.json, json!({"clusters": 5, "nodes": 20}), "{name}");
        app.delete(&format!("/v1/clusters/{}", uuids[0]))
            .user("demo")
            .send()
            .await
            .expect(204);
        app.delete(&format!("/v1/clustertemplates/{ct_uuid}"))
            .user("demo")
            .send()
            .await
            .expect(400);
        app.get("/v1/clusters/c1")
            .user("alt_demo")
            .send()
            .await
            .expect(404);
    }
}
