//! GET of clusters and bays: list, detail and one.

use std::collections::{BTreeMap, HashMap};

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use magnum_common::db::AnyConnection;
use magnum_common::db::models::cluster::{self, Cluster};
use magnum_common::db::models::cluster_template::{self, Visibility};
use magnum_common::db::models::nodegroup::{self, NodeGroup};
use magnum_common::ids::{ClusterTemplateUuid, ClusterUuid};

use super::view::{
    BayListItem, BayView, ClusterCollection, ClusterListItem, ClusterView, Counts, Items,
};
use super::{ClusterApi, cluster_target};
use crate::context::Ctx;
use crate::controllers::lookup;
use crate::error::ApiResult;
use crate::links::host_url;
use crate::query::{LIST_ARGS, ListParams, Query};
use crate::state::AppState;
use crate::version::ApiVersion;

/// The labels of each template in `uuids`.
pub fn template_labels(
    conn: &mut AnyConnection,
    uuids: impl IntoIterator<Item = ClusterTemplateUuid>,
) -> ApiResult<HashMap<ClusterTemplateUuid, BTreeMap<String, String>>> {
    let mut out = HashMap::new();
    for u in uuids {
        if let std::collections::hash_map::Entry::Vacant(e) = out.entry(u) {
            let labels = cluster_template::get_by_uuid(conn, &Visibility::All, u)?
                .map(|t| t.labels.0)
                .unwrap_or_default();
            e.insert(labels);
        }
    }
    Ok(out)
}

async fn collection(
    api: ClusterApi,
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
    detail: bool,
) -> ApiResult<HttpResponse> {
    let q = Query::parse(&req, LIST_ARGS)?;
    let own = ctx.own_target();
    state.authorize(
        &ctx,
        &api.policy(if detail { "detail" } else { "get_all" }),
        &own,
    )?;
    let all = ctx.is_admin && api == ClusterApi::Cluster;
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
    let params = ListParams::parse::<Cluster>(&q, state.config.api.max_limit)?;
    let scope = ctx.scope(all);
    let p = params.clone();
    let want_labels = detail && api == ClusterApi::Cluster;
    let host = host_url(&req);
    let url = if detail {
        format!("{}/detail", api.collection())
    } else {
        api.collection().to_owned()
    };
    let (items, next, size_hint) = if detail {
        // Full views: every node group, and the templates' labels for the label diffs.
        let (rows, ngs, labels) = state
            .db(move |conn| {
                let marker = match p.marker {
                    Some(m) => Some(
                        cluster::get_by_uuid(conn, &scope, m.into())?
                            .ok_or_else(|| lookup::cluster_not_found(&m.to_string()))?,
                    ),
                    None => None,
                };
                let rows = cluster::list(conn, &scope, &p.page(marker.as_ref()))?;
                let uuids: Vec<ClusterUuid> = rows.iter().map(|c| c.uuid).collect();
                let ngs = nodegroup::list_for_clusters(conn, &uuids)?;
                let labels = if want_labels {
                    template_labels(conn, rows.iter().map(|c| c.cluster_template_id))?
                } else {
                    HashMap::new()
                };
                Ok((rows, ngs, labels))
            })
            .await?;
        let next = params.next(
            &host,
            &url,
            rows.len(),
            rows.last().map(|r| r.uuid.to_string()),
        );
        let mut by_cluster: HashMap<ClusterUuid, Vec<NodeGroup>> = HashMap::new();
        for ng in ngs {
            by_cluster.entry(ng.cluster_id).or_default().push(ng);
        }
        let (empty, no_labels) = (Vec::new(), BTreeMap::new());
        let size_hint = rows.len() * 1600;
        let items = match api {
            ClusterApi::Cluster => Items::Full(
                rows.into_iter()
                    .map(|c| {
                        let labels = labels.get(&c.cluster_template_id).unwrap_or(&no_labels);
                        let ngs = by_cluster.get(&c.uuid).unwrap_or(&empty);
                        ClusterView::new(c, ngs, labels, version, &host, false)
                    })
                    .collect(),
            ),
            ClusterApi::Bay => Items::BayFull(
                rows.into_iter()
                    .map(|c| {
                        let ngs = by_cluster.get(&c.uuid).unwrap_or(&empty);
                        BayView::new(c, ngs, &host, false)
                    })
                    .collect(),
            ),
        };
        (items, next, size_hint)
    } else {
        // List views: the columns they show, and node group sizes only. A first page
        // holding the whole scope takes the sizes from one cached query over the scope.
        let (rows, sizes) = state
            .db(move |conn| {
                let marker = match p.marker {
                    Some(m) => Some(
                        cluster::get_by_uuid(conn, &scope, m.into())?
                            .ok_or_else(|| lookup::cluster_not_found(&m.to_string()))?,
                    ),
                    None => None,
                };
                let page = p.page(marker.as_ref());
                let rows = cluster::list_summaries(conn, &scope, &page)?;
                let whole_scope = page.is_first_by_id() && (rows.len() as i64) < page.limit;
                let sizes = match whole_scope
                    .then(|| nodegroup::counts_in_scope(conn, &scope))
                    .transpose()?
                    .flatten()
                {
                    Some(sizes) => sizes,
                    None => nodegroup::counts_for_clusters(
                        conn,
                        &rows.iter().map(|c| c.uuid).collect::<Vec<_>>(),
                    )?,
                };
                Ok((rows, sizes))
            })
            .await?;
        let next = params.next(
            &host,
            &url,
            rows.len(),
            rows.last().map(|r| r.uuid.to_string()),
        );
        let mut counts: HashMap<ClusterUuid, Counts> = HashMap::with_capacity(rows.len());
        for (cluster, is_master, size) in sizes {
            counts.entry(cluster).or_default().add(is_master, size);
        }
        let size_hint = rows.len() * 700;
        let items = match api {
            ClusterApi::Cluster => Items::List(
                rows.into_iter()
                    .map(|c| {
                        let n = counts.get(&c.uuid).copied().unwrap_or_default();
                        ClusterListItem::new(c, n, version, &host)
                    })
                    .collect(),
            ),
            ClusterApi::Bay => Items::BayList(
                rows.into_iter()
                    .map(|c| {
                        let n = counts.get(&c.uuid).copied().unwrap_or_default();
                        BayListItem::new(c, n, &host)
                    })
                    .collect(),
            ),
        };
        (items, next, size_hint)
    };
    let body = match api {
        ClusterApi::Cluster => ClusterCollection {
            clusters: Some(items),
            bays: None,
            next,
        },
        ClusterApi::Bay => ClusterCollection {
            clusters: None,
            bays: Some(items),
            next,
        },
    };
    Ok(crate::json::ok(&body, size_hint))
}

/// `GET /v1/clusters`.
pub async fn list(
    api: ClusterApi,
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
) -> ApiResult<HttpResponse> {
    collection(api, req, state, ctx, version, false).await
}

/// `GET /v1/clusters/detail`.
pub async fn list_detail(
    api: ClusterApi,
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
) -> ApiResult<HttpResponse> {
    collection(api, req, state, ctx, version, true).await
}

/// Loads a cluster for a request: admins with the `*_all_projects` rule see every
/// project's (only through the modern API, as upstream).
pub async fn load(
    api: ClusterApi,
    state: &AppState,
    ctx: &Ctx,
    ident: String,
    all_projects_rule: &str,
) -> ApiResult<Cluster> {
    let all = ctx.is_admin && api == ClusterApi::Cluster;
    if all {
        state.authorize(ctx, &api.policy(all_projects_rule), &ctx.own_target())?;
    }
    let scope = ctx.scope(all);
    state
        .db(move |conn| lookup::cluster(conn, &scope, &ident))
        .await
}

/// `GET /v1/clusters/{ident}`.
pub async fn show(
    api: ClusterApi,
    req: HttpRequest,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
    ident: String,
) -> ApiResult<HttpResponse> {
    Query::parse(&req, &[])?;
    let c = load(api, &state, &ctx, ident, "get_one_all_projects").await?;
    state.authorize(&ctx, &api.policy("get"), &cluster_target(&c))?;
    let (uuid, ct) = (c.uuid, c.cluster_template_id);
    let want_labels = api == ClusterApi::Cluster;
    let (ngs, mut labels) = state
        .db(move |conn| {
            let ngs = nodegroup::list_for_clusters(conn, &[uuid])?;
            let labels = if want_labels {
                template_labels(conn, [ct])?
            } else {
                HashMap::new()
            };
            Ok((ngs, labels))
        })
        .await?;
    let host = host_url(&req);
    Ok(match api {
        ClusterApi::Cluster => {
            let labels = labels.remove(&ct).unwrap_or_default();
            HttpResponse::Ok().json(ClusterView::new(c, &ngs, &labels, version, &host, true))
        }
        ClusterApi::Bay => HttpResponse::Ok().json(BayView::new(c, &ngs, &host, true)),
    })
}
