//! GET of node groups: a cluster's list and one node group.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use magnum_common::db::models::nodegroup::{self, NodeGroup};

use super::view::{NodeGroupCollection, NodeGroupListItem, NodeGroupView};
use super::{NODEGROUPS, cluster_for};
use crate::context::Ctx;
use crate::controllers::lookup;
use crate::error::{ApiError, ApiResult};
use crate::links::host_url;
use crate::query::{ListParams, Query};
use crate::state::AppState;
use crate::version::ApiVersion;

/// `GET …/nodegroups[?role=]`.
pub async fn list(
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
    cluster_ident: String,
) -> ApiResult<HttpResponse> {
    version.require(NODEGROUPS, "nodegroups")?;
    let q = Query::parse(&req, &["marker", "limit", "sort_key", "sort_dir", "role"])?;
    state.authorize(&ctx, "nodegroup:get_all", &ctx.own_target())?;
    let params = ListParams::parse::<NodeGroup>(&q, state.config.api.max_limit)?;
    let c = cluster_for(&state, &ctx, cluster_ident, Some("get_all_all_projects")).await?;
    let role = q.get("role").map(str::to_owned);
    let (uuid, p) = (c.uuid, params.clone());
    let rows = state
        .db(move |conn| {
            let marker = match p.marker {
                Some(m) => Some(nodegroup::get_by_uuid(conn, uuid, m.into())?.ok_or_else(
                    || ApiError::NotFound(format!("Nodegroup {m} could not be found.")),
                )?),
                None => None,
            };
            Ok(nodegroup::list(
                conn,
                uuid,
                role.as_deref(),
                &p.page(marker.as_ref()),
            )?)
        })
        .await?;
    let next = params.next(
        &host_url(&req),
        &format!("clusters/{uuid}/nodegroups"),
        rows.len(),
        rows.last().map(|n| n.uuid.to_string()),
    );
    let nodegroups = rows
        .into_iter()
        .map(|n| NodeGroupListItem {
            uuid: n.uuid.to_string(),
            name: n.name,
            flavor_id: n.flavor_id,
            image_id: n.image_id,
            node_count: n.node_count,
            role: n.role,
            min_node_count: n.min_node_count,
            max_node_count: n.max_node_count,
            is_default: n.is_default,
            stack_id: n.stack_id,
            status: n.status.to_string(),
            merge_labels: false,
        })
        .collect();
    Ok(HttpResponse::Ok().json(NodeGroupCollection { nodegroups, next }))
}

/// `GET …/nodegroups/{ng}` (database id, uuid or name).
pub async fn show(
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
    cluster_ident: String,
    ng_ident: String,
) -> ApiResult<HttpResponse> {
    version.require(NODEGROUPS, "nodegroups")?;
    Query::parse(&req, &[])?;
    state.authorize(&ctx, "nodegroup:get", &ctx.own_target())?;
    let c = cluster_for(&state, &ctx, cluster_ident, Some("get_one_all_projects")).await?;
    let uuid = c.uuid;
    let ng = state
        .db(move |conn| lookup::nodegroup(conn, uuid, &ng_ident))
        .await?;
    Ok(HttpResponse::Ok().json(NodeGroupView::new(ng, &c.labels.0, &host_url(&req))))
}
