//! Subresources: `status` (the kubelet's and controllers' writes), `scale` (`kubectl scale`),
//! pods' `binding` (the scheduler) and `eviction` (`kubectl drain`).

use actix_web::HttpResponse;
use serde_json::{Value, json};

use super::State;
use super::call::{Call, Target, json_response};
use super::defaults::{now, on_update};
use super::ops::patch_body;
use super::patch;
use super::resources::{Resource, by_name};
use super::selectors::LabelSelector;
use super::status::{ApiError, success};
use super::store::version_of;

fn check_version(t: &Target, old: &Value, given: &Value) -> Result<(), ApiError> {
    match version_of(given) {
        Some(v) if Some(v) != version_of(old) => Err(ApiError::conflict(t.res, t.name())),
        _ => Ok(()),
    }
}

/// PUT (`patch` None) or PATCH of `.../status`: only the status changes.
pub async fn write_status(
    state: &State,
    call: &Call,
    is_patch: bool,
) -> Result<HttpResponse, ApiError> {
    let t = &call.target;
    let (kind, body) = if is_patch {
        let (k, b) = patch_body(call)?;
        (Some(k), b)
    } else {
        (None, call.json_body()?)
    };
    let updated = state
        .store
        .update(t.res, t.ns.as_deref(), t.name(), |old| {
            let given = match kind {
                Some(k) => {
                    let mut patched = old.clone();
                    patch::apply(k, &mut patched, &body)
                        .map_err(|e| ApiError::bad_request(e.to_string()))?;
                    patched
                }
                None => body.clone(),
            };
            check_version(t, &old, &given)?;
            let mut new = old.clone();
            new["status"] = given.get("status").cloned().unwrap_or(json!({}));
            Ok(new)
        })
        .await?;
    Ok(json_response(200, &updated))
}

fn selector_text(res: &Resource, obj: &Value) -> String {
    let pointer = if res.name == "replicationcontrollers" {
        "/spec/selector"
    } else {
        "/spec/selector/matchLabels"
    };
    obj.pointer(pointer)
        .and_then(Value::as_object)
        .map(|m| LabelSelector::from_map(m).to_text())
        .unwrap_or_default()
}

/// The autoscaling/v1 Scale of a workload.
pub fn scale_of(res: &Resource, obj: &Value) -> Value {
    let meta = |k: &str| {
        obj.pointer(&format!("/metadata/{k}"))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let mut metadata = json!({"name": meta("name"), "uid": meta("uid"),
        "resourceVersion": meta("resourceVersion"), "creationTimestamp": meta("creationTimestamp")});
    if res.namespaced {
        metadata["namespace"] = meta("namespace");
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)},
        "status": {
            "replicas": obj.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
            "selector": selector_text(res, obj),
        },
    })
}

/// GET, PUT or PATCH of `.../scale`.
pub async fn scale(state: &State, call: &Call, method: &str) -> Result<HttpResponse, ApiError> {
    let t = &call.target;
    if method == "GET" {
        let obj = state.store.get(t.res, t.ns.as_deref(), t.name()).await?;
        return Ok(json_response(200, &scale_of(t.res, &obj)));
    }
    let patch = if method == "PATCH" {
        Some(patch_body(call)?)
    } else {
        None
    };
    let put = if method == "PUT" {
        Some(call.json_body()?)
    } else {
        None
    };
    let updated = state
        .store
        .update(t.res, t.ns.as_deref(), t.name(), |old| {
            let mut wanted = scale_of(t.res, &old);
            if let Some((kind, body)) = &patch {
                patch::apply(*kind, &mut wanted, body)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
            }
            if let Some(body) = &put {
                wanted = body.clone();
            }
            check_version(t, &old, &wanted)?;
            let replicas = wanted
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if replicas < 0 {
                return Err(ApiError::invalid(
                    t.res,
                    t.name(),
                    "spec.replicas: Invalid value: must be greater than or equal to 0",
                ));
            }
            let mut new = old.clone();
            new["spec"]["replicas"] = json!(replicas);
            on_update(t.res, &old, &mut new)?;
            Ok(new)
        })
        .await?;
    Ok(json_response(200, &scale_of(t.res, &updated)))
}

/// Binds pod `name` in `ns` to `node` (what the scheduler does).
async fn bind(state: &State, ns: &str, name: &str, node: &str) -> Result<(), ApiError> {
    let pods = by_name("pods").ok_or_else(|| ApiError::internal("no pods"))?;
    if node.is_empty() {
        return Err(ApiError::invalid(pods, name, "target.name: Required value"));
    }
    state
        .store
        .update(pods, Some(ns), name, |mut pod| {
            let current = pod.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or_default();
            if !current.is_empty() {
                return Err(ApiError::conflict_msg(pods, name, &format!("pod {name} is already assigned to node \"{current}\"")));
            }
            pod["spec"]["nodeName"] = json!(node);
            if !pod.get("status").is_some_and(Value::is_object) {
                pod["status"] = json!({});
            }
            let conds = pod["status"]
                .as_object_mut()
                .map(|s| s.entry("conditions").or_insert(json!([])));
            if let Some(Value::Array(list)) = conds {
                list.retain(|c| c.get("type").and_then(Value::as_str) != Some("PodScheduled"));
                list.push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now()}));
            }
            Ok(pod)
        })
        .await?;
    Ok(())
}

/// POST `pods/{name}/binding` or `namespaces/{ns}/bindings`.
pub async fn binding(state: &State, call: &Call) -> Result<HttpResponse, ApiError> {
    let body = call.json_body()?;
    let t = &call.target;
    let ns = t.ns.clone().unwrap_or_default();
    let name = match t.name.as_deref() {
        Some(n) => n.to_string(),
        None => body
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    };
    let node = body
        .pointer("/target/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    bind(state, &ns, &name, node).await?;
    let mut ok = success(None);
    ok["code"] = json!(201);
    Ok(json_response(201, &ok))
}

/// POST `pods/{name}/eviction`: the pod is deleted at once (no disruption budgets enforced).
pub async fn eviction(state: &State, call: &Call) -> Result<HttpResponse, ApiError> {
    let t = &call.target;
    state
        .store
        .delete(t.res, t.ns.as_deref(), t.name(), None)
        .await?;
    let mut ok = success(Some(json!({"name": t.name(), "kind": "pods"})));
    ok["code"] = json!(201);
    Ok(json_response(201, &ok))
}

/// GET `pods/{name}/log`: there is never a log, since no container ever starts; answered
/// as Kubernetes answers for a container still waiting.
pub async fn log(state: &State, call: &Call) -> Result<HttpResponse, ApiError> {
    let t = &call.target;
    let pod = state.store.get(t.res, t.ns.as_deref(), t.name()).await?;
    let first = pod
        .pointer("/spec/containers/0/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let container = call.q("container").unwrap_or(first);
    Err(ApiError::bad_request(format!(
        "container \"{container}\" in pod \"{}\" is waiting to start: {}",
        t.name(),
        crate::kubelet::NO_CONTAINERS
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::resources::find;

    #[test]
    fn scale_objects() {
        let deploy = find("apps", "v1", "deployments").unwrap();
        let d = json!({"metadata": {"name": "web", "namespace": "default", "resourceVersion": "12", "uid": "u"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}}, "status": {"replicas": 2}});
        let s = scale_of(deploy, &d);
        assert_eq!(s["spec"]["replicas"], 2);
        assert_eq!(s["status"]["selector"], "app=web");
        assert_eq!(s["metadata"]["resourceVersion"], "12");
        let rc = find("", "v1", "replicationcontrollers").unwrap();
        let r = json!({"metadata": {"name": "r"}, "spec": {"selector": {"app": "x"}}});
        assert_eq!(scale_of(rc, &r)["status"]["selector"], "app=x");
        assert_eq!(scale_of(rc, &r)["spec"]["replicas"], 1);
    }
}
