//! `/v1/quotas`: per-project cluster limits (admin-managed).
//!
//! Two deliberate differences from upstream: policy is checked before the
//! project's existence (so non-admins learn nothing about other projects), and a
//! PATCH without `hard_limit` keeps the current limit instead of resetting it to 1.

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use magnum_common::db::DbError;
use magnum_common::db::models::quota;
use magnum_common::ids::ProjectId;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{ts, ts_opt};
use crate::auth::Authenticator;
use crate::body::{self, Field, Kind, STR255};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::links::host_url;
use crate::query::{LIST_ARGS, ListParams, Query};
use crate::state::AppState;

/// Quota body attributes.
pub const QUOTA_FIELDS: &[Field] = &[
    Field::opt("id", Kind::Ignored, "Ignored."),
    Field::opt("project_id", STR255, "The project."),
    Field::opt(
        "resource",
        Kind::Enum(&["Cluster"]),
        "The resource; only Cluster exists.",
    ),
    Field::opt(
        "hard_limit",
        Kind::Int {
            min: Some(0),
            max: Some(i32::MAX as i64),
        },
        "The limit (default 1 on create).",
    ),
    Field::ro("created_at"),
    Field::ro("updated_at"),
];

/// A quota.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaView {
    /// Row id (the list's marker).
    pub id: i32,
    /// The limit.
    pub hard_limit: i32,
    /// The project.
    pub project_id: String,
    /// Cluster.
    pub resource: String,
    /// Created.
    pub created_at: String,
    /// Last updated.
    pub updated_at: Option<String>,
}

impl From<quota::Quota> for QuotaView {
    fn from(q: quota::Quota) -> Self {
        QuotaView {
            id: q.id,
            hard_limit: q.hard_limit,
            project_id: q.project_id.0,
            resource: q.resource,
            created_at: ts(q.created_at),
            updated_at: ts_opt(q.updated_at),
        }
    }
}

/// A page of quotas.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaCollection {
    /// The quotas.
    pub quotas: Vec<QuotaView>,
    /// The next page, when this one is full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

fn not_found(project: &str, resource: &str) -> ApiError {
    ApiError::NotFound(format!(
        "Quota could not be found: project_id {project} resource {resource}."
    ))
}

/// `POST /v1/quotas` → 201.
pub async fn create(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    let raw = body::json(payload, &req, state.body_limit(), "quota").await?;
    let given = body::validate("quota", QUOTA_FIELDS, &raw)?;
    state.authorize(&ctx, "quota:create", &ctx.own_target())?;
    let project = given
        .get("project_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if project.is_empty() {
        return Err(ApiError::BadRequest(
            "Must provide a valid project ID.".to_owned(),
        ));
    }
    if let Authenticator::Keystone(_) = state.auth.as_ref() {
        let keystone = state
            .auth
            .keystone()
            .ok_or_else(|| ApiError::Internal("no Keystone client".to_owned()))?;
        match keystone.project_exists(&project).await {
            Ok(true) => {}
            Ok(false) => {
                return Err(ApiError::NotFound(format!(
                    "The project_id {project} could not be found."
                )));
            }
            Err(e) => {
                tracing::warn!(error = %e, "project look-up failed");
                return Err(ApiError::Unavailable(
                    "Keystone is unavailable; the project cannot be checked. Please retry later."
                        .to_owned(),
                ));
            }
        }
    }
    let resource = given
        .get("resource")
        .and_then(Value::as_str)
        .unwrap_or("Cluster")
        .to_owned();
    let hard_limit = given
        .get("hard_limit")
        .and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
        .unwrap_or(1);
    let saved = state
        .db(move |conn| {
            match quota::create(
                conn,
                ProjectId::from(project.as_str()),
                &resource,
                hard_limit,
            ) {
                Err(DbError::Duplicate(_)) => Err(ApiError::Conflict(format!(
                    "Quota for project {project} already exists for resource {resource}."
                ))),
                other => Ok(other?),
            }
        })
        .await?;
    Ok(HttpResponse::Created().json(QuotaView::from(saved)))
}

/// `GET /v1/quotas[?all_tenants=true]` (admin).
pub async fn list(req: HttpRequest, state: Data<AppState>, ctx: Ctx) -> ApiResult<HttpResponse> {
    let mut allowed = LIST_ARGS.to_vec();
    allowed.push("all_tenants");
    let q = Query::parse(&req, &allowed)?;
    state.authorize(&ctx, "quota:get_all", &ctx.own_target())?;
    let all = ctx.is_admin && q.bool("all_tenants")?.unwrap_or(false);
    let scope = ctx.scope(all);
    let marker = match q.get("marker") {
        None => None,
        Some(m) => Some(m.parse::<i32>().map_err(|_| {
            ApiError::BadRequest(format!(
                "Invalid input for field/attribute marker. Value: '{m}'. unable to convert to int"
            ))
        })?),
    };
    let mut plain = q.clone();
    plain.remove("marker");
    let params = ListParams::parse::<quota::Quota>(&plain, state.config.api.max_limit)?;
    let p = params.clone();
    let rows = state
        .db(move |conn| {
            let marker_row = match marker {
                Some(id) => Some(quota::get_by_id(conn, &scope, id)?.ok_or_else(|| {
                    ApiError::NotFound(format!("Quota could not be found: quota id {id} ."))
                })?),
                None => None,
            };
            Ok(quota::list(conn, &scope, &p.page(marker_row.as_ref()))?)
        })
        .await?;
    let next = params.next(
        &host_url(&req),
        "quotas",
        rows.len(),
        rows.last().map(|r| r.id.to_string()),
    );
    Ok(HttpResponse::Ok().json(QuotaCollection {
        quotas: rows.into_iter().map(QuotaView::from).collect(),
        next,
    }))
}

/// `GET /v1/quotas/{project}/{resource}`: the row, or the configured default.
pub async fn show(
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    project: String,
    resource: String,
) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    state.authorize(&ctx, "quota:get", &ctx.own_target())?;
    if !ctx.is_admin && ctx.project_id.as_deref() != Some(project.as_str()) {
        return Err(ApiError::Forbidden("Not authorized.".to_owned()));
    }
    let default = state.config.quotas.max_clusters_per_project;
    let p = project.clone();
    let row = state
        .db(move |conn| Ok(quota::get(conn, &ProjectId::from(p.as_str()), &resource)?))
        .await?;
    Ok(match row {
        Some(q) => HttpResponse::Ok().json(QuotaView::from(q)),
        None => HttpResponse::Ok()
            .json(json!({"hard_limit": default, "project_id": project, "resource": "Cluster"})),
    })
}

/// `PATCH /v1/quotas/{project}/{resource}` with a quota object → 202.
pub async fn update(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
    project: String,
    resource: String,
) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    let raw = body::json(payload, &req, state.body_limit(), "quotapatch").await?;
    let given = body::validate("quotapatch", QUOTA_FIELDS, &raw)?;
    state.authorize(&ctx, "quota:update", &ctx.own_target())?;
    let hard_limit = given
        .get("hard_limit")
        .and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok());
    let saved = state
        .db(move |conn| {
            let mut q = quota::get(conn, &ProjectId::from(project.as_str()), &resource)?
                .ok_or_else(|| not_found(&project, &resource))?;
            if let Some(h) = hard_limit {
                q.hard_limit = h;
            }
            Ok(quota::save(conn, q)?)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(QuotaView::from(saved)))
}

/// `DELETE /v1/quotas/{project}/{resource}` → 204.
pub async fn delete(
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    project: String,
    resource: String,
) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    state.authorize(&ctx, "quota:delete", &ctx.own_target())?;
    state
        .db(move |conn| {
            let q = quota::get(conn, &ProjectId::from(project.as_str()), &resource)?
                .ok_or_else(|| not_found(&project, &resource))?;
            quota::delete(conn, q.id)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
