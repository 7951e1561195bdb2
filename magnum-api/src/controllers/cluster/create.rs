//! POST of clusters and bays.

use actix_web::http::header;
use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use magnum_common::db::models::Scope;
use magnum_common::db::models::cluster::{self, Cluster};
use magnum_common::db::models::cluster_template::ClusterTemplate;
use magnum_common::db::models::nodegroup::NodeGroup;
use magnum_common::db::models::pending_operation::PendingOperation;
use magnum_common::db::models::quota;
use magnum_common::db::{JsonMap, write_transaction};
use magnum_common::drivers;
use magnum_common::ids::{ProjectId, UserId};
use serde_json::{Value, json};

use super::view::BayView;
use super::{BAY_FIELDS, CLUSTER_FIELDS, ClusterApi};
use crate::body;
use crate::conductor::rpc_context;
use crate::context::{Ctx, RequestContext};
use crate::controllers::cluster_template::{check_devicemapper, get_visibility};
use crate::controllers::lookup;
use crate::error::{ApiError, ApiResult};
use crate::links::host_url;
use crate::query::Query;
use crate::state::AppState;
use crate::validate::{Resources, Validator};
use crate::version::ApiVersion;

/// The request context a conductor operation carries (ids and roles, never tokens).
pub fn operation_context(ctx: &RequestContext, request_id: &str) -> Value {
    json!({
        "request_id": request_id,
        "user_id": ctx.user_id,
        "user_name": ctx.user_name,
        "user_domain_id": ctx.user_domain_id,
        "project_id": ctx.project_id,
        "project_name": ctx.project_name,
        "roles": ctx.roles,
        "is_admin": ctx.is_admin,
    })
}

/// The request id of the current request.
pub fn request_id(req: &HttpRequest) -> String {
    use actix_web::HttpMessage;
    req.extensions()
        .get::<crate::middleware::request_id::RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

fn int(v: Option<&Value>) -> Option<i32> {
    v.and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
}

fn string(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The two default node groups of a new cluster.
fn default_nodegroups(
    c: &Cluster,
    t: &ClusterTemplate,
    master_count: i32,
    node_count: i32,
) -> Vec<NodeGroup> {
    let mut master = NodeGroup::new(c.uuid, c.project_id.clone(), "default-master", "master");
    master.is_default = true;
    master.node_count = master_count;
    master.flavor_id = c.master_flavor_id.clone();
    master.image_id = t.image_id.clone();
    master.labels = c.labels.clone();
    master.docker_volume_size = c.docker_volume_size;
    let mut worker = NodeGroup::new(c.uuid, c.project_id.clone(), "default-worker", "worker");
    worker.is_default = true;
    worker.node_count = node_count;
    worker.flavor_id = c.flavor_id.clone();
    worker.image_id = t.image_id.clone();
    worker.labels = c.labels.clone();
    worker.docker_volume_size = c.docker_volume_size;
    worker.min_node_count = c
        .labels
        .0
        .get("min_node_count")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    worker.max_node_count = c
        .labels
        .0
        .get("max_node_count")
        .and_then(|v| v.parse().ok());
    vec![master, worker]
}

/// `POST /v1/clusters` → 202 `{"uuid"}`; `POST /v1/bays` → 202 (or 201 with the bay at 1.1).
pub async fn create(
    api: ClusterApi,
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    let raw = body::json(payload, &req, state.body_limit(), api.arg()).await?;
    let fields = match api {
        ClusterApi::Cluster => CLUSTER_FIELDS,
        ClusterApi::Bay => BAY_FIELDS,
    };
    let given = body::validate(api.arg(), fields, &raw)?;

    // The template: by uuid, name (or, for clusters, database id); below 1.10 a
    // missing one is a 400, as upstream.
    let ident = string(given.get(api.template_attr())).unwrap_or_default();
    let visibility = get_visibility(&ctx, false);
    let allow_int = api == ClusterApi::Cluster;
    let found = state
        .db(move |conn| lookup::template(conn, &visibility, &ident, allow_int))
        .await;
    let t = match found {
        Err(ApiError::NotFound(m)) if api == ClusterApi::Bay || !version.at_least(1, 10) => {
            return Err(ApiError::BadRequest(m));
        }
        other => other?,
    };
    if drivers::select(
        t.server_type,
        t.cluster_distro.as_deref(),
        t.coe,
        &state.config.drivers.disabled_drivers,
    )
    .is_none()
    {
        return Err(ApiError::BadRequest(format!(
            "Cluster type ({}, {}, {}) not supported.",
            t.server_type,
            t.cluster_distro.as_deref().unwrap_or("None"),
            t.coe
        )));
    }
    let docker_volume_size = int(given.get("docker_volume_size")).or(t.docker_volume_size);
    check_devicemapper(t.docker_storage_driver.as_deref(), docker_volume_size)?;
    let node_count = int(given.get("node_count")).unwrap_or(1);
    if node_count == 0 && !version.at_least(1, 10) {
        return Err(ApiError::BadRequest(
            "Resizing a nodegroup to zero is not supported in the provided microversion."
                .to_owned(),
        ));
    }
    state.authorize(&ctx, &api.policy("create"), &ctx.own_target())?;
    let project = ctx.owner_project()?;

    // Quota: the project's row, else [quotas] max_clusters_per_project.
    let limit = {
        let p = project.clone();
        let default = state.config.quotas.max_clusters_per_project;
        state
            .db(move |conn| {
                Ok(quota::get(conn, &p, "Cluster")?.map_or(default, |q| i64::from(q.hard_limit)))
            })
            .await?
    };
    let quota_error = move || {
        ApiError::Forbidden(format!(
            "Resource limit exceeded: You have reached the maximum clusters per project, {limit}. You may delete a cluster to make room for a new one."
        ))
    };
    let p = project.clone();
    if state
        .db(move |conn| Ok(cluster::count(conn, &Scope::Project(p))?))
        .await?
        >= limit
    {
        return Err(quota_error());
    }

    // Inherit from the template.
    let mut c = Cluster::new(project.clone(), UserId::from(ctx.user_id.as_str()), t.uuid);
    c.name = string(given.get("name")).or_else(|| {
        Some(magnum_common::names::generate(
            api.collection().trim_end_matches('s'),
        ))
    });
    c.keypair = string(given.get("keypair")).or_else(|| t.keypair_id.clone());
    let own_labels: Option<JsonMap> = given
        .get("labels")
        .and_then(|l| serde_json::from_value(l.clone()).ok())
        .filter(|l: &JsonMap| !l.0.is_empty());
    c.labels = match own_labels {
        None => t.labels.clone(),
        Some(own)
            if given
                .get("merge_labels")
                .and_then(Value::as_bool)
                .unwrap_or(false) =>
        {
            let mut merged = t.labels.clone();
            merged.0.extend(own.0);
            merged
        }
        Some(own) => own,
    };
    c.floating_ip_enabled = given
        .get("floating_ip_enabled")
        .and_then(Value::as_bool)
        .unwrap_or(t.floating_ip_enabled);
    c.master_lb_enabled = given
        .get("master_lb_enabled")
        .and_then(Value::as_bool)
        .unwrap_or(t.master_lb_enabled);
    c.docker_volume_size = docker_volume_size;
    c.master_flavor_id =
        string(given.get("master_flavor_id")).or_else(|| t.master_flavor_id.clone());
    c.flavor_id = string(given.get("flavor_id")).or_else(|| t.flavor_id.clone());
    c.fixed_network = string(given.get("fixed_network")).or_else(|| t.fixed_network.clone());
    c.fixed_subnet = string(given.get("fixed_subnet")).or_else(|| t.fixed_subnet.clone());
    c.create_timeout = Some(int(given.get(api.timeout_attr())).unwrap_or(60));
    c.discovery_url = string(given.get("discovery_url"));

    let mut validator = Validator::new(&state, &ctx);
    let resources = Resources {
        image: t.image_id.as_deref(),
        flavor: c.flavor_id.as_deref(),
        master_flavor: c.master_flavor_id.as_deref(),
        external_network: t.external_network_id.as_deref(),
        fixed_network: c.fixed_network.as_deref(),
        fixed_subnet: c.fixed_subnet.as_deref(),
        keypair: c.keypair.as_deref(),
    };
    validator.resources(&resources, &c.labels.0).await?;
    let master_count = int(given.get("master_count")).unwrap_or(1);
    if master_count > 1 && !c.master_lb_enabled {
        return Err(ApiError::BadRequest(
            "master_count must be 1 when master_lb_enabled is False".to_owned(),
        ));
    }

    let nodegroups = default_nodegroups(&c, &t, master_count, node_count);
    let args = json!({"master_count": master_count, "node_count": node_count, "create_timeout": c.create_timeout});
    let op = PendingOperation::new(
        c.uuid,
        None,
        "cluster_create",
        args,
        operation_context(&ctx, &request_id(&req)),
    )
    .with_token(ctx.token.as_deref().map(str::to_owned));
    let (uuid, op_uuid) = (c.uuid, op.uuid);
    state
        .db(move |conn| {
            write_transaction(conn, |tx| {
                // Counted again under the write lock, so concurrent creates cannot both slip past the limit.
                if cluster::count(tx, &Scope::Project(ProjectId::from(project.as_str())))? >= limit
                {
                    return Err(quota_error());
                }
                cluster::create_with_nodegroups(tx, c, nodegroups, op)?;
                Ok(())
            })
        })
        .await?;
    let rpc_ctx = rpc_context(&ctx, &request_id(&req));
    tracing::info!(cluster = %uuid, "cluster create accepted");
    if api == ClusterApi::Bay && version == ApiVersion::new(1, 1) {
        // Bays at 1.1 wait for the conductor (until Heat accepted the stack), as
        // upstream's synchronous call did. If the conductor does not answer, the
        // bay is still recorded and its create proceeds from the outbox.
        let args = json!({"cluster": uuid, "operation": op_uuid, "wait": true});
        match state.conductor.call(rpc_ctx, "cluster_create", args).await {
            Ok(_) | Err(ApiError::Unavailable(_)) => {}
            Err(e) => return Err(e),
        }
        let host = host_url(&req);
        let (created, ngs) = state
            .db(move |conn| {
                let c = cluster::get_by_uuid(conn, &Scope::All, uuid)?.ok_or_else(|| {
                    crate::controllers::lookup::cluster_not_found(&uuid.to_string())
                })?;
                let ngs = magnum_common::db::models::nodegroup::list_for_clusters(conn, &[uuid])?;
                Ok((c, ngs))
            })
            .await?;
        return Ok(HttpResponse::Created()
            .insert_header((header::LOCATION, format!("{host}/v1/bays/{uuid}")))
            .json(BayView::new(created, &ngs, &host, false)));
    }
    let args = json!({"cluster": uuid, "operation": op_uuid});
    state.conductor.cast(rpc_ctx, "cluster_create", args).await;
    Ok(HttpResponse::Accepted().json(json!({"uuid": uuid})))
}
