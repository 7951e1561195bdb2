//! Ports: addresses reserved on a network. Nova gives a port's address to the container of the
//! server that has the port (see `crate::nova::servers`); a port deleted from under a running
//! server takes its NIC away.

use std::net::Ipv4Addr;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::{CloudData, cloud_error, created, list, member, project, show, text};
use crate::compute::state::{CloudState, Port, new_id, now};
use crate::compute::{Cloud, CloudError, ipam};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2.0/ports", web::get().to(list_ports))
        .route("/v2.0/ports", web::post().to(create_port))
        .route("/v2.0/ports/{id}", web::get().to(show_port))
        .route("/v2.0/ports/{id}", web::put().to(update_port))
        .route("/v2.0/ports/{id}", web::delete().to(delete_port));
}

/// A port as Neutron shows it.
pub fn port_view(p: &Port) -> Value {
    let status = if p.device_id.is_empty() {
        "DOWN"
    } else {
        "ACTIVE"
    };
    json!({
        "id": p.id, "name": p.name, "network_id": p.network_id,
        "tenant_id": p.project_id, "project_id": p.project_id,
        "mac_address": p.mac_address, "admin_state_up": p.admin_state_up, "status": status,
        "device_id": p.device_id, "device_owner": p.device_owner,
        "fixed_ips": p.fixed_ips.iter().map(|(s, ip)| json!({"subnet_id": s, "ip_address": ip})).collect::<Vec<_>>(),
        "security_groups": p.security_groups, "allowed_address_pairs": p.allowed_address_pairs,
        "port_security_enabled": true, "qos_policy_id": null, "dns_assignment": [],
        "dns_name": "", "propagate_uplink_status": false, "binding:vnic_type": "normal",
        "binding:host_id": if p.device_id.is_empty() { "" } else { "localhost" },
        "extra_dhcp_opts": [], "description": "", "tags": [],
        "created_at": p.created_at, "updated_at": p.created_at, "revision_number": 1,
    })
}

async fn list_ports(
    req: HttpRequest,
    cloud: CloudData,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let p = project(&req);
    let items: Vec<Value> = cloud.read(|s| {
        s.ports
            .values()
            .filter(|x| x.project_id == p)
            .map(port_view)
            .collect()
    });
    list("ports", &items, &query)
}

async fn show_port(
    req: HttpRequest,
    cloud: CloudData,
    id: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let p = project(&req);
    let item = cloud.read(|s| {
        s.ports
            .get(id.as_str())
            .filter(|x| x.project_id == p)
            .map(port_view)
    });
    show("port", "PortNotFound", item, &id, &query)
}

/// The addresses a port asks for: `fixed_ips: [{subnet_id?, ip_address?}]`, or one address on
/// the network's subnet.
fn allocate(
    s: &mut CloudState,
    network_id: &str,
    wanted: Option<&Vec<Value>>,
) -> Result<Vec<(String, Ipv4Addr)>, CloudError> {
    let net =
        s.networks.get(network_id).cloned().ok_or_else(|| {
            CloudError::NotFound(format!("Network {network_id} could not be found."))
        })?;
    let default_subnet = || {
        net.subnets.first().cloned().ok_or_else(|| {
            CloudError::BadRequest(format!(
                "Network {network_id} has no subnet to take an address from."
            ))
        })
    };
    let requests: Vec<(Option<String>, Option<String>)> = match wanted {
        None => vec![(None, None)],
        Some(list) => list
            .iter()
            .map(|f| {
                (
                    f["subnet_id"]
                        .as_str()
                        .or(f["subnet"].as_str())
                        .map(str::to_owned),
                    f["ip_address"].as_str().map(str::to_owned),
                )
            })
            .collect(),
    };
    let mut out: Vec<(String, Ipv4Addr)> = Vec::new();
    for (subnet, ip) in requests {
        let subnet_id = match (&subnet, &ip) {
            (Some(sid), _) => sid.clone(),
            (None, Some(ip)) => {
                let ip: Ipv4Addr = ip
                    .parse()
                    .map_err(|_| CloudError::BadRequest(format!("Invalid IP address {ip}.")))?;
                net.subnets
                    .iter()
                    .find(|sid| {
                        s.subnets
                            .get(*sid)
                            .and_then(|x| x.cidr.parse::<ipnet::Ipv4Net>().ok())
                            .is_some_and(|c| c.contains(&ip))
                    })
                    .cloned()
                    .ok_or_else(|| {
                        CloudError::BadRequest(format!(
                            "IP address {ip} is not a valid IP for the specified subnet."
                        ))
                    })?
            }
            (None, None) => default_subnet()?,
        };
        let sub = s
            .subnets
            .get(&subnet_id)
            .filter(|x| x.network_id == network_id)
            .cloned()
            .ok_or_else(|| {
                CloudError::BadRequest(format!(
                    "Subnet {subnet_id} is not on network {network_id}."
                ))
            })?;
        let mut used = s.used_addresses(&subnet_id);
        used.extend(out.iter().map(|(_, a)| *a));
        let addr = match ip {
            Some(ip) => {
                let ip: Ipv4Addr = ip
                    .parse()
                    .map_err(|_| CloudError::BadRequest(format!("Invalid IP address {ip}.")))?;
                let cidr: ipnet::Ipv4Net = sub
                    .cidr
                    .parse()
                    .map_err(|_| CloudError::BadRequest("bad subnet".to_owned()))?;
                if !cidr.contains(&ip) {
                    return Err(CloudError::BadRequest(format!(
                        "IP address {ip} is not a valid IP for the specified subnet."
                    )));
                }
                if used.contains(&ip) && Some(ip) != sub.gateway_ip {
                    return Err(CloudError::Conflict(format!(
                        "IP address {ip} already allocated in subnet {subnet_id}"
                    )));
                }
                ip
            }
            None => s
                .take_address(
                    &subnet_id,
                    &sub.allocation_pools,
                    &used.iter().copied().collect::<Vec<_>>(),
                )
                .ok_or_else(|| {
                    CloudError::Conflict(format!(
                        "No more IP addresses available on network {network_id}."
                    ))
                })?,
        };
        out.push((subnet_id, addr));
    }
    Ok(out)
}

/// The ids of security group names or ids the project sees, its `default` group when none.
fn security_groups(
    s: &mut CloudState,
    project: &str,
    given: Option<&Value>,
) -> Result<Vec<String>, CloudError> {
    match given {
        Some(Value::Array(list)) => list
            .iter()
            .map(|g| {
                let g = g.as_str().unwrap_or_default();
                s.security_groups
                    .values()
                    .find(|x| x.project_id == project && (x.id == g || x.name == g))
                    .map(|x| x.id.clone())
                    .ok_or_else(|| {
                        CloudError::NotFound(format!("Security group {g} does not exist"))
                    })
            })
            .collect(),
        _ => Ok(vec![super::secgroups::default_group(s, project)]),
    }
}

/// Makes a port record (the caller saves).
pub fn new_port(
    s: &mut CloudState,
    project: &str,
    m: &Map<String, Value>,
) -> Result<Port, CloudError> {
    let network_id = text(m, "network_id")
        .ok_or_else(|| CloudError::BadRequest("network_id is required.".to_owned()))?;
    let visible = s
        .networks
        .get(&network_id)
        .is_some_and(|n| super::networks::visible(n, project));
    if !visible {
        return Err(CloudError::NotFound(format!(
            "Network {network_id} could not be found."
        )));
    }
    let fixed_ips = allocate(s, &network_id, m.get("fixed_ips").and_then(Value::as_array))?;
    let security_groups = security_groups(s, project, m.get("security_groups"))?;
    Ok(Port {
        id: new_id(),
        name: text(m, "name").unwrap_or_default(),
        network_id,
        project_id: project.to_owned(),
        mac_address: text(m, "mac_address").unwrap_or_else(ipam::random_mac),
        fixed_ips,
        device_id: text(m, "device_id").unwrap_or_default(),
        device_owner: text(m, "device_owner").unwrap_or_default(),
        security_groups,
        allowed_address_pairs: m
            .get("allowed_address_pairs")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        admin_state_up: m
            .get("admin_state_up")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        created_at: now(),
    })
}

async fn create_port(req: HttpRequest, cloud: CloudData, body: web::Json<Value>) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        let m = member(&body, "port")?;
        let port = new_port(s, &p, m)?;
        let view = port_view(&port);
        s.ports.insert(port.id.clone(), port);
        Ok(view)
    });
    match r {
        Ok(v) => created("port", v),
        Err(e) => cloud_error(e, "PortNotFound"),
    }
}

async fn update_port(
    req: HttpRequest,
    cloud: CloudData,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        let m = member(&body, "port")?.clone();
        let mut port = s
            .ports
            .get(id.as_str())
            .filter(|x| x.project_id == p)
            .cloned()
            .ok_or_else(|| CloudError::NotFound(format!("Port {id} could not be found.")))?;
        if let Some(name) = text(&m, "name") {
            port.name = name;
        }
        if m.contains_key("security_groups") {
            port.security_groups = security_groups(s, &p, m.get("security_groups"))?;
        }
        if let Some(pairs) = m.get("allowed_address_pairs").and_then(Value::as_array) {
            port.allowed_address_pairs = pairs.clone();
        }
        if let Some(up) = m.get("admin_state_up").and_then(Value::as_bool) {
            port.admin_state_up = up;
        }
        if let Some(fixed) = m.get("fixed_ips").and_then(Value::as_array) {
            if !port.device_id.is_empty() && !fixed.is_empty() {
                return Err(CloudError::Conflict(
                    "This local cloud cannot change the addresses of a port in use.".to_owned(),
                ));
            }
            port.fixed_ips.clear();
            s.ports.insert(port.id.clone(), port.clone());
            port.fixed_ips = if fixed.is_empty() {
                Vec::new()
            } else {
                allocate(s, &port.network_id, Some(fixed))?
            };
        }
        if let Some(d) = text(&m, "device_owner") {
            port.device_owner = d;
        }
        if m.get("device_id").is_some_and(Value::is_string) {
            port.device_id = text(&m, "device_id").unwrap_or_default();
        }
        let view = port_view(&port);
        s.ports.insert(port.id.clone(), port);
        Ok(view)
    });
    match r {
        Ok(v) => HttpResponse::Ok().json(json!({"port": v})),
        Err(e) => cloud_error(e, "PortNotFound"),
    }
}

async fn delete_port(req: HttpRequest, cloud: CloudData, id: web::Path<String>) -> HttpResponse {
    let p = project(&req);
    match remove_port(&cloud, &id, Some(&p)).await {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => cloud_error(e, "PortNotFound"),
    }
}

/// Deletes a port: its floating IPs let go of it, and the server that has it loses that NIC.
pub async fn remove_port(cloud: &Cloud, id: &str, project: Option<&str>) -> Result<(), CloudError> {
    let (port, detached) = cloud.update(|s| {
        let port = s
            .ports
            .get(id)
            .filter(|x| project.is_none_or(|p| x.project_id == p))
            .cloned()
            .ok_or_else(|| CloudError::NotFound(format!("Port {id} could not be found.")))?;
        let mut detached = Vec::new();
        for f in s
            .floating_ips
            .values_mut()
            .filter(|f| f.port_id.as_deref() == Some(id))
        {
            detached.push(f.clone());
            f.port_id = None;
            f.fixed_ip_address = None;
        }
        for server in s.servers.values_mut() {
            server.ports.retain(|x| x != id);
        }
        s.ports.remove(id);
        Ok((port, detached))
    })?;
    for f in detached {
        super::floating::unplug(cloud, &f, &port).await;
    }
    crate::nova::servers::unplug_port(cloud, &port).await;
    Ok(())
}
