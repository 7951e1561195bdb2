//! `POST /v1/clusters/{ident}/actions/{resize,upgrade}`.

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use magnum_common::db::models::cluster;
use magnum_common::db::models::nodegroup::{self, NodeGroup};
use magnum_common::db::models::pending_operation::PendingOperation;
use magnum_common::db::write_transaction;
use magnum_common::status::{ClusterOp, ClusterStatus};
use serde_json::{Value, json};

use super::cluster::{ClusterApi, cluster_target};
use super::cluster_template::get_visibility;
use super::lookup;
use crate::body::{self, Field, Kind, STR255};
use crate::conductor::rpc_context;
use crate::context::Ctx;
use crate::controllers::cluster::request_id;
use crate::controllers::cluster::update_not_supported_for;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::state::AppState;
use crate::version::ApiVersion;

/// Resize request attributes.
pub const RESIZE_FIELDS: &[Field] = &[
    Field::req(
        "node_count",
        Kind::Int {
            min: Some(0),
            max: None,
        },
        "The new size of the node group.",
    ),
    Field::opt(
        "nodes_to_remove",
        Kind::StrList,
        "Nova server ids (or Heat resource names) to remove first.",
    ),
    Field::opt(
        "nodegroup",
        STR255,
        "Node group name or uuid (default: the default worker group).",
    ),
];

/// Upgrade request attributes.
pub const UPGRADE_FIELDS: &[Field] = &[
    Field::req(
        "cluster_template",
        STR255,
        "The template to upgrade to, by uuid or name.",
    ),
    Field::opt(
        "max_batch_size",
        Kind::Int {
            min: Some(1),
            max: None,
        },
        "Nodes upgraded at a time (default 1).",
    ),
    Field::opt(
        "nodegroup",
        STR255,
        "Node group name or uuid (default: the default worker group).",
    ),
];

fn default_worker(ngs: &[NodeGroup]) -> Option<NodeGroup> {
    ngs.iter().find(|n| n.is_default && !n.is_master()).cloned()
}

/// `actions/resize` (1.7+) → 202 `{"uuid"}`.
pub async fn resize(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
    ident: String,
) -> ApiResult<HttpResponse> {
    version.require(ApiVersion::new(1, 7), "resize")?;
    Query::parse(&req, &[])?;
    let raw = body::json(payload, &req, state.body_limit(), "cluster_resize_req").await?;
    let given = body::validate("cluster_resize_req", RESIZE_FIELDS, &raw)?;
    let node_count = given
        .get("node_count")
        .and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
        .unwrap_or(0);
    if node_count == 0 && !version.at_least(1, 10) {
        return Err(ApiError::BadRequest(
            "Resizing a nodegroup to zero is not supported in the provided microversion."
                .to_owned(),
        ));
    }
    let nodes_to_remove: Vec<String> = given
        .get("nodes_to_remove")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let ng_ident = given
        .get("nodegroup")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let scope = ctx.scope(false);
    let c = state
        .db(move |conn| lookup::cluster(conn, &scope, &ident))
        .await?;
    state.authorize(&ctx, "cluster:resize", &cluster_target(&c))?;
    let uuid = c.uuid;
    let ng = state
        .db(move |conn| match ng_ident {
            Some(i) => lookup::nodegroup(conn, uuid, &i),
            None => {
                default_worker(&nodegroup::list_for_clusters(conn, &[uuid])?).ok_or_else(|| {
                    ApiError::NotFound("Nodegroup default-worker could not be found.".to_owned())
                })
            }
        })
        .await?;
    if ng.is_master() {
        return Err(ApiError::BadRequest(
            "Resizing a master nodegroup is not supported.".to_owned(),
        ));
    }
    let above_max = ng.max_node_count.is_some_and(|m| m > 0 && m < node_count);
    if ng.min_node_count > node_count || above_max {
        return Err(ApiError::BadRequest(format!(
            "Resizing {} outside the allowed range: min_node_count = {}, max_node_count = {}",
            ng.name,
            ng.min_node_count,
            ng.max_node_count
                .map_or("None".to_owned(), |m| m.to_string())
        )));
    }
    let context = super::cluster::operation_context(&ctx, &super::cluster::request_id(&req));
    let token = ctx.token.as_deref().map(str::to_owned);
    state
        .db(move |conn| {
            write_transaction(conn, |tx| {
                let mut current = cluster::get_by_uuid(tx, &magnum_common::db::models::Scope::All, uuid)?.ok_or_else(|| lookup::cluster_not_found(&uuid.to_string()))?;
                if !current.status.allows(ClusterOp::Resize) {
                    return Err(update_not_supported_for(current.status, "Resizing"));
                }
                let mut ng = nodegroup::get_by_uuid(tx, uuid, ng.uuid)?.ok_or_else(|| ApiError::NotFound(format!("Nodegroup {} could not be found.", ng.uuid)))?;
                let args = json!({"node_count": node_count, "nodes_to_remove": nodes_to_remove, "nodegroup": ng.uuid, "previous_node_count": ng.node_count});
                ng.node_count = node_count;
                ng.status = ClusterStatus::UpdateInProgress;
                nodegroup::save(tx, ng.clone())?;
                current.status = ClusterStatus::UpdateInProgress;
                current.status_reason = None;
                cluster::save_state_with_operation(tx, &current, PendingOperation::new(uuid, Some(ng.uuid), "cluster_resize", args, context).with_token(token))?;
                Ok(())
            })
        })
        .await?;
    state
        .conductor
        .cast(
            rpc_context(&ctx, &request_id(&req)),
            "cluster_resize",
            json!({"cluster": uuid}),
        )
        .await;
    Ok(HttpResponse::Accepted().json(json!({"uuid": uuid})))
}

/// `actions/upgrade` (1.8+; 1.7 answers ClusterUpgradeNotSupported) → 202 `{"uuid"}`.
/// Upgrade is a synchronous conductor call upstream, so it needs a running conductor.
pub async fn upgrade(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
    ident: String,
) -> ApiResult<HttpResponse> {
    version.require(ApiVersion::new(1, 7), "upgrade")?;
    Query::parse(&req, &[])?;
    let raw = body::json(payload, &req, state.body_limit(), "cluster_upgrade_req").await?;
    let given = body::validate("cluster_upgrade_req", UPGRADE_FIELDS, &raw)?;
    if !version.at_least(1, 8) {
        return Err(ApiError::BadRequest(
            "Cluster upgrade is not supported in the provided microversion.".to_owned(),
        ));
    }
    let c = super::cluster::load(
        ClusterApi::Cluster,
        &state,
        &ctx,
        ident,
        "upgrade_all_projects",
    )
    .await?;
    state.authorize(&ctx, "cluster:upgrade", &cluster_target(&c))?;
    let template_ident = given
        .get("cluster_template")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let ng_ident = given
        .get("nodegroup")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let visibility = get_visibility(&ctx, ctx.is_admin);
    let (uuid, current_ct) = (c.uuid, c.cluster_template_id);
    let (target, ng, current_name) = state
        .db(move |conn| {
            let target = lookup::template(conn, &visibility, &template_ident, false)?;
            let ng = match ng_ident {
                Some(i) => Some(lookup::nodegroup(conn, uuid, &i)?),
                None => None,
            };
            let current = magnum_common::db::models::cluster_template::get_by_uuid(
                conn,
                &magnum_common::db::models::cluster_template::Visibility::All,
                current_ct,
            )?;
            Ok((target, ng, current.and_then(|t| t.name)))
        })
        .await?;
    if let Some(ng) = &ng
        && target.uuid != current_ct
        && !ng.is_default
    {
        return Err(ApiError::Conflict(format!(
            "Cluster Template is not valid for upgrade: Nodegroup {} can be upgraded only to match cluster's template ({}).",
            ng.name,
            current_name.unwrap_or_else(|| current_ct.to_string())
        )));
    }
    if !c.status.allows(ClusterOp::Upgrade) {
        return Err(update_not_supported_for(c.status, "Upgrading"));
    }
    state
        .conductor
        .call(rpc_context(&ctx, &request_id(&req)), "cluster_upgrade", json!({"cluster": uuid, "cluster_template": target.uuid, "max_batch_size": given.get("max_batch_size"), "nodegroup": ng.map(|n| n.uuid)}))
        .await?;
    Ok(HttpResponse::Accepted().json(json!({"uuid": uuid})))
}
