//! How clusters and bays look on the wire, per microversion.

use std::collections::BTreeMap;

use magnum_common::db::models::cluster::{Cluster, ClusterSummary};
use magnum_common::db::models::nodegroup::NodeGroup;
use serde::Serialize;
use utoipa::ToSchema;

use super::ClusterApi;
use crate::controllers::{ts, ts_opt};
use crate::links::{self, Link};
use crate::version::ApiVersion;

/// Counts and addresses rolled up from the node groups.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rollup {
    /// Workers (every non-master node group).
    pub node_count: i64,
    /// Masters.
    pub master_count: i64,
    /// Worker addresses.
    pub node_addresses: Vec<String>,
    /// Master addresses.
    pub master_addresses: Vec<String>,
}

impl Rollup {
    /// Sums the node groups of one cluster.
    pub fn of<'a>(ngs: impl IntoIterator<Item = &'a NodeGroup>) -> Self {
        let mut r = Rollup::default();
        for ng in ngs {
            if ng.is_master() {
                r.master_count += i64::from(ng.node_count);
                r.master_addresses
                    .extend(ng.node_addresses.0.iter().cloned());
            } else {
                r.node_count += i64::from(ng.node_count);
                r.node_addresses.extend(ng.node_addresses.0.iter().cloned());
            }
        }
        r
    }
}

/// Node counts of one cluster, what list views show of its node groups.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Workers.
    pub node_count: i64,
    /// Masters.
    pub master_count: i64,
}

impl Counts {
    /// Adds one node group of `size` nodes.
    pub fn add(&mut self, is_master: bool, size: i32) {
        if is_master {
            self.master_count += i64::from(size);
        } else {
            self.node_count += i64::from(size);
        }
    }
}

/// upstream's `get_labels_diff`: overridden (value = the parent's), added, skipped.
pub fn labels_diff(
    parent: &BTreeMap<String, String>,
    own: &BTreeMap<String, String>,
) -> (
    BTreeMap<String, String>,
    BTreeMap<String, String>,
    BTreeMap<String, String>,
) {
    let mut overridden = BTreeMap::new();
    let mut added = BTreeMap::new();
    for (k, v) in own {
        match parent.get(k) {
            Some(pv) if pv != v => {
                overridden.insert(k.clone(), pv.clone());
            }
            Some(_) => {}
            None => {
                added.insert(k.clone(), v.clone());
            }
        }
    }
    let skipped = parent
        .iter()
        .filter(|(k, _)| !own.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (overridden, added, skipped)
}

/// The stack id under its version-dependent name: `stack_id` below 1.13, `cluster_id` from it.
fn stack_fields(
    version: ApiVersion,
    stack_id: Option<String>,
) -> (Option<Option<String>>, Option<Option<String>>) {
    if version.at_least(1, 13) {
        (None, Some(stack_id))
    } else {
        (Some(stack_id), None)
    }
}

/// A cluster in full (GET one and `/detail`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClusterView {
    /// Identifier.
    pub uuid: String,
    /// Name.
    pub name: Option<String>,
    /// Template uuid.
    pub cluster_template_id: String,
    /// Nova keypair.
    pub keypair: Option<String>,
    /// Worker nodes (sum of non-master node groups).
    pub node_count: i64,
    /// Masters.
    pub master_count: i64,
    /// Docker volume size (GB).
    pub docker_volume_size: Option<i32>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Master flavor.
    pub master_flavor_id: Option<String>,
    /// Node flavor.
    pub flavor_id: Option<String>,
    /// Creation timeout (minutes).
    pub create_timeout: Option<i32>,
    /// self and bookmark links.
    pub links: Vec<Link>,
    /// Heat stack id (below 1.13).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<Option<String>>,
    /// Heat stack id (from 1.13).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<Option<String>>,
    /// One of the 18 statuses.
    pub status: String,
    /// Why.
    pub status_reason: Option<String>,
    /// HEALTHY, UNHEALTHY, UNKNOWN or null.
    pub health_status: Option<String>,
    /// Health details.
    pub health_status_reason: BTreeMap<String, String>,
    /// etcd discovery URL.
    pub discovery_url: Option<String>,
    /// COE API endpoint.
    pub api_address: Option<String>,
    /// COE version.
    pub coe_version: Option<String>,
    /// Container runtime version.
    pub container_version: Option<String>,
    /// Owning project.
    pub project_id: String,
    /// Creating user.
    pub user_id: String,
    /// Worker addresses.
    pub node_addresses: Vec<String>,
    /// Master addresses.
    pub master_addresses: Vec<String>,
    /// Failed node groups and why (failed clusters, GET one only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faults: Option<BTreeMap<String, String>>,
    /// Private network.
    pub fixed_network: Option<String>,
    /// Private subnet.
    pub fixed_subnet: Option<String>,
    /// Floating IPs.
    pub floating_ip_enabled: bool,
    /// Always false (not stored).
    pub merge_labels: bool,
    /// Labels whose value differs from the template's (value: the template's).
    pub labels_overridden: BTreeMap<String, String>,
    /// Labels the template does not have.
    pub labels_added: BTreeMap<String, String>,
    /// Template labels the cluster does not have.
    pub labels_skipped: BTreeMap<String, String>,
    /// Master load balancer.
    pub master_lb_enabled: bool,
    /// Created.
    pub created_at: String,
    /// Last updated.
    pub updated_at: Option<String>,
}

/// The faults of a failed cluster: failed node groups and their reasons.
pub fn faults(c: &Cluster, ngs: &[NodeGroup]) -> Option<BTreeMap<String, String>> {
    c.status.is_failed().then(|| {
        ngs.iter()
            .filter(|n| n.status.is_failed())
            .map(|n| (n.name.clone(), n.status_reason.clone().unwrap_or_default()))
            .collect()
    })
}

impl ClusterView {
    /// The full view.
    pub fn new(
        c: Cluster,
        ngs: &[NodeGroup],
        template_labels: &BTreeMap<String, String>,
        version: ApiVersion,
        host: &str,
        with_faults: bool,
    ) -> Self {
        let r = Rollup::of(ngs);
        let (overridden, added, skipped) = labels_diff(template_labels, &c.labels.0);
        let (stack_id, cluster_id) = stack_fields(version, c.stack_id.clone());
        ClusterView {
            faults: if with_faults { faults(&c, ngs) } else { None },
            links: links::resource(host, "clusters", &c.uuid.to_string()),
            uuid: c.uuid.to_string(),
            name: c.name,
            cluster_template_id: c.cluster_template_id.to_string(),
            keypair: c.keypair,
            node_count: r.node_count,
            master_count: r.master_count,
            docker_volume_size: c.docker_volume_size,
            labels: c.labels.0,
            master_flavor_id: c.master_flavor_id,
            flavor_id: c.flavor_id,
            create_timeout: c.create_timeout,
            stack_id,
            cluster_id,
            status: c.status.to_string(),
            status_reason: c.status_reason,
            health_status: c.health_status.0.map(|h| h.to_string()),
            health_status_reason: c.health_status_reason.0,
            discovery_url: c.discovery_url,
            api_address: c.api_address,
            coe_version: c.coe_version,
            container_version: c.container_version,
            project_id: c.project_id.0,
            user_id: c.user_id.0,
            node_addresses: r.node_addresses,
            master_addresses: r.master_addresses,
            fixed_network: c.fixed_network,
            fixed_subnet: c.fixed_subnet,
            floating_ip_enabled: c.floating_ip_enabled,
            merge_labels: false,
            labels_overridden: overridden,
            labels_added: added,
            labels_skipped: skipped,
            master_lb_enabled: c.master_lb_enabled,
            created_at: ts(c.created_at),
            updated_at: ts_opt(c.updated_at),
        }
    }
}

/// A cluster in a (non-detail) list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClusterListItem {
    /// Identifier.
    pub uuid: String,
    /// Name.
    pub name: Option<String>,
    /// Template uuid.
    pub cluster_template_id: String,
    /// Keypair.
    pub keypair: Option<String>,
    /// Worker nodes.
    pub node_count: i64,
    /// Masters.
    pub master_count: i64,
    /// Docker volume size.
    pub docker_volume_size: Option<i32>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Master flavor.
    pub master_flavor_id: Option<String>,
    /// Node flavor.
    pub flavor_id: Option<String>,
    /// Creation timeout.
    pub create_timeout: Option<i32>,
    /// Links.
    pub links: Vec<Link>,
    /// Heat stack id (below 1.13).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<Option<String>>,
    /// Heat stack id (from 1.13).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<Option<String>>,
    /// Status.
    pub status: String,
    /// Health.
    pub health_status: Option<String>,
    /// Always false.
    pub merge_labels: bool,
}

impl ClusterListItem {
    /// The list view.
    pub fn new(c: ClusterSummary, r: Counts, version: ApiVersion, host: &str) -> Self {
        let (stack_id, cluster_id) = stack_fields(version, c.stack_id.clone());
        ClusterListItem {
            links: links::resource(host, "clusters", &c.uuid.to_string()),
            uuid: c.uuid.to_string(),
            name: c.name,
            cluster_template_id: c.cluster_template_id.to_string(),
            keypair: c.keypair,
            node_count: r.node_count,
            master_count: r.master_count,
            docker_volume_size: c.docker_volume_size,
            labels: c.labels.0,
            master_flavor_id: c.master_flavor_id,
            flavor_id: c.flavor_id,
            create_timeout: c.create_timeout,
            stack_id,
            cluster_id,
            status: c.status.to_string(),
            health_status: c.health_status.0.map(|h| h.to_string()),
            merge_labels: false,
        }
    }
}

/// A bay in full.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BayView {
    /// Identifier.
    pub uuid: String,
    /// Name.
    pub name: Option<String>,
    /// Baymodel uuid.
    pub baymodel_id: String,
    /// Nodes.
    pub node_count: i64,
    /// Masters.
    pub master_count: i64,
    /// Docker volume size.
    pub docker_volume_size: Option<i32>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Master flavor.
    pub master_flavor_id: Option<String>,
    /// Node flavor.
    pub flavor_id: Option<String>,
    /// Creation timeout.
    pub bay_create_timeout: Option<i32>,
    /// Links.
    pub links: Vec<Link>,
    /// Heat stack id.
    pub stack_id: Option<String>,
    /// Status.
    pub status: String,
    /// Why.
    pub status_reason: Option<String>,
    /// Discovery URL.
    pub discovery_url: Option<String>,
    /// COE API endpoint.
    pub api_address: Option<String>,
    /// COE version.
    pub coe_version: Option<String>,
    /// Container runtime version.
    pub container_version: Option<String>,
    /// Node addresses.
    pub node_addresses: Vec<String>,
    /// Master addresses.
    pub master_addresses: Vec<String>,
    /// Failed parts of a failed bay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bay_faults: Option<BTreeMap<String, String>>,
    /// Private network.
    pub fixed_network: Option<String>,
    /// Private subnet.
    pub fixed_subnet: Option<String>,
    /// Floating IPs.
    pub floating_ip_enabled: bool,
    /// Master load balancer.
    pub master_lb_enabled: bool,
    /// Created.
    pub created_at: String,
    /// Last updated.
    pub updated_at: Option<String>,
}

impl BayView {
    /// The full view.
    pub fn new(c: Cluster, ngs: &[NodeGroup], host: &str, with_faults: bool) -> Self {
        let r = Rollup::of(ngs);
        BayView {
            bay_faults: if with_faults { faults(&c, ngs) } else { None },
            links: links::resource(host, "bays", &c.uuid.to_string()),
            uuid: c.uuid.to_string(),
            name: c.name,
            baymodel_id: c.cluster_template_id.to_string(),
            node_count: r.node_count,
            master_count: r.master_count,
            docker_volume_size: c.docker_volume_size,
            labels: c.labels.0,
            master_flavor_id: c.master_flavor_id,
            flavor_id: c.flavor_id,
            bay_create_timeout: c.create_timeout,
            stack_id: c.stack_id,
            status: c.status.to_string(),
            status_reason: c.status_reason,
            discovery_url: c.discovery_url,
            api_address: c.api_address,
            coe_version: c.coe_version,
            container_version: c.container_version,
            node_addresses: r.node_addresses,
            master_addresses: r.master_addresses,
            fixed_network: c.fixed_network,
            fixed_subnet: c.fixed_subnet,
            floating_ip_enabled: c.floating_ip_enabled,
            master_lb_enabled: c.master_lb_enabled,
            created_at: ts(c.created_at),
            updated_at: ts_opt(c.updated_at),
        }
    }
}

/// A bay in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BayListItem {
    /// Identifier.
    pub uuid: String,
    /// Name.
    pub name: Option<String>,
    /// Baymodel uuid.
    pub baymodel_id: String,
    /// Nodes.
    pub node_count: i64,
    /// Masters.
    pub master_count: i64,
    /// Docker volume size.
    pub docker_volume_size: Option<i32>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Master flavor.
    pub master_flavor_id: Option<String>,
    /// Node flavor.
    pub flavor_id: Option<String>,
    /// Creation timeout.
    pub bay_create_timeout: Option<i32>,
    /// Links.
    pub links: Vec<Link>,
    /// Heat stack id.
    pub stack_id: Option<String>,
    /// Status.
    pub status: String,
    /// Floating IPs.
    pub floating_ip_enabled: bool,
}

impl BayListItem {
    /// The list view.
    pub fn new(c: ClusterSummary, r: Counts, host: &str) -> Self {
        BayListItem {
            links: links::resource(host, "bays", &c.uuid.to_string()),
            uuid: c.uuid.to_string(),
            name: c.name,
            baymodel_id: c.cluster_template_id.to_string(),
            node_count: r.node_count,
            master_count: r.master_count,
            docker_volume_size: c.docker_volume_size,
            labels: c.labels.0,
            master_flavor_id: c.master_flavor_id,
            flavor_id: c.flavor_id,
            bay_create_timeout: c.create_timeout,
            stack_id: c.stack_id,
            status: c.status.to_string(),
            floating_ip_enabled: c.floating_ip_enabled,
        }
    }
}

/// The items of a page, in the view the route asks for.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Items {
    /// `/v1/clusters/detail`.
    Full(Vec<ClusterView>),
    /// `/v1/clusters`.
    List(Vec<ClusterListItem>),
    /// `/v1/bays/detail`.
    BayFull(Vec<BayView>),
    /// `/v1/bays`.
    BayList(Vec<BayListItem>),
}

/// A page of clusters or bays.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterCollection {
    /// Clusters (modern API).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<ClusterListItem>>)]
    pub clusters: Option<Items>,
    /// Bays (legacy API).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<BayListItem>>)]
    pub bays: Option<Items>,
    /// The next page, when this one is full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Renders one cluster in full through `api`, as JSON (the document a PATCH applies to).
pub fn render(
    api: ClusterApi,
    c: Cluster,
    ngs: &[NodeGroup],
    version: ApiVersion,
    host: &str,
) -> serde_json::Value {
    let value = match api {
        ClusterApi::Cluster => serde_json::to_value(ClusterView::new(
            c,
            ngs,
            &BTreeMap::new(),
            version,
            host,
            false,
        )),
        ClusterApi::Bay => serde_json::to_value(BayView::new(c, ngs, host, false)),
    };
    value.unwrap_or(serde_json::Value::Null)
}
