//! Routers: records. Every network of the local cloud already has this machine as its gateway,
//! which routes between nothing (Docker drops forwarded traffic of internal networks), so a
//! router has nothing to do; its interfaces take the subnet's gateway address as in Neutron.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::{CloudData, cloud_error, created, list, member, project, show, text};
use crate::compute::CloudError;
use crate::compute::state::{Port, Router, new_id, now};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2.0/routers", web::get().to(list_routers))
        .route("/v2.0/routers", web::post().to(create_router))
        .route("/v2.0/routers/{id}", web::get().to(show_router))
        .route("/v2.0/routers/{id}", web::put().to(update_router))
        .route("/v2.0/routers/{id}", web::delete().to(delete_router))
        .route(
            "/v2.0/routers/{id}/add_router_interface",
            web::put().to(add_interface),
        )
        .route(
            "/v2.0/routers/{id}/remove_router_interface",
            web::put().to(remove_interface),
        );
}

fn router_view(r: &Router) -> Value {
    json!({
        "id": r.id, "name": r.name, "status": "ACTIVE", "admin_state_up": r.admin_state_up,
        "tenant_id": r.project_id, "project_id": r.project_id,
        "external_gateway_info": r.external_gateway_info, "routes": [], "distributed": false,
        "ha": false, "availability_zones": ["nova"], "availability_zone_hints": [],
        "description": "", "tags": [], "flavor_id": null,
        "created_at": r.created_at, "updated_at": r.created_at, "revision_number": 1,
    })
}

async fn list_routers(
    req: HttpRequest,
    cloud: CloudData,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let p = project(&req);
    let items: Vec<Value> = cloud.read(|s| {
        s.routers
            .values()
            .filter(|r| r.project_id == p)
            .map(router_view)
            .collect()
    });
    list("routers", &items, &query)
}

async fn show_router(
    req: HttpRequest,
    cloud: CloudData,
    id: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let p = project(&req);
    let item = cloud.read(|s| {
        s.routers
            .get(id.as_str())
            .filter(|r| r.project_id == p)
            .map(router_view)
    });
    show("router", "RouterNotFound", item, &id, &query)
}

/// `external_gateway_info` as Neutron returns it: the network must be external.
fn gateway_info(
    s: &crate::compute::state::CloudState,
    v: Option<&Value>,
) -> Result<Value, CloudError> {
    let Some(info) = v.filter(|v| v.is_object()) else {
        return Ok(Value::Null);
    };
    let net = info["network_id"].as_str().unwrap_or_default();
    if !s.networks.get(net).is_some_and(|n| n.external) {
        return Err(CloudError::BadRequest(format!(
            "Network {net} is not a valid external network"
        )));
    }
    Ok(
        json!({"network_id": net, "enable_snat": info.get("enable_snat").cloned().unwrap_or(json!(true)), "external_fixed_ips": []}),
    )
}

async fn create_router(req: HttpRequest, cloud: CloudData, body: web::Json<Value>) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        let m = member(&body, "router")?;
        let r = Router {
            id: new_id(),
            name: text(m, "name").unwrap_or_default(),
            project_id: p,
            external_gateway_info: gateway_info(s, m.get("external_gateway_info"))?,
            admin_state_up: m
                .get("admin_state_up")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            interfaces: Vec::new(),
            created_at: now(),
        };
        let view = router_view(&r);
        s.routers.insert(r.id.clone(), r);
        Ok(view)
    });
    match r {
        Ok(v) => created("router", v),
        Err(e) => cloud_error(e, "RouterNotFound"),
    }
}

async fn update_router(
    req: HttpRequest,
    cloud: CloudData,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        let m = member(&body, "router")?.clone();
        let info = if m.contains_key("external_gateway_info") {
            Some(gateway_info(s, m.get("external_gateway_info"))?)
        } else {
            None
        };
        let r = s
            .routers
            .get_mut(id.as_str())
            .filter(|r| r.project_id == p)
            .ok_or_else(|| CloudError::NotFound(format!("Router {id} could not be found")))?;
        if let Some(name) = text(&m, "name") {
            r.name = name;
        }
        if let Some(info) = info {
            r.external_gateway_info = info;
        }
        if let Some(up) = m.get("admin_state_up").and_then(Value::as_bool) {
            r.admin_state_up = up;
        }
        Ok(router_view(r))
    });
    match r {
        Ok(v) => HttpResponse::Ok().json(json!({"router": v})),
        Err(e) => cloud_error(e, "RouterNotFound"),
    }
}

async fn delete_router(req: HttpRequest, cloud: CloudData, id: web::Path<String>) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        let r = s
            .routers
            .get(id.as_str())
            .filter(|r| r.project_id == p)
            .ok_or_else(|| CloudError::NotFound(format!("Router {id} could not be found")))?;
        if !r.interfaces.is_empty() {
            return Err(CloudError::Conflict(format!("Router {id} still has ports")));
        }
        s.routers.remove(id.as_str());
        Ok(())
    });
    match r {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => cloud_error(e, "RouterNotFound"),
    }
}

async fn add_interface(
    req: HttpRequest,
    cloud: CloudData,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        if s.routers.get(id.as_str()).is_none_or(|r| r.project_id != p) {
            return Err(CloudError::NotFound(format!(
                "Router {id} could not be found"
            )));
        }
        let port_id = match (body["subnet_id"].as_str(), body["port_id"].as_str()) {
            (Some(subnet_id), _) => {
                let sub = s
                    .subnets
                    .get(subnet_id)
                    .filter(|x| x.project_id == p)
                    .cloned()
                    .ok_or_else(|| {
                        CloudError::NotFound(format!("Subnet {subnet_id} could not be found."))
                    })?;
                let gw = sub.gateway_ip.ok_or_else(|| {
                    CloudError::BadRequest(format!("Subnet {subnet_id} has no gateway_ip"))
                })?;
                let port = Port {
                    id: new_id(),
                    name: String::new(),
                    network_id: sub.network_id.clone(),
                    project_id: p.clone(),
                    mac_address: crate::compute::ipam::random_mac(),
                    fixed_ips: vec![(sub.id.clone(), gw)],
                    device_id: id.to_string(),
                    device_owner: "network:router_interface".to_owned(),
                    security_groups: Vec::new(),
                    allowed_address_pairs: Vec::new(),
                    admin_state_up: true,
                    created_at: now(),
                };
                let pid = port.id.clone();
                s.ports.insert(pid.clone(), port);
                (sub.id, pid)
            }
            (None, Some(port_id)) => {
                let port = s
                    .ports
                    .get_mut(port_id)
                    .filter(|x| x.project_id == p)
                    .ok_or_else(|| {
                        CloudError::NotFound(format!("Port {port_id} could not be found."))
                    })?;
                port.device_id = id.to_string();
                port.device_owner = "network:router_interface".to_owned();
                (
                    port.fixed_ips
                        .first()
                        .map(|(s, _)| s.clone())
                        .unwrap_or_default(),
                    port_id.to_owned(),
                )
            }
            _ => {
                return Err(CloudError::BadRequest(
                    "Either subnet_id or port_id must be specified".to_owned(),
                ));
            }
        };
        let (subnet_id, port_id) = port_id;
        if let Some(r) = s.routers.get_mut(id.as_str()) {
            r.interfaces.push((subnet_id.clone(), port_id.clone()));
        }
        let network_id = s
            .ports
            .get(&port_id)
            .map(|x| x.network_id.clone())
            .unwrap_or_default();
        Ok(
            json!({"id": id.as_str(), "tenant_id": p, "project_id": p, "port_id": port_id,
                  "subnet_id": subnet_id, "subnet_ids": [subnet_id], "network_id": network_id}),
        )
    });
    match r {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => cloud_error(e, "RouterNotFound"),
    }
}

async fn remove_interface(
    req: HttpRequest,
    cloud: CloudData,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        let r = s
            .routers
            .get_mut(id.as_str())
            .filter(|r| r.project_id == p)
            .ok_or_else(|| CloudError::NotFound(format!("Router {id} could not be found")))?;
        let pos = r
            .interfaces
            .iter()
            .position(|(sub, port)| Some(sub.as_str()) == body["subnet_id"].as_str() || Some(port.as_str()) == body["port_id"].as_str())
            .ok_or_else(|| CloudError::NotFound(format!("Router {id} has no such interface")))?;
        let (subnet_id, port_id) = r.interfaces.remove(pos);
        s.ports.remove(&port_id);
        Ok(json!({"id": id.as_str(), "tenant_id": p, "project_id": p, "port_id": port_id, "subnet_id": subnet_id}))
    });
    match r {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => cloud_error(e, "RouterNotFound"),
    }
}
