//! Networks and subnets. A network with a subnet is an `--internal` Docker network on its own
//! bridge (`qbr-<id>`), whose gateway address is this machine: the nodes reach each other and
//! this machine, and Docker drops whatever they send beyond it.

use std::net::Ipv4Addr;

use actix_web::{HttpRequest, HttpResponse, web};
use ipnet::Ipv4Net;
use serde_json::{Value, json};

use super::{CloudData, cloud_error, created, list, member, project, show, text};
use crate::compute::state::{CloudState, Network, Subnet, new_id, now};
use crate::compute::{Cloud, CloudError, Engine, ipam, labels};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2.0/networks", web::get().to(list_networks))
        .route("/v2.0/networks", web::post().to(create_network))
        .route("/v2.0/networks/{id}", web::get().to(show_network))
        .route("/v2.0/networks/{id}", web::put().to(update_network))
        .route("/v2.0/networks/{id}", web::delete().to(delete_network))
        .route("/v2.0/subnets", web::get().to(list_subnets))
        .route("/v2.0/subnets", web::post().to(create_subnet))
        .route("/v2.0/subnets/{id}", web::get().to(show_subnet))
        .route("/v2.0/subnets/{id}", web::put().to(update_subnet))
        .route("/v2.0/subnets/{id}", web::delete().to(delete_subnet));
}

/// Whether `project` sees network `n` (its own, shared or external).
pub fn visible(n: &Network, project: &str) -> bool {
    n.project_id == project || n.shared || n.external
}

/// A network as Neutron shows it.
pub fn network_view(n: &Network) -> Value {
    let mut v = json!({
        "id": n.id, "name": n.name, "status": "ACTIVE", "admin_state_up": n.admin_state_up,
        "router:external": n.external, "shared": n.shared, "subnets": n.subnets,
        "tenant_id": n.project_id, "project_id": n.project_id,
        "mtu": 1500, "port_security_enabled": true, "availability_zones": ["nova"],
        "availability_zone_hints": [], "ipv4_address_scope": null, "ipv6_address_scope": null,
        "l2_adjacency": true, "qos_policy_id": null, "description": "", "tags": [],
        "created_at": n.created_at, "updated_at": n.created_at, "revision_number": 1,
    });
    if n.external {
        v["is_default"] = json!(n.name == "public");
    }
    v
}

/// A subnet as Neutron shows it.
pub fn subnet_view(s: &Subnet) -> Value {
    json!({
        "id": s.id, "name": s.name, "network_id": s.network_id,
        "tenant_id": s.project_id, "project_id": s.project_id,
        "cidr": s.cidr, "ip_version": 4, "gateway_ip": s.gateway_ip,
        "enable_dhcp": s.enable_dhcp,
        "allocation_pools": s.allocation_pools.iter().map(|(a, b)| json!({"start": a, "end": b})).collect::<Vec<_>>(),
        "dns_nameservers": s.dns_nameservers, "host_routes": s.host_routes,
        "ipv6_ra_mode": null, "ipv6_address_mode": null, "subnetpool_id": null,
        "service_types": [],
        "description": s.requested_cidr.as_ref().map_or(String::new(), |r| format!(
            "asked for {r}, which this machine already routes elsewhere: given {}", s.cidr)),
        "tags": [], "created_at": s.created_at, "updated_at": s.created_at, "revision_number": 0,
    })
}

fn visible_subnet(state: &CloudState, s: &Subnet, project: &str) -> bool {
    state
        .networks
        .get(&s.network_id)
        .is_some_and(|n| visible(n, project))
}

async fn list_networks(
    req: HttpRequest,
    cloud: CloudData,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let p = project(&req);
    let items: Vec<Value> = cloud.read(|s| {
        s.networks
            .values()
            .filter(|n| visible(n, &p))
            .map(network_view)
            .collect()
    });
    list("networks", &items, &query)
}

async fn show_network(
    req: HttpRequest,
    cloud: CloudData,
    id: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let p = project(&req);
    let item = cloud.read(|s| {
        s.networks
            .get(id.as_str())
            .filter(|n| visible(n, &p))
            .map(network_view)
    });
    show("network", "NetworkNotFound", item, &id, &query)
}

async fn create_network(
    req: HttpRequest,
    cloud: CloudData,
    body: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        let m = member(&body, "network")?;
        let n = Network {
            id: new_id(),
            name: text(m, "name").unwrap_or_default(),
            project_id: text(m, "tenant_id")
                .or_else(|| text(m, "project_id"))
                .unwrap_or(p),
            shared: m.get("shared").and_then(Value::as_bool).unwrap_or(false),
            external: m
                .get("router:external")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            admin_state_up: m
                .get("admin_state_up")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            subnets: Vec::new(),
            docker_id: None,
            bridge: None,
            created_at: now(),
        };
        let view = network_view(&n);
        s.networks.insert(n.id.clone(), n);
        Ok(view)
    });
    match r {
        Ok(v) => created("network", v),
        Err(e) => cloud_error(e, "NetworkNotFound"),
    }
}

async fn update_network(
    req: HttpRequest,
    cloud: CloudData,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        let m = member(&body, "network")?;
        let n = s
            .networks
            .get_mut(id.as_str())
            .filter(|n| n.project_id == p)
            .ok_or_else(|| CloudError::NotFound(format!("Network {id} could not be found.")))?;
        if let Some(name) = text(m, "name") {
            n.name = name;
        }
        if let Some(up) = m.get("admin_state_up").and_then(Value::as_bool) {
            n.admin_state_up = up;
        }
        Ok(network_view(n))
    });
    match r {
        Ok(v) => HttpResponse::Ok().json(json!({"network": v})),
        Err(e) => cloud_error(e, "NetworkNotFound"),
    }
}

async fn delete_network(req: HttpRequest, cloud: CloudData, id: web::Path<String>) -> HttpResponse {
    let p = project(&req);
    // Neutron deletes a network's subnets with it, and the ports only routers and DHCP hold.
    let r = cloud.update(|s| {
        let n = s
            .networks
            .get(id.as_str())
            .filter(|n| n.project_id == p)
            .cloned()
            .ok_or_else(|| CloudError::NotFound(format!("Network {id} could not be found.")))?;
        let busy = s
            .ports
            .values()
            .any(|port| port.network_id == n.id && !port.device_owner.starts_with("network:"));
        if busy {
            return Err(CloudError::Conflict(format!(
                "Unable to complete operation on network {}. There are one or more ports still in use on the network.",
                n.id
            )));
        }
        s.ports.retain(|_, port| port.network_id != n.id);
        for sub in &n.subnets {
            s.subnets.remove(sub);
        }
        s.networks.remove(&n.id);
        Ok(n)
    });
    match r {
        Ok(n) => {
            remove_docker_network(&cloud, &n).await;
            HttpResponse::NoContent().finish()
        }
        Err(e) => cloud_error(e, "NetworkNotFound"),
    }
}

async fn list_subnets(
    req: HttpRequest,
    cloud: CloudData,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let p = project(&req);
    let items: Vec<Value> = cloud.read(|s| {
        s.subnets
            .values()
            .filter(|sub| visible_subnet(s, sub, &p))
            .map(subnet_view)
            .collect()
    });
    list("subnets", &items, &query)
}

async fn show_subnet(
    req: HttpRequest,
    cloud: CloudData,
    id: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let p = project(&req);
    let item = cloud.read(|s| {
        s.subnets
            .get(id.as_str())
            .filter(|sub| visible_subnet(s, sub, &p))
            .map(subnet_view)
    });
    show("subnet", "SubnetNotFound", item, &id, &query)
}

fn parse_pools(v: Option<&Value>) -> Result<Option<Vec<(Ipv4Addr, Ipv4Addr)>>, CloudError> {
    let Some(Value::Array(items)) = v else {
        return Ok(None);
    };
    let bad = || CloudError::BadRequest("Invalid input for allocation_pools.".to_owned());
    items
        .iter()
        .map(|p| {
            let a = p["start"]
                .as_str()
                .and_then(|x| x.parse().ok())
                .ok_or_else(bad)?;
            let b = p["end"]
                .as_str()
                .and_then(|x| x.parse().ok())
                .ok_or_else(bad)?;
            Ok((a, b))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

async fn create_subnet(req: HttpRequest, cloud: CloudData, body: web::Json<Value>) -> HttpResponse {
    let p = project(&req);
    let taken_routes = ipam::host_routes();
    let pool = cloud.engine().map(|e| e.tenant_pool).ok();
    let r = cloud.update(|s| {
        let m = member(&body, "subnet")?;
        let net_id = text(m, "network_id")
            .ok_or_else(|| CloudError::BadRequest("network_id is required.".to_owned()))?;
        let net = s
            .networks
            .get(&net_id)
            .filter(|n| n.project_id == p)
            .ok_or_else(|| CloudError::NotFound(format!("Network {net_id} could not be found.")))?;
        if !net.subnets.is_empty() {
            return Err(CloudError::BadRequest(format!(
                "Network {net_id} already has a subnet: this local cloud gives a network one IPv4 subnet."
            )));
        }
        if m.get("ip_version").and_then(Value::as_u64).unwrap_or(4) != 4 {
            return Err(CloudError::BadRequest("This local cloud has IPv4 subnets only.".to_owned()));
        }
        let wanted: Ipv4Net = text(m, "cidr")
            .ok_or_else(|| CloudError::BadRequest("cidr is required (no subnet pools here).".to_owned()))?
            .parse()
            .map_err(|_| CloudError::BadRequest("Invalid input for cidr.".to_owned()))?;
        if wanted.prefix_len() > 29 {
            return Err(CloudError::BadRequest(format!("{wanted} is too small for a subnet here (at most /29).")));
        }
        let mut taken: Vec<Ipv4Net> = s.subnets.values().filter_map(|x| x.cidr.parse().ok()).collect();
        taken.extend(taken_routes.iter().copied());
        let pool = pool.unwrap_or_else(|| "10.100.0.0/16".parse().unwrap_or(wanted));
        let cidr = ipam::choose_cidr(wanted, pool, &taken).ok_or_else(|| {
            CloudError::Conflict(format!(
                "No free /{} left for a subnet: {wanted} is taken and so is all of {pool}.",
                wanted.prefix_len()
            ))
        })?;
        let moved = cidr != wanted.trunc();
        let gateway = match m.get("gateway_ip") {
            Some(Value::String(g)) if !moved => Some(
                g.parse()
                    .map_err(|_| CloudError::BadRequest("Invalid input for gateway_ip.".to_owned()))?,
            ),
            _ => ipam::first_host(cidr),
        };
        let pools = match parse_pools(m.get("allocation_pools"))? {
            Some(p) if !moved => p,
            _ => ipam::default_pool(cidr, gateway),
        };
        let sub = Subnet {
            id: new_id(),
            name: text(m, "name").unwrap_or_default(),
            network_id: net_id.clone(),
            project_id: net.project_id.clone(),
            cidr: cidr.to_string(),
            requested_cidr: moved.then(|| wanted.to_string()),
            gateway_ip: gateway,
            allocation_pools: pools,
            dns_nameservers: m
                .get("dns_nameservers")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|d| d.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            host_routes: m.get("host_routes").and_then(Value::as_array).cloned().unwrap_or_default(),
            enable_dhcp: m.get("enable_dhcp").and_then(Value::as_bool).unwrap_or(true),
            created_at: now(),
        };
        if let Some(n) = s.networks.get_mut(&net_id) {
            n.subnets.push(sub.id.clone());
        }
        s.subnets.insert(sub.id.clone(), sub.clone());
        Ok(sub)
    });
    let sub = match r {
        Ok(sub) => sub,
        Err(e) => return cloud_error(e, "NetworkNotFound"),
    };
    // the Docker network now: Heat never waits on a subnet
    if let Ok(engine) = cloud.engine()
        && let Err(e) = ensure_docker_network(&cloud, &engine, &sub).await
    {
        let _ = cloud.update(|s| {
            s.subnets.remove(&sub.id);
            if let Some(n) = s.networks.get_mut(&sub.network_id) {
                n.subnets.retain(|x| x != &sub.id);
            }
            Ok(())
        });
        return cloud_error(e, "NetworkNotFound");
    }
    created("subnet", subnet_view(&sub))
}

async fn update_subnet(
    req: HttpRequest,
    cloud: CloudData,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        let m = member(&body, "subnet")?;
        let sub = s
            .subnets
            .get_mut(id.as_str())
            .filter(|x| x.project_id == p)
            .ok_or_else(|| CloudError::NotFound(format!("Subnet {id} could not be found.")))?;
        if let Some(name) = text(m, "name") {
            sub.name = name;
        }
        if let Some(d) = m.get("dns_nameservers").and_then(Value::as_array) {
            sub.dns_nameservers = d
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect();
        }
        if let Some(r) = m.get("host_routes").and_then(Value::as_array) {
            sub.host_routes = r.clone();
        }
        if let Some(b) = m.get("enable_dhcp").and_then(Value::as_bool) {
            sub.enable_dhcp = b;
        }
        Ok(subnet_view(sub))
    });
    match r {
        Ok(v) => HttpResponse::Ok().json(json!({"subnet": v})),
        Err(e) => cloud_error(e, "SubnetNotFound"),
    }
}

async fn delete_subnet(req: HttpRequest, cloud: CloudData, id: web::Path<String>) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        let sub = s
            .subnets
            .get(id.as_str())
            .filter(|x| x.project_id == p)
            .cloned()
            .ok_or_else(|| CloudError::NotFound(format!("Subnet {id} could not be found.")))?;
        let in_use = s.ports.values().any(|port| {
            port.fixed_ips.iter().any(|(sid, _)| sid == &sub.id) && !port.device_owner.starts_with("network:")
        }) || s.load_balancers.values().any(|lb| lb.vip_subnet_id == sub.id);
        if in_use {
            return Err(CloudError::Conflict(format!(
                "Unable to complete operation on subnet {}: One or more ports have an IP allocation from this subnet.",
                sub.id
            )));
        }
        s.ports.retain(|_, port| !port.fixed_ips.iter().any(|(sid, _)| sid == &sub.id));
        s.subnets.remove(&sub.id);
        let n = s.networks.get_mut(&sub.network_id).map(|n| {
            n.subnets.retain(|x| x != &sub.id);
            n.clone()
        });
        Ok(n)
    });
    match r {
        Ok(Some(n)) => {
            remove_docker_network(&cloud, &n).await;
            HttpResponse::NoContent().finish()
        }
        Ok(None) => HttpResponse::NoContent().finish(),
        Err(e) => cloud_error(e, "SubnetNotFound"),
    }
}

/// The bridge name of a network (at most 15 characters).
pub fn bridge_name(network_id: &str) -> String {
    let short: String = network_id.chars().filter(|c| *c != '-').take(11).collect();
    format!("qbr-{short}")
}

/// Makes the Docker network of `subnet`'s network unless it exists; records its id and bridge.
pub async fn ensure_docker_network(
    cloud: &Cloud,
    engine: &Engine,
    subnet: &Subnet,
) -> Result<String, CloudError> {
    let net = cloud
        .read(|s| s.networks.get(&subnet.network_id).cloned())
        .ok_or_else(|| {
            CloudError::NotFound(format!("Network {} could not be found.", subnet.network_id))
        })?;
    if let Some(id) = &net.docker_id
        && engine.docker.inspect_network(id).await?.is_some()
    {
        return Ok(id.clone());
    }
    let name = format!("neutron-{}", net.id);
    let bridge = bridge_name(&net.id);
    let existing = engine.docker.inspect_network(&name).await?;
    let docker_id = match existing {
        Some(v) => v["Id"].as_str().unwrap_or(&name).to_owned(),
        None => {
            let gateway = subnet
                .gateway_ip
                .or_else(|| subnet.cidr.parse().ok().and_then(ipam::first_host))
                .map(|g| g.to_string());
            let config = json!({
                "Name": name, "Driver": "bridge", "Internal": true, "CheckDuplicate": true,
                "IPAM": {"Driver": "default", "Config": [{"Subnet": subnet.cidr, "Gateway": gateway}]},
                "Options": {"com.docker.network.bridge.name": bridge},
                "Labels": labels("network", &net.id, &net.project_id),
            });
            engine.docker.create_network(&config).await?
        }
    };
    cloud.update(|s| {
        if let Some(n) = s.networks.get_mut(&net.id) {
            n.docker_id = Some(docker_id.clone());
            n.bridge = Some(bridge.clone());
        }
        Ok(())
    })?;
    Ok(docker_id)
}

/// The Docker network of a network that has a subnet, made if need be.
pub async fn docker_network_of(
    cloud: &Cloud,
    engine: &Engine,
    network_id: &str,
) -> Result<String, CloudError> {
    let subnet = cloud
        .read(|s| {
            s.networks
                .get(network_id)
                .and_then(|n| n.subnets.first())
                .and_then(|id| s.subnets.get(id))
                .cloned()
        })
        .ok_or_else(|| CloudError::BadRequest(format!("Network {network_id} has no subnet.")))?;
    ensure_docker_network(cloud, engine, &subnet).await
}

async fn remove_docker_network(cloud: &Cloud, n: &Network) {
    let Ok(engine) = cloud.engine() else { return };
    let Some(id) = &n.docker_id else { return };
    if let Err(e) = engine.docker.remove_network(id).await {
        tracing::warn!(network = %n.id, error = %e, "could not remove the Docker network");
    }
    let _ = cloud.update(|s| {
        if let Some(x) = s.networks.get_mut(&n.id) {
            x.docker_id = None;
            x.bridge = None;
        }
        Ok(())
    });
}
