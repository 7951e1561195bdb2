//! `swarm_fedora_atomic_v2`: Docker Swarm (swarm-mode, and the legacy `swarm` COE) on Fedora
//! Atomic, over `heat-templates/swarm/`.

use std::sync::Arc;

use magnum_common::db::models::cluster::Cluster;
use magnum_common::db::models::cluster_template::ClusterTemplate;
use magnum_common::db::models::nodegroup::NodeGroup;
use serde_json::{Map, Value};

use super::common::{
    Params, addresses, base_parameters, count, environment_files, text, with_suffix,
};
use super::templates::{RenderContext, Templates};
use super::{Driver, DriverError, RenderedStack, StackInputs, StackOutputs};

const MAIN: &str = "swarm/swarmcluster.yaml";
const PARAMS: &str = "swarm/_params.yaml";
/// Docker API port (`api_address` is `tcp://IP:2375`).
const DOCKER_PORT: u16 = 2375;
/// Container runtime version the driver reports (upstream's `version.py`).
const CONTAINER_VERSION: &str = "1.12.6";
/// Labels copied unchanged: upstream's two, plus what the node boot here understands.
const PASSED_LABELS: &[&str] = &[
    "rexray_preempt",
    "availability_zone",
    "container_infra_prefix",
    "heat_container_agent_tag",
    "selinux_mode",
    "use_podman",
];

/// The Swarm driver.
pub struct SwarmDriver {
    templates: Arc<Templates>,
}

impl SwarmDriver {
    /// `swarm_fedora_atomic_v2` (vm, fedora-atomic, swarm-mode and swarm).
    pub fn new(templates: Arc<Templates>) -> Self {
        SwarmDriver { templates }
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
        let env = environment_files(
            inputs.cluster,
            inputs.template,
            docker_volume_size,
            None,
            inputs.cloud.octavia_enabled,
        );
        let parameters = parameters(inputs, nodegroup)?.0;
        let env_refs: Vec<&str> = env.iter().map(String::as_str).collect();
        let rendered = self.templates.render(
            MAIN,
            &env_refs,
            &RenderContext {
                driver: "swarm_fedora_atomic_v2",
                os_distro: "fedora-atomic",
                coe: inputs.template.coe.as_str(),
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

/// Every parameter of a Swarm stack (spec §4.4, "Swarm-mode v2").
pub(crate) fn parameters(
    inputs: &StackInputs<'_>,
    nodegroup: Option<&NodeGroup>,
) -> Result<Params, DriverError> {
    let cluster = inputs.cluster;
    let ct = inputs.template;
    let worker = nodegroup.unwrap_or(inputs.worker);
    let labels = &nodegroup.map_or(&cluster.labels, |n| &n.labels).0;
    let mut p = Params::default();
    base_parameters(&mut p, inputs, inputs.openstack_ca.clone());

    p.set("cluster_uuid", cluster.uuid.to_string());
    p.set_some("volume_driver", ct.volume_driver.clone());
    let Some(external) = ct
        .external_network_id
        .clone()
        .filter(|e| !e.trim().is_empty())
    else {
        return Err(DriverError::Invalid(
            "The cluster template's external_network_id is required for Swarm clusters.".to_owned(),
        ));
    };
    p.set("external_network", external);
    match (&inputs.existing, nodegroup) {
        (Some(e), Some(_)) => {
            p.set("fixed_network", e.fixed_network.as_str());
            p.set("fixed_subnet", e.fixed_subnet.as_str());
        }
        _ => {
            p.set_some("fixed_network", ct.fixed_network.clone());
            p.set_some("fixed_subnet", ct.fixed_subnet.clone());
        }
    }
    p.set("tls_disabled", ct.tls_disabled);
    p.set_some("docker_storage_driver", ct.docker_storage_driver.clone());
    p.set_some("insecure_registry_url", ct.insecure_registry.clone());
    p.set("master_nodegroup_name", inputs.master.name.as_str());
    p.set("worker_nodegroup_name", worker.name.as_str());
    p.set(
        "node_labels",
        serde_json::to_string(&worker.node_labels.0).unwrap_or_else(|_| "{}".to_owned()),
    );

    let master = inputs.master;
    p.set_some(
        "master_flavor",
        master
            .flavor_id
            .clone()
            .or(cluster.master_flavor_id.clone()),
    );
    p.set_some(
        "master_image",
        master.image_id.clone().or(ct.image_id.clone()),
    );
    p.set_some("docker_volume_size", worker.docker_volume_size);
    if nodegroup.is_none() {
        p.set_some("docker_volume_size", master.docker_volume_size);
    }
    p.set("number_of_nodes", worker.node_count);
    p.set_some(
        "node_flavor",
        worker.flavor_id.clone().or(cluster.flavor_id.clone()),
    );
    p.set_some(
        "node_image",
        worker.image_id.clone().or(ct.image_id.clone()),
    );
    p.set(
        "number_of_secondary_masters",
        (master.node_count - 1).max(0),
    );
    p.set("magnum_url", with_suffix(&inputs.magnum_url, "/v1"));
    p.set(
        "nodes_affinity_policy",
        inputs.nodes_affinity_policy.as_str(),
    );
    p.labels(labels, PASSED_LABELS);
    // a label names the type, else [cinder]'s default or Cinder's first type; no volume, no type
    let has_volume =
        p.0.get("docker_volume_size")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            > 0;
    p.set(
        "docker_volume_type",
        match cluster.labels.0.get("docker_volume_type") {
            _ if !has_volume => String::new(),
            Some(t) => t.clone(),
            None => inputs.cloud.default_volume_types.docker.clone(),
        },
    );
    match (nodegroup, &inputs.existing) {
        (None, _) => p.set("is_cluster_stack", true),
        (Some(_), Some(existing)) => {
            p.set("is_cluster_stack", false);
            p.set(
                "existing_master_private_ip",
                existing.master_private_ip.as_str(),
            );
            p.set("existing_security_group", existing.security_group.as_str());
        }
        (Some(ng), None) => {
            return Err(DriverError::Invalid(format!(
                "Node group {} needs the cluster stack's network, security group and primary \
                 master address.",
                ng.name
            )));
        }
    }
    Ok(p)
}

impl Driver for SwarmDriver {
    fn name(&self) -> &'static str {
        "swarm_fedora_atomic_v2"
    }

    fn cluster_stack(&self, inputs: &StackInputs<'_>) -> Result<RenderedStack, DriverError> {
        self.render(inputs, None)
    }

    fn nodegroup_stack(&self, inputs: &StackInputs<'_>) -> Result<RenderedStack, DriverError> {
        match inputs.nodegroup {
            Some(ng) if ng.is_master() => Err(DriverError::Invalid(format!(
                "Node group {}: the Heat drivers only build worker node groups in their own stacks.",
                ng.name
            ))),
            Some(ng) => self.render(inputs, Some(ng)),
            None => Err(DriverError::Invalid(
                "A node group stack needs its node group.".to_owned(),
            )),
        }
    }

    fn scale_parameters(
        &self,
        _nodegroup: &NodeGroup,
        node_count: i32,
        nodes_to_remove: &[String],
    ) -> Map<String, Value> {
        let mut p = Map::new();
        p.insert("number_of_nodes".to_owned(), Value::from(node_count));
        if !nodes_to_remove.is_empty() {
            p.insert(
                "nodes_to_remove".to_owned(),
                Value::from(nodes_to_remove.to_vec()),
            );
        }
        p
    }

    fn upgrade_parameters(
        &self,
        _inputs: &StackInputs<'_>,
        _to: &ClusterTemplate,
        _max_batch_size: i32,
    ) -> Result<Map<String, Value>, DriverError> {
        Err(DriverError::Invalid(
            "Upgrading swarm_fedora_atomic_v2 clusters is not supported.".to_owned(),
        ))
    }

    fn outputs(
        &self,
        cluster: &Cluster,
        _template: &ClusterTemplate,
        outputs: &Map<String, Value>,
        parameters: &Map<String, Value>,
    ) -> StackOutputs {
        let suffix = if cluster.floating_ip_enabled {
            ""
        } else {
            "_private"
        };
        let mut masters = addresses(outputs.get(&format!("swarm_primary_master{suffix}")));
        masters.extend(addresses(
            outputs.get(&format!("swarm_secondary_masters{suffix}")),
        ));
        StackOutputs {
            api_address: text(outputs.get("api_address"))
                .map(|ip| format!("tcp://{ip}:{DOCKER_PORT}")),
            master_addresses: masters,
            node_addresses: addresses(outputs.get(&format!("swarm_nodes{suffix}"))),
            master_count: count(parameters.get("number_of_masters")),
            node_count: count(parameters.get("number_of_nodes")),
            coe_version: None,
            container_version: Some(CONTAINER_VERSION.to_owned()),
        }
    }

    fn worker_security_group_resource(&self) -> &'static str {
        "secgroup_swarm_node"
    }
}
