//! `PATCH /v1/credentials/{cluster}` (1.12): rotate the cluster's credential; a
//! synchronous conductor call.

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::lookup;
use crate::body;
use crate::conductor::rpc_context;
use crate::context::Ctx;
use crate::controllers::cluster::request_id;
use crate::error::ApiResult;
use crate::query::Query;
use crate::state::AppState;
use crate::version::ApiVersion;

/// Rotates the credential → 202 `{"uuid"}`.
pub async fn rotate(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
    ident: String,
) -> ApiResult<HttpResponse> {
    version.require(ApiVersion::new(1, 12), "patch")?;
    Query::parse(&req, &[])?;
    body::empty(payload, &req, state.body_limit()).await?;
    state.authorize(&ctx, "credential:rotate", &ctx.own_target())?;
    let scope = ctx.scope(false);
    let c = state
        .db(move |conn| lookup::cluster(conn, &scope, &ident))
        .await?;
    state
        .conductor
        .call(
            rpc_context(&ctx, &request_id(&req)),
            "credential_rotate",
            json!({"cluster": c.uuid}),
        )
        .await?;
    Ok(HttpResponse::Accepted().json(json!({"uuid": c.uuid})))
}
