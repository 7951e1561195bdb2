//! A project never sees or changes another project's objects; admins see all.

use serde_json::json;

use crate::app;
use crate::clusters::create_cluster;

#[actix_web::test]
async fn projects_are_isolated_and_admins_see_everything() {
    let app = app!();
    let mine = create_cluster(&app, "demo", "mine", 1).await;
    let theirs = create_cluster(&app, "alt_demo", "theirs", 1).await;
    let names = |r: &crate::harness::Resp| -> Vec<String> {
        let mut v: Vec<String> = r.json["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(&app.get("/v1/clusters").user("demo").send().await),
        ["mine"]
    );
    assert_eq!(
        names(&app.get("/v1/clusters/detail").user("alt_demo").send().await),
        ["theirs"]
    );
    for (method, path) in [
        ("GET", format!("/v1/clusters/{theirs}")),
        ("GET", "/v1/clusters/theirs".to_owned()),
        ("DELETE", format!("/v1/clusters/{theirs}")),
    ] {
        let req = app.req(method.parse().unwrap(), &path).user("demo");
        req.send().await.expect_error(404, "could not be found");
    }
    app.patch(&format!("/v1/clusters/{theirs}"))
        .user("demo")
        .json(json!([{"op": "replace", "path": "/node_count", "value": 5}]))
        .send()
        .await
        .expect(404);
    app.get(&format!("/v1/clusters?marker={theirs}"))
        .user("demo")
        .send()
        .await
        .expect(404);
    let t = app
        .get(&format!("/v1/clusters/{theirs}"))
        .user("alt_demo")
        .send()
        .await
        .expect(200);
    assert_eq!(
        t.json["status"], "CREATE_IN_PROGRESS",
        "untouched by demo's attempts"
    );
    assert_eq!(
        names(&app.get("/v1/clusters").user("admin").send().await),
        ["mine", "theirs"]
    );
    app.get(&format!("/v1/clusters/{mine}"))
        .user("admin")
        .send()
        .await
        .expect(200);
    app.delete(&format!("/v1/clusters/{theirs}"))
        .user("admin")
        .send()
        .await
        .expect(204);
    // Legacy bays are per project for everyone, as upstream.
    let bays = app.get("/v1/bays").user("admin").send().await.expect(200);
    assert_eq!(bays.json["bays"], json!([]));
}
