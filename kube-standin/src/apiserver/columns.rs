//! The columns kubectl users know for each resource, and how each cell is read from the
//! object (as Kubernetes' own printers compute them).

use serde_json::{Value, json};

use super::resources::Resource;

/// Kubernetes' short ages: `45s`, `5m3s`, `3h`, `2d4h`, `400d`, `3y10d`.
pub fn human_age(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    let secs = secs.max(0);
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        return match secs % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{years}y")
}

fn age(obj: &Value) -> String {
    obj.pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| human_age((chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds()))
        .unwrap_or_else(|| "<unknown>".into())
}

fn s<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn n(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn items<'a>(obj: &'a Value, pointer: &str) -> &'a [Value] {
    obj.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn or_none(v: String) -> String {
    if v.is_empty() { "<none>".into() } else { v }
}

/// A node's STATUS: Ready / NotReady / Unknown, plus `,SchedulingDisabled` when cordoned.
pub fn node_status(node: &Value) -> String {
    let ready = items(node, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == "Ready")
        .map(|c| {
            if s(c, "/status") == "True" {
                "Ready"
            } else {
                "NotReady"
            }
        });
    let mut out = ready.unwrap_or("Unknown").to_string();
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        out.push_str(",SchedulingDisabled");
    }
    out
}

fn node_roles(node: &Value) -> String {
    let mut roles: Vec<&str> = node
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|l| {
            l.keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                .filter(|r| !r.is_empty())
                .collect()
        })
        .unwrap_or_default();
    roles.sort_unstable();
    or_none(roles.join(","))
}

fn pod_status(pod: &Value) -> String {
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        return "Terminating".into();
    }
    let waiting = items(pod, "/status/containerStatuses")
        .iter()
        .map(|c| s(c, "/state/waiting/reason"))
        .find(|r| !r.is_empty());
    let reason = s(pod, "/status/reason");
    let phase = s(pod, "/status/phase");
    waiting
        .or((!reason.is_empty()).then_some(reason))
        .unwrap_or(if phase.is_empty() { "Pending" } else { phase })
        .to_string()
}

fn service_ports(svc: &Value) -> String {
    let ports: Vec<String> = items(svc, "/spec/ports")
        .iter()
        .map(|p| {
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(np) => format!("{}:{np}/{proto}", n(p, "/port")),
                None => format!("{}/{proto}", n(p, "/port")),
            }
        })
        .collect();
    or_none(ports.join(","))
}

fn external_ip(svc: &Value) -> String {
    match s(svc, "/spec/type") {
        "ExternalName" => s(svc, "/spec/externalName").to_string(),
        "LoadBalancer" => {
            let ips: Vec<&str> = items(svc, "/status/loadBalancer/ingress")
                .iter()
                .map(|i| {
                    let ip = s(i, "/ip");
                    if ip.is_empty() { s(i, "/hostname") } else { ip }
                })
                .collect();
            if ips.is_empty() {
                "<pending>".into()
            } else {
                ips.join(",")
            }
        }
        _ => or_none(
            items(svc, "/spec/externalIPs")
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
    }
}

fn selector_text(obj: &Value, pointer: &str) -> String {
    let pairs: Vec<String> = obj
        .pointer(pointer)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    or_none(pairs.join(","))
}

fn containers(obj: &Value, pointer: &str, field: &str) -> String {
    items(obj, pointer)
        .iter()
        .map(|c| s(c, field))
        .collect::<Vec<_>>()
        .join(",")
}

/// A column: name, type, priority (1 = only with `-o wide`).
pub type Column = (&'static str, &'static str, u8);

/// How a row's cells are made from an object.
pub type Cells = fn(&Value) -> Vec<Value>;

/// Columns (name, type, priority: 1 = only with `-o wide`) and cells for one resource.
pub fn layout(res: &Resource) -> (&'static [Column], Cells) {
    match res.name {
        "nodes" => (
            &[
                ("Name", "string", 0),
                ("Status", "string", 0),
                ("Roles", "string", 0),
                ("Age", "string", 0),
                ("Version", "string", 0),
                ("Internal-IP", "string", 1),
                ("OS-Image", "string", 1),
                ("Kernel-Version", "string", 1),
                ("Container-Runtime", "string", 1),
            ],
            |o| {
                let ip = items(o, "/status/addresses")
                    .iter()
                    .find(|a| s(a, "/type") == "InternalIP")
                    .map(|a| s(a, "/address"))
                    .unwrap_or_default();
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(node_status(o)),
                    json!(node_roles(o)),
                    json!(age(o)),
                    json!(s(o, "/status/nodeInfo/kubeletVersion")),
                    json!(or_none(ip.to_string())),
                    json!(s(o, "/status/nodeInfo/osImage")),
                    json!(s(o, "/status/nodeInfo/kernelVersion")),
                    json!(s(o, "/status/nodeInfo/containerRuntimeVersion")),
                ]
            },
        ),
        "pods" => (
            &[
                ("Name", "string", 0),
                ("Ready", "string", 0),
                ("Status", "string", 0),
                ("Restarts", "integer", 0),
                ("Age", "string", 0),
                ("IP", "string", 1),
                ("Node", "string", 1),
            ],
            |o| {
                let statuses = items(o, "/status/containerStatuses");
                let ready = statuses
                    .iter()
                    .filter(|c| c.get("ready") == Some(&json!(true)))
                    .count();
                let total = items(o, "/spec/containers").len();
                let restarts: i64 = statuses.iter().map(|c| n(c, "/restartCount")).sum();
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(format!("{ready}/{total}")),
                    json!(pod_status(o)),
                    json!(restarts),
                    json!(age(o)),
                    json!(or_none(s(o, "/status/podIP").to_string())),
                    json!(or_none(s(o, "/spec/nodeName").to_string())),
                ]
            },
        ),
        "services" => (
            &[
                ("Name", "string", 0),
                ("Type", "string", 0),
                ("Cluster-IP", "string", 0),
                ("External-IP", "string", 0),
                ("Port(s)", "string", 0),
                ("Age", "string", 0),
                ("Selector", "string", 1),
            ],
            |o| {
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(s(o, "/spec/type")),
                    json!(or_none(s(o, "/spec/clusterIP").to_string())),
                    json!(external_ip(o)),
                    json!(service_ports(o)),
                    json!(age(o)),
                    json!(selector_text(o, "/spec/selector")),
                ]
            },
        ),
        "deployments" => (
            &[
                ("Name", "string", 0),
                ("Ready", "string", 0),
                ("Up-to-date", "string", 0),
                ("Available", "string", 0),
                ("Age", "string", 0),
                ("Containers", "string", 1),
                ("Images", "string", 1),
                ("Selector", "string", 1),
            ],
            |o| {
                let desired = o
                    .pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(format!("{}/{desired}", n(o, "/status/readyReplicas"))),
                    json!(n(o, "/status/updatedReplicas")),
                    json!(n(o, "/status/availableReplicas")),
                    json!(age(o)),
                    json!(containers(o, "/spec/template/spec/containers", "/name")),
                    json!(containers(o, "/spec/template/spec/containers", "/image")),
                    json!(selector_text(o, "/spec/selector/matchLabels")),
                ]
            },
        ),
        "namespaces" => (
            &[
                ("Name", "string", 0),
                ("Status", "string", 0),
                ("Age", "string", 0),
            ],
            |o| {
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(s(o, "/status/phase")),
                    json!(age(o)),
                ]
            },
        ),
        _ => (&[("Name", "string", 0), ("Age", "string", 0)], |o| {
            vec![json!(s(o, "/metadata/name")), json!(age(o))]
        }),
    }
}
