//! GET of templates: list, detail and one.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use magnum_common::db::models::cluster_template::{self, ClusterTemplate};

use super::{
    ClusterTemplateCollection, ClusterTemplateView, TemplateApi, get_visibility, list_visibility,
};
use crate::context::Ctx;
use crate::controllers::lookup;
use crate::error::ApiResult;
use crate::links::host_url;
use crate::query::{LIST_ARGS, ListParams, Query};
use crate::state::AppState;

async fn collection(
    api: TemplateApi,
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    detail: bool,
) -> ApiResult<HttpResponse> {
    let q = Query::parse(&req, LIST_ARGS)?;
    let own = ctx.own_target();
    state.authorize(
        &ctx,
        &api.policy(if detail { "detail" } else { "get_all" }),
        &own,
    )?;
    let all = ctx.is_admin && api == TemplateApi::ClusterTemplate;
    if all {
        state.authorize(
            &ctx,
            &api.policy(if detail {
                "detail_all_projects"
            } else {
                "get_all_all_projects"
            }),
            &own,
        )?;
    }
    let params = ListParams::parse::<ClusterTemplate>(&q, state.config.api.max_limit)?;
    let visibility = list_visibility(&ctx, all);
    let p = params.clone();
    let rows = state
        .db(move |conn| {
            let marker = match p.marker {
                Some(m) => Some(
                    cluster_template::get_by_uuid(conn, &visibility, m.into())?
                        .ok_or_else(|| lookup::template_not_found(&m.to_string()))?,
                ),
                None => None,
            };
            Ok(cluster_template::list(
                conn,
                &visibility,
                &p.page(marker.as_ref()),
            )?)
        })
        .await?;
    let host = host_url(&req);
    let url = if detail {
        format!("{}/detail", api.collection())
    } else {
        api.collection().to_owned()
    };
    let next = params.next(
        &host,
        &url,
        rows.len(),
        rows.last().map(|r| r.uuid.to_string()),
    );
    let size_hint = rows.len() * 1400;
    let views: Vec<ClusterTemplateView> = rows
        .into_iter()
        .map(|t| ClusterTemplateView::new(t, api, &host))
        .collect();
    let body = match api {
        TemplateApi::ClusterTemplate => ClusterTemplateCollection {
            clustertemplates: Some(views),
            baymodels: None,
            next,
        },
        TemplateApi::BayModel => ClusterTemplateCollection {
            clustertemplates: None,
            baymodels: Some(views),
            next,
        },
    };
    Ok(crate::json::ok(&body, size_hint))
}

/// `GET /v1/clustertemplates` (full objects, as upstream).
pub async fn list(
    api: TemplateApi,
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
) -> ApiResult<HttpResponse> {
    collection(api, req, state, ctx, false).await
}

/// `GET /v1/clustertemplates/detail`.
pub async fn list_detail(
    api: TemplateApi,
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
) -> ApiResult<HttpResponse> {
    collection(api, req, state, ctx, true).await
}

/// `GET /v1/clustertemplates/{ident}`: own or public templates; policy only for private ones.
pub async fn show(
    api: TemplateApi,
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    ident: String,
) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    let t = load(api, &state, &ctx, ident, "get_one_all_projects").await?;
    if !t.public {
        state.authorize(&ctx, &api.policy("get"), &template_target(&t))?;
    }
    Ok(HttpResponse::Ok().json(ClusterTemplateView::new(t, api, &host_url(&req))))
}

/// Loads a template for a request on one template: admins with the `*_all_projects`
/// rule (`all_projects_rule`) reach every project's; others their own and public ones.
pub async fn load(
    api: TemplateApi,
    state: &AppState,
    ctx: &Ctx,
    ident: String,
    all_projects_rule: &str,
) -> ApiResult<ClusterTemplate> {
    let all = ctx.is_admin && api == TemplateApi::ClusterTemplate;
    if all {
        state.authorize(ctx, &api.policy(all_projects_rule), &ctx.own_target())?;
    }
    let visibility = get_visibility(ctx, all);
    state
        .db(move |conn| lookup::template(conn, &visibility, &ident, false))
        .await
}

/// The policy target of a template.
pub fn template_target(t: &ClusterTemplate) -> magnum_common::policy::Target {
    let mut target = magnum_common::policy::Target::default();
    target.insert("project_id".to_owned(), t.project_id.0.clone());
    target.insert("user_id".to_owned(), t.user_id.0.clone());
    target
}
