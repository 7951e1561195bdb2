//! Nova servers of the local cloud: the API. A server is made and unmade in the background
//! (`super::node`); its status is read from its container on every request, so a node that
//! stops is SHUTOFF at once.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::{Keypairs, base_url, fault, identity, node};
use crate::compute::state::{CloudState, Server, ServerState, new_id, now};
use crate::compute::{Cloud, CloudError};
use crate::data;

pub use node::{plug_floating_ip, resume_all, unplug_floating_ip, unplug_port};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2.1/servers", web::post().to(create))
        .route("/v2.1/servers", web::get().to(list))
        .route("/v2.1/servers/detail", web::get().to(list_detail))
        .route("/v2.1/servers/{id}", web::get().to(show))
        .route("/v2.1/servers/{id}", web::put().to(rename))
        .route("/v2.1/servers/{id}", web::delete().to(delete))
        .route("/v2.1/servers/{id}/action", web::post().to(action))
        .route("/v2.1/servers/{id}/metadata", web::get().to(get_metadata))
        .route(
            "/v2.1/servers/{id}/metadata",
            web::post().to(merge_metadata),
        )
        .route(
            "/v2.1/servers/{id}/metadata/{key}",
            web::delete().to(delete_metadata),
        )
        .route("/v2.1/servers/{id}/tags", web::put().to(set_tags))
        .route(
            "/v2.1/servers/{id}/os-interface",
            web::get().to(list_interfaces),
        )
        .route(
            "/v2.1/servers/{id}/os-interface",
            web::post().to(attach_interface),
        )
        .route(
            "/v2.1/servers/{id}/os-interface/{port}",
            web::delete().to(detach_interface),
        );
}

/// A Nova answer for a failed change.
pub fn cloud_fault(e: CloudError) -> HttpResponse {
    match e {
        CloudError::BadRequest(m) => fault(StatusCode::BAD_REQUEST, m),
        CloudError::NotFound(m) => fault(StatusCode::NOT_FOUND, m),
        CloudError::Conflict(m) => fault(StatusCode::CONFLICT, m),
        CloudError::Unavailable(m) => fault(StatusCode::SERVICE_UNAVAILABLE, m),
    }
}

fn not_found(id: &str) -> HttpResponse {
    fault(
        StatusCode::NOT_FOUND,
        format!("Instance {id} could not be found."),
    )
}

/// The caller's (user, project), or a 401.
fn caller(req: &HttpRequest) -> Result<(String, String), Box<HttpResponse>> {
    identity(req)
        .map(|i| (i.user_id.clone(), i.project_id.clone().unwrap_or_default()))
        .ok_or_else(|| Box::new(fault(StatusCode::UNAUTHORIZED, "Authentication required")))
}

/// A server's Nova status, from its record and its container's state.
fn status(
    server: &Server,
    running: Option<bool>,
) -> (&'static str, &'static str, Option<&'static str>) {
    match server.state {
        ServerState::Building => ("BUILD", "building", Some("spawning")),
        ServerState::Error => ("ERROR", "error", None),
        ServerState::Deleting => ("ACTIVE", "active", Some("deleting")),
        ServerState::Made if running == Some(true) => ("ACTIVE", "active", None),
        ServerState::Made => ("SHUTOFF", "stopped", None),
    }
}

/// `addresses`: by network name, each port's fixed address and its floating one.
fn addresses(s: &CloudState, server: &Server) -> Value {
    let mut out: Map<String, Value> = Map::new();
    for pid in &server.ports {
        let Some(port) = s.ports.get(pid) else {
            continue;
        };
        let label = s
            .networks
            .get(&port.network_id)
            .map_or(port.network_id.clone(), |n| n.name.clone());
        let list = out.entry(label).or_insert_with(|| json!([]));
        for (_, ip) in &port.fixed_ips {
            if let Value::Array(a) = list {
                a.push(json!({"version": 4, "addr": ip, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": port.mac_address}));
                for f in s.floating_ips.values().filter(|f| {
                    f.port_id.as_deref() == Some(pid.as_str()) && f.fixed_ip_address == Some(*ip)
                }) {
                    a.push(json!({"version": 4, "addr": f.floating_ip_address, "OS-EXT-IPS:type": "floating", "OS-EXT-IPS-MAC:mac_addr": port.mac_address}));
                }
            }
        }
    }
    Value::Object(out)
}

/// A server as Nova shows it (2.1 shape plus the fields later microversions read).
fn view(s: &CloudState, server: &Server, running: Option<bool>, base: &str) -> Value {
    let (status, vm_state, task_state) = status(server, running);
    let flavor = data::FLAVORS
        .iter()
        .find(|f| f["id"] == server.flavor_id.as_str());
    let mut v = json!({
        "id": server.id, "name": server.name, "status": status,
        "tenant_id": server.project_id, "user_id": server.user_id,
        "image": if server.image_id.is_empty() { json!("") } else {
            json!({"id": server.image_id, "links": [{"rel": "bookmark", "href": format!("{base}/images/{}", server.image_id)}]})
        },
        "flavor": {"id": server.flavor_id, "original_name": flavor.map(|f| f["name"].clone()),
                   "vcpus": flavor.map(|f| f["vcpus"].clone()), "ram": flavor.map(|f| f["ram"].clone()),
                   "disk": flavor.map(|f| f["disk"].clone()), "ephemeral": 0, "swap": 0, "extra_specs": {}},
        "key_name": server.key_name, "metadata": server.metadata,
        "addresses": addresses(s, server),
        "accessIPv4": "", "accessIPv6": "", "hostId": "local", "config_drive": "",
        "created": server.created_at, "updated": server.updated_at, "progress": 0,
        "OS-DCF:diskConfig": "MANUAL", "OS-EXT-AZ:availability_zone": server.availability_zone,
        "OS-EXT-STS:vm_state": vm_state, "OS-EXT-STS:task_state": task_state,
        "OS-EXT-STS:power_state": if running == Some(true) { 1 } else { 4 },
        "OS-EXT-SRV-ATTR:instance_name": server.container.as_ref().map(|_| format!("nova-{}", server.id)),
        "OS-EXT-SRV-ATTR:host": "localhost", "OS-EXT-SRV-ATTR:hypervisor_hostname": "localhost",
        "OS-SRV-USG:launched_at": null, "OS-SRV-USG:terminated_at": null,
        "os-extended-volumes:volumes_attached": s.volumes.values()
            .filter(|v| v.attachment.as_ref().is_some_and(|(_, sid, _)| sid == &server.id))
            .map(|v| json!({"id": v.id, "delete_on_termination": false})).collect::<Vec<_>>(),
        "security_groups": [{"name": "default"}], "tags": [], "locked": false,
        "links": [{"rel": "self", "href": format!("{base}/v2.1/servers/{}", server.id)},
                  {"rel": "bookmark", "href": format!("{base}/servers/{}", server.id)}],
    });
    if let Some(f) = &server.fault {
        v["fault"] = json!({"code": 500, "message": f, "created": server.updated_at});
    }
    v
}

fn request_body(body: &Value) -> Result<&Map<String, Value>, CloudError> {
    body.get("server")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            CloudError::BadRequest(
                "The request body must be a JSON object with 'server'.".to_owned(),
            )
        })
}

/// The image to boot: `imageRef`, or the image of a boot volume (`block_device_mapping_v2`).
fn boot_image(
    s: &CloudState,
    m: &Map<String, Value>,
    project: &str,
) -> Result<(String, Option<String>), CloudError> {
    let image = m
        .get("imageRef")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !image.is_empty() {
        return Ok((image.to_owned(), None));
    }
    let bdm = m
        .get("block_device_mapping_v2")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let boot = bdm
        .iter()
        .find(|b| {
            b["boot_index"]
                .as_i64()
                .or_else(|| b["boot_index"].as_str().and_then(|x| x.parse().ok()))
                == Some(0)
        })
        .ok_or_else(|| {
            CloudError::BadRequest(
                "Block Device Mapping is Invalid: no image and no boot volume.".to_owned(),
            )
        })?;
    let vol_id = boot["uuid"].as_str().unwrap_or_default();
    let vol = s
        .volumes
        .get(vol_id)
        .filter(|v| v.project_id == project)
        .ok_or_else(|| {
            CloudError::BadRequest(format!(
                "Block Device Mapping is Invalid: failed to get volume {vol_id}."
            ))
        })?;
    let image = vol.image_id.clone().ok_or_else(|| {
        CloudError::BadRequest(format!(
            "Block Device Mapping is Invalid: volume {vol_id} was not made from an image."
        ))
    })?;
    Ok((image, Some(vol_id.to_owned())))
}

async fn create(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    keypairs: web::Data<Keypairs>,
    body: web::Json<Value>,
) -> HttpResponse {
    let (user, project) = match caller(&req) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let engine = match cloud.engine() {
        Ok(e) => e,
        Err(e) => return cloud_fault(e),
    };
    let hints = body
        .get("os:scheduler_hints")
        .cloned()
        .unwrap_or(Value::Null);
    let prepared = (|| {
        let m = request_body(&body)?;
        let name = m
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| {
                CloudError::BadRequest("Invalid input for field/attribute name.".to_owned())
            })?
            .to_owned();
        let flavor_id = m
            .get("flavorRef")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if !data::FLAVORS.iter().any(|f| f["id"] == flavor_id.as_str()) {
            return Err(CloudError::BadRequest(format!(
                "Flavor {flavor_id} could not be found."
            )));
        }
        let zone = m
            .get("availability_zone")
            .and_then(Value::as_str)
            .unwrap_or("nova");
        if zone != "nova" {
            return Err(CloudError::BadRequest(
                "The requested availability zone is not available".to_owned(),
            ));
        }
        let key_name = m.get("key_name").and_then(Value::as_str).map(str::to_owned);
        let public_key =
            match &key_name {
                Some(k) => Some(keypairs.public_key(&user, k).ok_or_else(|| {
                    CloudError::BadRequest("Invalid key_name provided.".to_owned())
                })?),
                None => None,
            };
        let user_data = match m.get("user_data").and_then(Value::as_str) {
            Some(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| {
                    CloudError::BadRequest("User data needs to be valid base 64.".to_owned())
                })?,
            None => Vec::new(),
        };
        let metadata: BTreeMap<String, String> = m
            .get("metadata")
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let networks = m.get("networks").cloned().unwrap_or(Value::Null);
        Ok((
            name, flavor_id, key_name, public_key, user_data, metadata, networks,
        ))
    })();
    let (name, flavor_id, key_name, public_key, user_data, metadata, networks) = match prepared {
        Ok(p) => p,
        Err(e) => return cloud_fault(e),
    };
    let id = new_id();
    let r = cloud.update(|s| {
        let m = request_body(&body)?;
        let (image_id, boot_volume) = boot_image(s, m, &project)?;
        let docker_image = data::docker_image_of(&image_id).ok_or_else(|| {
            let name = data::images().iter().find(|i| i["id"] == image_id.as_str()).and_then(|i| i["name"].as_str()).unwrap_or(&image_id).to_owned();
            CloudError::BadRequest(format!(
                "Image {name} cannot be booted by this local cloud: it is a look-up fixture with no node image behind it (boot debian-12-node-atomic or debian-12-node-coreos)."
            ))
        })?;
        let (ports, own_ports) = node::claim_ports(s, &project, &id, &networks)?;
        if let Some(vol) = &boot_volume
            && let Some(v) = s.volumes.get_mut(vol)
        {
            if v.status != "available" {
                return Err(CloudError::BadRequest(format!("Block Device Mapping is Invalid: volume {vol} is {}.", v.status)));
            }
            v.status = "in-use".to_owned();
            v.attachment = Some((vol.clone(), id.clone(), "/dev/vda".to_owned()));
        }
        if let Some(group) = hints["group"].as_str() {
            let g = s.server_groups.get_mut(group).ok_or_else(|| {
                CloudError::BadRequest(format!("Invalid server group {group}"))
            })?;
            g.members.push(id.clone());
        }
        let server = Server {
            id: id.clone(),
            name: name.clone(),
            project_id: project.clone(),
            user_id: user.clone(),
            image_id: if boot_volume.is_some() { String::new() } else { image_id },
            flavor_id: flavor_id.clone(),
            key_name: key_name.clone(),
            metadata: metadata.clone(),
            availability_zone: "nova".to_owned(),
            ports,
            own_ports,
            state: ServerState::Building,
            fault: None,
            container: None,
            should_run: true,
            created_at: now(),
            updated_at: now(),
        };
        s.servers.insert(id.clone(), server);
        Ok(docker_image)
    });
    let docker_image = match r {
        Ok(d) => d,
        Err(e) => return cloud_fault(e),
    };
    let build = node::Build {
        server_id: id.clone(),
        docker_image,
        user_data,
        public_key,
    };
    let cloud2 = cloud.clone().into_inner();
    tokio::spawn(async move { node::build(cloud2, engine, build).await });
    let base = base_url(&req);
    HttpResponse::Accepted().json(json!({"server": {
        "id": id, "adminPass": "", "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": "default"}],
        "links": [{"rel": "self", "href": format!("{base}/v2.1/servers/{id}")},
                  {"rel": "bookmark", "href": format!("{base}/servers/{id}")}],
    }}))
}

/// Whether each of `servers` runs, from one list of the engine's containers.
async fn running(cloud: &Cloud, servers: &[Server]) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    let Ok(engine) = cloud.engine() else {
        return out;
    };
    let Ok(list) = engine
        .docker
        .containers_with_label("org.openstack.kind=server")
        .await
    else {
        return out;
    };
    let states: BTreeMap<String, bool> = list
        .iter()
        .filter_map(|c| {
            Some((
                c["Labels"]["org.openstack.id"].as_str()?.to_owned(),
                c["State"] == "running",
            ))
        })
        .collect();
    for s in servers {
        out.insert(s.id.clone(), states.get(&s.id).copied().unwrap_or(false));
    }
    out
}

/// `name` filters are regular expressions in Nova; `^prefix` and plain substrings are what
/// clients send, and both are honoured here.
fn name_matches(filter: &str, name: &str) -> bool {
    match filter.strip_prefix('^') {
        Some(prefix) => name.starts_with(prefix.trim_end_matches(".*")),
        None => name.contains(filter),
    }
}

async fn list_servers(
    req: &HttpRequest,
    cloud: &Cloud,
    query: &[(String, String)],
    detail: bool,
) -> HttpResponse {
    let (_, project) = match caller(req) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let name = query
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.clone());
    let servers: Vec<Server> = cloud.read(|s| {
        s.servers
            .values()
            .filter(|x| x.project_id == project)
            .filter(|x| name.as_deref().is_none_or(|n| name_matches(n, &x.name)))
            .cloned()
            .collect()
    });
    let run = running(cloud, &servers).await;
    let base = base_url(req);
    let wanted_status = query
        .iter()
        .find(|(k, _)| k == "status")
        .map(|(_, v)| v.to_ascii_uppercase());
    let items: Vec<Value> = cloud.read(|s| {
        servers
            .iter()
            .map(|x| view(s, x, run.get(&x.id).copied(), &base))
            .filter(|v| wanted_status.as_deref().is_none_or(|w| v["status"] == w))
            .map(|v| {
                if detail {
                    v
                } else {
                    json!({"id": v["id"], "name": v["name"], "links": v["links"]})
                }
            })
            .collect()
    });
    HttpResponse::Ok().json(json!({"servers": items}))
}

async fn list(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    list_servers(&req, &cloud, &query, false).await
}

async fn list_detail(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    list_servers(&req, &cloud, &query, true).await
}

/// The caller's server, or its 404.
fn own_server(cloud: &Cloud, req: &HttpRequest, id: &str) -> Result<Server, Box<HttpResponse>> {
    let (_, project) = caller(req)?;
    cloud
        .read(|s| {
            s.servers
                .get(id)
                .filter(|x| x.project_id == project)
                .cloned()
        })
        .ok_or_else(|| Box::new(not_found(id)))
}

async fn show(req: HttpRequest, cloud: web::Data<Cloud>, id: web::Path<String>) -> HttpResponse {
    let server = match own_server(&cloud, &req, &id) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let run = running(&cloud, std::slice::from_ref(&server)).await;
    let base = base_url(&req);
    let v = cloud.read(|s| view(s, &server, run.get(&server.id).copied(), &base));
    HttpResponse::Ok().json(json!({"server": v}))
}

async fn rename(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    if let Err(r) = own_server(&cloud, &req, &id) {
        return *r;
    }
    let r = cloud.update(|s| {
        let m = request_body(&body)?;
        if let (Some(server), Some(name)) = (
            s.servers.get_mut(id.as_str()),
            m.get("name").and_then(Value::as_str),
        ) {
            server.name = name.to_owned();
            server.updated_at = now();
        }
        Ok(())
    });
    match r {
        Ok(()) => show(req, cloud, id).await,
        Err(e) => cloud_fault(e),
    }
}

async fn delete(req: HttpRequest, cloud: web::Data<Cloud>, id: web::Path<String>) -> HttpResponse {
    let server = match own_server(&cloud, &req, &id) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let first = cloud.update(|s| {
        let x = s
            .servers
            .get_mut(&server.id)
            .ok_or_else(|| CloudError::NotFound(server.id.clone()))?;
        let first = x.state != ServerState::Deleting;
        x.state = ServerState::Deleting;
        x.updated_at = now();
        Ok(first)
    });
    match first {
        Ok(true) => {
            let cloud2 = cloud.clone().into_inner();
            tokio::spawn(async move { node::teardown(cloud2, server.id).await });
            HttpResponse::NoContent().finish()
        }
        Ok(false) => HttpResponse::NoContent().finish(),
        Err(e) => cloud_fault(e),
    }
}

async fn action(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let server = match own_server(&cloud, &req, &id) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some((name, args)) = body.as_object().and_then(|o| o.iter().next()) else {
        return fault(StatusCode::BAD_REQUEST, "There is no such action.");
    };
    match node::act(&cloud, &server, name, args).await {
        Ok(Some(v)) => HttpResponse::Ok().json(v),
        Ok(None) => HttpResponse::Accepted().finish(),
        Err(e) => cloud_fault(e),
    }
}

async fn get_metadata(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
) -> HttpResponse {
    match own_server(&cloud, &req, &id) {
        Ok(s) => HttpResponse::Ok().json(json!({"metadata": s.metadata})),
        Err(r) => *r,
    }
}

async fn merge_metadata(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    if let Err(r) = own_server(&cloud, &req, &id) {
        return *r;
    }
    let r = cloud.update(|s| {
        let server = s
            .servers
            .get_mut(id.as_str())
            .ok_or_else(|| CloudError::NotFound(id.to_string()))?;
        for (k, v) in body["metadata"].as_object().into_iter().flatten() {
            server.metadata.insert(
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            );
        }
        Ok(server.metadata.clone())
    });
    match r {
        Ok(m) => HttpResponse::Ok().json(json!({"metadata": m})),
        Err(e) => cloud_fault(e),
    }
}

async fn delete_metadata(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (id, key) = path.into_inner();
    if let Err(r) = own_server(&cloud, &req, &id) {
        return *r;
    }
    let r = cloud.update(|s| {
        let server = s
            .servers
            .get_mut(&id)
            .ok_or_else(|| CloudError::NotFound(id.clone()))?;
        server
            .metadata
            .remove(&key)
            .map(drop)
            .ok_or_else(|| CloudError::NotFound("Metadata item was not found".to_owned()))
    });
    match r {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => cloud_fault(e),
    }
}

async fn set_tags(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    match own_server(&cloud, &req, &id) {
        Ok(_) => HttpResponse::Ok().json(json!({"tags": body["tags"]})),
        Err(r) => *r,
    }
}

async fn list_interfaces(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
) -> HttpResponse {
    let server = match own_server(&cloud, &req, &id) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let items: Vec<Value> = cloud.read(|s| {
        server.ports.iter().filter_map(|pid| s.ports.get(pid)).map(|p| json!({
            "port_id": p.id, "net_id": p.network_id, "mac_addr": p.mac_address, "port_state": "ACTIVE",
            "fixed_ips": p.fixed_ips.iter().map(|(sid, ip)| json!({"subnet_id": sid, "ip_address": ip})).collect::<Vec<_>>(),
        })).collect()
    });
    HttpResponse::Ok().json(json!({"interfaceAttachments": items}))
}

async fn attach_interface(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let server = match own_server(&cloud, &req, &id) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(port_id) = body["interfaceAttachment"]["port_id"].as_str() else {
        return fault(
            StatusCode::BAD_REQUEST,
            "This local cloud attaches existing ports only (port_id).",
        );
    };
    match node::attach_port(&cloud, &server, port_id).await {
        Ok(v) => HttpResponse::Ok().json(json!({"interfaceAttachment": v})),
        Err(e) => cloud_fault(e),
    }
}

async fn detach_interface(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (id, port_id) = path.into_inner();
    let server = match own_server(&cloud, &req, &id) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match node::detach_port(&cloud, &server, &port_id).await {
        Ok(()) => HttpResponse::Accepted().finish(),
        Err(e) => cloud_fault(e),
    }
}
