//! Node groups: `/v1/clusters/{cluster}/nodegroups` (1.9+).

use std::collections::BTreeMap;

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use magnum_common::db::models::cluster::{self, Cluster};
use magnum_common::db::models::cluster_template::{self, Visibility};
use magnum_common::db::models::nodegroup::{self, NodeGroup, Taint};
use magnum_common::db::models::pending_operation::PendingOperation;
use magnum_common::db::{DbError, JsonList, JsonMap, write_transaction};
use magnum_common::status::{ClusterOp, ClusterStatus};
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::cluster::{operation_context, request_id};
use super::{lookup, ts, ts_opt};
use crate::body::{self, Field, Kind, STR255};
use crate::conductor::rpc_context;
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::links::{Link, host_url};
use crate::patch::{self, Rules};
use crate::query::{ListParams, Query};
use crate::state::AppState;
use crate::version::ApiVersion;

const NODEGROUPS: ApiVersion = ApiVersion::new(1, 9);

/// Node group body attributes.
pub const NODEGROUP_FIELDS: &[Field] = &[
    Field::opt("id", Kind::Ignored, "Ignored."),
    Field::opt(
        "uuid",
        Kind::Ignored,
        "Ignored: the service assigns the uuid.",
    ),
    Field::req("name", STR255, "Name, unique within the cluster."),
    Field::opt("cluster_id", Kind::Ignored, "Ignored: taken from the path."),
    Field::opt(
        "docker_volume_size",
        Kind::Int {
            min: Some(1),
            max: None,
        },
        "Docker volume size in GB.",
    ),
    Field::opt("labels", Kind::Labels, "Labels (default: the cluster's)."),
    Field::opt("flavor_id", STR255, "Flavor (default: the cluster's)."),
    Field::opt("image_id", STR255, "Image (default: the template's)."),
    Field::opt(
        "node_count",
        Kind::Int {
            min: Some(0),
            max: None,
        },
        "Nodes (default 1).",
    ),
    Field::opt("role", STR255, "Role (default worker; master is refused)."),
    Field::opt(
        "min_node_count",
        Kind::Int {
            min: Some(0),
            max: None,
        },
        "Lower bound for resizes (default 0).",
    ),
    Field::opt(
        "max_node_count",
        Kind::Int {
            min: Some(0),
            max: None,
        },
        "Upper bound for resizes.",
    ),
    Field::opt("is_default", Kind::Ignored, "Ignored."),
    Field::opt("status", Kind::Ignored, "Ignored."),
    Field::opt("status_reason", Kind::Ignored, "Ignored."),
    Field::opt("version", Kind::Ignored, "Ignored."),
    Field::opt(
        "merge_labels",
        Kind::Bool,
        "Overlay the labels on the cluster's.",
    ),
    Field::opt("labels_overridden", Kind::Ignored, "Ignored."),
    Field::opt("labels_added", Kind::Ignored, "Ignored."),
    Field::opt("labels_skipped", Kind::Ignored, "Ignored."),
    Field::opt(
        "node_labels",
        Kind::StrDict,
        "Kubernetes labels of the nodes (1.14).",
    ),
    Field::opt(
        "node_taints",
        Kind::DictList,
        "Kubernetes taints of the nodes: {key, value?, effect} (1.14).",
    ),
    Field::ro("links"),
    Field::ro("project_id"),
    Field::ro("node_addresses"),
    Field::ro("stack_id"),
    Field::ro("created_at"),
    Field::ro("updated_at"),
];

/// A node group in full.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NodeGroupView {
    /// Database id (node groups can be addressed by it).
    pub id: i32,
    /// Identifier.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// Cluster uuid.
    pub cluster_id: String,
    /// Owning project.
    pub project_id: String,
    /// Docker volume size.
    pub docker_volume_size: Option<i32>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Links.
    pub links: Vec<Link>,
    /// Flavor.
    pub flavor_id: Option<String>,
    /// Image.
    pub image_id: Option<String>,
    /// Node addresses.
    pub node_addresses: Vec<String>,
    /// Nodes.
    pub node_count: i32,
    /// master or worker (or another role).
    pub role: String,
    /// Lower bound for resizes.
    pub min_node_count: i32,
    /// Upper bound for resizes.
    pub max_node_count: Option<i32>,
    /// One of the cluster's two default groups.
    pub is_default: bool,
    /// Heat stack id.
    pub stack_id: Option<String>,
    /// Status.
    pub status: String,
    /// Why.
    pub status_reason: Option<String>,
    /// COE version.
    pub version: Option<String>,
    /// Always false.
    pub merge_labels: bool,
    /// Labels differing from the cluster's.
    pub labels_overridden: BTreeMap<String, String>,
    /// Labels the cluster lacks.
    pub labels_added: BTreeMap<String, String>,
    /// Cluster labels the group lacks.
    pub labels_skipped: BTreeMap<String, String>,
    /// Kubernetes node labels.
    pub node_labels: BTreeMap<String, String>,
    /// Kubernetes node taints.
    #[schema(value_type = Vec<Object>)]
    pub node_taints: Vec<Taint>,
    /// Created.
    pub created_at: String,
    /// Last updated.
    pub updated_at: Option<String>,
}

impl NodeGroupView {
    /// The full view; label differences are against the cluster's labels.
    pub fn new(ng: NodeGroup, cluster_labels: &BTreeMap<String, String>, host: &str) -> Self {
        let (overridden, added, skipped) =
            super::cluster::view_labels_diff(cluster_labels, &ng.labels.0);
        let href = format!("clusters/{}/nodegroups/{}", ng.cluster_id, ng.uuid);
        NodeGroupView {
            links: vec![
                Link {
                    href: format!("{host}/v1/{href}"),
                    rel: "self".to_owned(),
                    media_type: None,
                },
                Link {
                    href: format!("{host}/{href}"),
                    rel: "bookmark".to_owned(),
                    media_type: None,
                },
            ],
            id: ng.id,
            uuid: ng.uuid.to_string(),
            name: ng.name,
            cluster_id: ng.cluster_id.to_string(),
            project_id: ng.project_id.0,
            docker_volume_size: ng.docker_volume_size,
            labels: ng.labels.0,
            flavor_id: ng.flavor_id,
            image_id: ng.image_id,
            node_addresses: ng.node_addresses.0,
            node_count: ng.node_count,
            role: ng.role,
            min_node_count: ng.min_node_count,
            max_node_count: ng.max_node_count,
            is_default: ng.is_default,
            stack_id: ng.stack_id,
            status: ng.status.to_string(),
            status_reason: ng.status_reason,
            version: ng.version,
            merge_labels: false,
            labels_overridden: overridden,
            labels_added: added,
            labels_skipped: skipped,
            node_labels: ng.node_labels.0,
            node_taints: ng.node_taints.0,
            created_at: ts(ng.created_at),
            updated_at: ts_opt(ng.updated_at),
        }
    }
}

/// A node group in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NodeGroupListItem {
    /// Identifier.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// Flavor.
    pub flavor_id: Option<String>,
    /// Image.
    pub image_id: Option<String>,
    /// Nodes.
    pub node_count: i32,
    /// Role.
    pub role: String,
    /// Lower bound (the stored value; upstream showed the default).
    pub min_node_count: i32,
    /// Upper bound (the stored value).
    pub max_node_count: Option<i32>,
    /// Default group.
    pub is_default: bool,
    /// Heat stack id.
    pub stack_id: Option<String>,
    /// Status.
    pub status: String,
    /// Always false.
    pub merge_labels: bool,
}

/// A page of node groups.
#[derive(Debug, Serialize, ToSchema)]
pub struct NodeGroupCollection {
    /// The node groups.
    pub nodegroups: Vec<NodeGroupListItem>,
    /// The next page, when this one is full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

fn invalid_input(attr: &str, ng: &str, expl: &str) -> ApiError {
    ApiError::Conflict(format!("{attr} for {ng} is invalid ({expl})."))
}

/// upstream's `_validate_node_count`, in its order (409 NodeGroupInvalidInput).
pub fn validate_counts(ng: &NodeGroup) -> ApiResult<()> {
    if let Some(max) = ng.max_node_count.filter(|m| *m > 0) {
        if max < ng.min_node_count {
            return Err(invalid_input(
                "max_node_count",
                &ng.name,
                &format!(
                    "min_node_count ({}) should be less or equal to max_node_count ({max})",
                    ng.min_node_count
                ),
            ));
        }
        if ng.node_count > max {
            return Err(invalid_input(
                "max_node_count",
                &ng.name,
                &format!(
                    "node_count ({}) should be less or equal to max_node_count ({max})",
                    ng.node_count
                ),
            ));
        }
    }
    if ng.min_node_count > ng.node_count {
        return Err(invalid_input(
            "min_node_count",
            &ng.name,
            &format!(
                "min_node_count ({}) should be less or equal to node_count ({})",
                ng.min_node_count, ng.node_count
            ),
        ));
    }
    Ok(())
}

const ALLOWED_LABELS: &[&str] = &[
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/instance-type",
    "beta.kubernetes.io/os",
    "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "kubernetes.io/arch",
    "kubernetes.io/hostname",
    "kubernetes.io/os",
    "node.kubernetes.io/instance-type",
    "node.kubernetes.io/windows-build",
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
];

/// node_labels and node_taints rules (HEAD, 1.14): not on masters, no restricted
/// Kubernetes label namespaces, well-formed taints.
pub fn validate_node_attrs(ng: &NodeGroup) -> ApiResult<()> {
    if ng.is_master() {
        if !ng.node_labels.0.is_empty() {
            return Err(invalid_input(
                "node_labels",
                &ng.name,
                "node_labels may not be set on master nodegroups",
            ));
        }
        if !ng.node_taints.0.is_empty() {
            return Err(invalid_input(
                "node_taints",
                &ng.name,
                "node_taints may not be set on master nodegroups",
            ));
        }
    }
    for key in ng.node_labels.0.keys() {
        let Some((prefix, _)) = key.split_once('/') else {
            continue;
        };
        let restricted = ["kubernetes.io", "k8s.io"].contains(&prefix)
            || prefix.ends_with(".kubernetes.io")
            || prefix.ends_with(".k8s.io");
        let allowed = ["kubelet.kubernetes.io", "node.kubernetes.io"].contains(&prefix)
            || ALLOWED_LABELS.contains(&key.as_str());
        if restricted && !allowed {
            return Err(invalid_input(
                "node_labels",
                &ng.name,
                &format!(
                    "node label '{key}' is in a restricted Kubernetes namespace; the kubelet will refuse to start. Labels in the kubernetes.io/ and k8s.io/ \
                     namespaces must use one of the allowed prefixes (kubelet.kubernetes.io, node.kubernetes.io) or be one of the allowed labels ({})",
                    ALLOWED_LABELS.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Parses taints from the body, with upstream's messages.
fn parse_taints(name: &str, v: &Value) -> ApiResult<Vec<Taint>> {
    let items = v.as_array().cloned().unwrap_or_default();
    let mut taints = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Object(m) = item else {
            return Err(invalid_input(
                "node_taints",
                name,
                &format!("node_taints[{i}] must be an object with key, effect and optional value"),
            ));
        };
        let mut extra: Vec<&str> = m
            .keys()
            .map(String::as_str)
            .filter(|k| !["key", "value", "effect"].contains(k))
            .collect();
        if !extra.is_empty() {
            extra.sort_unstable();
            return Err(invalid_input(
                "node_taints",
                name,
                &format!(
                    "node_taints[{i}] contains unrecognised field(s) {}; allowed fields are key, value, effect",
                    extra.join(", ")
                ),
            ));
        }
        let key = m
            .get("key")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty());
        let Some(key) = key else {
            return Err(invalid_input(
                "node_taints",
                name,
                &format!("node_taints[{i}].key is required"),
            ));
        };
        let effect = m.get("effect").and_then(Value::as_str).unwrap_or("");
        if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
            return Err(invalid_input(
                "node_taints",
                name,
                &format!(
                    "node_taints[{i}].effect must be one of NoSchedule, PreferNoSchedule, NoExecute"
                ),
            ));
        }
        taints.push(Taint {
            key: key.to_owned(),
            value: m.get("value").and_then(Value::as_str).map(str::to_owned),
            effect: effect.to_owned(),
        });
    }
    Ok(taints)
}

/// The cluster a node group request is about. Reads by admins span every project
/// (with the `nodegroup:*_all_projects` rule); changes stay within the caller's.
async fn cluster_for(
    state: &AppState,
    ctx: &Ctx,
    cluster_ident: String,
    admin_rule: Option<&str>,
) -> ApiResult<Cluster> {
    let all = match admin_rule {
        Some(rule) if ctx.is_admin => {
            state.authorize(ctx, &format!("nodegroup:{rule}"), &ctx.own_target())?;
            true
        }
        _ => false,
    };
    let scope = ctx.scope(all);
    state
        .db(move |conn| lookup::cluster(conn, &scope, &cluster_ident))
        .await
}

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

fn cluster_status_check(c: &Cluster, verb: &str) -> ApiResult<()> {
    if c.status.allows(ClusterOp::NodeGroupChange) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "{verb} a nodegroup when the cluster status is \"{}\" is not supported.",
            c.status
        )))
    }
}

/// `POST …/nodegroups` → 202 with the node group (CREATE_IN_PROGRESS).
pub async fn create(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
    cluster_ident: String,
) -> ApiResult<HttpResponse> {
    version.require(NODEGROUPS, "nodegroups")?;
    Query::parse(&req, &[])?;
    let raw = body::json(payload, &req, state.body_limit(), "nodegroup").await?;
    let given = body::validate("nodegroup", NODEGROUP_FIELDS, &raw)?;
    state.authorize(&ctx, "nodegroup:create", &ctx.own_target())?;
    let c = cluster_for(&state, &ctx, cluster_ident, None).await?;
    if c.api_address.is_none() {
        return Err(ApiError::Conflict(
            "Cluster API address is not available yet".to_owned(),
        ));
    }
    let name = given
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut ng = NodeGroup::new(
        c.uuid,
        c.project_id.clone(),
        name.clone(),
        given
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("worker"),
    );
    let int = |k: &str| {
        given
            .get(k)
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
    };
    ng.node_count = int("node_count").unwrap_or(1);
    ng.min_node_count = int("min_node_count").unwrap_or(0);
    ng.max_node_count = int("max_node_count");
    ng.docker_volume_size = int("docker_volume_size").or(c.docker_volume_size);
    ng.flavor_id = given
        .get("flavor_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| c.flavor_id.clone());
    let own_labels: Option<BTreeMap<String, String>> = given
        .get("labels")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    ng.labels = JsonMap(match own_labels {
        None => c.labels.0.clone(),
        Some(own)
            if given
                .get("merge_labels")
                .and_then(Value::as_bool)
                .unwrap_or(false) =>
        {
            let mut merged = c.labels.0.clone();
            merged.extend(own);
            merged
        }
        Some(own) => own,
    });
    ng.node_labels = given
        .get("node_labels")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    ng.node_taints = JsonList(match given.get("node_taints") {
        Some(v) => parse_taints(&name, v)?,
        None => Vec::new(),
    });
    let (uuid, ct) = (c.uuid, c.cluster_template_id);
    let exists = {
        let name = name.clone();
        state
            .db(move |conn| {
                Ok(!matches!(
                    nodegroup::get_by_name(conn, uuid, &name)?,
                    magnum_common::db::models::ByName::None
                ))
            })
            .await?
    };
    if exists {
        return Err(ApiError::Conflict(format!(
            "A node group with name {name} already exists in the cluster {}.",
            c.name.clone().unwrap_or_else(|| uuid.to_string())
        )));
    }
    validate_counts(&ng)?;
    validate_node_attrs(&ng)?;
    if ng.is_master() {
        return Err(ApiError::BadRequest(
            "Creating master nodegroups is currently not supported.".to_owned(),
        ));
    }
    cluster_status_check(&c, "Creating")?;
    if given.get("image_id").is_none() {
        ng.image_id = state
            .db(move |conn| {
                Ok(cluster_template::get_by_uuid(conn, &Visibility::All, ct)?
                    .and_then(|t| t.image_id))
            })
            .await?;
    } else {
        ng.image_id = given
            .get("image_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    let context = operation_context(&ctx, &request_id(&req));
    let cluster_labels = c.labels.0.clone();
    let mut updated = c.clone();
    updated.status = ClusterStatus::UpdateInProgress;
    updated.status_reason = None;
    let op = PendingOperation::new(
        uuid,
        Some(ng.uuid),
        "nodegroup_create",
        json!({"nodegroup": ng.uuid}),
        context,
    )
    .with_token(ctx.token.as_deref().map(str::to_owned));
    let cluster_name = c.name.clone().unwrap_or_else(|| uuid.to_string());
    let saved = state
        .db(
            move |conn| match nodegroup::create_with_operation(conn, ng, Some(updated), op) {
                Err(DbError::Duplicate(_)) => Err(ApiError::Conflict(format!(
                    "A node group with name {name} already exists in the cluster {cluster_name}."
                ))),
                other => Ok(other?),
            },
        )
        .await?;
    state
        .conductor
        .cast(
            rpc_context(&ctx, &request_id(&req)),
            "nodegroup_create",
            json!({"cluster": uuid}),
        )
        .await;
    Ok(HttpResponse::Accepted().json(NodeGroupView::new(saved, &cluster_labels, &host_url(&req))))
}

const NG_INTERNAL: &[&str] = &[
    "/name",
    "/cluster_id",
    "/project_id",
    "/docker_volume_size",
    "/labels",
    "/flavor_id",
    "/image_id",
    "/node_addresses",
    "/node_count",
    "/role",
    "/is_default",
    "/stack_id",
    "/status",
    "/status_reason",
    "/version",
    "/merge_labels",
    "/labels_overridden",
    "/labels_added",
    "/labels_skipped",
];

/// `PATCH …/nodegroups/{ng}`: min/max node counts, node labels and taints → 202.
pub async fn update(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
    ctx: Ctx,
    version: ApiVersion,
    cluster_ident: String,
    ng_ident: String,
) -> ApiResult<HttpResponse> {
    version.require(NODEGROUPS, "nodegroups")?;
    Query::parse(&req, &[])?;
    let raw = body::json(payload, &req, state.body_limit(), "patch").await?;
    let rules = Rules {
        internal: NG_INTERNAL,
        non_removable: &[],
        literal: &["/node_labels", "/node_taints"],
    };
    let items = patch::parse(&raw, &rules)?;
    let c = cluster_for(&state, &ctx, cluster_ident, None).await?;
    state.authorize(&ctx, "nodegroup:update", &ctx.own_target())?;
    let uuid = c.uuid;
    let original = state
        .db(move |conn| lookup::nodegroup(conn, uuid, &ng_ident))
        .await?;
    let host = host_url(&req);
    let Value::Object(before) =
        serde_json::to_value(NodeGroupView::new(original.clone(), &c.labels.0, &host))
            .map_err(|e| ApiError::Internal(e.to_string()))?
    else {
        return Err(ApiError::Internal(
            "node group view is not an object".to_owned(),
        ));
    };
    let mut after: Map<String, Value> = before.clone();
    patch::apply(&mut after, &items, &rules)?;
    let mut ng = original.clone();
    let field = |name: &str| NODEGROUP_FIELDS.iter().find(|f| f.name == name).copied();
    for name in [
        "min_node_count",
        "max_node_count",
        "node_labels",
        "node_taints",
    ] {
        let new = after.get(name).cloned().unwrap_or(Value::Null);
        if before.get(name) == Some(&new) {
            continue;
        }
        let checked = match (field(name), new.is_null()) {
            (Some(f), false) => body::check_value(&f, &new)?,
            _ => Value::Null,
        };
        match name {
            "min_node_count" => {
                ng.min_node_count = checked
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .unwrap_or(0)
            }
            "max_node_count" => {
                ng.max_node_count = checked.as_i64().and_then(|n| i32::try_from(n).ok())
            }
            "node_labels" => ng.node_labels = serde_json::from_value(checked).unwrap_or_default(),
            _ => {
                ng.node_taints = JsonList(if checked.is_null() {
                    Vec::new()
                } else {
                    parse_taints(&ng.name, &checked)?
                })
            }
        }
    }
    validate_counts(&ng)?;
    validate_node_attrs(&ng)?;
    let nodes_changed =
        ng.node_labels != original.node_labels || ng.node_taints != original.node_taints;
    let (op, cluster_change) = if nodes_changed {
        cluster_status_check(&c, "Updating")?;
        let mut cl = c.clone();
        cl.status = ClusterStatus::UpdateInProgress;
        ng.status = ClusterStatus::UpdateInProgress;
        let context = operation_context(&ctx, &request_id(&req));
        (
            Some(
                PendingOperation::new(
                    uuid,
                    Some(ng.uuid),
                    "nodegroup_update",
                    json!({"nodegroup": ng.uuid}),
                    context,
                )
                .with_token(ctx.token.as_deref().map(str::to_owned)),
            ),
            Some(cl),
        )
    } else {
        (None, None)
    };
    let has_op = op.is_some();
    let saved = state
        .db(move |conn| {
            Ok(nodegroup::save_with_operation(
                conn,
                ng,
                cluster_change,
                op,
            )?)
        })
        .await?;
    if has_op {
        state
            .conductor
            .cast(
                rpc_context(&ctx, &request_id(&req)),
                "nodegroup_update",
                json!({"cluster": uuid}),
            )
            .await;
    }
    Ok(HttpResponse::Accepted().json(NodeGroupView::new(saved, &c.labels.0, &host)))
}

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
