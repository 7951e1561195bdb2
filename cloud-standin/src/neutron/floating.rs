//! Floating IPs: addresses of the external network (`public`, whose bridge this machine has).
//! A floating IP on a server's port becomes a second NIC of its container on the `public`
//! network; one on a load balancer's VIP port becomes an address the balancer listens on.
//! Either way this machine reaches it directly, and `ip route get` says so.

use std::net::Ipv4Addr;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::{CloudData, cloud_error, created, list, member, project, show, text};
use crate::compute::state::{FloatingIp, Port, new_id, now};
use crate::compute::{Cloud, CloudError, ipam};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2.0/floatingips", web::get().to(list_fips))
        .route("/v2.0/floatingips", web::post().to(create_fip))
        .route("/v2.0/floatingips/{id}", web::get().to(show_fip))
        .route("/v2.0/floatingips/{id}", web::put().to(update_fip))
        .route("/v2.0/floatingips/{id}", web::delete().to(delete_fip));
}

/// A floating IP as Neutron shows it.
pub fn fip_view(f: &FloatingIp) -> Value {
    let status = if f.port_id.is_some() {
        "ACTIVE"
    } else {
        "DOWN"
    };
    json!({
        "id": f.id, "tenant_id": f.project_id, "project_id": f.project_id,
        "floating_network_id": f.floating_network_id, "floating_ip_address": f.floating_ip_address,
        "fixed_ip_address": f.fixed_ip_address, "port_id": f.port_id, "router_id": f.router_id,
        "status": status, "description": f.description, "dns_name": "", "dns_domain": "",
        "port_details": null, "tags": [], "qos_policy_id": null,
        "created_at": f.created_at, "updated_at": f.created_at, "revision_number": 1,
    })
}

async fn list_fips(
    req: HttpRequest,
    cloud: CloudData,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let p = project(&req);
    let items: Vec<Value> = cloud.read(|s| {
        s.floating_ips
            .values()
            .filter(|f| f.project_id == p)
            .map(fip_view)
            .collect()
    });
    list("floatingips", &items, &query)
}

async fn show_fip(
    req: HttpRequest,
    cloud: CloudData,
    id: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let p = project(&req);
    let item = cloud.read(|s| {
        s.floating_ips
            .get(id.as_str())
            .filter(|f| f.project_id == p)
            .map(fip_view)
    });
    show("floatingip", "FloatingIPNotFound", item, &id, &query)
}

/// Checks that `port_id` can take a floating IP of `project`; returns its first address.
fn port_address(
    s: &crate::compute::state::CloudState,
    project: &str,
    port_id: &str,
    fixed: Option<&str>,
) -> Result<Ipv4Addr, CloudError> {
    let port = s
        .ports
        .get(port_id)
        .filter(|p| p.project_id == project)
        .ok_or_else(|| CloudError::NotFound(format!("Port {port_id} could not be found.")))?;
    let addr = match fixed {
        Some(ip) => port
            .fixed_ips
            .iter()
            .map(|(_, a)| *a)
            .find(|a| a.to_string() == ip)
            .ok_or_else(|| {
                CloudError::BadRequest(format!("Port {port_id} does not have fixed ip {ip}"))
            })?,
        None => port.fixed_ips.first().map(|(_, a)| *a).ok_or_else(|| {
            CloudError::BadRequest(format!("Port {port_id} does not have a fixed IP address."))
        })?,
    };
    if s.floating_ips
        .values()
        .any(|f| f.port_id.as_deref() == Some(port_id) && f.fixed_ip_address == Some(addr))
    {
        return Err(CloudError::Conflict(format!(
            "Cannot associate floating IP with port {port_id} using fixed IP {addr}, as that fixed IP already has a floating IP."
        )));
    }
    Ok(addr)
}

async fn create_fip(req: HttpRequest, cloud: CloudData, body: web::Json<Value>) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        let m = member(&body, "floatingip")?;
        let net_id = text(m, "floating_network_id")
            .ok_or_else(|| CloudError::BadRequest("floating_network_id is required.".to_owned()))?;
        let net = s
            .networks
            .get(&net_id)
            .filter(|n| n.external)
            .ok_or_else(|| {
                CloudError::NotFound(format!("External network {net_id} could not be found."))
            })?;
        let subnet_id = net.subnets.first().cloned().ok_or_else(|| {
            CloudError::BadRequest(format!("External network {net_id} has no subnet."))
        })?;
        let sub = s
            .subnets
            .get(&subnet_id)
            .cloned()
            .ok_or_else(|| CloudError::NotFound(subnet_id.clone()))?;
        let used = s.used_addresses(&subnet_id);
        let addr: Ipv4Addr = match text(m, "floating_ip_address") {
            Some(a) => {
                let a: Ipv4Addr = a
                    .parse()
                    .map_err(|_| CloudError::BadRequest(format!("Invalid IP address {a}.")))?;
                if used.contains(&a) || !ipam::in_pools(&sub.allocation_pools, a) {
                    return Err(CloudError::Conflict(format!(
                        "IP address {a} already allocated in subnet {subnet_id}"
                    )));
                }
                a
            }
            None => s
                .take_address(&subnet_id, &sub.allocation_pools, &[])
                .ok_or_else(|| {
                    CloudError::Conflict(format!(
                        "No more IP addresses available on network {net_id}."
                    ))
                })?,
        };
        let port_id = text(m, "port_id");
        let fixed = match &port_id {
            Some(pid) => Some(port_address(
                s,
                &p,
                pid,
                text(m, "fixed_ip_address").as_deref(),
            )?),
            None => None,
        };
        let f = FloatingIp {
            id: new_id(),
            project_id: p.clone(),
            floating_network_id: net_id,
            floating_ip_address: addr,
            port_id,
            fixed_ip_address: fixed,
            router_id: None,
            description: text(m, "description").unwrap_or_default(),
            created_at: now(),
        };
        s.floating_ips.insert(f.id.clone(), f.clone());
        Ok(f)
    });
    match r {
        Ok(f) => {
            if let Err(e) = plug(&cloud, &f).await {
                let _ = cloud.update(|s| {
                    s.floating_ips.remove(&f.id);
                    Ok(())
                });
                return cloud_error(e, "FloatingIPNotFound");
            }
            created("floatingip", fip_view(&f))
        }
        Err(e) => cloud_error(e, "FloatingIPNotFound"),
    }
}

async fn update_fip(
    req: HttpRequest,
    cloud: CloudData,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        let m = member(&body, "floatingip")?.clone();
        let old = s
            .floating_ips
            .get(id.as_str())
            .filter(|f| f.project_id == p)
            .cloned()
            .ok_or_else(|| CloudError::NotFound(format!("Floating IP {id} could not be found.")))?;
        let mut f = old.clone();
        if m.contains_key("port_id") {
            f.port_id = text(&m, "port_id");
            f.fixed_ip_address = None;
            if let Some(pid) = &f.port_id {
                s.floating_ips.remove(&f.id);
                f.fixed_ip_address = Some(port_address(
                    s,
                    &p,
                    pid,
                    text(&m, "fixed_ip_address").as_deref(),
                )?);
            }
        }
        if let Some(d) = text(&m, "description") {
            f.description = d;
        }
        let old_port = old
            .port_id
            .as_ref()
            .and_then(|pid| s.ports.get(pid))
            .cloned();
        s.floating_ips.insert(f.id.clone(), f.clone());
        Ok((old, old_port, f))
    });
    match r {
        Ok((old, old_port, f)) => {
            if old.port_id != f.port_id {
                if let Some(port) = old_port {
                    unplug(&cloud, &old, &port).await;
                }
                if let Err(e) = plug(&cloud, &f).await {
                    return cloud_error(e, "FloatingIPNotFound");
                }
            }
            HttpResponse::Ok().json(json!({"floatingip": fip_view(&f)}))
        }
        Err(e) => cloud_error(e, "FloatingIPNotFound"),
    }
}

async fn delete_fip(req: HttpRequest, cloud: CloudData, id: web::Path<String>) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        let f = s
            .floating_ips
            .remove(id.as_str())
            .filter(|f| f.project_id == p)
            .ok_or_else(|| CloudError::NotFound(format!("Floating IP {id} could not be found.")))?;
        let port = f.port_id.as_ref().and_then(|pid| s.ports.get(pid)).cloned();
        Ok((f, port))
    });
    match r {
        Ok((f, port)) => {
            if let Some(port) = port {
                unplug(&cloud, &f, &port).await;
            }
            HttpResponse::NoContent().finish()
        }
        Err(e) => cloud_error(e, "FloatingIPNotFound"),
    }
}

/// Gives a floating IP to whatever has its port now (a running server or a load balancer);
/// a server made later gets it when its container is made.
pub async fn plug(cloud: &Cloud, f: &FloatingIp) -> Result<(), CloudError> {
    let Some(port_id) = &f.port_id else {
        return Ok(());
    };
    let Some(port) = cloud.read(|s| s.ports.get(port_id).cloned()) else {
        return Ok(());
    };
    let Ok(engine) = cloud.engine() else {
        return Ok(());
    };
    if port.device_owner.starts_with("compute:") {
        crate::nova::servers::plug_floating_ip(cloud, &engine, &port.device_id, f).await
    } else if port.device_owner == crate::octavia::VIP_OWNER {
        crate::octavia::add_floating_ip(cloud, &engine, &port.device_id, f.floating_ip_address)
            .await
    } else {
        Ok(())
    }
}

/// Takes a floating IP away from what had `port`.
pub async fn unplug(cloud: &Cloud, f: &FloatingIp, port: &Port) {
    let Ok(engine) = cloud.engine() else { return };
    if port.device_owner.starts_with("compute:") {
        crate::nova::servers::unplug_floating_ip(cloud, &engine, &port.device_id, f).await;
    } else if port.device_owner == crate::octavia::VIP_OWNER {
        crate::octavia::remove_floating_ip(cloud, &engine, &port.device_id, f.floating_ip_address)
            .await;
    }
}
