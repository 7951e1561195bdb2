//! PATCH of node groups: only the node count bounds, node labels and taints may
//! change. Bounds are saved directly; new node labels or taints also go to the
//! conductor.

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use magnum_common::db::JsonList;
use magnum_common::db::models::nodegroup;
use magnum_common::db::models::pending_operation::PendingOperation;
use magnum_common::status::ClusterStatus;
use serde_json::{Map, Value, json};

use super::validate::{parse_taints, validate_counts, validate_node_attrs};
use super::view::NodeGroupView;
use super::{NODEGROUP_FIELDS, NODEGROUPS, cluster_for, cluster_status_check};
use crate::body;
use crate::conductor::rpc_context;
use crate::context::Ctx;
use crate::controllers::cluster::{operation_context, request_id};
use crate::controllers::lookup;
use crate::error::{ApiError, ApiResult};
use crate::links::host_url;
use crate::patch::{self, Rules};
use crate::query::Query;
use crate::state::AppState;
use crate::version::ApiVersion;

const NG_INTERNAL: &[&str] = &[
    "/name",
    "/cluster_id",
    "/project_id",
    "/docker_volume_size",
    "/labels",
    "/flavor_id",
    "/image_id",
    "/node_addresses",
    "/node_count",
    "/role",
    "/is_default",
    "/stack_id",
    "/status",
    "/status_reason",
    "/version",
    "/merge_labels",
    "/labels_overridden",
    "/labels_added",
    "/labels_skipped",
];

/// `PATCH …/nodegroups/{ng}`: min/max node counts, node labels and taints → 202.
pub async fn update(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
    cluster_ident: String,
    ng_ident: String,
) -> ApiResult<HttpResponse> {
    version.require(NODEGROUPS, "nodegroups")?;
    Query::parse(&req, &[])?;
    let raw = body::json(payload, &req, state.body_limit(), "patch").await?;
    let rules = Rules {
        internal: NG_INTERNAL,
        non_removable: &[],
        literal: &["/node_labels", "/node_taints"],
    };
    let items = patch::parse(&raw, &rules)?;
    let c = cluster_for(&state, &ctx, cluster_ident, None).await?;
    state.authorize(&ctx, "nodegroup:update", &ctx.own_target())?;
    let uuid = c.uuid;
    let original = state
        .db(move |conn| lookup::nodegroup(conn, uuid, &ng_ident))
        .await?;
    let host = host_url(&req);
    let Value::Object(before) =
        serde_json::to_value(NodeGroupView::new(original.clone(), &c.labels.0, &host))
            .map_err(|e| ApiError::Internal(e.to_string()))?
    else {
        return Err(ApiError::Internal(
            "node group view is not an object".to_owned(),
        ));
    };
    let mut after: Map<String, Value> = before.clone();
    patch::apply(&mut after, &items, &rules)?;
    let mut ng = original.clone();
    let field = |name: &str| NODEGROUP_FIELDS.iter().find(|f| f.name == name).copied();
    for name in [
        "min_node_count",
        "max_node_count",
        "node_labels",
        "node_taints",
    ] {
        let new = after.get(name).cloned().unwrap_or(Value::Null);
        if before.get(name) == Some(&new) {
            continue;
        }
        let checked = match (field(name), new.is_null()) {
            (Some(f), false) => body::check_value(&f, &new)?,
            _ => Value::Null,
        };
        match name {
            "min_node_count" => {
                ng.min_node_count = checked
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .unwrap_or(0)
            }
            "max_node_count" => {
                ng.max_node_count = checked.as_i64().and_then(|n| i32::try_from(n).ok())
            }
            "node_labels" => ng.node_labels = serde_json::from_value(checked).unwrap_or_default(),
            _ => {
                ng.node_taints = JsonList(if checked.is_null() {
                    Vec::new()
                } else {
                    parse_taints(&ng.name, &checked)?
                })
            }
        }
    }
    validate_counts(&ng)?;
    validate_node_attrs(&ng)?;
    let nodes_changed =
        ng.node_labels != original.node_labels || ng.node_taints != original.node_taints;
    let (op, cluster_change) = if nodes_changed {
        cluster_status_check(&c, "Updating")?;
        let mut cl = c.clone();
        cl.status = ClusterStatus::UpdateInProgress;
        ng.status = ClusterStatus::UpdateInProgress;
        let context = operation_context(&ctx, &request_id(&req));
        (
            Some(
                PendingOperation::new(
                    uuid,
                    Some(ng.uuid),
                    "nodegroup_update",
                    json!({"nodegroup": ng.uuid}),
                    context,
                )
                .with_token(ctx.token.as_deref().map(str::to_owned)),
            ),
            Some(cl),
        )
    } else {
        (None, None)
    };
    let has_op = op.is_some();
    let saved = state
        .db(move |conn| {
            Ok(nodegroup::save_with_operation(
                conn,
                ng,
                cluster_change,
                op,
            )?)
        })
        .await?;
    if has_op {
        state
            .conductor
            .cast(
                rpc_context(&ctx, &request_id(&req)),
                "nodegroup_update",
                json!({"cluster": uuid}),
            )
            .await;
    }
    Ok(HttpResponse::Accepted().json(NodeGroupView::new(saved, &c.labels.0, &host)))
}
