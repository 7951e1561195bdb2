//! `authorization.k8s.io/v1` reviews (`kubectl auth can-i`): the stand-in enforces no RBAC,
//! so every review answers allowed, saying why.

use serde_json::{Value, json};

use super::status::ApiError;

/// The group, as `/apis` lists it.
pub const GROUP: &str = "authorization.k8s.io";

const REASON: &str =
    "the Kubernetes stand-in allows every authenticated user everything (no RBAC enforcement)";

const KINDS: &[(&str, &str, bool)] = &[
    ("selfsubjectaccessreviews", "SelfSubjectAccessReview", false),
    ("subjectaccessreviews", "SubjectAccessReview", false),
    (
        "localsubjectaccessreviews",
        "LocalSubjectAccessReview",
        true,
    ),
    ("selfsubjectrulesreviews", "SelfSubjectRulesReview", false),
];

/// `GET /apis/authorization.k8s.io/v1`.
pub fn resource_list() -> Value {
    let resources: Vec<Value> = KINDS
        .iter()
        .map(|(name, kind, namespaced)| {
            json!({"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": ["create"]})
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": format!("{GROUP}/v1"), "resources": resources})
}

/// POST of a review (`resource` is the plural in the URL): the body back with its answer.
pub fn answer(resource: &str, mut body: Value) -> Result<Value, ApiError> {
    let (_, kind, _) = KINDS
        .iter()
        .find(|(name, _, _)| *name == resource)
        .ok_or_else(ApiError::no_route)?;
    body["kind"] = json!(kind);
    body["apiVersion"] = json!(format!("{GROUP}/v1"));
    body["status"] = if *kind == "SelfSubjectRulesReview" {
        json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false,
        })
    } else {
        json!({"allowed": true, "reason": REASON})
    };
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_allowed() {
        let r = answer(
            "selfsubjectaccessreviews",
            json!({"spec": {"resourceAttributes": {"verb": "create"}}}),
        )
        .unwrap();
        assert_eq!(r["status"]["allowed"], true);
        assert_eq!(r["kind"], "SelfSubjectAccessReview");
        let rules = answer("selfsubjectrulesreviews", json!({})).unwrap();
        assert_eq!(rules["status"]["incomplete"], false);
        assert!(answer("nope", json!({})).is_err());
        assert_eq!(resource_list()["resources"].as_array().unwrap().len(), 4);
    }
}
