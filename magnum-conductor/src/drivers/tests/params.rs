//! What the drivers send Heat and read back: stack parameters from the cluster and template,
//! scale and removal parameters, upgrade refusals, and outputs mapped onto Magnum's fields.

use serde_json::{Map, Value, json};

use super::fixtures::Fixture;
use crate::drivers::Registry;
use magnum_common::status::Coe;

fn registry() -> Registry {
    Registry::from_config("").unwrap()
}

fn outputs(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[test]
fn k8s_cluster_stack_carries_counts_flavors_image_and_trust() {
    let r = registry();
    let f = Fixture::new(Coe::Kubernetes);
    let d = r.get("k8s_fedora_coreos_v1").unwrap();
    let s = d.cluster_stack(&f.inputs()).unwrap();
    let p = &s.parameters;
    assert_eq!(p["number_of_masters"], json!(f.master.node_count));
    assert_eq!(p["number_of_minions"], json!(f.worker.node_count));
    assert_eq!(p["master_flavor"], json!(f.master.flavor_id));
    assert_eq!(p["minion_flavor"], json!(f.worker.flavor_id));
    assert_eq!(p["trust_id"], json!(f.trust.trust_id));
    assert_eq!(p["is_cluster_stack"], json!(true));
    // A CA rotation PATCHes this parameter, so the cluster template must declare it.
    assert!(
        s.template.contains("ca_rotation_id:"),
        "ca_rotation_id not declared"
    );
    // Every file the template references is shipped with it.
    for env in &s.environment_files {
        assert!(s.files.contains_key(env), "{env} missing from files");
    }
}

#[test]
fn k8s_scale_sends_minion_count_and_removals() {
    let r = registry();
    let f = Fixture::new(Coe::Kubernetes);
    let d = r.get("k8s_fedora_atomic_v1").unwrap();
    let p = d.scale_parameters(&f.worker, 2, &["srv-1".to_owned()]);
    assert_eq!(p["number_of_minions"], json!(2));
    assert_eq!(p["minions_to_remove"], json!(["srv-1"]));
    let p = d.scale_parameters(&f.worker, 5, &[]);
    assert_eq!(p["number_of_minions"], json!(5));
    assert!(!p.contains_key("minions_to_remove"));
}

#[test]
fn swarm_scale_sends_node_count_and_removals() {
    let r = registry();
    let f = Fixture::new(Coe::SwarmMode);
    let d = r.get("swarm_fedora_atomic_v2").unwrap();
    let p = d.scale_parameters(&f.worker, 1, &["srv-9".to_owned()]);
    assert_eq!(p["number_of_nodes"], json!(1));
    assert_eq!(p["nodes_to_remove"], json!(["srv-9"]));
    // Swarm clusters cannot be upgraded, as upstream.
    let err = d
        .upgrade_parameters(&f.inputs(), &f.template, 1)
        .unwrap_err();
    assert!(err.to_string().contains("not supported"), "{err}");
}

#[test]
fn k8s_outputs_map_to_addresses_and_versions() {
    let r = registry();
    let f = Fixture::new(Coe::Kubernetes);
    let d = r.get("k8s_fedora_coreos_v1").unwrap();
    let o = outputs(json!({
        "api_address": "172.24.0.5",
        "kube_masters": ["172.24.0.5"],
        "kube_masters_private": ["10.0.0.5"],
        "kube_minions": ["172.24.0.6", "172.24.0.7"],
        "kube_minions_private": ["10.0.0.6", "10.0.0.7"],
    }));
    let params =
        outputs(json!({"number_of_minions": "2", "number_of_masters": "1", "kube_tag": "v1.27.4"}));
    let mut cluster = f.cluster.clone();
    cluster.floating_ip_enabled = true;
    let out = d.outputs(&cluster, &f.template, &o, &params);
    assert_eq!(out.api_address.as_deref(), Some("https://172.24.0.5:6443"));
    assert_eq!(out.node_addresses, vec!["172.24.0.6", "172.24.0.7"]);
    assert_eq!(out.master_addresses, vec!["172.24.0.5"]);
    assert_eq!(out.node_count, Some(2));
    assert_eq!(out.master_count, Some(1));
    assert!(out.container_version.is_some());
    // Without floating IPs the private addresses are the ones shown.
    cluster.floating_ip_enabled = false;
    let out = d.outputs(&cluster, &f.template, &o, &params);
    assert_eq!(out.node_addresses, vec!["10.0.0.6", "10.0.0.7"]);
    assert_eq!(out.master_addresses, vec!["10.0.0.5"]);
}

#[test]
fn swarm_outputs_map_to_a_docker_address() {
    let r = registry();
    let f = Fixture::new(Coe::SwarmMode);
    let d = r.get("swarm_fedora_atomic_v2").unwrap();
    let o = outputs(json!({
        "api_address": "172.24.0.9",
        "swarm_primary_master": ["172.24.0.9"],
        "swarm_primary_master_private": ["10.0.0.9"],
        "swarm_secondary_masters": [],
        "swarm_secondary_masters_private": [],
        "swarm_nodes": ["172.24.0.10"],
        "swarm_nodes_private": ["10.0.0.10"],
    }));
    let params = outputs(json!({"number_of_nodes": 1, "number_of_masters": 1}));
    let mut cluster = f.cluster.clone();
    cluster.floating_ip_enabled = true;
    let out = d.outputs(&cluster, &f.template, &o, &params);
    assert_eq!(out.api_address.as_deref(), Some("tcp://172.24.0.9:2375"));
    assert_eq!(out.master_addresses, vec!["172.24.0.9"]);
    assert_eq!(out.node_addresses, vec!["172.24.0.10"]);
    assert_eq!(out.node_count, Some(1));
}

#[test]
fn nodegroup_stack_joins_the_cluster_stack() {
    let r = registry();
    let f = Fixture::new(Coe::Kubernetes);
    let d = r.get("k8s_fedora_coreos_v1").unwrap();
    let s = d.nodegroup_stack(&f.nodegroup_inputs()).unwrap();
    let p = &s.parameters;
    assert_eq!(p["is_cluster_stack"], json!(false));
    assert_eq!(p["number_of_minions"], json!(f.extra.node_count));
    assert!(
        p["existing_master_private_ip"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{p:?}"
    );
    assert!(
        p["existing_security_group"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{p:?}"
    );
}

#[test]
fn k8s_nodes_boot_from_their_user_data_and_signal_a_wait_condition() {
    let r = registry();
    let f = Fixture::new(Coe::Kubernetes);
    for driver in ["k8s_fedora_atomic_v1", "k8s_fedora_coreos_v1"] {
        let s = r.get(driver).unwrap().cluster_stack(&f.inputs()).unwrap();
        for role in ["master", "minion"] {
            let node = format!("kubernetes/kube{role}.yaml");
            let boot = if driver == "k8s_fedora_coreos_v1" {
                format!("k8s_fedora_coreos_v1/user_data_{role}.json")
            } else {
                format!("k8s_fedora_atomic_v1/user_data_{role}.yaml")
            };
            assert!(s.files.contains_key(&boot), "{driver}: {boot} not shipped");
            let t = &s.files[&node];
            // no heat-container-agent on the nodes: nothing may wait for one
            assert!(
                !t.contains("SoftwareDeployment") && !t.contains("SOFTWARE_CONFIG"),
                "{driver} {node} needs an agent"
            );
            // both server variants (image, boot volume) boot from the same user data
            assert_eq!(
                t.matches("user_data_format: RAW").count(),
                2,
                "{driver} {node}"
            );
            let boot_file = format!("{{get_file: {boot}}}");
            assert_eq!(t.matches(&boot_file).count(), 2, "{driver} {node}");
            assert!(
                t.contains("type: OS::Heat::WaitCondition\n"),
                "{driver} {node}"
            );
            assert!(t.contains("timeout: {get_param: wait_condition_timeout}"));
        }
    }
}

/// Nova takes at most 65535 bytes of base64'd user data: what a node's user data holds before
/// Heat fills in its parameters must leave room for them.
const USER_DATA_ROOM: usize = 65535 / 4 * 3 - 12 * 1024;

/// The bootstrap script a node's user data carries (gzip'd, base64): the fragments in order,
/// node-boot.sh first, the role's bootstrap last.
fn bootstrap_in(b64: &str, role: &str) -> String {
    use base64::Engine as _;
    use std::io::Read as _;
    let gz = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .unwrap();
    let mut body = String::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_string(&mut body)
        .unwrap();
    assert!(body.starts_with("#!/bin/bash\n"), "{role}");
    assert!(body.contains("\n@@HEAT_PARAMS_JSON@@\n"), "{role}");
    let templates = crate::drivers::Templates::load(None).unwrap();
    let last = templates
        .source(&format!("kubernetes/fragments/bootstrap-{role}.sh"))
        .unwrap();
    assert!(body.ends_with(last), "{role}");
    body
}

#[test]
fn k8s_user_data_fits_in_nova_with_room_for_the_parameters() {
    let r = registry();
    let f = Fixture::new(Coe::Kubernetes);
    let s = r
        .get("k8s_fedora_atomic_v1")
        .unwrap()
        .cluster_stack(&f.inputs())
        .unwrap();
    for role in ["master", "minion"] {
        let text = &s.files[&format!("k8s_fedora_atomic_v1/user_data_{role}.yaml")];
        assert!(text.starts_with("#cloud-config\n"), "{text}");
        assert!(
            text.len() < USER_DATA_ROOM,
            "atomic {role}: {} bytes",
            text.len()
        );
        let config: serde_json::Value = yaml_serde::from_str(text).unwrap();
        let files = config["write_files"].as_array().unwrap();
        assert_eq!(files[0]["path"], "/etc/sysconfig/heat-params.json");
        assert_eq!(files[0]["permissions"], "0600");
        assert_eq!(files[0]["content"], "@@HEAT_PARAMS_JSON@@\n");
        assert_eq!(files[1]["encoding"], "gz+b64");
        let body = bootstrap_in(files[1]["content"].as_str().unwrap(), role);
        assert!(body.len() > 10_000, "{role}");
        assert_eq!(config["runcmd"][0][0], "/usr/local/bin/magnum-bootstrap");
    }
    let s = r
        .get("k8s_fedora_coreos_v1")
        .unwrap()
        .cluster_stack(&f.inputs())
        .unwrap();
    for role in ["master", "minion"] {
        let text = &s.files[&format!("k8s_fedora_coreos_v1/user_data_{role}.json")];
        assert!(
            text.len() < USER_DATA_ROOM,
            "coreos {role}: {} bytes",
            text.len()
        );
        let ignition: Value = serde_json::from_str(text).unwrap();
        assert!(
            ignition["ignition"]["version"]
                .as_str()
                .is_some_and(|v| v.starts_with("3."))
        );
        let files = ignition["storage"]["files"].as_array().unwrap();
        let script = files
            .iter()
            .find(|f| f["path"] == "/usr/local/bin/magnum-bootstrap")
            .unwrap();
        assert_eq!(script["contents"]["compression"], "gzip");
        let url = script["contents"]["source"].as_str().unwrap();
        bootstrap_in(url.strip_prefix("data:;base64,").unwrap(), role);
        let params = files
            .iter()
            .find(|f| f["path"] == "/etc/sysconfig/heat-params.json")
            .unwrap();
        assert_eq!(params["contents"]["source"], "data:,__HEAT_PARAMS__");
        assert_eq!(params["mode"], 0o600);
    }
}
