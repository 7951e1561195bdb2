//! Server groups: records. There is one host, so every policy is trivially met (or, for
//! anti-affinity, cannot be); the policy is kept as given.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::servers::cloud_fault;
use super::{fault, identity, version_of};
use crate::compute::state::{ServerGroup, new_id};
use crate::compute::{Cloud, CloudError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2.1/os-server-groups", web::get().to(list))
        .route("/v2.1/os-server-groups", web::post().to(create))
        .route("/v2.1/os-server-groups/{id}", web::get().to(show))
        .route("/v2.1/os-server-groups/{id}", web::delete().to(delete));
}

fn view(g: &ServerGroup, req: &HttpRequest) -> Value {
    let mut v = json!({"id": g.id, "name": g.name, "members": g.members, "metadata": {},
                       "project_id": g.project_id, "user_id": g.user_id});
    if version_of(req) >= super::Microversion(2, 64) {
        v["policy"] = json!(g.policies.first());
        v["rules"] = json!({});
    } else {
        v["policies"] = json!(g.policies);
    }
    v
}

fn project(req: &HttpRequest) -> String {
    identity(req)
        .and_then(|i| i.project_id.clone())
        .unwrap_or_default()
}

async fn list(req: HttpRequest, cloud: web::Data<Cloud>) -> HttpResponse {
    let p = project(&req);
    let items: Vec<Value> = cloud.read(|s| {
        s.server_groups
            .values()
            .filter(|g| g.project_id == p)
            .map(|g| view(g, &req))
            .collect()
    });
    HttpResponse::Ok().json(json!({"server_groups": items}))
}

async fn show(req: HttpRequest, cloud: web::Data<Cloud>, id: web::Path<String>) -> HttpResponse {
    let p = project(&req);
    match cloud.read(|s| {
        s.server_groups
            .get(id.as_str())
            .filter(|g| g.project_id == p)
            .map(|g| view(g, &req))
    }) {
        Some(v) => HttpResponse::Ok().json(json!({"server_group": v})),
        None => fault(
            StatusCode::NOT_FOUND,
            format!("Instance group {id} could not be found."),
        ),
    }
}

async fn create(req: HttpRequest, cloud: web::Data<Cloud>, body: web::Json<Value>) -> HttpResponse {
    let p = project(&req);
    let user = identity(&req)
        .map(|i| i.user_id.clone())
        .unwrap_or_default();
    let g = &body["server_group"];
    let policies: Vec<String> = match (g["policy"].as_str(), g["policies"].as_array()) {
        (Some(p), _) => vec![p.to_owned()],
        (None, Some(list)) => list
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let known = [
        "affinity",
        "anti-affinity",
        "soft-affinity",
        "soft-anti-affinity",
    ];
    if policies.len() != 1 || !known.contains(&policies[0].as_str()) {
        return fault(
            StatusCode::BAD_REQUEST,
            "Invalid input for field/attribute policy.",
        );
    }
    let r = cloud.update(|s| {
        let name = g["name"]
            .as_str()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                CloudError::BadRequest("Invalid input for field/attribute name.".to_owned())
            })?;
        let group = ServerGroup {
            id: new_id(),
            name: name.to_owned(),
            project_id: p.clone(),
            user_id: user.clone(),
            policies,
            members: Vec::new(),
        };
        s.server_groups.insert(group.id.clone(), group.clone());
        Ok(group)
    });
    match r {
        Ok(group) => HttpResponse::Ok().json(json!({"server_group": view(&group, &req)})),
        Err(e) => cloud_fault(e),
    }
}

async fn delete(req: HttpRequest, cloud: web::Data<Cloud>, id: web::Path<String>) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        s.server_groups
            .remove(id.as_str())
            .filter(|g| g.project_id == p)
            .map(drop)
            .ok_or_else(|| CloudError::NotFound(format!("Instance group {id} could not be found.")))
    });
    match r {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => cloud_fault(e),
    }
}
