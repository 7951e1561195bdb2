//! `GET /v1/mservices` (admin): the conductors and whether they are up.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use magnum_common::db::models::magnum_service;
use serde::Serialize;
use utoipa::ToSchema;

use super::{ts, ts_opt};
use crate::context::Ctx;
use crate::error::ApiResult;
use crate::query::Query;
use crate::state::AppState;

/// One service.
#[derive(Debug, Serialize, ToSchema)]
pub struct MagnumServiceView {
    /// Host.
    pub host: String,
    /// Binary (magnum-conductor).
    pub binary: String,
    /// up or down.
    pub state: String,
    /// Row id.
    pub id: i32,
    /// Heartbeats so far.
    pub report_count: i32,
    /// Disabled by an operator.
    pub disabled: bool,
    /// Why disabled.
    pub disabled_reason: Option<String>,
    /// First seen.
    pub created_at: String,
    /// Last heartbeat.
    pub updated_at: Option<String>,
}

/// The services list.
#[derive(Debug, Serialize, ToSchema)]
pub struct MagnumServiceCollection {
    /// Every service.
    pub mservices: Vec<MagnumServiceView>,
}

/// Lists every service, by id.
pub async fn list(req: HttpRequest, state: Data<AppState>, ctx: Ctx) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    state.authorize(&ctx, "magnum-service:get_all", &ctx.own_target())?;
    let rows = state.db(|conn| Ok(magnum_service::list(conn)?)).await?;
    let now = magnum_common::db::now();
    let down_after = state.config.default.service_down_time;
    let mservices = rows
        .into_iter()
        .map(|s| MagnumServiceView {
            state: if s.is_up(now, down_after) {
                "up"
            } else {
                "down"
            }
            .to_owned(),
            host: s.host,
            binary: s.binary,
            id: s.id,
            report_count: s.report_count,
            disabled: s.disabled,
            disabled_reason: s.disabled_reason,
            created_at: ts(s.created_at),
            updated_at: ts_opt(s.updated_at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(MagnumServiceCollection { mservices }))
}
