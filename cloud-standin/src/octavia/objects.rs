//! The Octavia API objects: records, views and their create/show/update/delete, each change
//! followed by a re-sync of the balancer.

use std::net::Ipv4Addr;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::{VIP_OWNER, sync, tear_down};
use crate::auth::Identity;
use crate::compute::state::{
    CloudState, HealthMonitor, Listener, LoadBalancer, Member, Pool, new_id, now,
};
use crate::compute::{Cloud, CloudError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(versions));
    for prefix in ["/v2.0/lbaas", "/v2/lbaas"] {
        cfg.route(&format!("{prefix}/loadbalancers"), web::get().to(list_lbs))
            .route(
                &format!("{prefix}/loadbalancers"),
                web::post().to(create_lb),
            )
            .route(
                &format!("{prefix}/loadbalancers/{{id}}"),
                web::get().to(show_lb),
            )
            .route(
                &format!("{prefix}/loadbalancers/{{id}}"),
                web::put().to(update_lb),
            )
            .route(
                &format!("{prefix}/loadbalancers/{{id}}"),
                web::delete().to(delete_lb),
            )
            .route(
                &format!("{prefix}/listeners"),
                web::get().to(list_listeners),
            )
            .route(
                &format!("{prefix}/listeners"),
                web::post().to(create_listener),
            )
            .route(
                &format!("{prefix}/listeners/{{id}}"),
                web::get().to(show_listener),
            )
            .route(
                &format!("{prefix}/listeners/{{id}}"),
                web::put().to(update_listener),
            )
            .route(
                &format!("{prefix}/listeners/{{id}}"),
                web::delete().to(delete_listener),
            )
            .route(&format!("{prefix}/pools"), web::get().to(list_pools))
            .route(&format!("{prefix}/pools"), web::post().to(create_pool))
            .route(&format!("{prefix}/pools/{{id}}"), web::get().to(show_pool))
            .route(
                &format!("{prefix}/pools/{{id}}"),
                web::put().to(update_pool),
            )
            .route(
                &format!("{prefix}/pools/{{id}}"),
                web::delete().to(delete_pool),
            )
            .route(
                &format!("{prefix}/pools/{{pool}}/members"),
                web::get().to(list_members),
            )
            .route(
                &format!("{prefix}/pools/{{pool}}/members"),
                web::post().to(create_member),
            )
            .route(
                &format!("{prefix}/pools/{{pool}}/members/{{id}}"),
                web::get().to(show_member),
            )
            .route(
                &format!("{prefix}/pools/{{pool}}/members/{{id}}"),
                web::put().to(update_member),
            )
            .route(
                &format!("{prefix}/pools/{{pool}}/members/{{id}}"),
                web::delete().to(delete_member),
            )
            .route(&format!("{prefix}/healthmonitors"), web::get().to(list_hms))
            .route(
                &format!("{prefix}/healthmonitors"),
                web::post().to(create_hm),
            )
            .route(
                &format!("{prefix}/healthmonitors/{{id}}"),
                web::get().to(show_hm),
            )
            .route(
                &format!("{prefix}/healthmonitors/{{id}}"),
                web::put().to(update_hm),
            )
            .route(
                &format!("{prefix}/healthmonitors/{{id}}"),
                web::delete().to(delete_hm),
            );
    }
}

async fn versions(req: HttpRequest) -> HttpResponse {
    let info = req.connection_info();
    let href = format!("{}://{}/v2", info.scheme(), info.host());
    HttpResponse::Ok().json(
        json!({"versions": [{"id": "v2.0", "status": "CURRENT", "updated": "2023-06-01T00:00:00Z",
        "links": [{"rel": "self", "href": href}]}]}),
    )
}

/// An Octavia fault body (only the status matters to its clients).
fn fault(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    let m = message.into();
    HttpResponse::build(status).json(json!({"faultcode": status.canonical_reason().unwrap_or("Error"), "faultstring": m, "debuginfo": null}))
}

fn cloud_fault(e: CloudError) -> HttpResponse {
    match e {
        CloudError::BadRequest(m) => fault(StatusCode::BAD_REQUEST, m),
        CloudError::NotFound(m) => fault(StatusCode::NOT_FOUND, m),
        CloudError::Conflict(m) => fault(StatusCode::CONFLICT, m),
        CloudError::Unavailable(m) => fault(StatusCode::SERVICE_UNAVAILABLE, m),
    }
}

fn project(req: &HttpRequest) -> String {
    req.extensions()
        .get::<Arc<Identity>>()
        .and_then(|i| i.project_id.clone())
        .unwrap_or_default()
}

fn ids<'a>(it: impl Iterator<Item = &'a String>) -> Vec<Value> {
    it.map(|id| json!({"id": id})).collect()
}

fn lb_view(s: &CloudState, lb: &LoadBalancer) -> Value {
    json!({
        "id": lb.id, "name": lb.name, "description": lb.description,
        "project_id": lb.project_id, "tenant_id": lb.project_id,
        "vip_subnet_id": lb.vip_subnet_id, "vip_network_id": lb.vip_network_id,
        "vip_port_id": lb.vip_port_id, "vip_address": lb.vip_address, "vip_qos_policy_id": null,
        "provisioning_status": lb.provisioning_status, "operating_status": lb.operating_status,
        "admin_state_up": lb.admin_state_up, "provider": lb.provider, "flavor_id": lb.flavor_id,
        "availability_zone": null, "tags": [], "additional_vips": [],
        "listeners": ids(s.listeners.values().filter(|l| l.loadbalancer_id == lb.id).map(|l| &l.id)),
        "pools": ids(s.pools.values().filter(|p| p.loadbalancer_id == lb.id).map(|p| &p.id)),
        "created_at": lb.created_at, "updated_at": lb.created_at,
    })
}

fn listener_view(l: &Listener) -> Value {
    let mut v = json!({
        "id": l.id, "name": l.name, "project_id": l.project_id, "tenant_id": l.project_id,
        "protocol": l.protocol, "protocol_port": l.protocol_port,
        "loadbalancers": [{"id": l.loadbalancer_id}], "default_pool_id": l.default_pool_id,
        "admin_state_up": l.admin_state_up, "provisioning_status": l.provisioning_status,
        "operating_status": "ONLINE", "connection_limit": -1, "allowed_cidrs": null,
        "default_tls_container_ref": null, "sni_container_refs": [], "insert_headers": {},
        "l7policies": [], "tags": [], "created_at": l.created_at, "updated_at": l.created_at,
    });
    merge_extra(&mut v, &l.extra);
    v
}

fn pool_view(s: &CloudState, p: &Pool) -> Value {
    let listeners: Vec<&String> = s
        .listeners
        .values()
        .filter(|l| {
            l.default_pool_id.as_ref() == Some(&p.id) || p.listener_id.as_ref() == Some(&l.id)
        })
        .map(|l| &l.id)
        .collect();
    let mut v = json!({
        "id": p.id, "name": p.name, "project_id": p.project_id, "tenant_id": p.project_id,
        "protocol": p.protocol, "lb_algorithm": p.lb_algorithm,
        "listeners": ids(listeners.into_iter()), "loadbalancers": [{"id": p.loadbalancer_id}],
        "members": ids(s.members.values().filter(|m| m.pool_id == p.id).map(|m| &m.id)),
        "healthmonitor_id": s.health_monitors.values().find(|h| h.pool_id == p.id).map(|h| h.id.clone()),
        "admin_state_up": p.admin_state_up, "provisioning_status": p.provisioning_status,
        "operating_status": "ONLINE", "session_persistence": null, "tls_enabled": false,
        "tags": [], "created_at": p.created_at, "updated_at": p.created_at,
    });
    merge_extra(&mut v, &p.extra);
    v
}

fn member_view(m: &Member) -> Value {
    json!({
        "id": m.id, "name": m.name, "project_id": m.project_id, "tenant_id": m.project_id,
        "pool_id": m.pool_id, "address": m.address, "protocol_port": m.protocol_port,
        "subnet_id": m.subnet_id, "weight": m.weight, "admin_state_up": m.admin_state_up,
        "provisioning_status": m.provisioning_status, "operating_status": "ONLINE",
        "monitor_address": null, "monitor_port": null, "backup": false, "tags": [],
        "created_at": m.created_at, "updated_at": m.created_at,
    })
}

fn hm_view(h: &HealthMonitor) -> Value {
    let mut v = json!({
        "id": h.id, "name": h.name, "project_id": h.project_id, "tenant_id": h.project_id,
        "pools": [{"id": h.pool_id}], "type": h.kind, "delay": h.delay, "timeout": h.timeout,
        "max_retries": h.max_retries, "max_retries_down": 3, "admin_state_up": h.admin_state_up,
        "provisioning_status": h.provisioning_status, "operating_status": "ONLINE", "tags": [],
        "created_at": h.created_at, "updated_at": h.created_at,
    });
    merge_extra(&mut v, &h.extra);
    v
}

/// Keeps the optional attributes a caller set (HTTP health checks, TLS refs...) in the view.
fn merge_extra(v: &mut Value, extra: &Value) {
    if let (Value::Object(out), Value::Object(x)) = (v, extra) {
        for (k, val) in x {
            out.insert(k.clone(), val.clone());
        }
    }
}

fn body<'a>(b: &'a Value, name: &str) -> Result<&'a Map<String, Value>, CloudError> {
    b.get(name)
        .and_then(Value::as_object)
        .ok_or_else(|| CloudError::BadRequest(format!("Missing '{name}' in the request body.")))
}

fn s(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn u(m: &Map<String, Value>, k: &str) -> Option<u64> {
    m.get(k).and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|x| x.parse().ok()))
    })
}

fn flag(m: &Map<String, Value>, k: &str, default: bool) -> bool {
    m.get(k).and_then(Value::as_bool).unwrap_or(default)
}

/// The keys of `m` listed in `keys`, as given (kept and shown back).
fn extra(m: &Map<String, Value>, keys: &[&str]) -> Value {
    Value::Object(
        m.iter()
            .filter(|(k, _)| keys.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Re-syncs a load balancer after a change; a failure is logged (the record stands).
async fn resync(cloud: &Cloud, lb_id: &str) {
    if let Ok(engine) = cloud.engine()
        && let Err(e) = sync(cloud, &engine, lb_id).await
    {
        tracing::warn!(loadbalancer = lb_id, error = %e, "balancer sync failed");
    }
}

fn lb_of(s: &CloudState, p: &str, id: &str) -> Result<LoadBalancer, CloudError> {
    s.load_balancers
        .get(id)
        .filter(|lb| lb.project_id == p)
        .cloned()
        .ok_or_else(|| CloudError::NotFound(format!("Load Balancer {id} not found.")))
}

// ---- load balancers --------------------------------------------------------------------------

async fn list_lbs(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    q: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let p = project(&req);
    let name = q.iter().find(|(k, _)| k == "name").map(|(_, v)| v.clone());
    let items: Vec<Value> = cloud.read(|st| {
        st.load_balancers
            .values()
            .filter(|lb| lb.project_id == p && name.as_ref().is_none_or(|n| &lb.name == n))
            .map(|lb| lb_view(st, lb))
            .collect()
    });
    HttpResponse::Ok().json(json!({"loadbalancers": items}))
}

async fn show_lb(req: HttpRequest, cloud: web::Data<Cloud>, id: web::Path<String>) -> HttpResponse {
    let p = project(&req);
    match cloud.read(|st| lb_of(st, &p, &id).map(|lb| lb_view(st, &lb))) {
        Ok(v) => HttpResponse::Ok().json(json!({"loadbalancer": v})),
        Err(e) => cloud_fault(e),
    }
}

async fn create_lb(req: HttpRequest, cloud: web::Data<Cloud>, b: web::Json<Value>) -> HttpResponse {
    let p = project(&req);
    if let Err(e) = cloud.engine() {
        return cloud_fault(e);
    }
    let r = cloud.update(|st| {
        let m = body(&b, "loadbalancer")?;
        let subnet_id = s(m, "vip_subnet_id")
            .ok_or_else(|| CloudError::BadRequest("vip_subnet_id is required here.".to_owned()))?;
        let sub = st
            .subnets
            .get(&subnet_id)
            .cloned()
            .ok_or_else(|| CloudError::BadRequest(format!("Subnet {subnet_id} not found.")))?;
        let id = new_id();
        let mut port_body = Map::new();
        port_body.insert("network_id".to_owned(), json!(sub.network_id));
        let mut fixed = json!({"subnet_id": subnet_id});
        if let Some(a) = s(m, "vip_address") {
            fixed["ip_address"] = json!(a);
        }
        port_body.insert("fixed_ips".to_owned(), json!([fixed]));
        port_body.insert("device_id".to_owned(), json!(id));
        port_body.insert("device_owner".to_owned(), json!(VIP_OWNER));
        port_body.insert("name".to_owned(), json!(format!("octavia-lb-{id}")));
        port_body.insert("security_groups".to_owned(), json!([]));
        let port = crate::neutron::ports::new_port(st, &p, &port_body)?;
        let vip: Ipv4Addr = port
            .fixed_ips
            .first()
            .map(|(_, a)| *a)
            .ok_or_else(|| CloudError::Conflict("no VIP address".to_owned()))?;
        let lb = LoadBalancer {
            id: id.clone(),
            name: s(m, "name").unwrap_or_default(),
            description: s(m, "description").unwrap_or_default(),
            project_id: p.clone(),
            vip_subnet_id: subnet_id,
            vip_network_id: sub.network_id.clone(),
            vip_port_id: port.id.clone(),
            vip_address: vip,
            provisioning_status: "ACTIVE".to_owned(),
            operating_status: "ONLINE".to_owned(),
            admin_state_up: flag(m, "admin_state_up", true),
            provider: s(m, "provider").unwrap_or_else(|| "amphora".to_owned()),
            flavor_id: s(m, "flavor_id"),
            created_at: now(),
        };
        st.ports.insert(port.id.clone(), port);
        st.load_balancers.insert(id.clone(), lb.clone());
        Ok(lb)
    });
    match r {
        Ok(lb) => {
            if let Ok(engine) = cloud.engine()
                && let Err(e) = sync(&cloud, &engine, &lb.id).await
            {
                let _ = cloud.update(|st| {
                    st.load_balancers.remove(&lb.id);
                    st.ports.remove(&lb.vip_port_id);
                    Ok(())
                });
                return cloud_fault(e);
            }
            let v = cloud.read(|st| lb_view(st, &lb));
            HttpResponse::Created().json(json!({"loadbalancer": v}))
        }
        Err(e) => cloud_fault(e),
    }
}

async fn update_lb(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
    b: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|st| {
        let m = body(&b, "loadbalancer")?;
        lb_of(st, &p, &id)?;
        let lb = st
            .load_balancers
            .get_mut(id.as_str())
            .ok_or_else(|| CloudError::NotFound(id.to_string()))?;
        if let Some(n) = s(m, "name") {
            lb.name = n;
        }
        if let Some(d) = s(m, "description") {
            lb.description = d;
        }
        lb.admin_state_up = flag(m, "admin_state_up", lb.admin_state_up);
        let lb = lb.clone();
        Ok(lb_view(st, &lb))
    });
    match r {
        Ok(v) => HttpResponse::Ok().json(json!({"loadbalancer": v})),
        Err(e) => cloud_fault(e),
    }
}

async fn delete_lb(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
    q: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let p = project(&req);
    let cascade = q
        .iter()
        .any(|(k, v)| k == "cascade" && v.eq_ignore_ascii_case("true"));
    let lb = match cloud.read(|st| lb_of(st, &p, &id)) {
        Ok(lb) => lb,
        Err(e) => return cloud_fault(e),
    };
    let has_children = cloud.read(|st| {
        st.listeners.values().any(|l| l.loadbalancer_id == lb.id)
            || st.pools.values().any(|x| x.loadbalancer_id == lb.id)
    });
    if has_children && !cascade {
        return fault(
            StatusCode::BAD_REQUEST,
            format!("Cannot delete Load Balancer {} - it has children", lb.id),
        );
    }
    if let Ok(engine) = cloud.engine() {
        tear_down(&cloud, &engine, &lb.id).await;
    }
    let r = cloud.update(|st| {
        let pools: Vec<String> = st
            .pools
            .values()
            .filter(|x| x.loadbalancer_id == lb.id)
            .map(|x| x.id.clone())
            .collect();
        st.members.retain(|_, m| !pools.contains(&m.pool_id));
        st.health_monitors
            .retain(|_, h| !pools.contains(&h.pool_id));
        st.pools.retain(|_, x| x.loadbalancer_id != lb.id);
        st.listeners.retain(|_, l| l.loadbalancer_id != lb.id);
        for f in st
            .floating_ips
            .values_mut()
            .filter(|f| f.port_id.as_deref() == Some(lb.vip_port_id.as_str()))
        {
            f.port_id = None;
            f.fixed_ip_address = None;
        }
        st.ports.remove(&lb.vip_port_id);
        st.load_balancers.remove(&lb.id);
        Ok(())
    });
    match r {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => cloud_fault(e),
    }
}

// ---- listeners -------------------------------------------------------------------------------

fn listener_of(st: &CloudState, p: &str, id: &str) -> Result<Listener, CloudError> {
    st.listeners
        .get(id)
        .filter(|l| l.project_id == p)
        .cloned()
        .ok_or_else(|| CloudError::NotFound(format!("Listener {id} not found.")))
}

async fn list_listeners(req: HttpRequest, cloud: web::Data<Cloud>) -> HttpResponse {
    let p = project(&req);
    let items: Vec<Value> = cloud.read(|st| {
        st.listeners
            .values()
            .filter(|l| l.project_id == p)
            .map(listener_view)
            .collect()
    });
    HttpResponse::Ok().json(json!({"listeners": items}))
}

async fn show_listener(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
) -> HttpResponse {
    let p = project(&req);
    match cloud.read(|st| listener_of(st, &p, &id)) {
        Ok(l) => HttpResponse::Ok().json(json!({"listener": listener_view(&l)})),
        Err(e) => cloud_fault(e),
    }
}

const LISTENER_EXTRA: &[&str] = &[
    "description",
    "connection_limit",
    "allowed_cidrs",
    "default_tls_container_ref",
    "sni_container_refs",
    "insert_headers",
    "timeout_client_data",
    "timeout_member_connect",
    "timeout_member_data",
    "timeout_tcp_inspect",
];

async fn create_listener(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    b: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|st| {
        let m = body(&b, "listener")?;
        let lb_id = s(m, "loadbalancer_id")
            .ok_or_else(|| CloudError::BadRequest("loadbalancer_id is required.".to_owned()))?;
        lb_of(st, &p, &lb_id)?;
        let port = u(m, "protocol_port")
            .and_then(|x| u16::try_from(x).ok())
            .filter(|x| *x > 0)
            .ok_or_else(|| CloudError::BadRequest("protocol_port must be 1-65535.".to_owned()))?;
        if st
            .listeners
            .values()
            .any(|l| l.loadbalancer_id == lb_id && l.protocol_port == port)
        {
            return Err(CloudError::Conflict(format!(
                "Another Listener on this Load Balancer is already using protocol_port {port}"
            )));
        }
        let l = Listener {
            id: new_id(),
            name: s(m, "name").unwrap_or_default(),
            project_id: p.clone(),
            loadbalancer_id: lb_id,
            protocol: s(m, "protocol").unwrap_or_else(|| "TCP".to_owned()),
            protocol_port: port,
            default_pool_id: s(m, "default_pool_id"),
            admin_state_up: flag(m, "admin_state_up", true),
            provisioning_status: "ACTIVE".to_owned(),
            extra: extra(m, LISTENER_EXTRA),
            created_at: now(),
        };
        st.listeners.insert(l.id.clone(), l.clone());
        Ok(l)
    });
    match r {
        Ok(l) => {
            resync(&cloud, &l.loadbalancer_id).await;
            HttpResponse::Created().json(json!({"listener": listener_view(&l)}))
        }
        Err(e) => cloud_fault(e),
    }
}

async fn update_listener(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
    b: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|st| {
        let m = body(&b, "listener")?;
        let mut l = listener_of(st, &p, &id)?;
        if let Some(n) = s(m, "name") {
            l.name = n;
        }
        if m.contains_key("default_pool_id") {
            l.default_pool_id = s(m, "default_pool_id");
        }
        l.admin_state_up = flag(m, "admin_state_up", l.admin_state_up);
        merge_extra(&mut l.extra, &extra(m, LISTENER_EXTRA));
        st.listeners.insert(l.id.clone(), l.clone());
        Ok(l)
    });
    match r {
        Ok(l) => {
            resync(&cloud, &l.loadbalancer_id).await;
            HttpResponse::Ok().json(json!({"listener": listener_view(&l)}))
        }
        Err(e) => cloud_fault(e),
    }
}

async fn delete_listener(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|st| {
        let l = listener_of(st, &p, &id)?;
        st.listeners.remove(&l.id);
        for pool in st
            .pools
            .values_mut()
            .filter(|x| x.listener_id.as_ref() == Some(&l.id))
        {
            pool.listener_id = None;
        }
        Ok(l)
    });
    match r {
        Ok(l) => {
            if let Ok(engine) = cloud.engine() {
                engine.balancer.remove(&l.id);
            }
            HttpResponse::NoContent().finish()
        }
        Err(e) => cloud_fault(e),
    }
}

// ---- pools -----------------------------------------------------------------------------------

fn pool_of(st: &CloudState, p: &str, id: &str) -> Result<Pool, CloudError> {
    st.pools
        .get(id)
        .filter(|x| x.project_id == p)
        .cloned()
        .ok_or_else(|| CloudError::NotFound(format!("Pool {id} not found.")))
}

async fn list_pools(req: HttpRequest, cloud: web::Data<Cloud>) -> HttpResponse {
    let p = project(&req);
    let items: Vec<Value> = cloud.read(|st| {
        st.pools
            .values()
            .filter(|x| x.project_id == p)
            .map(|x| pool_view(st, x))
            .collect()
    });
    HttpResponse::Ok().json(json!({"pools": items}))
}

async fn show_pool(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
) -> HttpResponse {
    let p = project(&req);
    match cloud.read(|st| pool_of(st, &p, &id).map(|x| pool_view(st, &x))) {
        Ok(v) => HttpResponse::Ok().json(json!({"pool": v})),
        Err(e) => cloud_fault(e),
    }
}

const POOL_EXTRA: &[&str] = &["description", "session_persistence", "tls_enabled"];

async fn create_pool(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    b: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|st| {
        let m = body(&b, "pool")?;
        let listener = s(m, "listener_id");
        let lb_id = match (&listener, s(m, "loadbalancer_id")) {
            (Some(l), _) => listener_of(st, &p, l)?.loadbalancer_id,
            (None, Some(lb)) => lb_of(st, &p, &lb)?.id,
            _ => {
                return Err(CloudError::BadRequest(
                    "Either listener_id or loadbalancer_id must be given.".to_owned(),
                ));
            }
        };
        let pool = Pool {
            id: new_id(),
            name: s(m, "name").unwrap_or_default(),
            project_id: p.clone(),
            loadbalancer_id: lb_id,
            listener_id: listener.clone(),
            protocol: s(m, "protocol").unwrap_or_else(|| "TCP".to_owned()),
            lb_algorithm: s(m, "lb_algorithm").unwrap_or_else(|| "ROUND_ROBIN".to_owned()),
            admin_state_up: flag(m, "admin_state_up", true),
            provisioning_status: "ACTIVE".to_owned(),
            extra: extra(m, POOL_EXTRA),
            created_at: now(),
        };
        if let Some(l) = listener.and_then(|l| st.listeners.get_mut(&l))
            && l.default_pool_id.is_none()
        {
            l.default_pool_id = Some(pool.id.clone());
        }
        st.pools.insert(pool.id.clone(), pool.clone());
        Ok((pool.clone(), pool_view(st, &pool)))
    });
    match r {
        Ok((pool, v)) => {
            resync(&cloud, &pool.loadbalancer_id).await;
            HttpResponse::Created().json(json!({"pool": v}))
        }
        Err(e) => cloud_fault(e),
    }
}

async fn update_pool(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
    b: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|st| {
        let m = body(&b, "pool")?;
        let mut pool = pool_of(st, &p, &id)?;
        if let Some(n) = s(m, "name") {
            pool.name = n;
        }
        if let Some(a) = s(m, "lb_algorithm") {
            pool.lb_algorithm = a;
        }
        pool.admin_state_up = flag(m, "admin_state_up", pool.admin_state_up);
        merge_extra(&mut pool.extra, &extra(m, POOL_EXTRA));
        st.pools.insert(pool.id.clone(), pool.clone());
        Ok((pool.clone(), pool_view(st, &pool)))
    });
    match r {
        Ok((pool, v)) => {
            resync(&cloud, &pool.loadbalancer_id).await;
            HttpResponse::Ok().json(json!({"pool": v}))
        }
        Err(e) => cloud_fault(e),
    }
}

async fn delete_pool(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|st| {
        let pool = pool_of(st, &p, &id)?;
        st.members.retain(|_, m| m.pool_id != pool.id);
        st.health_monitors.retain(|_, h| h.pool_id != pool.id);
        for l in st
            .listeners
            .values_mut()
            .filter(|l| l.default_pool_id.as_ref() == Some(&pool.id))
        {
            l.default_pool_id = None;
        }
        st.pools.remove(&pool.id);
        Ok(pool)
    });
    match r {
        Ok(pool) => {
            resync(&cloud, &pool.loadbalancer_id).await;
            HttpResponse::NoContent().finish()
        }
        Err(e) => cloud_fault(e),
    }
}

// ---- members ---------------------------------------------------------------------------------

async fn list_members(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    pool: web::Path<String>,
) -> HttpResponse {
    let p = project(&req);
    let items = cloud.read(|st| {
        pool_of(st, &p, &pool).map(|_| {
            st.members
                .values()
                .filter(|m| m.pool_id == *pool)
                .map(member_view)
                .collect::<Vec<_>>()
        })
    });
    match items {
        Ok(items) => HttpResponse::Ok().json(json!({"members": items})),
        Err(e) => cloud_fault(e),
    }
}

fn member_of(st: &CloudState, p: &str, pool: &str, id: &str) -> Result<Member, CloudError> {
    st.members
        .get(id)
        .filter(|m| m.project_id == p && m.pool_id == pool)
        .cloned()
        .ok_or_else(|| CloudError::NotFound(format!("Member {id} not found.")))
}

async fn show_member(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (pool, id) = path.into_inner();
    let p = project(&req);
    match cloud.read(|st| member_of(st, &p, &pool, &id)) {
        Ok(m) => HttpResponse::Ok().json(json!({"member": member_view(&m)})),
        Err(e) => cloud_fault(e),
    }
}

async fn create_member(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    pool: web::Path<String>,
    b: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|st| {
        let m = body(&b, "member")?;
        let pool = pool_of(st, &p, &pool)?;
        let address: Ipv4Addr = s(m, "address")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| CloudError::BadRequest("address must be an IPv4 address.".to_owned()))?;
        let port = u(m, "protocol_port")
            .and_then(|x| u16::try_from(x).ok())
            .filter(|x| *x > 0)
            .ok_or_else(|| CloudError::BadRequest("protocol_port must be 1-65535.".to_owned()))?;
        if st
            .members
            .values()
            .any(|x| x.pool_id == pool.id && x.address == address && x.protocol_port == port)
        {
            return Err(CloudError::Conflict(format!(
                "Duplicate member {address}:{port} in pool {}",
                pool.id
            )));
        }
        let member = Member {
            id: new_id(),
            name: s(m, "name").unwrap_or_default(),
            project_id: p.clone(),
            pool_id: pool.id.clone(),
            address,
            protocol_port: port,
            subnet_id: s(m, "subnet_id"),
            weight: u(m, "weight")
                .and_then(|w| u32::try_from(w).ok())
                .unwrap_or(1),
            admin_state_up: flag(m, "admin_state_up", true),
            provisioning_status: "ACTIVE".to_owned(),
            created_at: now(),
        };
        st.members.insert(member.id.clone(), member.clone());
        Ok((member, pool.loadbalancer_id))
    });
    match r {
        Ok((m, lb)) => {
            resync(&cloud, &lb).await;
            HttpResponse::Created().json(json!({"member": member_view(&m)}))
        }
        Err(e) => cloud_fault(e),
    }
}

async fn update_member(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    path: web::Path<(String, String)>,
    b: web::Json<Value>,
) -> HttpResponse {
    let (pool, id) = path.into_inner();
    let p = project(&req);
    let r = cloud.update(|st| {
        let m = body(&b, "member")?;
        let mut member = member_of(st, &p, &pool, &id)?;
        if let Some(n) = s(m, "name") {
            member.name = n;
        }
        if let Some(w) = u(m, "weight").and_then(|w| u32::try_from(w).ok()) {
            member.weight = w;
        }
        member.admin_state_up = flag(m, "admin_state_up", member.admin_state_up);
        st.members.insert(member.id.clone(), member.clone());
        let lb = st
            .pools
            .get(&pool)
            .map(|x| x.loadbalancer_id.clone())
            .unwrap_or_default();
        Ok((member, lb))
    });
    match r {
        Ok((m, lb)) => {
            resync(&cloud, &lb).await;
            HttpResponse::Ok().json(json!({"member": member_view(&m)}))
        }
        Err(e) => cloud_fault(e),
    }
}

async fn delete_member(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (pool, id) = path.into_inner();
    let p = project(&req);
    let r = cloud.update(|st| {
        let m = member_of(st, &p, &pool, &id)?;
        st.members.remove(&m.id);
        Ok(st
            .pools
            .get(&pool)
            .map(|x| x.loadbalancer_id.clone())
            .unwrap_or_default())
    });
    match r {
        Ok(lb) => {
            resync(&cloud, &lb).await;
            HttpResponse::NoContent().finish()
        }
        Err(e) => cloud_fault(e),
    }
}

// ---- health monitors -------------------------------------------------------------------------

fn hm_of(st: &CloudState, p: &str, id: &str) -> Result<HealthMonitor, CloudError> {
    st.health_monitors
        .get(id)
        .filter(|h| h.project_id == p)
        .cloned()
        .ok_or_else(|| CloudError::NotFound(format!("Health Monitor {id} not found.")))
}

async fn list_hms(req: HttpRequest, cloud: web::Data<Cloud>) -> HttpResponse {
    let p = project(&req);
    let items: Vec<Value> = cloud.read(|st| {
        st.health_monitors
            .values()
            .filter(|h| h.project_id == p)
            .map(hm_view)
            .collect()
    });
    HttpResponse::Ok().json(json!({"healthmonitors": items}))
}

async fn show_hm(req: HttpRequest, cloud: web::Data<Cloud>, id: web::Path<String>) -> HttpResponse {
    let p = project(&req);
    match cloud.read(|st| hm_of(st, &p, &id)) {
        Ok(h) => HttpResponse::Ok().json(json!({"healthmonitor": hm_view(&h)})),
        Err(e) => cloud_fault(e),
    }
}

const HM_EXTRA: &[&str] = &[
    "http_method",
    "url_path",
    "expected_codes",
    "max_retries_down",
    "http_version",
    "domain_name",
];

async fn create_hm(req: HttpRequest, cloud: web::Data<Cloud>, b: web::Json<Value>) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|st| {
        let m = body(&b, "healthmonitor")?;
        let pool_id = s(m, "pool_id")
            .ok_or_else(|| CloudError::BadRequest("pool_id is required.".to_owned()))?;
        pool_of(st, &p, &pool_id)?;
        if st.health_monitors.values().any(|h| h.pool_id == pool_id) {
            return Err(CloudError::Conflict(format!(
                "Pool {pool_id} already has a health monitor"
            )));
        }
        let num = |k: &str| {
            u(m, k)
                .and_then(|x| u32::try_from(x).ok())
                .ok_or_else(|| CloudError::BadRequest(format!("{k} is required.")))
        };
        let h = HealthMonitor {
            id: new_id(),
            name: s(m, "name").unwrap_or_default(),
            project_id: p.clone(),
            pool_id,
            kind: s(m, "type")
                .ok_or_else(|| CloudError::BadRequest("type is required.".to_owned()))?,
            delay: num("delay")?,
            timeout: num("timeout")?,
            max_retries: num("max_retries")?,
            admin_state_up: flag(m, "admin_state_up", true),
            provisioning_status: "ACTIVE".to_owned(),
            extra: extra(m, HM_EXTRA),
            created_at: now(),
        };
        st.health_monitors.insert(h.id.clone(), h.clone());
        Ok(h)
    });
    match r {
        Ok(h) => HttpResponse::Created().json(json!({"healthmonitor": hm_view(&h)})),
        Err(e) => cloud_fault(e),
    }
}

async fn update_hm(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
    b: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|st| {
        let m = body(&b, "healthmonitor")?;
        let mut h = hm_of(st, &p, &id)?;
        for (k, slot) in [
            ("delay", &mut h.delay),
            ("timeout", &mut h.timeout),
            ("max_retries", &mut h.max_retries),
        ] {
            if let Some(v) = u(m, k).and_then(|x| u32::try_from(x).ok()) {
                *slot = v;
            }
        }
        h.admin_state_up = flag(m, "admin_state_up", h.admin_state_up);
        merge_extra(&mut h.extra, &extra(m, HM_EXTRA));
        st.health_monitors.insert(h.id.clone(), h.clone());
        Ok(h)
    });
    match r {
        Ok(h) => HttpResponse::Ok().json(json!({"healthmonitor": hm_view(&h)})),
        Err(e) => cloud_fault(e),
    }
}

async fn delete_hm(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|st| {
        hm_of(st, &p, &id)?;
        st.health_monitors.remove(id.as_str());
        Ok(())
    });
    match r {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => cloud_fault(e),
    }
}
