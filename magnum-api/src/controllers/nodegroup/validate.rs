//! The rules a node group must satisfy, whether created or patched: node count
//! bounds, node labels and taints (409 NodeGroupInvalidInput, upstream's messages).

use magnum_common::db::models::nodegroup::{NodeGroup, Taint};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

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
pub(super) fn parse_taints(name: &str, v: &Value) -> ApiResult<Vec<Taint>> {
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
