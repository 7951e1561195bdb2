//! How node groups look on the wire: in full, in a list, and a page of them.

use std::collections::BTreeMap;

use magnum_common::db::models::nodegroup::{NodeGroup, Taint};
use serde::Serialize;
use utoipa::ToSchema;

use crate::controllers::{ts, ts_opt};
use crate::links::Link;

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
            crate::controllers::cluster::view_labels_diff(cluster_labels, &ng.labels.0);
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
