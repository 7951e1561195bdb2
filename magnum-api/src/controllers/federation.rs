//! `/v1/federations`: a host cluster and its member clusters.
//!
//! Upstream's conductor never implemented federations, so its rows never
//! appeared. Here they are persisted by the API: a federation is metadata about
//! existing clusters and needs no infrastructure, so it is complete at once.

use std::collections::BTreeMap;

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use magnum_common::db::models::federation::{self, Federation};
use magnum_common::db::{JsonList, JsonMap};
use magnum_common::ids::FederationUuid;
use magnum_common::status::FederationStatus;
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::cluster::CLUSTER_NAME;
use super::{lookup, ts, ts_opt};
use crate::body::{self, Field, Kind};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::links::{self, Link, host_url};
use crate::patch::{self, Item, Op, Rules};
use crate::query::{LIST_ARGS, ListParams, Query};
use crate::state::AppState;

/// Federation body attributes.
pub const FEDERATION_FIELDS: &[Field] = &[
    Field::opt("uuid", Kind::Ignored, "Ignored."),
    Field::opt("name", CLUSTER_NAME, "Name; generated when absent."),
    Field::opt(
        "hostcluster_id",
        Kind::Text,
        "The host cluster, by uuid or name.",
    ),
    Field::opt("member_ids", Kind::StrList, "Member cluster uuids."),
    Field::opt("status", Kind::Ignored, "Ignored."),
    Field::opt("status_reason", Kind::Ignored, "Ignored."),
    Field::opt(
        "properties",
        Kind::StrDict,
        "Properties; `dns-zone` is required.",
    ),
    Field::ro("links"),
    Field::ro("created_at"),
    Field::ro("updated_at"),
];

/// A federation.
#[derive(Debug, Serialize, ToSchema)]
pub struct FederationView {
    /// Identifier.
    pub uuid: String,
    /// Name.
    pub name: Option<String>,
    /// Host cluster uuid.
    pub hostcluster_id: Option<String>,
    /// Member cluster uuids.
    pub member_ids: Vec<String>,
    /// Status.
    pub status: String,
    /// Why (full view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<Option<String>>,
    /// Properties.
    pub properties: BTreeMap<String, String>,
    /// Links.
    pub links: Vec<Link>,
    /// Created (full view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last updated (full view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Option<String>>,
}

impl FederationView {
    fn new(f: Federation, host: &str, full: bool) -> Self {
        FederationView {
            links: links::resource(host, "federations", &f.uuid.to_string()),
            uuid: f.uuid.to_string(),
            name: f.name,
            hostcluster_id: f.hostcluster_id,
            member_ids: f.member_ids.0,
            status: f.status.to_string(),
            status_reason: full.then_some(f.status_reason),
            properties: f.properties.0,
            created_at: full.then(|| ts(f.created_at)),
            updated_at: full.then(|| ts_opt(f.updated_at)),
        }
    }
}

/// A page of federations.
#[derive(Debug, Serialize, ToSchema)]
pub struct FederationCollection {
    /// The federations.
    pub federations: Vec<FederationView>,
    /// The next page, when this one is full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

fn target(f: &Federation) -> magnum_common::policy::Target {
    let mut t = magnum_common::policy::Target::default();
    t.insert("project_id".to_owned(), f.project_id.0.clone());
    t
}

async fn collection(
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    detail: bool,
) -> ApiResult<HttpResponse> {
    let q = Query::parse(&req, LIST_ARGS)?;
    state.authorize(
        &ctx,
        if detail {
            "federation:detail"
        } else {
            "federation:get_all"
        },
        &ctx.own_target(),
    )?;
    let params = ListParams::parse::<Federation>(&q, state.config.api.max_limit)?;
    let scope = ctx.scope(false);
    let p = params.clone();
    let rows = state
        .db(move |conn| {
            let marker = match p.marker {
                Some(m) => Some(federation::get_by_uuid(conn, &scope, m.into())?.ok_or_else(
                    || ApiError::NotFound(format!("Federation {m} could not be found.")),
                )?),
                None => None,
            };
            Ok(federation::list(conn, &scope, &p.page(marker.as_ref()))?)
        })
        .await?;
    let host = host_url(&req);
    let next = params.next(
        &host,
        if detail {
            "federations/detail"
        } else {
            "federations"
        },
        rows.len(),
        rows.last().map(|f| f.uuid.to_string()),
    );
    Ok(HttpResponse::Ok().json(FederationCollection {
        federations: rows
            .into_iter()
            .map(|f| FederationView::new(f, &host, detail))
            .collect(),
        next,
    }))
}

/// `GET /v1/federations`.
pub async fn list(req: HttpRequest, state: Data<AppState>, ctx: Ctx) -> ApiResult<HttpResponse> {
    collection(req, state, ctx, false).await
}

/// `GET /v1/federations/detail`.
pub async fn list_detail(
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
) -> ApiResult<HttpResponse> {
    collection(req, state, ctx, true).await
}

/// `GET /v1/federations/{ident}`.
pub async fn show(
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    ident: String,
) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    let scope = ctx.scope(false);
    let f = state
        .db(move |conn| lookup::federation(conn, &scope, &ident))
        .await?;
    state.authorize(&ctx, "federation:get", &target(&f))?;
    Ok(HttpResponse::Ok().json(FederationView::new(f, &host_url(&req), true)))
}

/// Checks every member is one of the caller's clusters; returns their uuids.
async fn members(state: &AppState, ctx: &Ctx, ids: Vec<String>) -> ApiResult<Vec<String>> {
    let scope = ctx.scope(false);
    state
        .db(move |conn| {
            ids.iter()
                .map(|i| lookup::cluster(conn, &scope, i).map(|c| c.uuid.to_string()))
                .collect()
        })
        .await
}

/// `POST /v1/federations` → 202 `{"uuid"}`.
pub async fn create(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    let raw = body::json(payload, &req, state.body_limit(), "federation").await?;
    let given = body::validate("federation", FEDERATION_FIELDS, &raw)?;
    state.authorize(&ctx, "federation:create", &ctx.own_target())?;
    let host_ident = given
        .get("hostcluster_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::BadRequest(
                "No hostcluster specified. Please specify a hostcluster_id.".to_owned(),
            )
        })?;
    let host_cluster = members(&state, &ctx, vec![host_ident]).await?.pop();
    let properties: BTreeMap<String, String> = match given.get("properties") {
        None => {
            return Err(ApiError::BadRequest(
                "Please specify a `properties` dict for the federation.".to_owned(),
            ));
        }
        Some(p) => serde_json::from_value(p.clone()).unwrap_or_default(),
    };
    if !properties.contains_key("dns-zone") {
        return Err(ApiError::BadRequest(
            "No DNS zone specified. Please specify a `dns-zone`.".to_owned(),
        ));
    }
    let member_ids: Vec<String> = given
        .get("member_ids")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let member_ids = members(&state, &ctx, member_ids).await?;
    let now = magnum_common::db::now();
    let f = Federation {
        id: 0,
        uuid: FederationUuid::new(),
        project_id: ctx.owner_project()?,
        name: Some(
            given
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| magnum_common::names::generate("federation")),
        ),
        hostcluster_id: host_cluster,
        member_ids: JsonList(member_ids),
        status: FederationStatus::CreateComplete,
        status_reason: None,
        properties: JsonMap(properties),
        created_at: now,
        updated_at: None,
    };
    let saved = state
        .db(move |conn| Ok(federation::create(conn, f)?))
        .await?;
    Ok(HttpResponse::Accepted().json(json!({"uuid": saved.uuid})))
}

/// `PATCH /v1/federations/{ident}[?rollback=]`: member_ids and properties → 202.
pub async fn update(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
    ident: String,
) -> ApiResult<HttpResponse> {
    let q = Query::parse(&req, &["rollback"])?;
    q.bool("rollback")?;
    let raw = body::json(payload, &req, state.body_limit(), "patch").await?;
    let rules = Rules {
        internal: &["/status", "/status_reason"],
        non_removable: &[],
        literal: &["/properties"],
    };
    let mut items = patch::parse(&raw, &rules)?;
    let scope = ctx.scope(false);
    let original = state
        .db(move |conn| lookup::federation(conn, &scope, &ident))
        .await?;
    state.authorize(&ctx, "federation:update", &target(&original))?;
    // add/remove of one member on /member_ids becomes a replace of the whole list.
    let mut current = original.member_ids.0.clone();
    for item in items
        .iter_mut()
        .filter(|i| i.path == "/member_ids" && i.op != Op::Replace)
    {
        let Some(Value::String(id)) = item.value.clone() else {
            continue;
        };
        let uuid = members(&state, &ctx, vec![id])
            .await?
            .pop()
            .unwrap_or_default();
        match item.op {
            Op::Add if current.contains(&uuid) => {
                return Err(ApiError::Conflict(format!(
                    "A cluster with UUID {uuid} is already a member of the federation {}.",
                    original.name.clone().unwrap_or_default()
                )));
            }
            Op::Add => current.push(uuid),
            _ if !current.contains(&uuid) => {
                return Err(ApiError::NotFound(format!(
                    "Cluster {uuid} is not a member of the federation {}.",
                    original.name.clone().unwrap_or_default()
                )));
            }
            _ => current.retain(|m| *m != uuid),
        }
        *item = Item {
            op: Op::Replace,
            path: "/member_ids".to_owned(),
            value: Some(json!(current.clone())),
        };
    }
    let host = host_url(&req);
    let Value::Object(before) =
        serde_json::to_value(FederationView::new(original.clone(), &host, true))
            .map_err(|e| ApiError::Internal(e.to_string()))?
    else {
        return Err(ApiError::Internal(
            "federation view is not an object".to_owned(),
        ));
    };
    let mut after: Map<String, Value> = before.clone();
    patch::apply(&mut after, &items, &rules)?;
    let mut changed: Vec<&String> = after
        .keys()
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    changed.sort();
    let bad: Vec<&str> = changed
        .iter()
        .map(|k| k.as_str())
        .filter(|k| !["member_ids", "properties"].contains(k))
        .collect();
    if !bad.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "cannot change federation property(ies) {}.",
            bad.join(", ")
        )));
    }
    let mut f = original;
    if let Some(v) = after.get("member_ids") {
        let field = FEDERATION_FIELDS
            .iter()
            .find(|f| f.name == "member_ids")
            .copied();
        let checked = match field {
            Some(field) => body::check_value(&field, v)?,
            None => v.clone(),
        };
        f.member_ids = JsonList(serde_json::from_value(checked).unwrap_or_default());
    }
    if let Some(v) = after.get("properties") {
        let field = FEDERATION_FIELDS
            .iter()
            .find(|f| f.name == "properties")
            .copied();
        let checked = match field {
            Some(field) => body::check_value(&field, v)?,
            None => v.clone(),
        };
        f.properties = serde_json::from_value(checked).unwrap_or_default();
        if !f.properties.0.contains_key("dns-zone") {
            return Err(ApiError::BadRequest(
                "No DNS zone specified. Please specify a `dns-zone`.".to_owned(),
            ));
        }
    }
    if !changed.is_empty() {
        f.status = FederationStatus::UpdateComplete;
    }
    let uuid = f.uuid;
    state.db(move |conn| Ok(federation::save(conn, f)?)).await?;
    Ok(HttpResponse::Accepted().json(json!({"uuid": uuid})))
}

/// `DELETE /v1/federations/{ident}` → 204.
pub async fn delete(
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    ident: String,
) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    let scope = ctx.scope(false);
    let f = state
        .db(move |conn| lookup::federation(conn, &scope, &ident))
        .await?;
    state.authorize(&ctx, "federation:delete", &target(&f))?;
    let id = f.id;
    state
        .db(move |conn| Ok(federation::delete(conn, id)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
