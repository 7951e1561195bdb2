//! `k8s_fedora_coreos_v1` and `k8s_fedora_atomic_v1`: one implementation over
//! `heat-templates/kubernetes/`, differing in how the servers boot (Ignition or cloud-init).

use std::sync::Arc;

use magnum_common::db::models::cluster::Cluster;
use magnum_common::db::models::cluster_template::ClusterTemplate;
use magnum_common::db::models::nodegroup::NodeGroup;
use serde_json::{Map, Value};

use super::common::{addresses, count, environment_files, text};
use super::templates::{RenderContext, Templates};
use super::{Driver, DriverError, RenderedStack, StackInputs, StackOutputs, k8s_params, upgrade};

/// The cluster template and its parameter list.
const MAIN: &str = "kubernetes/kubecluster.yaml";
const PARAMS: &str = "kubernetes/_params.yaml";
/// Container runtime version the drivers report (upstream's `version.py`).
const CONTAINER_VERSION: &str = "1.12.6";

/// A Kubernetes driver.
pub struct K8sDriver {
    name: &'static str,
    os_distro: &'static str,
    templates: Arc<Templates>,
}

impl K8sDriver {
    /// `k8s_fedora_coreos_v1` (vm, fedora-coreos, kubernetes).
    pub fn fedora_coreos(templates: Arc<Templates>) -> Self {
        K8sDriver {
            name: "k8s_fedora_coreos_v1",
            os_distro: "fedora-coreos",
            templates,
        }
    }

    /// `k8s_fedora_atomic_v1` (vm, fedora-atomic, kubernetes).
    pub fn fedora_atomic(templates: Arc<Templates>) -> Self {
        K8sDriver {
            name: "k8s_fedora_atomic_v1",
            os_distro: "fedora-atomic",
            templates,
        }
    }

    fn render(
        &self,
        inputs: &StackInputs<'_>,
        nodegroup: Option<&NodeGroup>,
    ) -> Result<RenderedStack, DriverError> {
        let docker_volume_size = match nodegroup {
            Some(ng) => ng.docker_volume_size,
            None => inputs.cluster.docker_volume_size,
        };
        let etcd_volume = inputs
            .cluster
            .labels
            .0
            .get("etcd_volume_size")
            .and_then(|v| v.trim().parse::<i64>().ok())
            .is_some_and(|n| n >= 1);
        let env = environment_files(
            inputs.cluster,
            inputs.template,
            docker_volume_size,
            Some(etcd_volume),
            inputs.cloud.octavia_enabled,
        );
        let parameters = k8s_params::parameters(inputs, nodegroup)?.0;
        let env_refs: Vec<&str> = env.iter().map(String::as_str).collect();
        let rendered = self.templates.render(
            MAIN,
            &env_refs,
            &RenderContext {
                driver: self.name,
                os_distro: self.os_distro,
                coe: "kubernetes",
                params: self.templates.params(PARAMS)?,
            },
        )?;
        Ok(RenderedStack {
            template: rendered.template,
            files: rendered.files,
            environment_files: env,
            parameters,
        })
    }
}

impl Driver for K8sDriver {
    fn name(&self) -> &'static str {
        self.name
    }

    fn cluster_stack(&self, inputs: &StackInputs<'_>) -> Result<RenderedStack, DriverError> {
        self.render(inputs, None)
    }

    fn nodegroup_stack(&self, inputs: &StackInputs<'_>) -> Result<RenderedStack, DriverError> {
        let Some(ng) = inputs.nodegroup else {
            return Err(DriverError::Invalid(
                "A node group stack needs its node group.".to_owned(),
            ));
        };
        if ng.is_master() {
            return Err(DriverError::Invalid(format!(
                "Node group {}: the Heat drivers only build worker node groups in their own stacks.",
                ng.name
            )));
        }
        self.render(inputs, Some(ng))
    }

    fn scale_parameters(
        &self,
        _nodegroup: &NodeGroup,
        node_count: i32,
        nodes_to_remove: &[String],
    ) -> Map<String, Value> {
        let mut p = Map::new();
        p.insert("number_of_minions".to_owned(), Value::from(node_count));
        if !nodes_to_remove.is_empty() {
            p.insert(
                "minions_to_remove".to_owned(),
                Value::Array(
                    nodes_to_remove
                        .iter()
                        .map(|n| Value::from(n.as_str()))
                        .collect(),
                ),
            );
        }
        p
    }

    fn upgrade_parameters(
        &self,
        inputs: &StackInputs<'_>,
        to: &ClusterTemplate,
        max_batch_size: i32,
    ) -> Result<Map<String, Value>, DriverError> {
        upgrade::parameters(inputs, to, max_batch_size)
    }

    fn outputs(
        &self,
        cluster: &Cluster,
        template: &ClusterTemplate,
        outputs: &Map<String, Value>,
        parameters: &Map<String, Value>,
    ) -> StackOutputs {
        let (masters, minions) = if cluster.floating_ip_enabled {
            ("kube_masters", "kube_minions")
        } else {
            ("kube_masters_private", "kube_minions_private")
        };
        let api_address = text(outputs.get("api_address")).map(|ip| {
            if template.tls_disabled {
                format!("http://{ip}:8080")
            } else {
                format!("https://{ip}:6443")
            }
        });
        StackOutputs {
            api_address,
            master_addresses: addresses(outputs.get(masters)),
            node_addresses: addresses(outputs.get(minions)),
            master_count: count(parameters.get("number_of_masters")),
            node_count: count(parameters.get("number_of_minions")),
            coe_version: text(parameters.get("kube_version")),
            container_version: Some(CONTAINER_VERSION.to_owned()),
        }
    }
}
