//! The OpenAPI document: every route documented, and a snapshot so API changes show in review.

use crate::app;

#[actix_web::test]
async fn openapi_document_is_served_and_stable() {
    let app = app!();
    let r = app
        .get("/v1/openapi.json")
        .user("demo")
        .send()
        .await
        .expect(200);
    assert_eq!(r.json["openapi"], "3.1.0");
    let paths = r.json["paths"].as_object().unwrap();
    for route in magnum_api::routes::ROUTES {
        let item = &paths[route.path];
        assert!(
            item[route.method.as_str().to_ascii_lowercase()].is_object(),
            "{} {} undocumented",
            route.method,
            route.path
        );
    }
    insta::assert_json_snapshot!("openapi", r.json);
}

#[test]
fn every_documented_route_is_routed() {
    // The router and the document come from the same table; check the table itself.
    let mut seen = std::collections::HashSet::new();
    for route in magnum_api::routes::ROUTES {
        assert!(
            seen.insert((route.method.clone(), route.path)),
            "duplicate route {} {}",
            route.method,
            route.path
        );
        assert!(!route.summary.is_empty());
    }
}
