//! POST, PATCH and DELETE of templates.

use actix_web::http::header;
use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use magnum_common::db::models::cluster_template::{self, ClusterTemplate};
use magnum_common::db::{JsonMap, write_transaction};
use magnum_common::drivers;
use magnum_common::ids::{ProjectId, UserId};
use magnum_common::status::{Coe, ServerType};
use serde_json::{Map, Value};

use super::read::{load, template_target};
use super::{ClusterTemplateView, TemplateApi};
use crate::body::{self, check_value};
use crate::context::{Ctx, RequestContext};
use crate::error::{ApiError, ApiResult};
use crate::links::host_url;
use crate::patch::{self, Rules};
use crate::query::Query;
use crate::state::AppState;
use crate::validate::{Resources, Validator};

fn opt_str(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// Copies body attributes onto a template (`null` clears an attribute).
fn assign(t: &mut ClusterTemplate, key: &str, v: &Value) -> ApiResult<()> {
    match key {
        "name" => t.name = opt_str(v),
        "coe" => t.coe = v.as_str().and_then(|s| s.parse().ok()).unwrap_or(t.coe),
        "image_id" => t.image_id = opt_str(v),
        "flavor_id" => t.flavor_id = opt_str(v),
        "master_flavor_id" => t.master_flavor_id = opt_str(v),
        "keypair_id" => t.keypair_id = opt_str(v),
        "external_network_id" => t.external_network_id = opt_str(v),
        "fixed_network" => t.fixed_network = opt_str(v),
        "fixed_subnet" => t.fixed_subnet = opt_str(v),
        "network_driver" => t.network_driver = opt_str(v),
        "volume_driver" => t.volume_driver = opt_str(v),
        "dns_nameserver" => t.dns_nameserver = opt_str(v),
        "apiserver_port" => t.apiserver_port = v.as_i64().and_then(|n| i32::try_from(n).ok()),
        "docker_volume_size" => {
            t.docker_volume_size = v.as_i64().and_then(|n| i32::try_from(n).ok())
        }
        "docker_storage_driver" => t.docker_storage_driver = opt_str(v),
        "cluster_distro" => t.cluster_distro = opt_str(v),
        "http_proxy" => t.http_proxy = opt_str(v),
        "https_proxy" => t.https_proxy = opt_str(v),
        "no_proxy" => t.no_proxy = opt_str(v),
        "registry_enabled" => t.registry_enabled = v.as_bool().unwrap_or(false),
        "labels" => {
            t.labels = JsonMap(match v {
                Value::Object(m) => m
                    .iter()
                    .map(|(k, x)| (k.clone(), x.as_str().unwrap_or_default().to_owned()))
                    .collect(),
                _ => Default::default(),
            })
        }
        "tls_disabled" => t.tls_disabled = v.as_bool().unwrap_or(false),
        "public" => t.public = v.as_bool().unwrap_or(false),
        "server_type" => {
            t.server_type = v
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(ServerType::Vm)
        }
        "insecure_registry" => t.insecure_registry = opt_str(v),
        "master_lb_enabled" => t.master_lb_enabled = v.as_bool().unwrap_or(false),
        "floating_ip_enabled" => t.floating_ip_enabled = v.as_bool().unwrap_or(true),
        "hidden" => t.hidden = v.as_bool().unwrap_or(false),
        "tags" => t.tags = opt_str(v),
        "driver" => t.driver = opt_str(v),
        _ => {}
    }
    Ok(())
}

/// Network and volume driver rules per COE; fills in the default network driver.
pub fn check_drivers(state: &AppState, t: &mut ClusterTemplate) -> ApiResult<()> {
    let cfg = &state.config.cluster_template;
    let (supported, default, allowed, volumes): (&[&str], &str, &[String], &[&str]) = match t.coe {
        Coe::Kubernetes => (
            &["flannel", "calico"],
            &cfg.kubernetes_default_network_driver,
            &cfg.kubernetes_allowed_network_drivers,
            &["cinder"],
        ),
        Coe::Swarm | Coe::SwarmMode => (
            &["docker", "flannel"],
            &cfg.swarm_default_network_driver,
            &cfg.swarm_allowed_network_drivers,
            &["rexray"],
        ),
    };
    let driver = match t.network_driver.as_deref() {
        None | Some("") => default.to_owned(),
        Some(d) => d.to_owned(),
    };
    if !supported.contains(&driver.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "Network driver type {driver} is not supported, expecting a {}/unspecified network driver.",
            supported.join("/")
        )));
    }
    if !allowed.iter().any(|a| a == "all") && !allowed.contains(&driver) {
        return Err(ApiError::BadRequest(format!(
            "Network driver type {driver} is not allowed, expecting a {}/unspecified network driver.",
            allowed.join("/")
        )));
    }
    t.network_driver = Some(driver);
    if let Some(v) = t.volume_driver.as_deref().filter(|v| !v.is_empty())
        && !volumes.contains(&v)
    {
        return Err(ApiError::BadRequest(format!(
            "Volume driver type {v} is not supported, expecting a {}/unspecified volume driver.",
            volumes.join("/")
        )));
    }
    Ok(())
}

/// devicemapper needs a docker volume of at least 3 GB.
pub fn check_devicemapper(storage_driver: Option<&str>, size: Option<i32>) -> ApiResult<()> {
    if storage_driver == Some("devicemapper") && size.is_none_or(|s| s < 3) {
        let shown = size.map_or("None".to_owned(), |s| s.to_string());
        return Err(ApiError::BadRequest(format!(
            "docker volume size {shown} GB is not valid, expecting minimum value 3GB for devicemapper storage driver."
        )));
    }
    Ok(())
}

fn cluster_type_not_supported(t: &ClusterTemplate) -> ApiError {
    ApiError::BadRequest(format!(
        "Cluster type ({}, {}, {}) not supported.",
        t.server_type,
        t.cluster_distro.as_deref().unwrap_or("None"),
        t.coe
    ))
}

async fn check_publish(
    state: &AppState,
    ctx: &RequestContext,
    api: TemplateApi,
    flags_set: bool,
) -> ApiResult<()> {
    if flags_set
        && state
            .authorize(ctx, &api.policy("publish"), &ctx.own_target())
            .is_err()
    {
        return Err(ApiError::Forbidden(
            "Not authorized to set public or hidden flag for cluster template.".to_owned(),
        ));
    }
    Ok(())
}

/// `POST /v1/clustertemplates` → 201 with the template and a Location header.
pub async fn create(
    api: TemplateApi,
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    let raw = body::json(payload, &req, state.body_limit(), api.arg()).await?;
    let given = body::validate(api.arg(), api.fields(), &raw)?;
    let coe: Coe = given
        .get("coe")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(Coe::Kubernetes);
    let mut t = ClusterTemplate::new(
        ProjectId::from(ctx.project_id.clone().unwrap_or_default()),
        UserId::from(ctx.user_id.as_str()),
        coe,
    );
    for (k, v) in &given {
        assign(&mut t, k, v)?;
    }
    check_drivers(&state, &mut t)?;
    check_devicemapper(t.docker_storage_driver.as_deref(), t.docker_volume_size)?;
    state.authorize(&ctx, &api.policy("create"), &ctx.own_target())?;
    t.project_id = ctx.owner_project()?;
    let mut validator = Validator::new(&state, &ctx);
    let resources = Resources {
        image: t.image_id.as_deref(),
        flavor: t.flavor_id.as_deref(),
        master_flavor: t.master_flavor_id.as_deref(),
        external_network: t.external_network_id.as_deref(),
        fixed_network: t.fixed_network.as_deref(),
        fixed_subnet: t.fixed_subnet.as_deref(),
        keypair: None,
    };
    let image = validator.resources(&resources, &t.labels.0).await?;
    match image {
        Some(image) => t.cluster_distro = image.os_distro,
        None if validator.enabled() => {}
        None if t.cluster_distro.is_none() => {
            return Err(ApiError::BadRequest(
                "cluster_distro is required when image look-ups are disabled (noauth mode)."
                    .to_owned(),
            ));
        }
        None => {}
    }
    if drivers::select(
        t.server_type,
        t.cluster_distro.as_deref(),
        t.coe,
        &state.config.drivers.disabled_drivers,
    )
    .is_none()
    {
        return Err(cluster_type_not_supported(&t));
    }
    let flags = t.public || (api == TemplateApi::ClusterTemplate && t.hidden);
    check_publish(&state, &ctx, api, flags).await?;
    if t.name.as_deref().is_none_or(str::is_empty) {
        t.name = Some(magnum_common::names::generate(api.name_suffix()));
    }
    let saved = state
        .db(move |conn| Ok(cluster_template::create(conn, t)?))
        .await?;
    let host = host_url(&req);
    let location = format!("{host}/v1/{}/{}", api.collection(), saved.uuid);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(ClusterTemplateView::new(saved, api, &host)))
}

/// The single-attribute changes allowed on a template clusters use.
fn allowed_when_referenced(changed: &[&str], t: &ClusterTemplate) -> bool {
    match changed {
        [] => true,
        ["name"] | ["hidden"] => true,
        ["public"] => t.public,
        ["tags"] => t.tags.is_some(),
        _ => false,
    }
}

/// `PATCH /v1/clustertemplates/{ident}` → 200 with the template.
pub async fn update(
    api: TemplateApi,
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
    ident: String,
) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    let raw = body::json(payload, &req, state.body_limit(), "patch").await?;
    let rules = Rules {
        internal: &[],
        non_removable: api.non_removable(),
        literal: &["/labels"],
    };
    let items = patch::parse(&raw, &rules)?;
    let original = load(api, &state, &ctx, ident, "update_all_projects").await?;
    state.authorize(&ctx, &api.policy("update"), &template_target(&original))?;

    let host = host_url(&req);
    let before = serde_json::to_value(ClusterTemplateView::new(original.clone(), api, &host))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let Value::Object(before) = before else {
        return Err(ApiError::Internal(
            "template view is not an object".to_owned(),
        ));
    };
    let mut after: Map<String, Value> = before.clone();
    patch::apply(&mut after, &items, &rules)?;

    let mut t = original.clone();
    let mut changed: Vec<&'static str> = Vec::new();
    for field in api
        .fields()
        .iter()
        .filter(|f| !f.readonly && !matches!(f.kind, body::Kind::Ignored))
    {
        let new = after.get(field.name).cloned().unwrap_or(Value::Null);
        if before.get(field.name).cloned().unwrap_or(Value::Null) == new {
            continue;
        }
        let value = if new.is_null() {
            if field.mandatory {
                return Err(ApiError::BadRequest(format!(
                    "Invalid input for field/attribute {}. Value: 'None'. Mandatory field missing.",
                    field.name
                )));
            }
            Value::Null
        } else {
            check_value(field, &new)?
        };
        assign(&mut t, field.name, &value)?;
        changed.push(field.name);
    }
    check_drivers(&state, &mut t)?;
    let mut validator = Validator::new(&state, &ctx);
    let resources = Resources {
        image: changed
            .contains(&"image_id")
            .then_some(t.image_id.as_deref())
            .flatten(),
        flavor: changed
            .contains(&"flavor_id")
            .then_some(t.flavor_id.as_deref())
            .flatten(),
        master_flavor: changed
            .contains(&"master_flavor_id")
            .then_some(t.master_flavor_id.as_deref())
            .flatten(),
        external_network: changed
            .contains(&"external_network_id")
            .then_some(t.external_network_id.as_deref())
            .flatten(),
        fixed_network: changed
            .contains(&"fixed_network")
            .then_some(t.fixed_network.as_deref())
            .flatten(),
        fixed_subnet: changed
            .contains(&"fixed_subnet")
            .then_some(t.fixed_subnet.as_deref())
            .flatten(),
        keypair: None,
    };
    validator.resources(&resources, &t.labels.0).await?;
    let flags_changed = changed.contains(&"public")
        || (api == TemplateApi::ClusterTemplate && changed.contains(&"hidden"));
    check_publish(&state, &ctx, api, flags_changed).await?;
    if changed.is_empty() {
        return Ok(HttpResponse::Ok().json(ClusterTemplateView::new(original, api, &host)));
    }
    let uuid = t.uuid;
    let saved = state
        .db(move |conn| {
            write_transaction(conn, |c| {
                if !allowed_when_referenced(&changed, &t)
                    && cluster_template::count_referencing_clusters(c, uuid)? > 0
                {
                    return Err(ApiError::BadRequest(format!(
                        "ClusterTemplate {uuid} is referenced by one or multiple clusters."
                    )));
                }
                Ok(cluster_template::save(c, t)?)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(ClusterTemplateView::new(saved, api, &host)))
}

/// `DELETE /v1/clustertemplates/{ident}` → 204, or 400 while clusters use it.
pub async fn delete(
    api: TemplateApi,
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    ident: String,
) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    let t = load(api, &state, &ctx, ident, "delete_all_projects").await?;
    state.authorize(&ctx, &api.policy("delete"), &template_target(&t))?;
    let (id, uuid) = (t.id, t.uuid);
    state
        .db(move |conn| {
            write_transaction(conn, |c| {
                if cluster_template::count_referencing_clusters(c, uuid)? > 0 {
                    return Err(ApiError::BadRequest(format!(
                        "ClusterTemplate {uuid} is referenced by one or multiple clusters."
                    )));
                }
                cluster_template::delete(c, id)?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
