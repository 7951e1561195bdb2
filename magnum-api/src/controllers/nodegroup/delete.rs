//! DELETE of node groups: the node group is marked DELETE_IN_PROGRESS and its
//! cluster UPDATE_IN_PROGRESS, in one transaction with the conductor's operation.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use magnum_common::db::models::cluster;
use magnum_common::db::models::nodegroup;
use magnum_common::db::models::pending_operation::PendingOperation;
use magnum_common::db::write_transaction;
use magnum_common::status::ClusterStatus;
use serde_json::json;

use super::{NODEGROUPS, cluster_for};
use crate::conductor::rpc_context;
use crate::context::Ctx;
use crate::controllers::cluster::{operation_context, request_id};
use crate::controllers::lookup;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::state::AppState;
use crate::version::ApiVersion;

/// `DELETE …/nodegroups/{ng}` → 204 (default groups cannot be deleted).
pub async fn delete(
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
    cluster_ident: String,
    ng_ident: String,
) -> ApiResult<HttpResponse> {
    version.require(NODEGROUPS, "nodegroups")?;
    Query::parse(&req, &[])?;
    state.authorize(&ctx, "nodegroup:delete", &ctx.own_target())?;
    let c = cluster_for(&state, &ctx, cluster_ident, None).await?;
    let uuid = c.uuid;
    let ng = state
        .db(move |conn| lookup::nodegroup(conn, uuid, &ng_ident))
        .await?;
    if ng.is_default {
        return Err(ApiError::BadRequest(
            "Deleting a default nodegroup is not supported.".to_owned(),
        ));
    }
    let context = operation_context(&ctx, &request_id(&req));
    let token = ctx.token.as_deref().map(str::to_owned);
    state
        .db(move |conn| {
            write_transaction(conn, |tx| {
                let mut ng = ng;
                ng.status = ClusterStatus::DeleteInProgress;
                let mut cl =
                    cluster::get_by_uuid(tx, &magnum_common::db::models::Scope::All, uuid)?
                        .ok_or_else(|| lookup::cluster_not_found(&uuid.to_string()))?;
                cl.status = ClusterStatus::UpdateInProgress;
                let op = PendingOperation::new(
                    uuid,
                    Some(ng.uuid),
                    "nodegroup_delete",
                    json!({"nodegroup": ng.uuid}),
                    context,
                )
                .with_token(token);
                nodegroup::save_with_operation(tx, ng, Some(cl), Some(op))?;
                Ok(())
            })
        })
        .await?;
    state
        .conductor
        .cast(
            rpc_context(&ctx, &request_id(&req)),
            "nodegroup_delete",
            json!({"cluster": uuid}),
        )
        .await;
    Ok(HttpResponse::NoContent().finish())
}
