//! PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and strategic merge
//! patch, which `kubectl apply`, `cordon`, `label` and `scale` send. The stand-in has no Go
//! structs to read patch strategies from, so lists merge by key for the well-known fields
//! (containers by name, ports by port, ...) and are replaced otherwise; the `$patch`,
//! `$retainKeys`, `$setElementOrder` and `$deleteFromPrimitiveList` directives are honoured.

use serde_json::{Map, Value};

/// A patch that cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The body is not a patch of the announced type.
    #[error("invalid patch: {0}")]
    Invalid(String),
    /// A JSON patch operation failed (a `test` that did not hold, a missing path).
    #[error("the JSON patch could not be applied: {0}")]
    Failed(String),
}

/// The patch types kubectl sends, by their Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/json-patch+json`.
    Json,
}

impl PatchKind {
    /// The patch type for a Content-Type header, if one the stand-in applies.
    pub fn from_content_type(ct: &str) -> Option<PatchKind> {
        match ct.split(';').next().unwrap_or_default().trim() {
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/strategic-merge-patch+json" => Some(PatchKind::Strategic),
            "application/json-patch+json" => Some(PatchKind::Json),
            _ => None,
        }
    }
}

/// Applies `patch` of type `kind` to `target`.
pub fn apply(kind: PatchKind, target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    match kind {
        PatchKind::Merge => {
            if !patch.is_object() {
                return Err(PatchError::Invalid(
                    "a merge patch must be an object".into(),
                ));
            }
            json_patch::merge(target, patch);
            Ok(())
        }
        PatchKind::Strategic => {
            let Value::Object(p) = patch else {
                return Err(PatchError::Invalid(
                    "a strategic merge patch must be an object".into(),
                ));
            };
            strategic(target, p);
            Ok(())
        }
        PatchKind::Json => {
            let ops: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| PatchError::Invalid(e.to_string()))?;
            json_patch::patch(target, &ops).map_err(|e| PatchError::Failed(e.to_string()))
        }
    }
}

/// The key that list elements of `field` merge on, judged from the patch's elements.
fn merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    let has = |k: &str| {
        items
            .iter()
            .filter(|i| i.get("$patch").is_none() || i.get(k).is_some())
            .all(|i| i.get(k).is_some())
            && !items.is_empty()
    };
    let key = match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "hostAliases" => "ip",
        "conditions" | "addresses" => "type",
        "ownerReferences" => "uid",
        "topologySpreadConstraints" => "topologyKey",
        "ports" if has("containerPort") => "containerPort",
        "ports" => "port",
        _ => return None,
    };
    has(key).then_some(key)
}

/// Removes `$...` directives, recursively.
fn clean(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), clean(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .filter(|i| i.get("$patch").is_none_or(|p| p != "delete"))
                .map(clean)
                .collect(),
        ),
        other => other.clone(),
    }
}

fn strategic(target: &mut Value, patch: &Map<String, Value>) {
    if patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = clean(&Value::Object(patch.clone()));
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(obj) = target else { return };
    let mut orders = Vec::new();
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix("$setElementOrder/") {
            orders.push((field.to_string(), value));
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Value::Array(gone)) = (obj.get_mut(field), value) {
                list.retain(|x| !gone.contains(x));
            }
            continue;
        }
        if key.starts_with('$') {
            continue;
        }
        match value {
            Value::Null => {
                obj.remove(key);
            }
            Value::Object(p) if p.get("$patch").and_then(Value::as_str) == Some("delete") => {
                obj.remove(key);
            }
            Value::Object(p) => strategic(obj.entry(key.clone()).or_insert(Value::Null), p),
            Value::Array(items) => merge_list(obj, key, items),
            other => {
                obj.insert(key.clone(), other.clone());
            }
        }
    }
    for (field, order) in orders {
        reorder(obj, &field, order);
    }
    if let Some(Value::Array(keep)) = patch.get("$retainKeys") {
        obj.retain(|k, _| keep.iter().any(|x| x == k));
    }
}

fn merge_list(obj: &mut Map<String, Value>, field: &str, items: &[Value]) {
    let replace = items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"));
    let key = merge_key(field, items);
    let Some(key) = key.filter(|_| !replace) else {
        let kept: Vec<Value> = items
            .iter()
            .filter(|i| i.get("$patch").is_none())
            .map(clean)
            .collect();
        if field == "finalizers" && !replace {
            let list = obj
                .entry(field.to_string())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = list {
                for f in kept {
                    if !list.contains(&f) {
                        list.push(f);
                    }
                }
                return;
            }
        }
        obj.insert(field.to_string(), Value::Array(kept));
        return;
    };
    let list = obj
        .entry(field.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    let Value::Array(list) = list else { return };
    for item in items {
        let id = item.get(key);
        let pos = list.iter().position(|x| x.get(key) == id);
        if item.get("$patch").and_then(Value::as_str) == Some("delete") {
            list.retain(|x| x.get(key) != id);
            continue;
        }
        match (pos, item) {
            (Some(i), Value::Object(p)) => strategic(&mut list[i], p),
            _ => list.push(clean(item)),
        }
    }
}

/// Orders a merged list as `$setElementOrder` says; elements it does not name go last.
fn reorder(obj: &mut Map<String, Value>, field: &str, order: &Value) {
    let (Some(Value::Array(list)), Value::Array(order)) = (obj.get_mut(field), order) else {
        return;
    };
    let Some(key) = order
        .first()
        .and_then(Value::as_object)
        .and_then(|o| o.keys().next().cloned())
    else {
        return;
    };
    let rank = |x: &Value| {
        order
            .iter()
            .position(|o| o.get(&key) == x.get(&key))
            .unwrap_or(usize::MAX)
    };
    list.sort_by_key(|x| rank(x));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy() -> Value {
        json!({"metadata": {"name": "web", "labels": {"app": "web"}},
          "spec": {"replicas": 1,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
            "template": {"spec": {"containers": [
              {"name": "nginx", "image": "nginx:1.24", "ports": [{"containerPort": 80}]},
              {"name": "side", "image": "busybox"}]}}}})
    }

    #[test]
    fn merge_patch_rfc7386() {
        let mut d = deploy();
        apply(
            PatchKind::Merge,
            &mut d,
            &json!({"spec": {"replicas": 3}, "metadata": {"labels": {"app": null, "x": "y"}}}),
        )
        .unwrap();
        assert_eq!(d["spec"]["replicas"], 3);
        assert_eq!(d["metadata"]["labels"], json!({"x": "y"}));
        assert!(apply(PatchKind::Merge, &mut d, &json!([1])).is_err());
    }

    #[test]
    fn strategic_merges_containers_by_name() {
        let mut d = deploy();
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "side"}, {"name": "nginx"}],
            "containers": [{"name": "nginx", "image": "nginx:1.25"}]}}}});
        apply(PatchKind::Strategic, &mut d, &patch).unwrap();
        let c = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(c[1]["image"], "nginx:1.25");
        assert_eq!(c[1]["ports"][0]["containerPort"], 80);
        assert_eq!(c[0]["name"], "side");
        assert!(
            d["spec"]["template"]["spec"]
                .get("$setElementOrder/containers")
                .is_none()
        );
    }

    #[test]
    fn strategic_directives() {
        let mut d = deploy();
        let patch = json!({"spec": {
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            "template": {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}}},
            "metadata": {"finalizers": ["a"], "labels": {"$patch": "replace", "new": "1"}}});
        apply(PatchKind::Strategic, &mut d, &patch).unwrap();
        assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(d["metadata"]["labels"], json!({"new": "1"}));
        assert_eq!(d["metadata"]["finalizers"], json!(["a"]));
        let unschedulable = json!({"spec": {"unschedulable": true}});
        apply(PatchKind::Strategic, &mut d, &unschedulable).unwrap();
        assert_eq!(d["spec"]["unschedulable"], true);
        let args = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "nginx", "args": ["a", "b"]}]}}}});
        apply(PatchKind::Strategic, &mut d, &args).unwrap();
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["args"],
            json!(["a", "b"])
        );
    }

    #[test]
    fn service_ports_merge_on_port_and_json_patch() {
        let mut s = json!({"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}});
        apply(
            PatchKind::Strategic,
            &mut s,
            &json!({"spec": {"ports": [{"port": 443, "targetPort": 8443}]}}),
        )
        .unwrap();
        assert_eq!(
            s["spec"]["ports"][1],
            json!({"port": 443, "name": "https", "targetPort": 8443})
        );
        apply(
            PatchKind::Json,
            &mut s,
            &json!([{"op": "replace", "path": "/spec/ports/0/port", "value": 81}]),
        )
        .unwrap();
        assert_eq!(s["spec"]["ports"][0]["port"], 81);
        assert!(
            apply(
                PatchKind::Json,
                &mut s,
                &json!([{"op": "test", "path": "/spec/ports/0/port", "value": 1}])
            )
            .is_err()
        );
        assert!(apply(PatchKind::Json, &mut s, &json!({"op": "x"})).is_err());
        assert_eq!(
            PatchKind::from_content_type("application/merge-patch+json; charset=utf-8"),
            Some(PatchKind::Merge)
        );
        assert_eq!(
            PatchKind::from_content_type("application/apply-patch+yaml"),
            None
        );
    }
}
