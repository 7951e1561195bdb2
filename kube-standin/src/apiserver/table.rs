//! Server-side printing: `kubectl get` asks for a `meta.k8s.io` Table and prints its cells, so
//! the columns here are the ones kubectl users know (nodes' STATUS, pods' READY, ...).

use serde_json::{Value, json};

use super::columns::layout;
use super::resources::Resource;

/// What each row carries besides its cells (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    /// No object.
    None,
    /// Only the metadata (the default).
    Metadata,
    /// The whole object.
    Object,
}

impl Include {
    /// From the `includeObject` query parameter.
    pub fn parse(q: Option<&str>) -> Include {
        match q {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

fn row_object(obj: &Value, include: Include, meta_version: &str) -> Option<Value> {
    match include {
        Include::None => None,
        Include::Object => Some(obj.clone()),
        Include::Metadata => Some(json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": format!("meta.k8s.io/{meta_version}"),
            "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
        })),
    }
}

/// A Table of `objects` (`meta_version` is `v1` or `v1beta1`, as asked).
pub fn build(
    res: &Resource,
    objects: &[Value],
    include: Include,
    meta_version: &str,
    resource_version: Option<String>,
) -> Value {
    let (columns, cells) = layout(res);
    let defs: Vec<Value> = columns
        .iter()
        .map(|(name, ty, priority)| {
            json!({"name": name, "type": ty, "format": if *name == "Name" { "name" } else { "" },
                   "description": format!("{name} of the {}", res.kind), "priority": priority})
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = json!({"cells": cells(o)});
            if let Some(obj) = row_object(o, include, meta_version) {
                row["object"] = obj;
            }
            row
        })
        .collect();
    let mut metadata = json!({});
    if let Some(rv) = resource_version {
        metadata["resourceVersion"] = json!(rv);
    }
    json!({"kind": "Table", "apiVersion": format!("meta.k8s.io/{meta_version}"),
           "metadata": metadata, "columnDefinitions": defs, "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::columns::human_age;
    use crate::apiserver::resources::find;

    #[test]
    fn ages_like_kubernetes() {
        assert_eq!(human_age(45), "45s");
        assert_eq!(human_age(119), "119s");
        assert_eq!(human_age(303), "5m3s");
        assert_eq!(human_age(600), "10m");
        assert_eq!(human_age(3 * 3600 + 60), "3h1m");
        assert_eq!(human_age(20 * 3600), "20h");
        assert_eq!(human_age(2 * 86400 + 4 * 3600), "2d4h");
        assert_eq!(human_age(400 * 86400), "400d");
        assert_eq!(human_age(-5), "<invalid>");
    }

    #[test]
    fn node_rows() {
        let nodes = find("", "v1", "nodes").unwrap();
        let node = json!({"metadata": {"name": "n1", "creationTimestamp": defaults_now(),
            "labels": {"node-role.kubernetes.io/master": "", "kubernetes.io/hostname": "n1"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "Unknown"}], "nodeInfo": {"kubeletVersion": "v1.26.8"}}});
        let t = build(nodes, &[node], Include::Metadata, "v1", Some("5".into()));
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["columnDefinitions"][1]["name"], "Status");
        let cells = &t["rows"][0]["cells"];
        assert_eq!(cells[0], "n1");
        assert_eq!(cells[1], "NotReady,SchedulingDisabled");
        assert_eq!(cells[2], "master");
        assert_eq!(cells[4], "v1.26.8");
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["metadata"]["resourceVersion"], "5");
    }

    #[test]
    fn pod_service_deployment_rows() {
        let pods = find("", "v1", "pods").unwrap();
        let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Pending", "reason": "StandinDoesNotRunContainers"}});
        let t = build(pods, &[pod], Include::None, "v1", None);
        assert_eq!(t["rows"][0]["cells"][1], "0/1");
        assert_eq!(t["rows"][0]["cells"][2], "StandinDoesNotRunContainers");
        assert!(t["rows"][0].get("object").is_none());
        let svcs = find("", "v1", "services").unwrap();
        let svc = json!({"metadata": {"name": "s"}, "spec": {"type": "NodePort", "clusterIP": "10.254.0.5",
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}});
        let t = build(svcs, &[svc], Include::Object, "v1", None);
        assert_eq!(t["rows"][0]["cells"][3], "<none>");
        assert_eq!(t["rows"][0]["cells"][4], "80:30080/TCP,53/UDP");
        assert_eq!(t["rows"][0]["object"]["metadata"]["name"], "s");
        let deps = find("apps", "v1", "deployments").unwrap();
        let d = json!({"metadata": {"name": "d"}, "spec": {"replicas": 3}, "status": {"updatedReplicas": 3}});
        let t = build(deps, &[d], Include::None, "v1beta1", None);
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1beta1");
        assert_eq!(t["rows"][0]["cells"][1], "0/3");
        assert_eq!(t["rows"][0]["cells"][2], 3);
        let cms = find("", "v1", "configmaps").unwrap();
        let t = build(
            cms,
            &[json!({"metadata": {"name": "c"}})],
            Include::None,
            "v1",
            None,
        );
        assert_eq!(t["columnDefinitions"].as_array().unwrap().len(), 2);
        assert_eq!(t["rows"][0]["cells"][1], "<unknown>");
    }

    fn defaults_now() -> String {
        crate::apiserver::defaults::now()
    }
}
