//! Bad input: upstream's status, a message that says what to fix, nothing written.

use magnum_common::db::models::{Scope, cluster, cluster_template};
use serde_json::json;

use crate::app;
use crate::harness::{TestApp, k8s_template};

fn nothing_written(app: &TestApp) {
    let mut conn = app.state.db.conn().unwrap();
    assert_eq!(cluster::count(&mut conn, &Scope::All).unwrap(), 0);
    let all = cluster_template::list(
        &mut conn,
        &cluster_template::Visibility::All,
        &magnum_common::db::Page::first(10),
    )
    .unwrap();
    assert!(all.is_empty());
}

#[actix_web::test]
async fn malformed_bodies() {
    let app = app!();
    let post = |body: &'static str| {
        app.post("/v1/clustertemplates")
            .user("demo")
            .header("Content-Type", "application/json")
            .body(body)
    };
    post("")
        .send()
        .await
        .expect_error(400, "Missing argument: \"cluster_template\"");
    post("{not json")
        .send()
        .await
        .expect_error(400, "Request is not in valid JSON format");
    post("[1, 2]")
        .send()
        .await
        .expect_error(400, "expected a JSON object, got a list");
    post("null")
        .send()
        .await
        .expect_error(400, "expected a JSON object");
    app.post("/v1/clustertemplates")
        .user("demo")
        .header("Content-Type", "application/xml")
        .body("<x/>")
        .send()
        .await
        .expect_error(415, "Unknown mimetype: application/xml");
    nothing_written(&app);
}

#[actix_web::test]
async fn oversized_bodies_are_413() {
    let app = app!();
    let mut body = k8s_template("big");
    body["labels"] = json!({"blob": "x".repeat(200_000)});
    let r = app
        .post("/v1/clustertemplates")
        .user("demo")
        .json(body)
        .send()
        .await;
    r.expect_error(413, "Request is too large");
    nothing_written(&app);
}

#[actix_web::test]
async fn wrong_types_everywhere() {
    let app = app!();
    for (body, detail) in [
        (
            json!({"coe": 5, "image_id": "fedora-coreos-40"}),
            "Invalid input for field/attribute coe. Value: '5'. Value should be one of",
        ),
        (
            json!({"coe": "kubernetes", "image_id": ["x"]}),
            "image_id. Value: '['x']'. Value should be string",
        ),
        (
            json!({"coe": "kubernetes", "image_id": "fedora-coreos-40", "labels": ["a"]}),
            "Value not a valid dict",
        ),
        (
            json!({"coe": "kubernetes", "image_id": "fedora-coreos-40", "labels": {"a": {"b": 1}}}),
            "Wrong type for label 'a'",
        ),
        (
            json!({"coe": "kubernetes", "image_id": "fedora-coreos-40", "tls_disabled": 7}),
            "acceptable values are",
        ),
        (
            json!({"coe": "kubernetes", "image_id": "fedora-coreos-40", "docker_volume_size": 2.5}),
            "Expected an integer",
        ),
        (
            json!({"coe": "kubernetes", "image_id": "fedora-coreos-40", "uuid": "x", "created_at": "2020"}),
            "created_at. Value: '2020'. Cannot set read only field.",
        ),
    ] {
        app.post("/v1/clustertemplates")
            .user("demo")
            .json(body)
            .send()
            .await
            .expect_error(400, detail);
    }
    nothing_written(&app);
}

#[actix_web::test]
async fn bad_patches_change_nothing() {
    let app = app!();
    let uuid = crate::cluster_templates::create_template(&app, "demo", k8s_template("t")).await;
    let url = format!("/v1/clustertemplates/{uuid}");
    let before = app.get(&url).user("demo").send().await.json;
    for body in [
        json!({}),
        json!("x"),
        json!([1]),
        json!([{"op": "replace"}]),
        json!([{"path": "/name", "value": "x"}]),
        json!([{"op": "replace", "path": "name", "value": "x"}]),
    ] {
        let r = app
            .patch(&url)
            .user("demo")
            .json(body.clone())
            .send()
            .await
            .expect(400);
        assert!(!r.detail().is_empty(), "{body}: {}", r.text);
    }
    // The first op is valid, the second is not: nothing is applied.
    app.patch(&url)
        .user("demo")
        .json(json!([{"op": "replace", "path": "/name", "value": "renamed"}, {"op": "replace", "path": "/uuid", "value": "x"}]))
        .send()
        .await
        .expect(400);
    assert_eq!(app.get(&url).user("demo").send().await.json, before);
}
