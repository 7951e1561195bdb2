//! Cinder v3 of the local cloud: a volume is a Docker volume (a directory on this machine's
//! disk; its `size` is recorded, not enforced). Attached through Nova it shows in the node (see
//! `crate::nova::attachments`).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::auth::Identity;
use crate::compute::state::{Volume, new_id, now};
use crate::compute::{Cloud, CloudError, labels};

/// Highest microversion claimed (Cinder 2024.1).
const MAX_VERSION: &str = "3.71";
/// The volume types of this cloud (DevStack's default type's name).
const TYPES: &[(&str, &str)] = &[
    ("0c6e7d3a-1b4f-4e2a-9d8c-5f6a7b8c9d0e", "__DEFAULT__"),
    ("1d7f8e4b-2c5a-4f3b-ae9d-6a7b8c9d0e1f", "lvmdriver-1"),
];

/// Routes of the volume service (`/v3/{project_id}/...`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(versions))
        .route("/v3", web::get().to(version))
        .route("/v3/", web::get().to(version))
        .route("/v3/{project}/types", web::get().to(list_types))
        .route("/v3/{project}/types/{id}", web::get().to(show_type))
        .route("/v3/{project}/volumes", web::get().to(list))
        .route("/v3/{project}/volumes/detail", web::get().to(list))
        .route("/v3/{project}/volumes", web::post().to(create))
        .route("/v3/{project}/volumes/{id}", web::get().to(show))
        .route("/v3/{project}/volumes/{id}", web::put().to(update))
        .route("/v3/{project}/volumes/{id}", web::delete().to(delete))
        .route(
            "/v3/{project}/volumes/{id}/metadata",
            web::put().to(set_metadata),
        )
        .route(
            "/v3/{project}/volumes/{id}/metadata",
            web::post().to(set_metadata),
        )
        .route("/v3/{project}/volumes/{id}/action", web::post().to(action));
}

/// A Cinder fault body.
fn fault(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    let name = match status.as_u16() {
        400 => "badRequest",
        404 => "itemNotFound",
        409 => "conflictingRequest",
        _ => "computeFault",
    };
    HttpResponse::build(status)
        .json(json!({ name: {"code": status.as_u16(), "message": message.into()} }))
}

fn cloud_fault(e: CloudError) -> HttpResponse {
    match e {
        CloudError::BadRequest(m) => fault(StatusCode::BAD_REQUEST, m),
        CloudError::NotFound(m) => fault(StatusCode::NOT_FOUND, m),
        CloudError::Conflict(m) => fault(StatusCode::CONFLICT, m),
        CloudError::Unavailable(m) => fault(StatusCode::SERVICE_UNAVAILABLE, m),
    }
}

fn version_doc(req: &HttpRequest) -> Value {
    let info = req.connection_info();
    json!({"id": "v3.0", "status": "CURRENT", "version": MAX_VERSION, "min_version": "3.0",
           "updated": "2023-08-31T00:00:00Z",
           "links": [{"rel": "self", "href": format!("{}://{}/v3/", info.scheme(), info.host())}],
           "media-types": [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}]})
}

async fn versions(req: HttpRequest) -> HttpResponse {
    HttpResponse::MultipleChoices().json(json!({"versions": [version_doc(&req)]}))
}

async fn version(req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok().json(json!({"versions": [version_doc(&req)]}))
}

/// The caller's (user, project) when the URL's project is theirs.
fn caller(req: &HttpRequest, url_project: &str) -> Result<(String, String), Box<HttpResponse>> {
    let who = req.extensions().get::<std::sync::Arc<Identity>>().cloned();
    match who {
        Some(i) if i.project_id.as_deref() == Some(url_project) => {
            Ok((i.user_id.clone(), url_project.to_owned()))
        }
        Some(_) => Err(Box::new(fault(
            StatusCode::FORBIDDEN,
            "Policy doesn't allow this project's volumes to be used.",
        ))),
        None => Err(Box::new(fault(
            StatusCode::UNAUTHORIZED,
            "Authentication required",
        ))),
    }
}

fn type_view(id: &str, name: &str) -> Value {
    json!({"id": id, "name": name, "description": null, "is_public": true, "extra_specs": {},
           "os-volume-type-access:is_public": true, "qos_specs_id": null})
}

async fn list_types(req: HttpRequest, project: web::Path<String>) -> HttpResponse {
    if let Err(r) = caller(&req, &project) {
        return *r;
    }
    HttpResponse::Ok().json(
        json!({"volume_types": TYPES.iter().map(|(i, n)| type_view(i, n)).collect::<Vec<_>>()}),
    )
}

async fn show_type(req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let (project, id) = path.into_inner();
    if let Err(r) = caller(&req, &project) {
        return *r;
    }
    match TYPES.iter().find(|(i, n)| *i == id || *n == id) {
        Some((i, n)) => HttpResponse::Ok().json(json!({"volume_type": type_view(i, n)})),
        None => fault(
            StatusCode::NOT_FOUND,
            format!("Volume type {id} could not be found."),
        ),
    }
}

/// A volume as Cinder shows it.
fn view(v: &Volume) -> Value {
    let attachments: Vec<Value> = v
        .attachment
        .iter()
        .map(|(aid, server, device)| json!({"id": v.id, "attachment_id": aid, "volume_id": v.id,
            "server_id": server, "device": device, "host_name": "localhost", "attached_at": v.created_at}))
        .collect();
    let mut out = json!({
        "id": v.id, "name": v.name, "description": v.description, "status": v.status,
        "size": v.size, "availability_zone": v.availability_zone, "volume_type": v.volume_type,
        "bootable": v.bootable.to_string(), "encrypted": false, "multiattach": false,
        "snapshot_id": null, "source_volid": null, "consistencygroup_id": null, "group_id": null,
        "metadata": v.metadata, "attachments": attachments, "user_id": v.user_id,
        "os-vol-tenant-attr:tenant_id": v.project_id, "replication_status": null,
        "created_at": v.created_at, "updated_at": v.created_at, "links": [],
    });
    if let Some(image) = &v.image_id {
        out["volume_image_metadata"] = json!({"image_id": image});
    }
    out
}

async fn list(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    project: web::Path<String>,
) -> HttpResponse {
    let (_, p) = match caller(&req, &project) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let items: Vec<Value> = cloud.read(|s| {
        s.volumes
            .values()
            .filter(|v| v.project_id == p)
            .map(view)
            .collect()
    });
    HttpResponse::Ok().json(json!({"volumes": items}))
}

async fn show(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (project, id) = path.into_inner();
    let (_, p) = match caller(&req, &project) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    match cloud.read(|s| s.volumes.get(&id).filter(|v| v.project_id == p).map(view)) {
        Some(v) => HttpResponse::Ok().json(json!({"volume": v})),
        None => fault(
            StatusCode::NOT_FOUND,
            format!("Volume {id} could not be found."),
        ),
    }
}

async fn create(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    project: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let (user, p) = match caller(&req, &project) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let engine = match cloud.engine() {
        Ok(e) => e,
        Err(e) => return cloud_fault(e),
    };
    let b = &body["volume"];
    let Some(size) = b["size"]
        .as_u64()
        .or_else(|| b["size"].as_str().and_then(|s| s.parse().ok()))
        .filter(|s| *s > 0)
    else {
        return fault(
            StatusCode::BAD_REQUEST,
            "Invalid input received: size must be a positive integer.",
        );
    };
    let zone = b["availability_zone"].as_str().unwrap_or("nova");
    if zone != "nova" {
        return fault(
            StatusCode::BAD_REQUEST,
            "Invalid input received: Availability zone is invalid.",
        );
    }
    let vtype = b["volume_type"].as_str().unwrap_or("__DEFAULT__");
    let Some((_, type_name)) = TYPES.iter().find(|(i, n)| *i == vtype || *n == vtype) else {
        return fault(
            StatusCode::NOT_FOUND,
            format!("Volume type with name {vtype} could not be found."),
        );
    };
    let image = b["imageRef"]
        .as_str()
        .filter(|i| !i.is_empty())
        .map(str::to_owned);
    if let Some(i) = &image
        && crate::data::docker_image_of(i).is_none()
    {
        return fault(
            StatusCode::BAD_REQUEST,
            format!(
                "Invalid image identifier or unable to access requested image {i} (no node image behind it here)."
            ),
        );
    }
    let id = new_id();
    let docker_name = format!("cinder-{id}");
    let host_path = match engine
        .docker
        .create_volume(&docker_name, &labels("volume", &id, &p))
        .await
    {
        Ok(path) => path,
        Err(e) => return cloud_fault(e.into()),
    };
    let metadata: BTreeMap<String, String> = b["metadata"]
        .as_object()
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
    let v = Volume {
        id: id.clone(),
        name: b["name"].as_str().unwrap_or_default().to_owned(),
        description: b["description"].as_str().unwrap_or_default().to_owned(),
        project_id: p,
        user_id: user,
        size,
        volume_type: (*type_name).to_owned(),
        availability_zone: "nova".to_owned(),
        status: "available".to_owned(),
        bootable: image.is_some(),
        image_id: image,
        attachment: None,
        metadata,
        docker_name,
        host_path: Some(host_path),
        created_at: now(),
    };
    let r = cloud.update(|s| {
        s.volumes.insert(id.clone(), v.clone());
        Ok(())
    });
    match r {
        Ok(()) => HttpResponse::Accepted().json(json!({"volume": view(&v)})),
        Err(e) => cloud_fault(e),
    }
}

async fn update(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
) -> HttpResponse {
    let (project, id) = path.into_inner();
    let (_, p) = match caller(&req, &project) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let r = cloud.update(|s| {
        let v = s
            .volumes
            .get_mut(&id)
            .filter(|v| v.project_id == p)
            .ok_or_else(|| CloudError::NotFound(format!("Volume {id} could not be found.")))?;
        if let Some(n) = body["volume"]["name"].as_str() {
            v.name = n.to_owned();
        }
        if let Some(d) = body["volume"]["description"].as_str() {
            v.description = d.to_owned();
        }
        Ok(view(v))
    });
    match r {
        Ok(v) => HttpResponse::Ok().json(json!({"volume": v})),
        Err(e) => cloud_fault(e),
    }
}

async fn set_metadata(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
) -> HttpResponse {
    let (project, id) = path.into_inner();
    let (_, p) = match caller(&req, &project) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let r = cloud.update(|s| {
        let v = s
            .volumes
            .get_mut(&id)
            .filter(|v| v.project_id == p)
            .ok_or_else(|| CloudError::NotFound(format!("Volume {id} could not be found.")))?;
        for (k, val) in body["metadata"].as_object().into_iter().flatten() {
            v.metadata.insert(
                k.clone(),
                val.as_str().map_or_else(|| val.to_string(), str::to_owned),
            );
        }
        Ok(v.metadata.clone())
    });
    match r {
        Ok(m) => HttpResponse::Ok().json(json!({"metadata": m})),
        Err(e) => cloud_fault(e),
    }
}

/// Volume actions: extending (recorded) and the read-only flag are accepted; nothing else is
/// done here.
async fn action(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
) -> HttpResponse {
    let (project, id) = path.into_inner();
    let (_, p) = match caller(&req, &project) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let r = cloud.update(|s| {
        let v = s
            .volumes
            .get_mut(&id)
            .filter(|v| v.project_id == p)
            .ok_or_else(|| CloudError::NotFound(format!("Volume {id} could not be found.")))?;
        if let Some(n) = body["os-extend"]["new_size"].as_u64() {
            v.size = n.max(v.size);
            return Ok(());
        }
        if body.get("os-update_readonly_flag").is_some() || body.get("os-set_bootable").is_some() {
            return Ok(());
        }
        Err(CloudError::BadRequest(
            "This local cloud does not do that volume action.".to_owned(),
        ))
    });
    match r {
        Ok(()) => HttpResponse::Accepted().finish(),
        Err(e) => cloud_fault(e),
    }
}

async fn delete(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (project, id) = path.into_inner();
    let (_, p) = match caller(&req, &project) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let engine = match cloud.engine() {
        Ok(e) => e,
        Err(e) => return cloud_fault(e),
    };
    let v = match cloud.read(|s| s.volumes.get(&id).filter(|v| v.project_id == p).cloned()) {
        Some(v) => v,
        None => {
            return fault(
                StatusCode::NOT_FOUND,
                format!("Volume {id} could not be found."),
            );
        }
    };
    if v.attachment.is_some() || v.status == "in-use" {
        return fault(
            StatusCode::BAD_REQUEST,
            "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.",
        );
    }
    if let Err(e) = engine.docker.remove_volume(&v.docker_name).await {
        return cloud_fault(e.into());
    }
    match cloud.update(|s| {
        s.volumes.remove(&id);
        Ok(())
    }) {
        Ok(()) => HttpResponse::Accepted().finish(),
        Err(e) => cloud_fault(e),
    }
}
