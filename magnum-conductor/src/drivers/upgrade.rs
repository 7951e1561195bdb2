//! Cluster upgrade parameters of the Kubernetes drivers (spec §1.8).

use std::cmp::Ordering;

use magnum_common::db::models::cluster_template::ClusterTemplate;
use serde_json::{Map, Value};

use super::{DriverError, StackInputs};

/// The labels an upgrade can act on.
const UPGRADE_LABELS: [&str; 3] = ["kube_tag", "ostree_remote", "ostree_commit"];

/// Stack parameters that upgrade the node group of `inputs` (its `nodegroup`, else the default
/// workers, whose stack is the cluster stack) to the template `to`.
///
/// Refuses to downgrade any `*_tag`/`*_version` label the node group has ("Received invalid
/// tag for ...", upstream's InvalidVersion) and a template without kube_tag, ostree_commit or
/// ostree_remote (upstream's 409 InvalidClusterTemplateForUpgrade; here Invalid too, with its
/// message).
pub(crate) fn parameters(
    inputs: &StackInputs<'_>,
    to: &ClusterTemplate,
    max_batch_size: i32,
) -> Result<Map<String, Value>, DriverError> {
    let ng = inputs.nodegroup.unwrap_or(inputs.worker);
    let current = &ng.labels.0;
    for (label, new) in &to.labels.0 {
        if !(label.ends_with("_tag") || label.ends_with("_version")) {
            continue;
        }
        let Some(old) = current
            .get(label)
            .or_else(|| inputs.cluster.labels.0.get(label))
        else {
            continue;
        };
        if compare_versions(new, old) == Some(Ordering::Less) {
            return Err(DriverError::Invalid(format!(
                "Received invalid tag for {label}."
            )));
        }
    }

    let mut p = Map::new();
    p.insert(
        "update_max_batch_size".to_owned(),
        Value::from(max_batch_size),
    );
    if let Some(tag) = to.labels.0.get("kube_tag") {
        for key in [
            "kube_tag",
            "kube_version",
            "master_kube_tag",
            "minion_kube_tag",
        ] {
            p.insert(key.to_owned(), Value::from(tag.as_str()));
        }
    }
    // ostree_commit wins when both are given
    if let Some((key, value)) = ["ostree_commit", "ostree_remote"]
        .iter()
        .find_map(|k| to.labels.0.get(*k).map(|v| (*k, v)))
    {
        p.insert(key.to_owned(), Value::from(value.as_str()));
    }
    if !UPGRADE_LABELS.iter().any(|k| p.contains_key(*k)) {
        return Err(DriverError::Invalid(format!(
            "Cluster Template is not valid for upgrade: Cluster template {} does not contain any \
             supported upgrade labels: [{}]",
            to.name.clone().unwrap_or_else(|| to.uuid.to_string()),
            UPGRADE_LABELS.join(", ")
        )));
    }
    if let Some(ng) = inputs.nodegroup.filter(|n| !n.is_default) {
        p.insert("is_cluster_stack".to_owned(), Value::Bool(false));
        p.insert("worker_role".to_owned(), Value::from(ng.role.as_str()));
    }
    Ok(p)
}

/// Compares two version tags semantically (`v1.18.16`, `1.19`, `3.4.6-rc.1`): the numeric
/// release parts, missing parts counting as 0; a pre-release sorts before its release. None
/// when either is not a version (such tags are not compared, as upstream).
pub(crate) fn compare_versions(a: &str, b: &str) -> Option<Ordering> {
    let (ra, pa) = parse_version(a)?;
    let (rb, pb) = parse_version(b)?;
    let len = ra.len().max(rb.len());
    for i in 0..len {
        let (x, y) = (
            ra.get(i).copied().unwrap_or(0),
            rb.get(i).copied().unwrap_or(0),
        );
        match x.cmp(&y) {
            Ordering::Equal => {}
            other => return Some(other),
        }
    }
    Some(match (pa.is_empty(), pb.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => pa.cmp(pb),
    })
}

/// Release numbers and pre-release suffix (build metadata after `+` ignored).
fn parse_version(v: &str) -> Option<(Vec<u64>, &str)> {
    let v = v.trim().trim_start_matches(['v', 'V']);
    let v = v.split('+').next().unwrap_or(v);
    let end = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (release, rest) = v.split_at(end);
    if release.is_empty() || release.ends_with('.') {
        return None;
    }
    let parts = release
        .split('.')
        .map(|x| x.parse::<u64>().ok())
        .collect::<Option<Vec<_>>>()?;
    let pre = rest.trim_start_matches(['-', '.']);
    if !rest.is_empty() && !rest.starts_with(['-', '.']) && !rest.starts_with(char::is_alphabetic) {
        return None;
    }
    Some((parts, pre))
}
