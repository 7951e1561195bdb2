//! Quotas (admin-managed).

use serde_json::json;

use crate::app;

#[actix_web::test]
async fn quota_crud() {
    let app = app!();
    let demo = app.project("demo");
    let body = json!({"project_id": demo, "resource": "Cluster", "hard_limit": 10});
    app.post("/v1/quotas")
        .user("demo")
        .json(body.clone())
        .send()
        .await
        .expect_error(403, "Policy doesn't allow quota:create to be performed.");
    let r = app
        .post("/v1/quotas")
        .user("admin")
        .json(body.clone())
        .send()
        .await
        .expect(201);
    assert_eq!(
        (r.json["hard_limit"].clone(), r.json["project_id"].clone()),
        (json!(10), json!(demo))
    );
    app.post("/v1/quotas")
        .user("admin")
        .json(body)
        .send()
        .await
        .expect_error(
            409,
            &format!("Quota for project {demo} already exists for resource Cluster."),
        );
    app.post("/v1/quotas")
        .user("admin")
        .json(json!({"project_id": "no-such-project", "hard_limit": 1}))
        .send()
        .await
        .expect_error(404, "The project_id no-such-project could not be found.");
    app.post("/v1/quotas")
        .user("admin")
        .json(json!({"project_id": demo, "resource": "Nodes"}))
        .send()
        .await
        .expect(400);
    app.post("/v1/quotas")
        .user("admin")
        .json(json!({"project_id": demo, "hard_limit": -1}))
        .send()
        .await
        .expect(400);
    let own = app
        .get(&format!("/v1/quotas/{demo}/Cluster"))
        .user("demo")
        .send()
        .await
        .expect(200);
    assert_eq!(own.json["hard_limit"], 10);
    let alt = app.project("alt_demo");
    app.get(&format!("/v1/quotas/{alt}/Cluster"))
        .user("demo")
        .send()
        .await
        .expect_error(403, "Not authorized.");
    let default = app
        .get(&format!("/v1/quotas/{alt}/Cluster"))
        .user("alt_demo")
        .send()
        .await
        .expect(200);
    assert_eq!(
        default.json,
        json!({"hard_limit": 20, "project_id": alt, "resource": "Cluster"})
    );
    app.get("/v1/quotas").user("demo").send().await.expect(403);
    let mine = app.get("/v1/quotas").user("admin").send().await.expect(200);
    assert_eq!(
        mine.json["quotas"],
        json!([]),
        "without all_tenants an admin sees their own project"
    );
    let all = app
        .get("/v1/quotas?all_tenants=True")
        .user("admin")
        .send()
        .await
        .expect(200);
    assert_eq!(all.json["quotas"].as_array().unwrap().len(), 1);
    let r = app
        .patch(&format!("/v1/quotas/{demo}/Cluster"))
        .user("admin")
        .json(json!({"hard_limit": 3}))
        .send()
        .await
        .expect(202);
    assert_eq!(r.json["hard_limit"], 3);
    let r = app
        .patch(&format!("/v1/quotas/{demo}/Cluster"))
        .user("admin")
        .json(json!({}))
        .send()
        .await
        .expect(202);
    assert_eq!(r.json["hard_limit"], 3, "an empty update keeps the limit");
    app.patch(&format!("/v1/quotas/{alt}/Cluster"))
        .user("admin")
        .json(json!({"hard_limit": 3}))
        .send()
        .await
        .expect_error(404, "Quota could not be found");
    app.delete(&format!("/v1/quotas/{demo}/Cluster"))
        .user("admin")
        .send()
        .await
        .expect(204);
    app.delete(&format!("/v1/quotas/{demo}/Cluster"))
        .user("admin")
        .send()
        .await
        .expect(404);
}
