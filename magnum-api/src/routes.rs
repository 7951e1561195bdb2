//! Every route, once: the router and the OpenAPI document are both built from
//! [`ROUTES`], so neither can drift from the other.

use actix_web::http::Method;
use actix_web::web::{self, Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse, Route};

use crate::body::Field;
use crate::context::Ctx;
use crate::controllers::cluster::ClusterApi;
use crate::controllers::cluster_template::TemplateApi;
use crate::controllers::{
    certificate, cluster, cluster_actions, cluster_template as ct, credential, federation,
    mservice, nodegroup, quota, root, stats,
};
use crate::error::{ApiError, ApiResult};
use crate::openapi::{self, SchemaFn};
use crate::state::AppState;
use crate::version::ApiVersion;

/// What a route's request body is.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    /// No body.
    None,
    /// A JSON object with these attributes (schema name, fields).
    Object(&'static str, &'static [Field]),
    /// A JSON-patch list.
    Patch,
}

/// One route.
pub struct RouteDef {
    /// HTTP method.
    pub method: Method,
    /// Path (actix and OpenAPI share the `{param}` syntax).
    pub path: &'static str,
    /// OpenAPI operationId.
    pub id: &'static str,
    /// One line for the document.
    pub summary: &'static str,
    /// First microversion, when later than 1.1.
    pub since: Option<&'static str>,
    /// Query arguments.
    pub query: &'static [&'static str],
    /// Request body.
    pub body: Body,
    /// Success status.
    pub status: u16,
    /// Success body schema.
    pub response: Option<SchemaFn>,
    /// Builds the actix route.
    pub route: fn() -> Route,
}

type R = ApiResult<HttpResponse>;
type S = Data<AppState>;

// Thin wrappers binding the legacy twin and path parameters to the shared handlers.
async fn ct_list(q: HttpRequest, s: S, c: Ctx) -> R {
    ct::list(TemplateApi::ClusterTemplate, q, s, c).await
}
async fn ct_detail(q: HttpRequest, s: S, c: Ctx) -> R {
    ct::list_detail(TemplateApi::ClusterTemplate, q, s, c).await
}
async fn ct_show(q: HttpRequest, s: S, c: Ctx, i: Path<String>) -> R {
    ct::show(TemplateApi::ClusterTemplate, q, s, c, i.into_inner()).await
}
async fn ct_create(q: HttpRequest, p: Payload, s: S, c: Ctx) -> R {
    ct::create(TemplateApi::ClusterTemplate, q, p, s, c).await
}
async fn ct_update(q: HttpRequest, p: Payload, s: S, c: Ctx, i: Path<String>) -> R {
    ct::update(TemplateApi::ClusterTemplate, q, p, s, c, i.into_inner()).await
}
async fn ct_delete(q: HttpRequest, s: S, c: Ctx, i: Path<String>) -> R {
    ct::delete(TemplateApi::ClusterTemplate, q, s, c, i.into_inner()).await
}
async fn bm_list(q: HttpRequest, s: S, c: Ctx) -> R {
    ct::list(TemplateApi::BayModel, q, s, c).await
}
async fn bm_detail(q: HttpRequest, s: S, c: Ctx) -> R {
    ct::list_detail(TemplateApi::BayModel, q, s, c).await
}
async fn bm_show(q: HttpRequest, s: S, c: Ctx, i: Path<String>) -> R {
    ct::show(TemplateApi::BayModel, q, s, c, i.into_inner()).await
}
async fn bm_create(q: HttpRequest, p: Payload, s: S, c: Ctx) -> R {
    ct::create(TemplateApi::BayModel, q, p, s, c).await
}
async fn bm_update(q: HttpRequest, p: Payload, s: S, c: Ctx, i: Path<String>) -> R {
    ct::update(TemplateApi::BayModel, q, p, s, c, i.into_inner()).await
}
async fn bm_delete(q: HttpRequest, s: S, c: Ctx, i: Path<String>) -> R {
    ct::delete(TemplateApi::BayModel, q, s, c, i.into_inner()).await
}
async fn cl_list(q: HttpRequest, s: S, c: Ctx, v: ApiVersion) -> R {
    cluster::list(ClusterApi::Cluster, q, s, c, v).await
}
async fn cl_detail(q: HttpRequest, s: S, c: Ctx, v: ApiVersion) -> R {
    cluster::list_detail(ClusterApi::Cluster, q, s, c, v).await
}
async fn cl_show(q: HttpRequest, s: S, c: Ctx, v: ApiVersion, i: Path<String>) -> R {
    cluster::show(ClusterApi::Cluster, q, s, c, v, i.into_inner()).await
}
async fn cl_create(q: HttpRequest, p: Payload, s: S, c: Ctx, v: ApiVersion) -> R {
    cluster::create(ClusterApi::Cluster, q, p, s, c, v).await
}
async fn cl_update(q: HttpRequest, p: Payload, s: S, c: Ctx, v: ApiVersion, i: Path<String>) -> R {
    cluster::update(ClusterApi::Cluster, q, p, s, c, v, i.into_inner()).await
}
async fn cl_delete(q: HttpRequest, s: S, c: Ctx, v: ApiVersion, i: Path<String>) -> R {
    cluster::delete(ClusterApi::Cluster, q, s, c, v, i.into_inner()).await
}
async fn bay_list(q: HttpRequest, s: S, c: Ctx, v: ApiVersion) -> R {
    cluster::list(ClusterApi::Bay, q, s, c, v).await
}
async fn bay_detail(q: HttpRequest, s: S, c: Ctx, v: ApiVersion) -> R {
    cluster::list_detail(ClusterApi::Bay, q, s, c, v).await
}
async fn bay_show(q: HttpRequest, s: S, c: Ctx, v: ApiVersion, i: Path<String>) -> R {
    cluster::show(ClusterApi::Bay, q, s, c, v, i.into_inner()).await
}
async fn bay_create(q: HttpRequest, p: Payload, s: S, c: Ctx, v: ApiVersion) -> R {
    cluster::create(ClusterApi::Bay, q, p, s, c, v).await
}
async fn bay_update(q: HttpRequest, p: Payload, s: S, c: Ctx, v: ApiVersion, i: Path<String>) -> R {
    cluster::update(ClusterApi::Bay, q, p, s, c, v, i.into_inner()).await
}
async fn bay_delete(q: HttpRequest, s: S, c: Ctx, v: ApiVersion, i: Path<String>) -> R {
    cluster::delete(ClusterApi::Bay, q, s, c, v, i.into_inner()).await
}
async fn resize(q: HttpRequest, p: Payload, s: S, c: Ctx, v: ApiVersion, i: Path<String>) -> R {
    cluster_actions::resize(q, p, s, c, v, i.into_inner()).await
}
async fn upgrade(q: HttpRequest, p: Payload, s: S, c: Ctx, v: ApiVersion, i: Path<String>) -> R {
    cluster_actions::upgrade(q, p, s, c, v, i.into_inner()).await
}
async fn ng_list(q: HttpRequest, s: S, c: Ctx, v: ApiVersion, i: Path<String>) -> R {
    nodegroup::list(q, s, c, v, i.into_inner()).await
}
async fn ng_create(q: HttpRequest, p: Payload, s: S, c: Ctx, v: ApiVersion, i: Path<String>) -> R {
    nodegroup::create(q, p, s, c, v, i.into_inner()).await
}
async fn ng_show(q: HttpRequest, s: S, c: Ctx, v: ApiVersion, i: Path<(String, String)>) -> R {
    let (a, b) = i.into_inner();
    nodegroup::show(q, s, c, v, a, b).await
}
async fn ng_update(
    q: HttpRequest,
    p: Payload,
    s: S,
    c: Ctx,
    v: ApiVersion,
    i: Path<(String, String)>,
) -> R {
    let (a, b) = i.into_inner();
    nodegroup::update(q, p, s, c, v, a, b).await
}
async fn ng_delete(q: HttpRequest, s: S, c: Ctx, v: ApiVersion, i: Path<(String, String)>) -> R {
    let (a, b) = i.into_inner();
    nodegroup::delete(q, s, c, v, a, b).await
}
async fn cert_show(q: HttpRequest, s: S, c: Ctx, i: Path<String>) -> R {
    certificate::show(q, s, c, i.into_inner()).await
}
async fn cert_rotate(q: HttpRequest, p: Payload, s: S, c: Ctx, i: Path<String>) -> R {
    certificate::rotate(q, p, s, c, i.into_inner()).await
}
async fn cred_rotate(
    q: HttpRequest,
    p: Payload,
    s: S,
    c: Ctx,
    v: ApiVersion,
    i: Path<String>,
) -> R {
    credential::rotate(q, p, s, c, v, i.into_inner()).await
}
async fn quota_show(q: HttpRequest, s: S, c: Ctx, i: Path<(String, String)>) -> R {
    let (a, b) = i.into_inner();
    quota::show(q, s, c, a, b).await
}
async fn quota_update(q: HttpRequest, p: Payload, s: S, c: Ctx, i: Path<(String, String)>) -> R {
    let (a, b) = i.into_inner();
    quota::update(q, p, s, c, a, b).await
}
async fn quota_delete(q: HttpRequest, s: S, c: Ctx, i: Path<(String, String)>) -> R {
    let (a, b) = i.into_inner();
    quota::delete(q, s, c, a, b).await
}
async fn fed_show(q: HttpRequest, s: S, c: Ctx, i: Path<String>) -> R {
    federation::show(q, s, c, i.into_inner()).await
}
async fn fed_update(q: HttpRequest, p: Payload, s: S, c: Ctx, i: Path<String>) -> R {
    federation::update(q, p, s, c, i.into_inner()).await
}
async fn fed_delete(q: HttpRequest, s: S, c: Ctx, i: Path<String>) -> R {
    federation::delete(q, s, c, i.into_inner()).await
}
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi::document_json())
}

const LIST: &[&str] = crate::query::LIST_ARGS;

macro_rules! route {
    ($method:ident $path:literal, $id:literal, $summary:literal, $handler:path, body: $body:expr, $status:literal $(=> $resp:ty)? $(, since: $since:literal)? $(, query: $query:expr)?) => {
        RouteDef {
            method: Method::$method,
            path: $path,
            id: $id,
            summary: $summary,
            since: { #[allow(unused_mut, unused_assignments)] let mut s = None; $(s = Some($since);)? s },
            query: { #[allow(unused_mut, unused_assignments)] let mut q: &'static [&'static str] = &[]; $(q = $query;)? q },
            body: $body,
            status: $status,
            response: { #[allow(unused_mut, unused_assignments)] let mut r: Option<SchemaFn> = None; $(r = Some(openapi::schema_ref::<$resp>);)? r },
            route: || web::method(Method::$method).to($handler),
        }
    };
}

/// Every route, in registration order (`/detail` before `/{ident}`).
pub static ROUTES: &[RouteDef] = &[
    route!(GET "/", "versions", "API versions (public)", root::versions, body: Body::None, 200),
    route!(GET "/healthcheck", "healthcheck", "OK when the database answers (public)", root::healthcheck, body: Body::None, 200),
    route!(GET "/v1", "v1", "The v1 document (public)", root::v1, body: Body::None, 200),
    route!(GET "/v1/openapi.json", "openapi", "This document", openapi_json, body: Body::None, 200),
    route!(GET "/v1/clustertemplates", "listClusterTemplates", "List cluster templates", ct_list, body: Body::None, 200 => ct::ClusterTemplateCollection, query: LIST),
    route!(POST "/v1/clustertemplates", "createClusterTemplate", "Create a cluster template", ct_create, body: Body::Object("ClusterTemplateCreate", ct::CLUSTER_TEMPLATE_FIELDS), 201 => ct::ClusterTemplateView),
    route!(GET "/v1/clustertemplates/detail", "listClusterTemplatesDetail", "List cluster templates in detail", ct_detail, body: Body::None, 200 => ct::ClusterTemplateCollection, query: LIST),
    route!(GET "/v1/clustertemplates/{ident}", "showClusterTemplate", "Show a cluster template", ct_show, body: Body::None, 200 => ct::ClusterTemplateView),
    route!(PATCH "/v1/clustertemplates/{ident}", "updateClusterTemplate", "Update a cluster template (JSON patch)", ct_update, body: Body::Patch, 200 => ct::ClusterTemplateView),
    route!(DELETE "/v1/clustertemplates/{ident}", "deleteClusterTemplate", "Delete a cluster template", ct_delete, body: Body::None, 204),
    route!(GET "/v1/baymodels", "listBayModels", "List baymodels (legacy)", bm_list, body: Body::None, 200 => ct::ClusterTemplateCollection, query: LIST),
    route!(POST "/v1/baymodels", "createBayModel", "Create a baymodel (legacy)", bm_create, body: Body::Object("BayModelCreate", ct::BAYMODEL_FIELDS), 201 => ct::ClusterTemplateView),
    route!(GET "/v1/baymodels/detail", "listBayModelsDetail", "List baymodels in detail (legacy)", bm_detail, body: Body::None, 200 => ct::ClusterTemplateCollection, query: LIST),
    route!(GET "/v1/baymodels/{ident}", "showBayModel", "Show a baymodel (legacy)", bm_show, body: Body::None, 200 => ct::ClusterTemplateView),
    route!(PATCH "/v1/baymodels/{ident}", "updateBayModel", "Update a baymodel (legacy)", bm_update, body: Body::Patch, 200 => ct::ClusterTemplateView),
    route!(DELETE "/v1/baymodels/{ident}", "deleteBayModel", "Delete a baymodel (legacy)", bm_delete, body: Body::None, 204),
    route!(GET "/v1/clusters", "listClusters", "List clusters", cl_list, body: Body::None, 200 => cluster::ClusterCollection, query: LIST),
    route!(POST "/v1/clusters", "createCluster", "Create a cluster (202; the conductor builds it)", cl_create, body: Body::Object("ClusterCreate", cluster::CLUSTER_FIELDS), 202 => openapi::UuidBody),
    route!(GET "/v1/clusters/detail", "listClustersDetail", "List clusters in detail", cl_detail, body: Body::None, 200 => cluster::ClusterCollection, query: LIST),
    route!(GET "/v1/clusters/{ident}", "showCluster", "Show a cluster", cl_show, body: Body::None, 200 => cluster::ClusterView),
    route!(PATCH "/v1/clusters/{ident}", "updateCluster", "Update node_count or health (JSON patch)", cl_update, body: Body::Patch, 202 => openapi::UuidBody, query: &["rollback"]),
    route!(DELETE "/v1/clusters/{ident}", "deleteCluster", "Delete a cluster", cl_delete, body: Body::None, 204),
    route!(POST "/v1/clusters/{ident}/actions/resize", "resizeCluster", "Resize a node group", resize, body: Body::Object("ClusterResize", cluster_actions::RESIZE_FIELDS), 202 => openapi::UuidBody, since: "1.7"),
    route!(POST "/v1/clusters/{ident}/actions/upgrade", "upgradeCluster", "Upgrade a cluster to another template", upgrade, body: Body::Object("ClusterUpgrade", cluster_actions::UPGRADE_FIELDS), 202 => openapi::UuidBody, since: "1.8"),
    route!(GET "/v1/clusters/{ident}/nodegroups", "listNodeGroups", "List a cluster's node groups", ng_list, body: Body::None, 200 => nodegroup::NodeGroupCollection, since: "1.9", query: &["marker", "limit", "sort_key", "sort_dir", "role"]),
    route!(POST "/v1/clusters/{ident}/nodegroups", "createNodeGroup", "Create a node group", ng_create, body: Body::Object("NodeGroupCreate", nodegroup::NODEGROUP_FIELDS), 202 => nodegroup::NodeGroupView, since: "1.9"),
    route!(GET "/v1/clusters/{ident}/nodegroups/{nodegroup}", "showNodeGroup", "Show a node group", ng_show, body: Body::None, 200 => nodegroup::NodeGroupView, since: "1.9"),
    route!(PATCH "/v1/clusters/{ident}/nodegroups/{nodegroup}", "updateNodeGroup", "Update a node group's bounds, labels or taints", ng_update, body: Body::Patch, 202 => nodegroup::NodeGroupView, since: "1.9"),
    route!(DELETE "/v1/clusters/{ident}/nodegroups/{nodegroup}", "deleteNodeGroup", "Delete a node group", ng_delete, body: Body::None, 204, since: "1.9"),
    route!(GET "/v1/bays", "listBays", "List bays (legacy)", bay_list, body: Body::None, 200 => cluster::ClusterCollection, query: LIST),
    route!(POST "/v1/bays", "createBay", "Create a bay (legacy; 201 at 1.1, else 202)", bay_create, body: Body::Object("BayCreate", cluster::BAY_FIELDS), 202 => openapi::UuidBody),
    route!(GET "/v1/bays/detail", "listBaysDetail", "List bays in detail (legacy)", bay_detail, body: Body::None, 200 => cluster::ClusterCollection, query: LIST),
    route!(GET "/v1/bays/{ident}", "showBay", "Show a bay (legacy)", bay_show, body: Body::None, 200 => cluster::BayView),
    route!(PATCH "/v1/bays/{ident}", "updateBay", "Update a bay (legacy)", bay_update, body: Body::Patch, 202 => openapi::UuidBody, query: &["rollback"]),
    route!(DELETE "/v1/bays/{ident}", "deleteBay", "Delete a bay (legacy)", bay_delete, body: Body::None, 204),
    route!(POST "/v1/certificates", "signCertificate", "Sign a CSR with the cluster CA", certificate::create, body: Body::Object("CertificateCreate", certificate::CERTIFICATE_FIELDS), 201),
    route!(GET "/v1/certificates/{ident}", "showCertificate", "The cluster CA certificate", cert_show, body: Body::None, 200, query: &["ca_cert_type"]),
    route!(PATCH "/v1/certificates/{ident}", "rotateCertificateAuthority", "Rotate the cluster CA", cert_rotate, body: Body::None, 202 => openapi::UuidBody),
    route!(PATCH "/v1/credentials/{ident}", "rotateCredential", "Rotate the cluster credential", cred_rotate, body: Body::None, 202 => openapi::UuidBody, since: "1.12"),
    route!(GET "/v1/quotas", "listQuotas", "List quotas (admin)", quota::list, body: Body::None, 200 => quota::QuotaCollection, query: &["marker", "limit", "sort_key", "sort_dir", "all_tenants"]),
    route!(POST "/v1/quotas", "createQuota", "Create a quota (admin)", quota::create, body: Body::Object("QuotaCreate", quota::QUOTA_FIELDS), 201 => quota::QuotaView),
    route!(GET "/v1/quotas/{project_id}/{resource}", "showQuota", "Show a project's quota", quota_show, body: Body::None, 200 => quota::QuotaView),
    route!(PATCH "/v1/quotas/{project_id}/{resource}", "updateQuota", "Update a quota (admin)", quota_update, body: Body::Object("QuotaUpdate", quota::QUOTA_FIELDS), 202 => quota::QuotaView),
    route!(DELETE "/v1/quotas/{project_id}/{resource}", "deleteQuota", "Delete a quota (admin)", quota_delete, body: Body::None, 204),
    route!(GET "/v1/stats", "showStats", "Cluster and node totals", stats::show, body: Body::None, 200 => stats::Stats, query: &["project_id", "type"]),
    route!(GET "/v1/mservices", "listMagnumServices", "Conductor services and their state (admin)", mservice::list, body: Body::None, 200 => mservice::MagnumServiceCollection),
    route!(GET "/v1/federations", "listFederations", "List federations", federation::list, body: Body::None, 200 => federation::FederationCollection, query: LIST),
    route!(POST "/v1/federations", "createFederation", "Create a federation", federation::create, body: Body::Object("FederationCreate", federation::FEDERATION_FIELDS), 202 => openapi::UuidBody),
    route!(GET "/v1/federations/detail", "listFederationsDetail", "List federations in detail", federation::list_detail, body: Body::None, 200 => federation::FederationCollection, query: LIST),
    route!(GET "/v1/federations/{ident}", "showFederation", "Show a federation", fed_show, body: Body::None, 200 => federation::FederationView),
    route!(PATCH "/v1/federations/{ident}", "updateFederation", "Change members or properties (JSON patch)", fed_update, body: Body::Patch, 202 => openapi::UuidBody, query: &["rollback"]),
    route!(DELETE "/v1/federations/{ident}", "deleteFederation", "Delete a federation", fed_delete, body: Body::None, 204),
];

async fn method_not_allowed() -> R {
    Err(ApiError::MethodNotAllowed)
}

async fn not_found() -> R {
    Err(ApiError::NotFound(
        "The resource could not be found.".to_owned(),
    ))
}

/// Registers every route; a known path with an unknown method answers 405, an
/// unknown path 404, both in the error envelope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut seen: Vec<&str> = Vec::new();
    for def in ROUTES {
        if seen.contains(&def.path) {
            continue;
        }
        seen.push(def.path);
        let mut resource = web::resource(def.path);
        for same in ROUTES.iter().filter(|r| r.path == def.path) {
            resource = resource.route((same.route)());
        }
        cfg.service(resource.default_service(web::to(method_not_allowed)));
    }
}

/// The handler for paths no route matches.
pub fn default_service() -> Route {
    web::to(not_found)
}
