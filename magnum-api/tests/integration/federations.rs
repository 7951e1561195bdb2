//! Federations (persisted, unlike upstream's stub).

use serde_json::json;

use crate::app;
use crate::clusters::create_cluster;

#[actix_web::test]
async fn federation_lifecycle() {
    let app = app!();
    let host = create_cluster(&app, "demo", "host", 1).await;
    let member = create_cluster(&app, "demo", "member", 1).await;
    for (body, status, detail) in [
        (
            json!({"name": "f"}),
            400,
            "No hostcluster specified. Please specify a hostcluster_id.",
        ),
        (
            json!({"hostcluster_id": "nope", "properties": {"dns-zone": "x."}}),
            404,
            "Cluster nope could not be found.",
        ),
        (
            json!({"hostcluster_id": host}),
            400,
            "Please specify a `properties` dict for the federation.",
        ),
        (
            json!({"hostcluster_id": host, "properties": {"a": "b"}}),
            400,
            "No DNS zone specified. Please specify a `dns-zone`.",
        ),
    ] {
        app.post("/v1/federations")
            .user("demo")
            .json(body)
            .send()
            .await
            .expect_error(status, detail);
    }
    let r = app.post("/v1/federations").user("demo").json(json!({"name": "fed", "hostcluster_id": "host", "properties": {"dns-zone": "example.com."}})).send().await.expect(202);
    let uuid = r.json["uuid"].as_str().unwrap();
    let f = app
        .get("/v1/federations/fed")
        .user("demo")
        .send()
        .await
        .expect(200)
        .json;
    assert_eq!(
        (
            f["hostcluster_id"].clone(),
            f["status"].clone(),
            f["member_ids"].clone()
        ),
        (json!(host), json!("CREATE_COMPLETE"), json!([]))
    );
    let url = format!("/v1/federations/{uuid}");
    app.patch(&url)
        .user("demo")
        .json(json!([{"op": "add", "path": "/member_ids", "value": member}]))
        .send()
        .await
        .expect(202);
    app.patch(&url)
        .user("demo")
        .json(json!([{"op": "add", "path": "/member_ids", "value": member}]))
        .send()
        .await
        .expect_error(
            409,
            &format!("A cluster with UUID {member} is already a member of the federation fed."),
        );
    let f = app.get(&url).user("demo").send().await.json;
    assert_eq!(
        (f["member_ids"].clone(), f["status"].clone()),
        (json!([member]), json!("UPDATE_COMPLETE"))
    );
    app.patch(&url)
        .user("demo")
        .json(json!([{"op": "replace", "path": "/name", "value": "x"}]))
        .send()
        .await
        .expect_error(400, "cannot change federation property(ies) name.");
    app.patch(&url)
        .user("demo")
        .json(json!([{"op": "remove", "path": "/member_ids", "value": member}]))
        .send()
        .await
        .expect(202);
    app.patch(&url)
        .user("demo")
        .json(json!([{"op": "remove", "path": "/member_ids", "value": member}]))
        .send()
        .await
        .expect(404);
    let list = app
        .get("/v1/federations")
        .user("demo")
        .send()
        .await
        .expect(200);
    assert_eq!(list.json["federations"].as_array().unwrap().len(), 1);
    assert!(list.json["federations"][0].get("created_at").is_none());
    app.get("/v1/federations")
        .user("alt_demo")
        .send()
        .await
        .expect(200);
    app.get(&url).user("alt_demo").send().await.expect(404);
    app.delete(&url).user("demo").send().await.expect(204);
    app.get(&url).user("demo").send().await.expect(404);
}
