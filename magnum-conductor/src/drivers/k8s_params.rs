//! Stack parameters of the Kubernetes drivers (spec §4.4, "Kubernetes, with Fedora and FCOS
//! additions").

use std::collections::BTreeMap;

use magnum_common::db::models::nodegroup::NodeGroup;
use serde_json::Value;

use super::common::{Params, base_parameters, escape_newlines, is_true, label_bool, with_suffix};
use super::{DriverError, StackInputs};

/// Labels copied unchanged into parameters of the same name when set (on a node group stack,
/// the node group's labels).
pub(crate) const PASSED_LABELS: &[&str] = &[
    "flannel_network_cidr",
    "flannel_backend",
    "flannel_network_subnetlen",
    "system_pods_initial_delay",
    "system_pods_timeout",
    "admission_control_list",
    "prometheus_monitoring",
    "grafana_admin_passwd",
    "kube_dashboard_enabled",
    "etcd_volume_size",
    "cert_manager_api",
    "ingress_controller_role",
    "octavia_ingress_controller_tag",
    "kubelet_options",
    "kubeapi_options",
    "kubeproxy_options",
    "kubecontroller_options",
    "kubescheduler_options",
    "influx_grafana_dashboard_enabled",
    "octavia_provider",
    "octavia_lb_algorithm",
    "octavia_lb_healthcheck",
    "coredns_tag",
    "hyperkube_prefix",
    "kube_tag",
    "container_infra_prefix",
    "availability_zone",
    "cgroup_driver",
    "container_runtime",
    "containerd_version",
    "containerd_tarball_url",
    "containerd_tarball_sha256",
    "calico_tag",
    "calico_kube_controllers_tag",
    "calico_ipv4pool",
    "calico_ipv4pool_ipip",
    "cinder_csi_enabled",
    "cinder_csi_plugin_tag",
    "csi_attacher_tag",
    "csi_provisioner_tag",
    "csi_snapshotter_tag",
    "csi_resizer_tag",
    "csi_node_driver_registrar_tag",
    "csi_liveness_probe_tag",
    "etcd_tag",
    "flannel_tag",
    "flannel_cni_tag",
    "cloud_provider_tag",
    "prometheus_tag",
    "grafana_tag",
    "heat_container_agent_tag",
    "keystone_auth_enabled",
    "k8s_keystone_auth_tag",
    "heapster_enabled",
    "metrics_server_enabled",
    "metrics_server_chart_tag",
    "monitoring_enabled",
    "monitoring_retention_days",
    "monitoring_retention_size",
    "monitoring_interval_seconds",
    "monitoring_storage_class_name",
    "monitoring_ingress_enabled",
    "cluster_basic_auth_secret",
    "cluster_root_domain_name",
    "prometheus_operator_chart_tag",
    "prometheus_adapter_enabled",
    "prometheus_adapter_chart_tag",
    "prometheus_adapter_configmap",
    "selinux_mode",
    "tiller_enabled",
    "tiller_tag",
    "tiller_namespace",
    "helm_client_url",
    "helm_client_sha256",
    "helm_client_tag",
    "traefik_ingress_controller_tag",
    "node_problem_detector_tag",
    "nginx_ingress_controller_tag",
    "nginx_ingress_controller_chart_tag",
    "auto_healing_enabled",
    "auto_scaling_enabled",
    "auto_healing_controller",
    "magnum_auto_healer_tag",
    "draino_tag",
    "autoscaler_tag",
    "min_node_count",
    "max_node_count",
    "npd_enabled",
    "ostree_remote",
    "ostree_commit",
    "use_podman",
    "kube_image_digest",
    "metrics_scraper_tag",
];

/// The subnet CIDR the templates assume when neither a subnet nor a label gives one.
const DEFAULT_SUBNET_CIDR: &str = "10.0.0.0/24";
/// Pod network when no label gives one.
const DEFAULT_PODS_CIDR: &str = "10.100.0.0/16";
/// What `[docker_registry] swift_registry_container` defaults to upstream.
const DEFAULT_REGISTRY_CONTAINER: &str = "docker_registry";

/// k8s-keystone-auth's default policy: members of the cluster's project may list a few
/// resources in the default namespace.
const KEYSTONE_AUTH_DEFAULT_POLICY: &str = r#"[{"match":[{"type":"role","values":["member"]},{"type":"project","values":["$PROJECT_ID"]}],"resource":{"namespace":"default","resources":["pods","services","deployments","pvc"],"verbs":["list"],"version":"*"}}]"#;

/// Every parameter of a Kubernetes stack. `nodegroup` is the node group of a node group stack
/// (its labels, counts and flavors replace the default worker group's).
pub(crate) fn parameters(
    inputs: &StackInputs<'_>,
    nodegroup: Option<&NodeGroup>,
) -> Result<Params, DriverError> {
    let cluster = inputs.cluster;
    let ct = inputs.template;
    let worker = nodegroup.unwrap_or(inputs.worker);
    let labels: &BTreeMap<String, String> = &nodegroup.map_or(&cluster.labels, |n| &n.labels).0;
    let mut p = Params::default();

    base_parameters(&mut p, inputs, inputs.openstack_ca.clone());

    // network
    let external = inputs.cloud.external_network_id.trim();
    if external.is_empty() {
        return Err(DriverError::Invalid(
            "The cluster template's external_network_id is required for Kubernetes clusters."
                .to_owned(),
        ));
    }
    p.set("external_network", external);
    let (fixed_network, fixed_subnet) = match &inputs.existing {
        Some(e) if nodegroup.is_some() => {
            (Some(e.fixed_network.clone()), Some(e.fixed_subnet.clone()))
        }
        _ => (
            inputs
                .cloud
                .fixed_network
                .as_ref()
                .map(|(id, _)| id.clone()),
            inputs.cloud.fixed_subnet.as_ref().map(|(id, _)| id.clone()),
        ),
    };
    p.set_some("fixed_network", fixed_network);
    p.set_some("fixed_subnet", fixed_subnet);
    let network_name = match &inputs.cloud.fixed_network {
        Some((_, name)) if !name.is_empty() => name.clone(),
        _ => cluster
            .name
            .clone()
            .unwrap_or_else(|| cluster.uuid.to_string()),
    };
    p.set("fixed_network_name", network_name);
    let subnet_cidr = match &inputs.cloud.fixed_subnet {
        Some((_, cidr)) if !cidr.is_empty() => cidr.clone(),
        _ => cluster
            .labels
            .0
            .get("fixed_subnet_cidr")
            .cloned()
            .unwrap_or_else(|| DEFAULT_SUBNET_CIDR.to_owned()),
    };
    p.set("fixed_subnet_cidr", subnet_cidr.as_str());
    if let Some(no_proxy) = &ct.no_proxy {
        p.set("no_proxy", format!("{no_proxy},{subnet_cidr}"));
    }

    // cluster template
    p.set_some("network_driver", ct.network_driver.clone());
    p.set_some("volume_driver", ct.volume_driver.clone());
    p.set("tls_disabled", ct.tls_disabled);
    p.set("registry_enabled", ct.registry_enabled);
    p.set_some("insecure_registry_url", ct.insecure_registry.clone());
    p.set_some("docker_storage_driver", ct.docker_storage_driver.clone());
    p.set("cluster_uuid", cluster.uuid.to_string());
    p.set_some("kube_version", cluster.coe_version.clone());

    // node groups (the worker's docker_volume_size is overridden by the master's, as upstream)
    let master = inputs.master;
    p.set("number_of_minions", worker.node_count);
    p.set_some(
        "minion_flavor",
        worker.flavor_id.clone().or(cluster.flavor_id.clone()),
    );
    p.set_some(
        "minion_image",
        worker.image_id.clone().or(ct.image_id.clone()),
    );
    p.set("worker_role", worker.role.as_str());
    p.set("worker_nodegroup_name", worker.name.as_str());
    p.set_some("docker_volume_size", worker.docker_volume_size);
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
    p.set("master_role", master.role.as_str());
    p.set("master_nodegroup_name", master.name.as_str());
    if nodegroup.is_none() {
        p.set_some("docker_volume_size", master.docker_volume_size);
    }

    p.set("discovery_url", inputs.discovery_url.as_str());
    p.set("magnum_url", with_suffix(&inputs.magnum_url, "/v1"));
    if ct.tls_disabled {
        p.set("loadbalancing_protocol", "HTTP");
        p.set("kubernetes_port", 8080);
    }
    p.set("octavia_enabled", inputs.cloud.octavia_enabled);
    p.set_some(
        "portal_network_cidr",
        cluster.labels.0.get("service_cluster_ip_range").cloned(),
    );

    p.labels(labels, PASSED_LABELS);

    let ingress = cluster
        .labels
        .0
        .get("ingress_controller")
        .map(|s| s.to_lowercase())
        .unwrap_or_default();
    if ingress == "octavia" && !inputs.cloud.octavia_enabled {
        return Err(DriverError::Invalid(
            "Octavia service needs to be deployed for octavia ingress controller.".to_owned(),
        ));
    }
    p.set("ingress_controller", ingress);
    if ct.registry_enabled {
        p.set("swift_region", inputs.region_name.as_str());
        p.set("registry_container", DEFAULT_REGISTRY_CONTAINER);
    }
    let kube_tag = labels
        .get("kube_tag")
        .or_else(|| ct.labels.0.get("kube_tag"));
    if let Some(tag) = kube_tag {
        for key in [
            "kube_tag",
            "kube_version",
            "master_kube_tag",
            "minion_kube_tag",
        ] {
            p.set(key, tag.as_str());
        }
    }
    if let Some(cidrs) = labels
        .get("master_lb_allowed_cidrs")
        .filter(|c| !c.is_empty())
    {
        p.set("master_lb_allowed_cidrs", format!("{cidrs},{subnet_cidr}"));
    }

    // Fedora / Fedora CoreOS additions
    p.set("username", inputs.username.as_str());
    p.set("region_name", inputs.region_name.as_str());
    volumes(&mut p, inputs, labels, worker);
    p.set(
        "nodes_affinity_policy",
        inputs.nodes_affinity_policy.as_str(),
    );
    let pods_cidr = match ct.network_driver.as_deref() {
        Some("calico") => cluster.labels.0.get("calico_ipv4pool"),
        _ => cluster.labels.0.get("flannel_network_cidr"),
    };
    p.set(
        "pods_network_cidr",
        pods_cidr.map_or(DEFAULT_PODS_CIDR, String::as_str),
    );
    cloud_provider(&mut p, inputs)?;
    let (public, private) = &inputs.service_account_keys;
    p.set("kube_service_account_key", escape_newlines(public));
    p.set("kube_service_account_private_key", escape_newlines(private));
    p.set("project_id", cluster.project_id.to_string());
    p.set("post_install_manifest_url", "");
    if !labels.contains_key("max_node_count") {
        p.set("max_node_count", worker.node_count + 1);
    }
    // cert_manager_api travels with the labels; the conductor adds ca_key (the decrypted
    // cluster CA key), which drivers never see: `drivers::insert_ca_key`.
    if labels
        .get("keystone_auth_enabled")
        .is_none_or(|v| is_true(v))
    {
        p.set(
            "keystone_auth_default_policy",
            KEYSTONE_AUTH_DEFAULT_POLICY.replace("$PROJECT_ID", &cluster.project_id.to_string()),
        );
    }

    if let Some(ng) = nodegroup {
        let Some(existing) = &inputs.existing else {
            return Err(DriverError::Invalid(format!(
                "Node group {} needs the cluster stack's network, security group and API address.",
                ng.name
            )));
        };
        p.set("is_cluster_stack", false);
        p.set(
            "existing_master_private_ip",
            existing.master_private_ip.as_str(),
        );
        p.set("existing_security_group", existing.security_group.as_str());
    } else {
        p.set("is_cluster_stack", true);
    }
    Ok(p)
}

/// Volume types and the boot volume (`_set_volumes` upstream): a label names the type, else
/// `[cinder]`'s default or Cinder's first type (the cloud facts); no volume, no type.
fn volumes(
    p: &mut Params,
    inputs: &StackInputs<'_>,
    labels: &BTreeMap<String, String>,
    worker: &NodeGroup,
) {
    let cluster_labels = &inputs.cluster.labels.0;
    let size_of = |key: &str| -> i64 {
        labels
            .get(key)
            .or_else(|| cluster_labels.get(key))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    let defaults = &inputs.cloud.default_volume_types;
    let type_if = |size: i64, key: &str, default: &str| -> String {
        if size > 0 {
            labels
                .get(key)
                .cloned()
                .unwrap_or_else(|| default.to_owned())
        } else {
            String::new()
        }
    };
    let docker_size = i64::from(
        worker
            .docker_volume_size
            .or(inputs.cluster.docker_volume_size)
            .unwrap_or(0),
    );
    p.set(
        "docker_volume_type",
        type_if(docker_size, "docker_volume_type", &defaults.docker),
    );
    p.set(
        "etcd_volume_type",
        type_if(
            size_of("etcd_volume_size"),
            "etcd_volume_type",
            &defaults.etcd,
        ),
    );
    let boot = size_of("boot_volume_size");
    p.set("boot_volume_size", boot);
    p.set(
        "boot_volume_type",
        type_if(boot, "boot_volume_type", &defaults.boot),
    );
}

/// `cloud_provider_enabled`: the label, by default `[trust] cluster_user_trust` (which the
/// conductor expresses by passing the trust id).
fn cloud_provider(p: &mut Params, inputs: &StackInputs<'_>) -> Result<(), DriverError> {
    let user_trust = !inputs.trust.trust_id.is_empty();
    let enabled =
        label_bool(&inputs.cluster.labels.0, "cloud_provider_enabled").unwrap_or(user_trust);
    if enabled && !user_trust {
        return Err(DriverError::Invalid(
            "\"cluster_user_trust\" must be set to True in magnum.conf when \
             \"cloud_provider_enabled\" label is set to true."
                .to_owned(),
        ));
    }
    if inputs.template.volume_driver.as_deref() == Some("cinder") && !enabled {
        return Err(DriverError::Invalid(
            "\"cinder\" volume driver needs \"cloud_provider_enabled\" label to be true or unset."
                .to_owned(),
        ));
    }
    p.set("cloud_provider_enabled", Value::Bool(enabled));
    Ok(())
}
