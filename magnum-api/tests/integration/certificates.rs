//! Certificates and credentials: checked by the API, then performed by the conductor.

use serde_json::json;

use crate::app;
use crate::clusters::create_cluster;

const CSR: &str = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";

#[actix_web::test]
async fn certificate_routes_check_then_need_the_conductor() {
    let app = app!();
    let c = create_cluster(&app, "demo", "tls", 1).await;
    app.get("/v1/certificates/nope")
        .user("demo")
        .send()
        .await
        .expect(404);
    app.get(&format!("/v1/certificates/{c}"))
        .user("alt_demo")
        .send()
        .await
        .expect(404);
    app.get(&format!("/v1/certificates/{c}"))
        .user("demo")
        .send()
        .await
        .expect_error(503, "conductor is not available");
    app.post("/v1/certificates")
        .user("demo")
        .json(json!({"cluster_uuid": "nope", "csr": CSR}))
        .send()
        .await
        .expect_error(400, "Cluster nope could not be found.");
    app.post("/v1/certificates")
        .user("demo")
        .json(json!({"cluster_uuid": c, "csr": "junk"}))
        .send()
        .await
        .expect_error(400, "Received invalid csr junk.");
    app.post("/v1/certificates")
        .user("demo")
        .json(json!({"cluster_uuid": c, "csr": CSR}))
        .send()
        .await
        .expect(503);
    app.patch(&format!("/v1/certificates/{c}"))
        .user("demo")
        .header("Content-Type", "application/octet-stream")
        .send()
        .await
        .expect(503);
    app.patch(&format!("/v1/credentials/{c}"))
        .user("demo")
        .version("1.12")
        .header("Content-Type", "application/json")
        .send()
        .await
        .expect(503);
}

#[actix_web::test]
async fn ca_rotation_needs_tls() {
    let app = app!();
    let mut t = crate::harness::k8s_template("notls");
    t["tls_disabled"] = json!(true);
    let ct = crate::cluster_templates::create_template(&app, "demo", t).await;
    let c = crate::clusters::create_cluster_from(&app, "demo", &ct, "plain", 1).await;
    app.patch(&format!("/v1/certificates/{c}"))
        .user("demo")
        .send()
        .await
        .expect_error(
            400,
            "Rotating the CA certificate on a non-TLS cluster is not supported",
        );
}
