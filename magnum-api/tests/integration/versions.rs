//! Microversion negotiation and gating.

use crate::app;

#[actix_web::test]
async fn headers_on_every_v1_response() {
    let app = app!();
    for (sent, echoed) in [
        (None, "1.1"),
        (Some("latest"), "1.14"),
        (Some("1.9"), "1.9"),
    ] {
        let mut req = app.get("/v1/clusters").user("demo");
        if let Some(v) = sent {
            req = req.version(v);
        }
        let r = req.send().await.expect(200);
        assert_eq!(
            r.header("OpenStack-API-Minimum-Version"),
            Some("container-infra 1.1")
        );
        assert_eq!(
            r.header("OpenStack-API-Maximum-Version"),
            Some("container-infra 1.14")
        );
        assert_eq!(
            r.header("OpenStack-API-Version"),
            Some(format!("container-infra {echoed}").as_str())
        );
        assert_eq!(r.header("Vary"), Some("OpenStack-API-Version"));
    }
    // Errors carry them too.
    let r = app
        .get("/v1/clusters/nope")
        .user("demo")
        .version("1.5")
        .send()
        .await
        .expect(404);
    assert_eq!(
        r.header("OpenStack-API-Version"),
        Some("container-infra 1.5")
    );
}

#[actix_web::test]
async fn bad_versions_are_406() {
    let app = app!();
    for (header, detail) in [
        (
            "container-infra",
            "Invalid service type for OpenStack-API-Version header",
        ),
        (
            "compute 1.2",
            "Invalid service type for OpenStack-API-Version header",
        ),
        (
            "container-infra 1",
            "Invalid value for OpenStack-API-Version header",
        ),
        (
            "container-infra 1.x",
            "Invalid value for OpenStack-API-Version header",
        ),
    ] {
        let r = app
            .get("/v1/clusters")
            .user("demo")
            .header("OpenStack-API-Version", header)
            .send()
            .await;
        r.expect_error(406, detail);
    }
    for v in ["1.15", "2.0", "1.0"] {
        let r = app
            .get("/v1/clusters")
            .user("demo")
            .version(v)
            .send()
            .await
            .expect(406);
        let e = &r.json["errors"][0];
        assert_eq!(e["code"], "magnum.microversion-unsupported", "{v}");
        assert_eq!(e["max_version"], "1.14");
        assert_eq!(e["min_version"], "1.1");
        assert!(
            e["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("Version {v}")),
            "{v}: {e}"
        );
        assert_eq!(
            r.header("OpenStack-API-Version"),
            Some(format!("container-infra {v}").as_str())
        );
    }
}

#[actix_web::test]
async fn gated_methods_need_their_version() {
    let app = app!();
    let c = crate::clusters::create_cluster(&app, "demo", "gated", 1).await;
    app.get(&format!("/v1/clusters/{c}/nodegroups"))
        .user("demo")
        .send()
        .await
        .expect_error(406, "nodegroups is not supported for this version");
    app.get(&format!("/v1/clusters/{c}/nodegroups"))
        .user("demo")
        .version("1.8")
        .send()
        .await
        .expect(406);
    app.get(&format!("/v1/clusters/{c}/nodegroups"))
        .user("demo")
        .version("1.9")
        .send()
        .await
        .expect(200);
    app.post(&format!("/v1/clusters/{c}/actions/resize"))
        .user("demo")
        .version("1.6")
        .json(serde_json::json!({"node_count": 2}))
        .send()
        .await
        .expect_error(406, "resize");
    app.patch(&format!("/v1/credentials/{c}"))
        .user("demo")
        .version("1.11")
        .send()
        .await
        .expect(406);
    // Bays are served at every version, including latest (the legacy client sends it).
    app.get("/v1/bays")
        .user("demo")
        .version("latest")
        .send()
        .await
        .expect(200);
}
