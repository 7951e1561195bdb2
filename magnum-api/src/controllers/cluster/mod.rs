//! Clusters (`/v1/clusters`) and their legacy twin Bays (`/v1/bays`).

mod create;
mod read;
mod update;
mod view;

pub use create::{create, operation_context, request_id};
pub use read::{list, list_detail, load, show, template_labels};
pub use update::{delete, update, update_not_supported_for};
pub use view::{
    BayListItem, BayView, ClusterCollection, ClusterListItem, ClusterView,
    labels_diff as view_labels_diff,
};

use magnum_common::db::models::cluster::Cluster;
use magnum_common::policy::Target;

use crate::body::{Field, Kind, STR255};

/// Which API the request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterApi {
    /// `/v1/clusters`.
    Cluster,
    /// `/v1/bays`.
    Bay,
}

impl ClusterApi {
    /// Policy action name.
    pub fn policy(self, action: &str) -> String {
        match self {
            ClusterApi::Cluster => format!("cluster:{action}"),
            ClusterApi::Bay => format!("bay:{action}"),
        }
    }

    /// Collection path segment.
    pub fn collection(self) -> &'static str {
        match self {
            ClusterApi::Cluster => "clusters",
            ClusterApi::Bay => "bays",
        }
    }

    /// Body argument name in messages.
    pub fn arg(self) -> &'static str {
        match self {
            ClusterApi::Cluster => "cluster",
            ClusterApi::Bay => "bay",
        }
    }

    /// The template attribute's name.
    pub fn template_attr(self) -> &'static str {
        match self {
            ClusterApi::Cluster => "cluster_template_id",
            ClusterApi::Bay => "baymodel_id",
        }
    }

    /// The timeout attribute's name.
    pub fn timeout_attr(self) -> &'static str {
        match self {
            ClusterApi::Cluster => "create_timeout",
            ClusterApi::Bay => "bay_create_timeout",
        }
    }
}

/// The cluster name rule: `^[a-zA-Z][a-zA-Z0-9_.-]*$`, at most 242 characters.
pub const CLUSTER_NAME: Kind = Kind::Str {
    min: 1,
    max: 242,
    pattern: Some((
        magnum_common::names::is_cluster_name,
        "^[a-zA-Z][a-zA-Z0-9_.-]*$",
    )),
};

macro_rules! cluster_fields {
    ($($extra:expr),* $(,)?) => {
        &[
            Field::opt("uuid", Kind::Ignored, "Ignored: the service assigns the uuid."),
            Field::opt("name", CLUSTER_NAME, "Name; generated when absent."),
            Field::opt("master_count", Kind::Int { min: Some(1), max: None }, "Number of masters (default 1); more than one needs master_lb_enabled."),
            Field::opt("docker_volume_size", Kind::Int { min: Some(1), max: None }, "Docker volume size in GB (default: the template's)."),
            Field::opt("labels", Kind::Labels, "Labels (default: the template's)."),
            Field::opt("master_flavor_id", STR255, "Master flavor (default: the template's)."),
            Field::opt("flavor_id", STR255, "Node flavor (default: the template's)."),
            Field::opt("discovery_url", Kind::Text, "etcd discovery URL (default: generated)."),
            Field::opt("fixed_network", STR255, "Private network (default: the template's)."),
            Field::opt("fixed_subnet", STR255, "Private subnet (default: the template's)."),
            Field::opt("floating_ip_enabled", Kind::Bool, "Floating IPs (default: the template's)."),
            Field::opt("master_lb_enabled", Kind::Bool, "Master load balancer (default: the template's)."),
            Field::opt("status", Kind::Ignored, "Ignored."),
            Field::opt("status_reason", Kind::Ignored, "Ignored."),
            Field::ro("links"),
            Field::ro("stack_id"),
            Field::ro("api_address"),
            Field::ro("coe_version"),
            Field::ro("container_version"),
            Field::ro("node_addresses"),
            Field::ro("master_addresses"),
            Field::ro("created_at"),
            Field::ro("updated_at"),
            $($extra,)*
        ]
    };
}

/// Cluster body attributes.
pub const CLUSTER_FIELDS: &[Field] = cluster_fields!(
    Field::req(
        "cluster_template_id",
        Kind::Text,
        "The template, by uuid or name."
    ),
    Field::opt("keypair", STR255, "Nova keypair (default: the template's)."),
    Field::opt(
        "node_count",
        Kind::Int {
            min: Some(0),
            max: None
        },
        "Number of worker nodes (default 1; 0 from 1.10)."
    ),
    Field::opt(
        "create_timeout",
        Kind::Int {
            min: Some(0),
            max: None
        },
        "Minutes before creation times out (default 60)."
    ),
    Field::opt(
        "merge_labels",
        Kind::Bool,
        "Overlay the given labels on the template's instead of replacing them."
    ),
    Field::opt("health_status", Kind::Ignored, "Ignored."),
    Field::opt("health_status_reason", Kind::Ignored, "Ignored."),
    Field::opt("faults", Kind::Ignored, "Ignored."),
    Field::opt("labels_overridden", Kind::Ignored, "Ignored."),
    Field::opt("labels_added", Kind::Ignored, "Ignored."),
    Field::opt("labels_skipped", Kind::Ignored, "Ignored."),
    Field::ro("cluster_id"),
    Field::ro("project_id"),
    Field::ro("user_id"),
);

/// Bay body attributes.
pub const BAY_FIELDS: &[Field] = cluster_fields!(
    Field::req("baymodel_id", Kind::Text, "The baymodel, by uuid or name."),
    Field::opt(
        "node_count",
        Kind::Int {
            min: Some(1),
            max: None
        },
        "Number of nodes (default 1)."
    ),
    Field::opt(
        "bay_create_timeout",
        Kind::Int {
            min: Some(0),
            max: None
        },
        "Minutes before creation times out (default 60)."
    ),
    Field::opt("bay_faults", Kind::Ignored, "Ignored."),
);

/// The policy target of a cluster.
pub fn cluster_target(c: &Cluster) -> Target {
    let mut t = Target::default();
    t.insert("project_id".to_owned(), c.project_id.0.clone());
    t.insert("user_id".to_owned(), c.user_id.0.clone());
    if let Some(trustee) = &c.trustee_user_id {
        t.insert("trustee_user_id".to_owned(), trustee.clone());
    }
    t
}
