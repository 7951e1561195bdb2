//! `GET /v1/stats?project_id=&type=cluster` → `{"clusters": N, "nodes": M}`.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use magnum_common::db::models::{Scope, cluster};
use magnum_common::ids::ProjectId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::state::AppState;

/// Cluster and node totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    /// Clusters.
    pub clusters: i64,
    /// Nodes of every node group, masters included.
    pub nodes: i64,
}

/// Totals for a project (own by default) or, for admins without a project, everything.
pub async fn show(req: HttpRequest, state: Data<AppState>, ctx: Ctx) -> ApiResult<HttpResponse> {
    let q = Query::parse(&req, &["project_id", "type"])?;
    state.authorize(&ctx, "stats:get_all", &ctx.own_target())?;
    if let Some(t) = q.get("type")
        && !t.eq_ignore_ascii_case("cluster")
    {
        return Err(ApiError::BadRequest(
            "Invalid stats type. Allowed values are 'cluster'".to_owned(),
        ));
    }
    let scope = match (q.get("project_id"), ctx.is_admin) {
        (Some(p), true) => Scope::Project(ProjectId::from(p)),
        (None, true) => Scope::All,
        (Some(p), false) if Some(p) != ctx.project_id.as_deref() => {
            return Err(ApiError::Forbidden("Not authorized.".to_owned()));
        }
        (_, false) => ctx.scope(false),
    };
    let (clusters, nodes) = state
        .db(move |conn| Ok(cluster::stats(conn, &scope)?))
        .await?;
    Ok(HttpResponse::Ok().json(Stats { clusters, nodes }))
}
