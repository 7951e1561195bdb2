//! Cluster drivers: one per (server_type, os_distro, coe), behind one trait.
//!
//! A driver turns a cluster, its template and node groups into a Heat stack
//! (template, files, environment files and parameters, rendered with tera from
//! `heat-templates/`), knows which stack parameters scale or upgrade a node
//! group, and maps the stack's outputs back onto the cluster.
//!
//! The drivers of this build are [`k8s::K8sDriver`] (`k8s_fedora_coreos_v1`,
//! `k8s_fedora_atomic_v1`) and [`swarm::SwarmDriver`] (`swarm_fedora_atomic_v2`). They render
//! [`templates::Templates`]: the built-in `heat-templates/`, or a directory with the same layout
//! (`[drivers] heat_template_dir`). A [`Registry`] holds the drivers over one set of templates;
//! [`by_name`] is the registry over the built-in templates.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use magnum_common::db::models::cluster::Cluster;
use magnum_common::db::models::cluster_template::ClusterTemplate;
use magnum_common::db::models::nodegroup::NodeGroup;
use serde_json::{Map, Value};

mod common;
pub mod k8s;
mod k8s_params;
pub mod swarm;
pub mod templates;
mod upgrade;

#[cfg(test)]
mod tests;

pub use templates::{TemplateError, Templates};

/// Why a driver could not produce a stack.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The cluster or template asks for something this driver cannot do; the
    /// message is shown to the user as the cluster's status_reason.
    #[error("{0}")]
    Invalid(String),
    /// A template failed to render (a bug in heat-templates/).
    #[error("template {name}: {message}")]
    Render {
        /// Template file.
        name: String,
        /// Renderer's message.
        message: String,
    },
}

/// The cluster's trustee and trust, as the nodes get them.
#[derive(Debug, Clone, Default)]
pub struct TrustInfo {
    /// Trustee domain id.
    pub trustee_domain_id: String,
    /// Trustee user id.
    pub trustee_user_id: String,
    /// Trustee user name (`<cluster uuid>_<project id>`).
    pub trustee_username: String,
    /// Trustee password.
    pub trustee_password: String,
    /// The trust id, passed to the nodes only when `[trust] cluster_user_trust` is true
    /// (empty otherwise).
    pub trust_id: String,
}

/// What the conductor resolved in the cloud before rendering.
#[derive(Debug, Clone, Default)]
pub struct CloudFacts {
    /// External network id (the template may name it).
    pub external_network_id: String,
    /// Fixed network id and name, when the cluster uses an existing one.
    pub fixed_network: Option<(String, String)>,
    /// Fixed subnet id and CIDR, when the cluster uses an existing one.
    pub fixed_subnet: Option<(String, String)>,
    /// Public key of the cluster's keypair (empty when none).
    pub ssh_public_key: String,
    /// Octavia is in the catalog.
    pub octavia_enabled: bool,
    /// Volume types when the labels name none (`[cinder] default_*_volume_type`, else the
    /// first type Cinder lists, as upstream): Docker, etcd and boot volumes.
    pub default_volume_types: VolumeTypes,
}

/// Volume types of a cluster's volumes.
#[derive(Debug, Clone, Default)]
pub struct VolumeTypes {
    /// Docker volumes of the nodes.
    pub docker: String,
    /// etcd volumes of the masters.
    pub etcd: String,
    /// Boot volumes.
    pub boot: String,
}

/// For a non-default node group's stack: what it joins in the cluster stack.
#[derive(Debug, Clone, Default)]
pub struct ExistingCluster {
    /// The cluster stack's api_address output (the master's private address).
    pub master_private_ip: String,
    /// Id of the cluster stack's minion security group.
    pub security_group: String,
    /// The cluster stack's network and subnet ids.
    pub fixed_network: String,
    /// Subnet id.
    pub fixed_subnet: String,
}

/// Everything a driver may use to build a stack.
#[derive(Debug, Clone)]
pub struct StackInputs<'a> {
    /// The cluster.
    pub cluster: &'a Cluster,
    /// Its template.
    pub template: &'a ClusterTemplate,
    /// Its default master node group.
    pub master: &'a NodeGroup,
    /// Its default worker node group.
    pub worker: &'a NodeGroup,
    /// For a node group stack: that node group (else None: the cluster stack).
    pub nodegroup: Option<&'a NodeGroup>,
    /// For a node group stack: what it joins.
    pub existing: Option<ExistingCluster>,
    /// Trustee and trust.
    pub trust: TrustInfo,
    /// Cloud facts.
    pub cloud: CloudFacts,
    /// Keystone v3 URL the nodes use (`[trust] trustee_keystone_interface`).
    pub auth_url: String,
    /// Magnum's v1 URL the nodes use (catalog `container-infra`).
    pub magnum_url: String,
    /// Name of the requesting user (`username` parameter).
    pub username: String,
    /// Region name.
    pub region_name: String,
    /// etcd discovery URL (k8s), already obtained.
    pub discovery_url: String,
    /// `[drivers] verify_ca`.
    pub verify_ca: bool,
    /// Contents of `[drivers] openstack_ca_file` (empty when none).
    pub openstack_ca: String,
    /// `[cluster] nodes_affinity_policy`.
    pub nodes_affinity_policy: String,
    /// A fresh RSA keypair (PEM public, PEM private) for the service account key.
    pub service_account_keys: (String, String),
}

/// A stack ready to be sent to Heat.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedStack {
    /// The main template (YAML text).
    pub template: String,
    /// Every file the template and environments reference, by the name they use.
    pub files: BTreeMap<String, String>,
    /// Environment files to apply, in order (keys of `files`).
    pub environment_files: Vec<String>,
    /// Stack parameters.
    pub parameters: Map<String, Value>,
}

/// What the conductor reads back from a stack.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackOutputs {
    /// `https://IP:6443`, `http://IP:8080` (TLS disabled) or `tcp://IP:2375` (swarm).
    pub api_address: Option<String>,
    /// Master addresses (floating or private, per floating_ip_enabled).
    pub master_addresses: Vec<String>,
    /// Worker addresses.
    pub node_addresses: Vec<String>,
    /// Masters per the stack parameter (reflects out-of-band changes).
    pub master_count: Option<i32>,
    /// Workers per the stack parameter.
    pub node_count: Option<i32>,
    /// COE version (k8s: the kube_version parameter).
    pub coe_version: Option<String>,
    /// Container runtime version (the driver's).
    pub container_version: Option<String>,
}

/// A cluster driver.
pub trait Driver: Send + Sync {
    /// Upstream's entry-point name (`k8s_fedora_coreos_v1`, …).
    fn name(&self) -> &'static str;
    /// The stack of a cluster (is_cluster_stack = true).
    fn cluster_stack(&self, inputs: &StackInputs<'_>) -> Result<RenderedStack, DriverError>;
    /// The stack of a non-default node group (is_cluster_stack = false).
    fn nodegroup_stack(&self, inputs: &StackInputs<'_>) -> Result<RenderedStack, DriverError>;
    /// Parameters that resize a worker node group, removing `nodes_to_remove` first.
    fn scale_parameters(
        &self,
        nodegroup: &NodeGroup,
        node_count: i32,
        nodes_to_remove: &[String],
    ) -> Map<String, Value>;
    /// Parameters that upgrade a node group to `to` (400-style `DriverError::Invalid` when
    /// the driver cannot, e.g. a downgrade or swarm).
    fn upgrade_parameters(
        &self,
        inputs: &StackInputs<'_>,
        to: &ClusterTemplate,
        max_batch_size: i32,
    ) -> Result<Map<String, Value>, DriverError>;
    /// Maps a stack's outputs and parameters (as Heat returns them) onto Magnum's fields.
    fn outputs(
        &self,
        cluster: &Cluster,
        template: &ClusterTemplate,
        outputs: &Map<String, Value>,
        parameters: &Map<String, Value>,
    ) -> StackOutputs;
    /// The cluster stack's resource whose id a node group stack gets as
    /// `ExistingCluster::security_group` (its `network` resource gives the network and subnet).
    fn worker_security_group_resource(&self) -> &'static str {
        "secgroup_kube_minion"
    }
}

/// The drivers of this build over one set of templates.
pub struct Registry {
    templates: Arc<Templates>,
    drivers: Vec<Box<dyn Driver>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("templates", &self.templates)
            .field("drivers", &self.names())
            .finish()
    }
}

impl Registry {
    /// Every driver, rendering `templates`.
    pub fn new(templates: Arc<Templates>) -> Self {
        let drivers: Vec<Box<dyn Driver>> = vec![
            Box::new(k8s::K8sDriver::fedora_coreos(Arc::clone(&templates))),
            Box::new(k8s::K8sDriver::fedora_atomic(Arc::clone(&templates))),
            Box::new(swarm::SwarmDriver::new(Arc::clone(&templates))),
        ];
        Registry { templates, drivers }
    }

    /// The drivers over `[drivers] heat_template_dir` (empty: the built-in templates).
    pub fn from_config(heat_template_dir: &str) -> Result<Self, TemplateError> {
        Ok(Self::new(Arc::new(Templates::from_config(
            heat_template_dir,
        )?)))
    }

    /// The driver called `name` (upstream's entry-point name).
    pub fn get(&self, name: &str) -> Option<&dyn Driver> {
        self.drivers.iter().find(|d| d.name() == name).map(|d| &**d)
    }

    /// The drivers' names.
    pub fn names(&self) -> Vec<&'static str> {
        self.drivers.iter().map(|d| d.name()).collect()
    }

    /// The templates the drivers render.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }
}

/// The driver called `name` over the built-in templates, if this build has it. (A conductor
/// honouring `[drivers] heat_template_dir` uses a [`Registry`] instead.)
pub fn by_name(name: &str) -> Option<&'static dyn Driver> {
    static BUILT_IN: OnceLock<Option<Registry>> = OnceLock::new();
    BUILT_IN
        .get_or_init(|| match Templates::load(None) {
            Ok(t) => Some(Registry::new(Arc::new(t))),
            Err(e) => {
                tracing::error!("the built-in Heat templates do not load: {e}");
                None
            }
        })
        .as_ref()
        .and_then(|r| r.get(name))
}

/// Adds the `ca_key` parameter (the cluster CA's decrypted private key, PEM) to a Kubernetes
/// stack whose `cert_manager_api` label is on; drivers never see the CA key.
pub fn insert_ca_key(stack: &mut RenderedStack, ca_key_pem: &str) {
    stack.parameters.insert(
        "ca_key".to_owned(),
        Value::from(ca_key_pem.replace('\n', "\\n")),
    );
}
