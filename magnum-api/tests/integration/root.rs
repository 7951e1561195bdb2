//! Public documents, request ids, routing rules.

use crate::app;

#[actix_web::test]
async fn root_and_v1_are_public() {
    let app = app!();
    let r = app.get("/").send().await.expect(200);
    assert_eq!(r.json["name"], "OpenStack Magnum API");
    assert_eq!(r.json["versions"][0]["id"], "v1");
    assert_eq!(r.json["versions"][0]["min_version"], "1.1");
    assert_eq!(r.json["versions"][0]["max_version"], "1.14");
    assert!(
        r.header("OpenStack-API-Version").is_none(),
        "the root carries no version headers"
    );
    for path in ["/v1", "/v1/"] {
        let r = app.get(path).send().await.expect(200);
        assert_eq!(r.json["id"], "v1");
        assert_eq!(
            r.json["media_types"][0]["type"],
            "application/vnd.openstack.magnum.v1+json"
        );
        for res in [
            "clustertemplates",
            "clusters",
            "quotas",
            "certificates",
            "mservices",
            "stats",
            "federations",
            "bays",
            "baymodels",
        ] {
            assert_eq!(r.json[res][0]["rel"], "self", "{res}");
            assert!(
                r.json[res][0]["href"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/v1/{res}/")),
                "{res}"
            );
        }
        assert!(
            r.json["nodegroups"][0]["href"]
                .as_str()
                .unwrap()
                .ends_with("/v1/clusters/{cluster_id}/nodegroups")
        );
        assert_eq!(
            r.header("OpenStack-API-Version"),
            Some("container-infra 1.1")
        );
    }
}

#[actix_web::test]
async fn every_response_has_a_request_id() {
    let app = app!();
    let responses = [
        app.get("/").send().await,
        app.get("/v1/clusters").send().await,
        app.get("/v1/nope").user("demo").send().await,
        app.get("/v1/clusters")
            .user("demo")
            .version("9.9")
            .send()
            .await,
        app.get("/v1/clusters").user("demo").send().await,
    ];
    let mut seen = std::collections::HashSet::new();
    for r in &responses {
        let id = r
            .header("x-openstack-request-id")
            .unwrap_or_default()
            .to_owned();
        assert!(
            id.starts_with("req-") && id.len() == 40,
            "{id:?} ({})",
            r.status
        );
        assert!(seen.insert(id), "request ids are unique");
    }
}

#[actix_web::test]
async fn unversioned_paths_and_trailing_slashes() {
    let app = app!();
    let a = app.get("/clusters").user("demo").send().await.expect(200);
    let b = app
        .get("/v1/clusters/")
        .user("demo")
        .send()
        .await
        .expect(200);
    assert_eq!(a.json, b.json);
    assert!(a.json["clusters"].is_array());
    app.get("/clustertemplates/detail")
        .user("demo")
        .send()
        .await
        .expect(200);
}

#[actix_web::test]
async fn unknown_paths_and_methods() {
    let app = app!();
    app.get("/v1/nope")
        .user("demo")
        .send()
        .await
        .expect_error(404, "could not be found");
    let r = app
        .req(actix_web::http::Method::PUT, "/v1/clusters")
        .user("demo")
        .send()
        .await
        .expect_error(405, "not allowed");
    assert!(r.header("Allow").is_some());
}

#[actix_web::test]
async fn healthcheck_is_public_and_says_little() {
    let app = app!();
    let r = app.get("/healthcheck").send().await.expect(200);
    assert_eq!(r.text, "OK");
}
