//! Discovery (`/api`, `/apis`, the resource lists), `/version` and `/openapi/v2`: what kubectl
//! reads before anything else to map kinds and short names to URLs.

use serde_json::{Value, json};

use super::resources::{RESOURCES, Resource, group_versions};
use super::reviews;

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// `GET /api`.
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_entry(group: &str) -> Value {
    let versions: Vec<Value> = group_versions()
        .into_iter()
        .filter(|(g, _)| *g == group)
        .map(|(g, v)| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    let preferred = versions.first().cloned().unwrap_or(json!({}));
    json!({"name": group, "versions": versions, "preferredVersion": preferred})
}

/// `GET /apis`.
pub fn groups() -> Value {
    let mut names: Vec<&str> = Vec::new();
    for (g, _) in group_versions() {
        if !names.contains(&g) {
            names.push(g);
        }
    }
    let mut groups: Vec<Value> = names.into_iter().map(group_entry).collect();
    let auth = json!({"groupVersion": format!("{}/v1", reviews::GROUP), "version": "v1"});
    groups.push(json!({"name": reviews::GROUP, "versions": [auth], "preferredVersion": auth}));
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/<group>`, if served.
pub fn group(name: &str) -> Option<Value> {
    let list = groups();
    let mut g = list["groups"]
        .as_array()?
        .iter()
        .find(|g| g["name"] == name)?
        .clone();
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    Some(g)
}

fn sub_entry(r: &Resource, sub: &str) -> Value {
    let (kind, group, version, verbs): (&str, &str, &str, &[&str]) = match sub {
        "scale" => ("Scale", "autoscaling", "v1", &["get", "patch", "update"]),
        "binding" => ("Binding", "", "v1", &["create"]),
        "eviction" => ("Eviction", "policy", "v1", &["create"]),
        "log" => (r.kind, "", "", &["get"]),
        _ => (r.kind, "", "", &["get", "patch", "update"]),
    };
    let mut e = json!({"name": format!("{}/{sub}", r.name), "singularName": "",
        "namespaced": r.namespaced, "kind": kind, "verbs": verbs});
    if !group.is_empty() || !version.is_empty() {
        e["group"] = json!(group);
        e["version"] = json!(version);
    }
    e
}

/// `GET /api/v1` or `GET /apis/<group>/<version>`, if served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    if group == reviews::GROUP && version == "v1" {
        return Some(reviews::resource_list());
    }
    let mut list = Vec::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let mut e = json!({"name": r.name, "singularName": r.singular, "namespaced": r.namespaced,
            "kind": r.kind, "verbs": VERBS});
        if !r.short_names.is_empty() {
            e["shortNames"] = json!(r.short_names);
        }
        if r.in_all {
            e["categories"] = json!(["all"]);
        }
        list.push(e);
        for sub in r.subresources {
            list.push(sub_entry(r, sub));
        }
    }
    if group.is_empty() && version == "v1" {
        list.push(
            json!({"name": "bindings", "singularName": "", "namespaced": true,
            "kind": "Binding", "verbs": ["create"]}),
        );
    }
    if list.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list}),
    )
}

/// `GET /version`, in the shape of Kubernetes' version.Info.
pub fn version_info(version: &str) -> Value {
    let mut parts = version.trim_start_matches('v').split('.');
    let major = parts.next().unwrap_or("1").to_string();
    let minor: String = parts
        .next()
        .unwrap_or("0")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    json!({
        "major": major,
        "minor": minor,
        "gitVersion": version,
        "gitCommit": "magnum-kube-standin",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "none (Kubernetes stand-in)",
        "compiler": "rustc",
        "platform": "linux/amd64",
    })
}

/// `/openapi/v2` as JSON: a valid, empty Swagger 2.0 document.
pub fn openapi_json(version: &str) -> Value {
    json!({"swagger": "2.0", "info": {"title": "Kubernetes stand-in", "version": version},
           "paths": {}, "definitions": {}})
}

fn field(out: &mut Vec<u8>, number: u8, bytes: &[u8]) {
    out.push((number << 3) | 2);
    let mut len = bytes.len();
    while len >= 0x80 {
        out.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(bytes);
}

/// `/openapi/v2` as protobuf (gnostic's openapi_v2.Document), which kubectl asks for: the
/// same empty document, so that kubectl finds no schema and skips client-side validation.
pub fn openapi_protobuf(version: &str) -> Vec<u8> {
    let mut info = Vec::new();
    field(&mut info, 1, b"Kubernetes stand-in");
    field(&mut info, 2, version.as_bytes());
    let mut doc = Vec::new();
    field(&mut doc, 1, b"2.0");
    field(&mut doc, 2, &info);
    field(&mut doc, 8, &[]);
    field(&mut doc, 9, &[]);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents() {
        let v = version_info("v1.26.8");
        assert_eq!(
            (v["major"].as_str(), v["minor"].as_str()),
            (Some("1"), Some("26"))
        );
        assert_eq!(version_info("v1.27.4+x")["minor"], "27");
        let core = resource_list("", "v1").unwrap();
        let names: Vec<&str> = core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert!(names.contains(&"pods/eviction") && names.contains(&"nodes/status"));
        let apps = resource_list("apps", "v1").unwrap();
        let scale = apps["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "deployments/scale")
            .unwrap();
        assert_eq!(
            (scale["group"].as_str(), scale["kind"].as_str()),
            (Some("autoscaling"), Some("Scale"))
        );
        assert!(resource_list("apps", "v2").is_none());
        assert!(group("apps").is_some() && group("nope").is_none());
        assert!(
            groups()["groups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["name"] == "rbac.authorization.k8s.io")
        );
        let pb = openapi_protobuf("v1.27.4");
        assert_eq!(&pb[..5], &[0x0a, 3, b'2', b'.', b'0']);
        assert!(pb.ends_with(&[0x42, 0, 0x4a, 0]));
    }
}
