//! The version documents (`/`, `/v1`) and `/healthcheck`.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

use crate::links::host_url;
use crate::state::AppState;
use crate::version::{MAX_VERSION, MIN_VERSION};

fn pair(host: &str, href: &str) -> Value {
    json!([{"href": format!("{host}/v1/{href}"), "rel": "self"}, {"href": format!("{host}/{href}"), "rel": "bookmark"}])
}

/// `GET /`: the API versions (public).
pub async fn versions(req: HttpRequest) -> HttpResponse {
    let host = host_url(&req);
    HttpResponse::Ok().json(json!({
        "name": "OpenStack Magnum API",
        "description": "Magnum is an OpenStack project which aims to provide container cluster management.",
        "versions": [{
            "id": "v1",
            "links": [{"href": format!("{host}/v1/"), "rel": "self"}],
            "status": "CURRENT",
            "max_version": MAX_VERSION.to_string(),
            "min_version": MIN_VERSION.to_string(),
        }],
    }))
}

/// `GET /v1`: the v1 document with a link pair per resource (public).
pub async fn v1(req: HttpRequest) -> HttpResponse {
    let host = host_url(&req);
    let mut doc = json!({
        "id": "v1",
        "media_types": [{"base": "application/json", "type": "application/vnd.openstack.magnum.v1+json"}],
        "links": [
            {"href": format!("{host}/v1/"), "rel": "self"},
            {"href": "http://docs.openstack.org/developer/magnum/dev/api-spec-v1.html", "rel": "describedby", "type": "text/html"},
        ],
    });
    for res in [
        "baymodels",
        "bays",
        "clustertemplates",
        "clusters",
        "quotas",
        "certificates",
        "mservices",
        "stats",
        "federations",
        "credentials",
    ] {
        doc[res] = pair(&host, &format!("{res}/"));
    }
    doc["nodegroups"] = pair(&host, "clusters/{cluster_id}/nodegroups");
    HttpResponse::Ok().json(doc)
}

/// `GET /healthcheck`: `OK` when the database answers, 503 otherwise. Public, as
/// oslo's healthcheck middleware is, and says nothing beyond that.
pub async fn healthcheck(state: Data<AppState>) -> HttpResponse {
    let ok = state
        .db(|conn| {
            use diesel::connection::SimpleConnection;
            conn.batch_execute("SELECT 1")
                .map_err(crate::error::ApiError::from)
        })
        .await
        .is_ok();
    if ok {
        HttpResponse::Ok().content_type("text/plain").body("OK")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("DATABASE UNAVAILABLE")
    }
}
