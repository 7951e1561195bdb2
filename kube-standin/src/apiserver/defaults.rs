//! What the apiserver fills in on create and keeps on update, as Kubernetes does: uid,
//! creation time, generation, services' cluster IPs and node ports, pods' initial status,
//! workloads' status (no controller runs pods, so replicas are counted but never ready).

use serde_json::{Map, Value, json};

use super::resources::Resource;
use super::services::{self, ServiceNet};
use super::status::ApiError;
use super::store::Store;

/// Now, as Kubernetes writes times (RFC 3339, seconds, UTC).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Whether `name` is a valid object name for `res`.
pub fn check_name(res: &Resource, name: &str) -> Result<(), ApiError> {
    let fail = |why: &str| {
        Err(ApiError::invalid(
            res,
            name,
            &format!("metadata.name: Invalid value: \"{name}\": {why}"),
        ))
    };
    if res.group == "rbac.authorization.k8s.io" {
        if name.contains(['/', '%']) || name == "." || name == ".." {
            return fail("may not contain '/' or '%' and may not be '.' or '..'");
        }
        return Ok(());
    }
    let label_only = matches!(res.name, "namespaces" | "services");
    let max = if label_only { 63 } else { 253 };
    let ok_chars = name.chars().all(|c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (c == '.' && !label_only)
    });
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.len() > max || !ok_chars || !ends(name.chars().next()) || !ends(name.chars().last()) {
        return fail(&format!(
            "a lowercase RFC 1123 {} must consist of lower case alphanumeric characters, '-'{}, and must start and end with an alphanumeric character",
            if label_only { "label" } else { "subdomain" },
            if label_only { "" } else { " or '.'" }
        ));
    }
    Ok(())
}

/// The object at `v[key]`, made an empty one if it is not an object.
pub fn obj_mut<'a>(v: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !v.get(key).is_some_and(Value::is_object) {
        v[key] = json!({});
    }
    match v.get_mut(key) {
        Some(Value::Object(m)) => m,
        _ => unreachable!("just made an object"),
    }
}

/// Fills in a new object before it is stored.
pub async fn on_create(
    store: &Store,
    net: &ServiceNet,
    res: &Resource,
    obj: &mut Value,
) -> Result<(), ApiError> {
    let meta = obj_mut(obj, "metadata");
    meta.remove("resourceVersion");
    meta.remove("deletionTimestamp");
    meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), json!(now()));
    if res.generation {
        meta.insert("generation".into(), json!(1));
    }
    match res.name {
        "pods" => pod(obj),
        "services" => services::on_create(store, net, res, obj).await?,
        "namespaces" => {
            obj_mut(obj, "spec")
                .entry("finalizers")
                .or_insert(json!(["kubernetes"]));
            obj["status"] = json!({"phase": "Active"});
        }
        "deployments"
        | "replicasets"
        | "statefulsets"
        | "replicationcontrollers"
        | "daemonsets" => {
            workload_spec(res, obj);
            obj["status"] = json!({});
            workload_status(res, obj);
        }
        _ => {}
    }
    Ok(())
}

/// The spec defaults `kubectl describe` shows (update strategies, history limits).
fn workload_spec(res: &Resource, obj: &mut Value) {
    let rolling = |extra: Value| {
        let mut s = json!({"type": "RollingUpdate"});
        s["rollingUpdate"] = extra;
        s
    };
    let defaults: Vec<(&str, Value)> = match res.name {
        "deployments" => vec![
            (
                "strategy",
                rolling(json!({"maxSurge": "25%", "maxUnavailable": "25%"})),
            ),
            ("revisionHistoryLimit", json!(10)),
            ("progressDeadlineSeconds", json!(600)),
        ],
        "daemonsets" => vec![
            ("updateStrategy", rolling(json!({"maxUnavailable": 1}))),
            ("revisionHistoryLimit", json!(10)),
        ],
        "statefulsets" => vec![
            ("updateStrategy", rolling(json!({"partition": 0}))),
            ("podManagementPolicy", json!("OrderedReady")),
            ("revisionHistoryLimit", json!(10)),
        ],
        _ => Vec::new(),
    };
    let spec = obj_mut(obj, "spec");
    for (k, v) in defaults {
        spec.entry(k).or_insert(v);
    }
}

fn pod(obj: &mut Value) {
    let spec = obj_mut(obj, "spec");
    for (k, v) in [
        ("restartPolicy", json!("Always")),
        ("dnsPolicy", json!("ClusterFirst")),
        ("schedulerName", json!("default-scheduler")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("serviceAccountName", json!("default")),
        ("enableServiceLinks", json!(true)),
    ] {
        spec.entry(k).or_insert(v);
    }
    if let Some(Value::Array(containers)) = spec.get_mut("containers") {
        for c in containers.iter_mut().filter_map(Value::as_object_mut) {
            let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
            let tagged = image
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains(':'));
            let policy = if !tagged || image.ends_with(":latest") {
                "Always"
            } else {
                "IfNotPresent"
            };
            c.entry("imagePullPolicy").or_insert(json!(policy));
            c.entry("terminationMessagePath")
                .or_insert(json!("/dev/termination-log"));
            c.entry("terminationMessagePolicy").or_insert(json!("File"));
        }
    }
    obj["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
}

/// Carries over what a write of the main resource may not change (identity, status, a
/// service's allocations) and counts spec changes in `metadata.generation`.
pub fn on_update(res: &Resource, old: &Value, new: &mut Value) -> Result<(), ApiError> {
    for key in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "generation",
    ] {
        match old.pointer(&format!("/metadata/{key}")) {
            Some(v) => {
                obj_mut(new, "metadata").insert(key.into(), v.clone());
            }
            None => {
                obj_mut(new, "metadata").remove(key);
            }
        }
    }
    if res.has_status() {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    if res.name == "services" {
        services::keep_allocations(res, old, new)?;
    }
    if res.generation && old.get("spec") != new.get("spec") {
        let generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        obj_mut(new, "metadata").insert("generation".into(), json!(generation + 1));
        workload_status(res, new);
    }
    Ok(())
}

/// A workload's status as its controller would write it with no pods ever running: desired
/// replicas counted as current and up to date, none ready or available.
pub fn workload_status(res: &Resource, obj: &mut Value) {
    let generation = obj
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    let replicas = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    if matches!(
        res.name,
        "deployments" | "replicasets" | "statefulsets" | "replicationcontrollers"
    ) {
        obj_mut(obj, "spec").entry("replicas").or_insert(json!(1));
    }
    let status = obj_mut(obj, "status");
    status.insert("observedGeneration".into(), generation);
    match res.name {
        "deployments" => {
            status.insert("replicas".into(), json!(replicas));
            status.insert("updatedReplicas".into(), json!(replicas));
            status.insert("unavailableReplicas".into(), json!(replicas));
        }
        "replicasets" | "replicationcontrollers" | "statefulsets" => {
            status.insert("replicas".into(), json!(replicas));
        }
        "daemonsets" => {
            for k in [
                "currentNumberScheduled",
                "desiredNumberScheduled",
                "numberMisscheduled",
                "numberReady",
            ] {
                status.entry(k).or_insert(json!(0));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::resources::find;

    #[test]
    fn names() {
        let pods = find("", "v1", "pods").unwrap();
        let ns = find("", "v1", "namespaces").unwrap();
        let roles = find("rbac.authorization.k8s.io", "v1", "clusterroles").unwrap();
        assert!(check_name(pods, "web-1.x").is_ok());
        assert!(check_name(pods, "Web").is_err());
        assert!(check_name(pods, "-web").is_err());
        assert!(check_name(ns, "a.b").is_err());
        assert!(check_name(roles, "system:node").is_ok());
        assert!(check_name(roles, "a/b").is_err());
    }

    #[test]
    fn updates_keep_identity_status_and_count_generations() {
        let deploy = find("apps", "v1", "deployments").unwrap();
        let old = json!({"metadata": {"name": "d", "uid": "u1", "generation": 1, "creationTimestamp": "t"},
            "spec": {"replicas": 1}, "status": {"replicas": 1}});
        let mut new = json!({"metadata": {"name": "d", "uid": "other"}, "spec": {"replicas": 3}, "status": {"replicas": 9}});
        on_update(deploy, &old, &mut new).unwrap();
        assert_eq!(new["metadata"]["uid"], "u1");
        assert_eq!(new["metadata"]["generation"], 2);
        assert_eq!(new["status"]["replicas"], 3);
        assert_eq!(new["status"]["observedGeneration"], 2);
    }
}
