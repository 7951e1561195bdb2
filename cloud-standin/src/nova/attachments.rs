//! Volume attachments (`/servers/{id}/os-volume_attachments`): a Cinder volume of the local
//! cloud (a Docker volume) shows up in the running node as `/dev/disk/by-id/virtio-<id[:20]>`,
//! a directory where a real cloud has a disk (mount propagation: see `crate::compute::host`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::servers::cloud_fault;
use super::{fault, identity};
use crate::compute::{Cloud, CloudError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/v2.1/servers/{id}/os-volume_attachments",
        web::get().to(list),
    )
    .route(
        "/v2.1/servers/{id}/os-volume_attachments",
        web::post().to(attach),
    )
    .route(
        "/v2.1/servers/{id}/os-volume_attachments/{vol}",
        web::get().to(show),
    )
    .route(
        "/v2.1/servers/{id}/os-volume_attachments/{vol}",
        web::delete().to(detach),
    );
}

fn project(req: &HttpRequest) -> String {
    identity(req)
        .and_then(|i| i.project_id.clone())
        .unwrap_or_default()
}

fn view(volume: &str, server: &str, device: &str) -> Value {
    // Heat uses the attachment id as the volume id (as Nova's API does)
    json!({"id": volume, "volumeId": volume, "serverId": server, "device": device})
}

async fn list(req: HttpRequest, cloud: web::Data<Cloud>, id: web::Path<String>) -> HttpResponse {
    let p = project(&req);
    let items: Option<Vec<Value>> = cloud.read(|s| {
        s.servers.get(id.as_str()).filter(|x| x.project_id == p)?;
        Some(
            s.volumes
                .values()
                .filter_map(|v| {
                    v.attachment
                        .as_ref()
                        .filter(|(_, sid, _)| sid == id.as_str())
                        .map(|(_, sid, dev)| view(&v.id, sid, dev))
                })
                .collect(),
        )
    });
    match items {
        Some(items) => HttpResponse::Ok().json(json!({"volumeAttachments": items})),
        None => fault(
            StatusCode::NOT_FOUND,
            format!("Instance {id} could not be found."),
        ),
    }
}

async fn show(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (id, vol) = path.into_inner();
    let p = project(&req);
    let found = cloud.read(|s| {
        s.servers.get(&id).filter(|x| x.project_id == p)?;
        let v = s.volumes.get(&vol)?;
        v.attachment
            .as_ref()
            .filter(|(_, sid, _)| sid == &id)
            .map(|(_, sid, dev)| view(&v.id, sid, dev))
    });
    match found {
        Some(v) => HttpResponse::Ok().json(json!({"volumeAttachment": v})),
        None => fault(
            StatusCode::NOT_FOUND,
            format!("Volume {vol} is not attached to {id}."),
        ),
    }
}

async fn attach(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let engine = match cloud.engine() {
        Ok(e) => e,
        Err(e) => return cloud_fault(e),
    };
    let a = &body["volumeAttachment"];
    let Some(vol) = a["volumeId"].as_str().map(str::to_owned) else {
        return fault(
            StatusCode::BAD_REQUEST,
            "Invalid input for field/attribute volumeId.",
        );
    };
    let device = a["device"].as_str().unwrap_or("/dev/vdb").to_owned();
    let r = cloud.update(|s| {
        let server = s
            .servers
            .get(id.as_str())
            .filter(|x| x.project_id == p)
            .cloned()
            .ok_or_else(|| CloudError::NotFound(format!("Instance {id} could not be found.")))?;
        let v = s
            .volumes
            .get_mut(&vol)
            .filter(|v| v.project_id == p)
            .ok_or_else(|| CloudError::NotFound(format!("Volume {vol} could not be found.")))?;
        if v.status != "available" {
            return Err(CloudError::BadRequest(format!(
                "Invalid volume: volume {vol} status must be 'available', it is '{}'",
                v.status
            )));
        }
        v.status = "attaching".to_owned();
        v.attachment = Some((vol.clone(), server.id.clone(), device.clone()));
        Ok(v.host_path.clone())
    });
    let source = match r {
        Ok(Some(path)) => path,
        Ok(None) => {
            return fault(
                StatusCode::CONFLICT,
                format!("Volume {vol} has no storage yet."),
            );
        }
        Err(e) => return cloud_fault(e),
    };
    let done = engine.dirs.attach(&id, &vol, &source);
    let _ = cloud.update(|s| {
        if let Some(v) = s.volumes.get_mut(&vol) {
            match &done {
                Ok(()) => v.status = "in-use".to_owned(),
                Err(_) => {
                    v.status = "available".to_owned();
                    v.attachment = None;
                }
            }
        }
        Ok(())
    });
    match done {
        Ok(()) => HttpResponse::Ok().json(json!({"volumeAttachment": view(&vol, &id, &device)})),
        Err(e) => fault(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn detach(
    req: HttpRequest,
    cloud: web::Data<Cloud>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (id, vol) = path.into_inner();
    let p = project(&req);
    let engine = match cloud.engine() {
        Ok(e) => e,
        Err(e) => return cloud_fault(e),
    };
    let attached = cloud.read(|s| {
        s.servers.get(&id).filter(|x| x.project_id == p)?;
        s.volumes
            .get(&vol)
            .and_then(|v| v.attachment.clone())
            .filter(|(_, sid, _)| sid == &id)
    });
    if attached.is_none() {
        return fault(
            StatusCode::NOT_FOUND,
            format!("Volume {vol} is not attached to {id}."),
        );
    }
    if let Err(e) = engine.dirs.detach(&id, &vol) {
        return fault(StatusCode::INTERNAL_SERVER_ERROR, e);
    }
    let _ = cloud.update(|s| {
        if let Some(v) = s.volumes.get_mut(&vol) {
            v.status = "available".to_owned();
            v.attachment = None;
        }
        Ok(())
    });
    HttpResponse::Accepted().finish()
}
