//! Node groups: `/v1/clusters/{cluster}/nodegroups` (1.9+).
//!
//! One module per operation (read, create, update, delete), with the wire views
//! and the validation rules they share; this module holds the body attributes and
//! the look-up of the cluster every request is about.

mod create;
mod delete;
mod read;
mod update;
mod validate;
mod view;

pub use create::create;
pub use delete::delete;
pub use read::{list, show};
pub use update::update;
pub use validate::{validate_counts, validate_node_attrs};
pub use view::{NodeGroupCollection, NodeGroupListItem, NodeGroupView};

use magnum_common::db::models::cluster::Cluster;
use magnum_common::status::ClusterOp;

use super::lookup;
use crate::body::{Field, Kind, STR255};
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult};
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
