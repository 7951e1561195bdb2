//! ClusterTemplates: create, read, update, delete, and every validation.

use serde_json::{Value, json};

use crate::app;
use crate::harness::{TestApp, k8s_template};

/// Creates a template as `user` and returns its uuid.
pub async fn create_template(app: &TestApp, user: &str, body: Value) -> String {
    let r = app
        .post("/v1/clustertemplates")
        .user(user)
        .json(body)
        .send()
        .await
        .expect(201);
    r.json["uuid"].as_str().unwrap().to_owned()
}

async fn count(app: &TestApp, user: &str) -> usize {
    app.get("/v1/clustertemplates")
        .user(user)
        .send()
        .await
        .expect(200)
        .json["clustertemplates"]
        .as_array()
        .unwrap()
        .len()
}

#[actix_web::test]
async fn create_returns_201_with_location_and_defaults() {
    let app = app!();
    let r = app
        .post("/v1/clustertemplates")
        .user("demo")
        .json(k8s_template("k8s"))
        .send()
        .await
        .expect(201);
    let t = &r.json;
    let uuid = t["uuid"].as_str().unwrap();
    assert!(
        r.header("Location")
            .unwrap()
            .ends_with(&format!("/v1/clustertemplates/{uuid}"))
    );
    assert_eq!(
        t["cluster_distro"], "fedora-coreos",
        "taken from the image's os_distro"
    );
    assert_eq!(t["network_driver"], "flannel", "the COE default is stored");
    assert_eq!(t["server_type"], "vm");
    assert_eq!(t["floating_ip_enabled"], true);
    assert_eq!(t["public"], false);
    assert_eq!(t["project_id"], app.project("demo"));
    assert_eq!(t["links"][0]["rel"], "self");
    assert!(t["created_at"].as_str().unwrap().ends_with("+00:00"));
    assert!(t["updated_at"].is_null());
    // Label values come back as strings, as upstream stores them.
    let r = app
        .post("/v1/clustertemplates")
        .user("demo")
        .json(json!({"coe": "swarm-mode", "image_id": "fedora-atomic-33", "labels": {"a": true, "b": 3, "c": 1.5}}))
        .send()
        .await
        .expect(201);
    assert_eq!(r.json["labels"], json!({"a": "True", "b": "3", "c": "1.5"}));
    assert_eq!(r.json["network_driver"], "docker");
    let name = r.json["name"].as_str().unwrap();
    assert!(
        name.ends_with("-template") && name.split('-').count() == 3,
        "{name}"
    );
}

#[actix_web::test]
async fn read_by_uuid_name_and_lists() {
    let app = app!();
    let uuid = create_template(&app, "demo", k8s_template("mine")).await;
    let by_name = app
        .get("/v1/clustertemplates/mine")
        .user("demo")
        .send()
        .await
        .expect(200);
    let by_uuid = app
        .get(&format!("/v1/clustertemplates/{uuid}"))
        .user("demo")
        .send()
        .await
        .expect(200);
    assert_eq!(by_name.json, by_uuid.json);
    let upper = uuid.to_uppercase();
    app.get(&format!("/v1/clustertemplates/{upper}"))
        .user("demo")
        .send()
        .await
        .expect(200);
    let list = app
        .get("/v1/clustertemplates")
        .user("demo")
        .send()
        .await
        .expect(200);
    assert_eq!(
        list.json["clustertemplates"][0], by_uuid.json,
        "lists show full objects"
    );
    app.get("/v1/clustertemplates/detail")
        .user("demo")
        .send()
        .await
        .expect(200);
    create_template(&app, "demo", k8s_template("mine")).await;
    app.get("/v1/clustertemplates/mine")
        .user("demo")
        .send()
        .await
        .expect_error(409, "Multiple ClusterTemplates exist with same name. Please use the ClusterTemplate uuid instead.");
    app.get("/v1/clustertemplates/nope")
        .user("demo")
        .send()
        .await
        .expect_error(404, "ClusterTemplate nope could not be found.");
}

#[actix_web::test]
async fn create_validation_in_upstream_order() {
    let app = app!();
    let with = |patch: Value| {
        let mut b = k8s_template("bad");
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                b.as_object_mut().unwrap().remove(k);
            } else {
                b[k] = v.clone();
            }
        }
        b
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"coe": null}),
            400,
            "Invalid input for field/attribute coe. Value: 'None'. Mandatory field missing.",
        ),
        (
            json!({"image_id": null}),
            400,
            "image_id. Value: 'None'. Mandatory field missing.",
        ),
        (
            json!({"coe": "mesos"}),
            400,
            "Value should be one of: kubernetes, swarm, swarm-mode",
        ),
        (
            json!({"foo": 1}),
            400,
            "Unknown attribute for argument cluster_template: foo",
        ),
        (
            json!({"docker_volume_size": "big"}),
            400,
            "docker_volume_size",
        ),
        (
            json!({"docker_volume_size": 0}),
            400,
            "Value should be greater or equal to 1",
        ),
        (
            json!({"apiserver_port": 80}),
            400,
            "Value should be greater or equal to 1024",
        ),
        (json!({"public": "maybe"}), 400, "acceptable values are"),
        (
            json!({"name": ""}),
            400,
            "minimum character requirement of 1",
        ),
        (
            json!({"network_driver": "weave"}),
            400,
            "Network driver type weave is not supported, expecting a flannel/calico/unspecified network driver.",
        ),
        (
            json!({"volume_driver": "rexray"}),
            400,
            "Volume driver type rexray is not supported, expecting a cinder/unspecified volume driver.",
        ),
        (
            json!({"docker_storage_driver": "devicemapper", "docker_volume_size": 2}),
            400,
            "docker volume size 2 GB is not valid, expecting minimum value 3GB for devicemapper storage driver.",
        ),
        (
            json!({"dns_nameserver": "8.8.8"}),
            400,
            "Expected a single dns address or comma separated dns list, but received 8.8.8.",
        ),
        (
            json!({"image_id": "no-such-image"}),
            400,
            "Image no-such-image could not be found.",
        ),
        (
            json!({"image_id": "cirros-0.6"}),
            400,
            "Image cirros-0.6 doesn't contain os_distro field.",
        ),
        (
            json!({"image_id": "duplicate-image"}),
            409,
            "Multiple images exist with same name duplicate-image. Please use the resource id instead.",
        ),
        (
            json!({"flavor_id": "m1.nope"}),
            400,
            "Unable to find flavor m1.nope.",
        ),
        (
            json!({"master_flavor_id": "m9"}),
            400,
            "Unable to find flavor m9.",
        ),
        (
            json!({"external_network_id": "private"}),
            400,
            "Unable to find external network private.",
        ),
        (
            json!({"external_network_id": "duplicate-net"}),
            409,
            "Multiple external networks exist with same name 'duplicate-net'. Please use the external network ID instead.",
        ),
        (
            json!({"fixed_network": "nowhere"}),
            400,
            "Unable to find fixed network nowhere.",
        ),
        (
            json!({"fixed_subnet": "nosubnet"}),
            400,
            "Unable to find fixed subnet nosubnet.",
        ),
        (
            json!({"labels": {"swarm_strategy": "spread foo"}}),
            400,
            "property \"labels/swarm_strategy\" with value \"foo\" is not supported",
        ),
        (
            json!({"coe": "swarm-mode", "network_driver": null}),
            400,
            "Cluster type (vm, fedora-coreos, swarm-mode) not supported.",
        ),
        (
            json!({"server_type": "bm"}),
            400,
            "Cluster type (bm, fedora-coreos, kubernetes) not supported.",
        ),
        (
            json!({"public": true}),
            403,
            "Not authorized to set public or hidden flag for cluster template.",
        ),
        (
            json!({"hidden": true}),
            403,
            "Not authorized to set public or hidden flag for cluster template.",
        ),
    ];
    for (patch, status, detail) in cases {
        app.post("/v1/clustertemplates")
            .user("demo")
            .json(with(patch.clone()))
            .send()
            .await
            .expect_error(status, detail);
    }
    assert_eq!(
        count(&app, "demo").await,
        0,
        "no failed create wrote anything"
    );
    // Valid alternatives of the same fields.
    create_template(&app, "demo", with(json!({"fixed_network": "private", "fixed_subnet": "private-subnet", "network_driver": "calico", "volume_driver": "cinder"}))).await;
    create_template(
        &app,
        "demo",
        with(json!({"dns_nameserver": "8.8.8.8, 1.1.1.1", "flavor_id": "3"})),
    )
    .await;
}

#[actix_web::test]
async fn admins_publish_and_visibility_follows() {
    let app = app!();
    let private = create_template(&app, "demo", k8s_template("private")).await;
    let public = create_template(&app, "admin", json!({"name": "shared", "coe": "kubernetes", "image_id": "fedora-coreos-40", "public": true})).await;
    let hidden = create_template(&app, "admin", json!({"name": "retired", "coe": "kubernetes", "image_id": "fedora-coreos-40", "public": true, "hidden": true})).await;
    let names = |r: &crate::harness::Resp| -> Vec<String> {
        r.json["clustertemplates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let alt = app
        .get("/v1/clustertemplates")
        .user("alt_demo")
        .send()
        .await
        .expect(200);
    assert_eq!(
        names(&alt),
        ["shared"],
        "another project sees public, non-hidden templates only"
    );
    app.get(&format!("/v1/clustertemplates/{private}"))
        .user("alt_demo")
        .send()
        .await
        .expect(404);
    app.get(&format!("/v1/clustertemplates/{public}"))
        .user("alt_demo")
        .send()
        .await
        .expect(200);
    app.get(&format!("/v1/clustertemplates/{hidden}"))
        .user("alt_demo")
        .send()
        .await
        .expect(200);
    let admin = app
        .get("/v1/clustertemplates")
        .user("admin")
        .send()
        .await
        .expect(200);
    assert_eq!(
        names(&admin).len(),
        3,
        "admins see every project's templates"
    );
    // A public template cannot be changed or deleted by another project.
    app.patch(&format!("/v1/clustertemplates/{public}"))
        .user("alt_demo")
        .json(json!([{"op": "replace", "path": "/name", "value": "mine-now"}]))
        .send()
        .await
        .expect_error(
            403,
            "Policy doesn't allow clustertemplate:update to be performed.",
        );
    app.delete(&format!("/v1/clustertemplates/{public}"))
        .user("alt_demo")
        .send()
        .await
        .expect(403);
    // Admins may change another project's private template (upstream answered 404).
    let r = app
        .patch(&format!("/v1/clustertemplates/{private}"))
        .user("admin")
        .json(json!([{"op": "replace", "path": "/tags", "value": "audited"}]))
        .send()
        .await
        .expect(200);
    assert_eq!(r.json["tags"], "audited");
}

#[actix_web::test]
async fn patch_rules() {
    let app = app!();
    let mut body = k8s_template("p");
    body.as_object_mut().unwrap().remove("keypair_id");
    let uuid = create_template(&app, "demo", body).await;
    let url = format!("/v1/clustertemplates/{uuid}");
    let patch = |ops: Value| app.patch(&url).user("demo").json(ops);
    let r = patch(json!([
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "add", "path": "/keypair_id", "value": "default"},
        {"op": "replace", "path": "/labels", "value": "{'kube_tag': 'v1.28', 'x': 1}"},
        {"op": "add", "path": "/labels/y", "value": 2},
        {"op": "replace", "path": "/docker_volume_size", "value": "5"}
    ]))
    .send()
    .await
    .expect(200);
    assert_eq!(r.json["name"], "renamed");
    assert_eq!(r.json["keypair_id"], "default");
    assert_eq!(
        r.json["labels"],
        json!({"kube_tag": "v1.28", "x": "1", "y": "2"})
    );
    assert_eq!(r.json["docker_volume_size"], 5);
    assert!(r.json["updated_at"].is_string());
    let before = app.get(&url).user("demo").send().await.json;
    for (ops, status, detail) in [
        (
            json!([{"op": "replace", "path": "/uuid", "value": "x"}]),
            400,
            "'/uuid' is an internal attribute and can not be updated",
        ),
        (
            json!([{"op": "replace", "path": "/project_id", "value": "x"}]),
            400,
            "internal attribute",
        ),
        (
            json!([{"op": "remove", "path": "/image_id"}]),
            400,
            "'/image_id' is a mandatory attribute and can not be removed",
        ),
        (
            json!([{"op": "remove", "path": "/coe"}]),
            400,
            "mandatory attribute",
        ),
        (
            json!([{"op": "add", "path": "/name", "value": "x"}]),
            400,
            "The attribute /name has existed, please use 'replace' operation instead.",
        ),
        (
            json!([{"op": "add", "path": "/bogus", "value": "x"}]),
            400,
            "Adding a new attribute /bogus to the root of the resource is not allowed.",
        ),
        (
            json!([{"op": "replace", "path": "/bogus", "value": "x"}]),
            400,
            "can't replace a non-existent object 'bogus'",
        ),
        (
            json!([{"op": "replace", "path": "/name"}]),
            400,
            "'add' and 'replace' operations needs value",
        ),
        (
            json!([{"op": "copy", "path": "/name", "value": "x"}]),
            400,
            "Value should be one of: add, replace, remove",
        ),
        (
            json!({"op": "replace", "path": "/name", "value": "x"}),
            400,
            "Value not a valid list",
        ),
        (
            json!([{"op": "replace", "path": "/docker_volume_size", "value": 0}]),
            400,
            "Value should be greater or equal to 1",
        ),
        (
            json!([{"op": "replace", "path": "/image_id", "value": "no-such-image"}]),
            400,
            "Image no-such-image could not be found.",
        ),
        (
            json!([{"op": "replace", "path": "/network_driver", "value": "docker"}]),
            400,
            "Network driver type docker is not supported",
        ),
        (
            json!([{"op": "replace", "path": "/labels", "value": "{'a': }"}]),
            400,
            "Couldn't apply patch",
        ),
        (
            json!([{"op": "replace", "path": "/public", "value": "true"}]),
            403,
            "Not authorized to set public or hidden flag",
        ),
    ] {
        patch(ops).send().await.expect_error(status, detail);
    }
    assert_eq!(
        app.get(&url).user("demo").send().await.json,
        before,
        "failed patches change nothing"
    );
}

#[actix_web::test]
async fn templates_in_use_are_protected() {
    let app = app!();
    let uuid = create_template(&app, "demo", k8s_template("used")).await;
    crate::clusters::create_cluster_from(&app, "demo", &uuid, "user1", 1).await;
    let url = format!("/v1/clustertemplates/{uuid}");
    app.delete(&url).user("demo").send().await.expect_error(
        400,
        &format!("ClusterTemplate {uuid} is referenced by one or multiple clusters."),
    );
    app.patch(&url)
        .user("demo")
        .json(json!([{"op": "replace", "path": "/flavor_id", "value": "m1.large"}]))
        .send()
        .await
        .expect_error(400, "is referenced by one or multiple clusters");
    // A lone rename or tags change is allowed.
    app.patch(&url)
        .user("demo")
        .json(json!([{"op": "replace", "path": "/name", "value": "used2"}]))
        .send()
        .await
        .expect(200);
    app.patch(&url)
        .user("demo")
        .json(json!([{"op": "add", "path": "/tags", "value": "t"}]))
        .send()
        .await
        .expect(200);
    let unused = create_template(&app, "demo", k8s_template("free")).await;
    app.delete(&format!("/v1/clustertemplates/{unused}"))
        .user("demo")
        .send()
        .await
        .expect(204);
    app.get(&format!("/v1/clustertemplates/{unused}"))
        .user("demo")
        .send()
        .await
        .expect(404);
}

#[actix_web::test]
async fn pagination_sorting_and_markers() {
    let app = app!();
    for name in ["c", "a", "d", "b", "e"] {
        create_template(&app, "demo", k8s_template(name)).await;
    }
    let r = app
        .get("/v1/clustertemplates?limit=2&sort_key=name&sort_dir=desc")
        .user("demo")
        .send()
        .await
        .expect(200);
    let page: Vec<&str> = r.json["clustertemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(page, ["e", "d"]);
    let next = r.json["next"].as_str().unwrap();
    let last = r.json["clustertemplates"][1]["uuid"].as_str().unwrap();
    assert!(
        next.ends_with(&format!(
            "/v1/clustertemplates?sort_key=name&sort_dir=desc&limit=2&marker={last}"
        )),
        "{next}"
    );
    let path = &next[next.find("/v1/").unwrap()..];
    let r2 = app.get(path).user("demo").send().await.expect(200);
    let page2: Vec<&str> = r2.json["clustertemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(page2, ["c", "b"]);
    let r3 = app
        .get("/v1/clustertemplates?limit=10")
        .user("demo")
        .send()
        .await
        .expect(200);
    assert!(
        r3.json.get("next").is_none(),
        "no next when the page is not full"
    );
    for (query, detail) in [
        ("limit=0", "Limit must be positive"),
        ("limit=-3", "Limit must be positive"),
        (
            "limit=abc",
            "Invalid input for field/attribute limit. Value: 'abc'. unable to convert to int",
        ),
        (
            "sort_dir=up",
            "Invalid sort direction: up. Acceptable values are 'asc' or 'desc'",
        ),
        (
            "sort_key=nope",
            "The sort_key value \"nope\" is an invalid field for sorting",
        ),
        (
            "sort_key=labels",
            "The sort_key value \"labels\" is an invalid field for sorting",
        ),
        (
            "marker=abc",
            "unable to convert to uuid. Error: Expected a uuid but received abc.",
        ),
        ("colour=red", "Unknown argument: \"colour\""),
    ] {
        app.get(&format!("/v1/clustertemplates?{query}"))
            .user("demo")
            .send()
            .await
            .expect_error(400, detail);
    }
    let ghost = "27e3153e-d5bf-4b7e-b517-fb518e17f34c";
    app.get(&format!("/v1/clustertemplates?marker={ghost}"))
        .user("demo")
        .send()
        .await
        .expect_error(404, &format!("ClusterTemplate {ghost} could not be found."));
}

#[actix_web::test]
async fn baymodels_are_the_legacy_twin() {
    let app = app!();
    let mut body = k8s_template("bm");
    body.as_object_mut().unwrap().remove("keypair_id");
    app.post("/v1/baymodels")
        .user("demo")
        .json(body.clone())
        .send()
        .await
        .expect_error(400, "keypair_id. Value: 'None'. Mandatory field missing.");
    body["keypair_id"] = json!("default");
    body["dns_nameserver"] = json!("8.8.8.8,8.8.4.4");
    app.post("/v1/baymodels")
        .user("demo")
        .json(body.clone())
        .send()
        .await
        .expect_error(400, "Value should be IPv4 format");
    body["dns_nameserver"] = json!("8.8.8.8");
    let r = app
        .post("/v1/baymodels")
        .user("demo")
        .json(body)
        .send()
        .await
        .expect(201);
    assert!(r.header("Location").unwrap().contains("/v1/baymodels/"));
    assert!(
        r.json.get("project_id").is_none(),
        "baymodels have no project_id"
    );
    let uuid = r.json["uuid"].as_str().unwrap();
    let list = app
        .get("/v1/baymodels")
        .user("demo")
        .send()
        .await
        .expect(200);
    assert_eq!(list.json["baymodels"][0]["uuid"], uuid);
    // The same object through both APIs.
    app.get(&format!("/v1/clustertemplates/{uuid}"))
        .user("demo")
        .send()
        .await
        .expect(200);
    app.delete(&format!("/v1/baymodels/{uuid}"))
        .user("demo")
        .send()
        .await
        .expect(204);
}
