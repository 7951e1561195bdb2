//! PATCH and DELETE of clusters and bays.
//!
//! Upstream checked the status in the conductor, after answering 202, so a PATCH of
//! a cluster that cannot be updated failed silently. Here the API checks it and
//! answers 400 with the conductor's message, and the state change and the
//! conductor's operation are written in one transaction.

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use magnum_common::db::models::cluster::{self, Cluster};
use magnum_common::db::models::nodegroup::{self};
use magnum_common::db::models::pending_operation::{self, PendingOperation};
use magnum_common::db::{JsonMap, MaybeHealth, write_transaction};
use magnum_common::status::{ClusterOp, ClusterStatus, HealthStatus};
use serde_json::{Map, Value, json};

use super::create::{operation_context, request_id};
use super::read::load;
use super::view::{BayView, render};
use super::{ClusterApi, cluster_target};
use crate::body::{self, Field, Kind};
use crate::conductor::rpc_context;
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::links::host_url;
use crate::patch::{self, Rules};
use crate::query::Query;
use crate::state::AppState;
use crate::version::ApiVersion;

/// Paths of a cluster no PATCH may touch.
const INTERNAL: &[&str] = &[
    "/api_address",
    "/node_addresses",
    "/master_addresses",
    "/stack_id",
    "/cluster_id",
    "/ca_cert_ref",
    "/magnum_cert_ref",
    "/trust_id",
    "/trustee_username",
    "/trustee_user_name",
    "/trustee_password",
    "/trustee_user_id",
    "/etcd_ca_cert_ref",
    "/front_proxy_ca_cert_ref",
    "/faults",
    "/bay_faults",
    "/merge_labels",
    "/labels_overridden",
    "/labels_added",
    "/labels_skipped",
];

/// The attributes a cluster PATCH may change.
const CHANGEABLE: &[Field] = &[
    Field::opt(
        "node_count",
        Kind::Int {
            min: Some(0),
            max: None,
        },
        "",
    ),
    Field::opt(
        "health_status",
        Kind::Enum(&["HEALTHY", "UNHEALTHY", "UNKNOWN"]),
        "",
    ),
    Field::opt("health_status_reason", Kind::StrDict, ""),
];

/// The message upstream's conductor gives for an update in the wrong status.
pub fn update_not_supported(status: ClusterStatus) -> ApiError {
    update_not_supported_for(status, "Updating")
}

/// The same for another verb (`Resizing`, `Upgrading`…).
pub fn update_not_supported_for(status: ClusterStatus, verb: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "{verb} a cluster when status is \"{status}\" is not supported."
    ))
}

/// `PATCH /v1/clusters/{ident}[?rollback=]` → 202 `{"uuid"}` (bays at 1.1: 200 with the bay).
pub async fn update(
    api: ClusterApi,
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
    ident: String,
) -> ApiResult<HttpResponse> {
    let q = Query::parse(
        &req,
        if version.at_least(1, 3) {
            &["rollback"]
        } else {
            &[]
        },
    )?;
    let rollback = q.bool("rollback")?.unwrap_or(false);
    let raw = body::json(payload, &req, state.body_limit(), "patch").await?;
    let non_removable: &[&str] = match api {
        ClusterApi::Cluster => &["/cluster_template_id"],
        ClusterApi::Bay => &["/baymodel_id"],
    };
    let rules = Rules {
        internal: INTERNAL,
        non_removable,
        literal: &["/labels", "/health_status_reason"],
    };
    let items = patch::parse(&raw, &rules)?;
    let c = load(api, &state, &ctx, ident, "update_all_projects").await?;
    state.authorize(&ctx, &api.policy("update"), &cluster_target(&c))?;
    if api == ClusterApi::Cluster {
        state.authorize(&ctx, "cluster:update_health_status", &ctx.own_target())?;
    }
    let uuid = c.uuid;
    let ngs = state
        .db(move |conn| Ok(nodegroup::list_for_clusters(conn, &[uuid])?))
        .await?;
    let host = host_url(&req);
    let Value::Object(before) = render(api, c.clone(), &ngs, version, &host) else {
        return Err(ApiError::Internal(
            "cluster view is not an object".to_owned(),
        ));
    };
    let mut after: Map<String, Value> = before.clone();
    patch::apply(&mut after, &items, &rules)?;

    // Which attributes changed; only node_count and the health fields may.
    let mut changed: Vec<String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .chain(before.keys().filter(|k| !after.contains_key(*k)).cloned())
        .collect();
    changed.sort();
    changed.dedup();
    let forbidden: Vec<String> = changed
        .iter()
        .filter(|k| !CHANGEABLE.iter().any(|f| f.name == k.as_str()))
        .map(|k| match k.as_str() {
            "baymodel_id" => "cluster_template_id".to_owned(),
            "bay_create_timeout" => "create_timeout".to_owned(),
            other => other.to_owned(),
        })
        .collect();
    if !forbidden.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "cannot change cluster property(ies) {}.",
            forbidden.join(", ")
        )));
    }
    let mut values = Map::new();
    for field in CHANGEABLE
        .iter()
        .filter(|f| changed.iter().any(|k| k == f.name))
    {
        let v = after.get(field.name).cloned().unwrap_or(Value::Null);
        values.insert(
            field.name.to_owned(),
            if v.is_null() {
                v
            } else {
                body::check_value(field, &v)?
            },
        );
    }
    let node_count = match values.get("node_count") {
        // A removed node_count means the default, 1, as upstream.
        Some(Value::Null) => Some(1),
        Some(v) => v.as_i64().and_then(|n| i32::try_from(n).ok()),
        None => None,
    };
    if node_count == Some(0) && !version.at_least(1, 10) {
        return Err(ApiError::BadRequest(
            "Resizing a nodegroup to zero is not supported in the provided microversion."
                .to_owned(),
        ));
    }
    if changed.is_empty() {
        return accepted(api, version, c, &ngs, &host);
    }
    if !c.status.allows(ClusterOp::Update) {
        return Err(update_not_supported(c.status));
    }
    let mut updated = c.clone();
    if let Some(v) = values.get("health_status") {
        updated.health_status =
            MaybeHealth(v.as_str().and_then(|s| s.parse::<HealthStatus>().ok()));
    }
    if let Some(v) = values.get("health_status_reason") {
        updated.health_status_reason =
            serde_json::from_value::<JsonMap>(v.clone()).unwrap_or_default();
    }
    let worker = ngs.iter().find(|n| n.is_default && !n.is_master()).cloned();
    let scale = node_count.zip(worker).filter(|(n, w)| *n != w.node_count);
    let context = operation_context(&ctx, &request_id(&req));
    let token = ctx.token.as_deref().map(str::to_owned);
    let op_uuid = magnum_common::ids::OperationUuid::new();
    let (saved, ngs, scaled) = state
        .db(move |conn| {
            write_transaction(conn, |tx| {
                // Re-read under the write lock: another request may have moved the status.
                let current = cluster::get_by_uuid(tx, &magnum_common::db::models::Scope::All, uuid)?.ok_or_else(|| crate::controllers::lookup::cluster_not_found(&uuid.to_string()))?;
                if !current.status.allows(ClusterOp::Update) {
                    return Err(update_not_supported(current.status));
                }
                let saved = match scale {
                    Some((n, mut worker)) => {
                        let previous = worker.node_count;
                        worker.node_count = n;
                        worker.status = ClusterStatus::UpdateInProgress;
                        nodegroup::save(tx, worker.clone())?;
                        updated.status = ClusterStatus::UpdateInProgress;
                        updated.status_reason = None;
                        let args = json!({"node_count": n, "previous_node_count": previous, "nodegroup": worker.uuid, "rollback": rollback,
                                          "health_status": updated.health_status.0, "health_status_reason": updated.health_status_reason});
                        let mut op = PendingOperation::new(uuid, Some(worker.uuid), "cluster_update", args, context).with_token(token);
                        op.uuid = op_uuid;
                        (cluster::save_state_with_operation(tx, &updated, op)?, true)
                    }
                    None => (cluster::save_state(tx, &updated)?, false),
                };
                let (saved, scaled) = saved;
                Ok((saved, nodegroup::list_for_clusters(tx, &[uuid])?, scaled))
            })
        })
        .await?;
    if scaled {
        let rpc_ctx = rpc_context(&ctx, &request_id(&req));
        if api == ClusterApi::Bay && version == ApiVersion::new(1, 1) {
            // Bays at 1.1 wait for the conductor to hand the scaling to Heat.
            let args = json!({"cluster": uuid, "operation": op_uuid, "wait": true});
            match state.conductor.call(rpc_ctx, "cluster_update", args).await {
                Ok(_) | Err(ApiError::Unavailable(_)) => {}
                Err(e) => return Err(e),
            }
        } else {
            state
                .conductor
                .cast(rpc_ctx, "cluster_update", json!({"cluster": uuid}))
                .await;
        }
    }
    accepted(api, version, saved, &ngs, &host)
}

fn accepted(
    api: ClusterApi,
    version: ApiVersion,
    c: Cluster,
    ngs: &[nodegroup::NodeGroup],
    host: &str,
) -> ApiResult<HttpResponse> {
    if api == ClusterApi::Bay && version == ApiVersion::new(1, 1) {
        return Ok(HttpResponse::Ok().json(BayView::new(c, ngs, host, false)));
    }
    Ok(HttpResponse::Accepted().json(json!({"uuid": c.uuid})))
}

/// `DELETE /v1/clusters/{ident}` → 204; the cluster shows DELETE_IN_PROGRESS at once.
pub async fn delete(
    api: ClusterApi,
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
    ident: String,
) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    let c = load(api, &state, &ctx, ident, "delete_all_projects").await?;
    state.authorize(&ctx, &api.policy("delete"), &cluster_target(&c))?;
    let uuid = c.uuid;
    let context = operation_context(&ctx, &request_id(&req));
    let token = ctx.token.as_deref().map(str::to_owned);
    let op_uuid = magnum_common::ids::OperationUuid::new();
    let recorded = state
        .db(move |conn| {
            write_transaction(conn, |tx| {
                let Some(mut current) =
                    cluster::get_by_uuid(tx, &magnum_common::db::models::Scope::All, uuid)?
                else {
                    return Ok(false);
                };
                let pending_delete =
                    pending_operation::list_for_cluster(tx, uuid)?
                        .iter()
                        .any(|op| {
                            op.method == "cluster_delete"
                                && op.state == pending_operation::OperationState::Pending.as_str()
                        });
                if current.status == ClusterStatus::DeleteInProgress && pending_delete {
                    return Ok(false);
                }
                current.status = ClusterStatus::DeleteInProgress;
                current.status_reason = None;
                let mut op = PendingOperation::new(
                    uuid,
                    None,
                    "cluster_delete",
                    json!({"uuid": uuid}),
                    context,
                )
                .with_token(token);
                op.uuid = op_uuid;
                cluster::save_state_with_operation(tx, &current, op)?;
                Ok(true)
            })
        })
        .await?;
    let rpc_ctx = rpc_context(&ctx, &request_id(&req));
    if api == ClusterApi::Bay && version == ApiVersion::new(1, 1) && recorded {
        // Bays at 1.1 wait for the conductor to ask Heat for the delete.
        let args = json!({"cluster": uuid, "operation": op_uuid, "wait": true});
        match state.conductor.call(rpc_ctx, "cluster_delete", args).await {
            Ok(_) | Err(ApiError::Unavailable(_)) => {}
            Err(e) => return Err(e),
        }
    } else {
        state
            .conductor
            .cast(rpc_ctx, "cluster_delete", json!({"cluster": uuid}))
            .await;
    }
    Ok(HttpResponse::NoContent().finish())
}
