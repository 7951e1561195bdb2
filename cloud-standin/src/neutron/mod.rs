//! Neutron v2.0 of the local cloud: networks, subnets, ports, floating IPs, routers and
//! security groups, with Neutron's list filters, `fields`, and error bodies.
//!
//! Networks and subnets are real (Docker networks, see `crate::compute`); ports reserve
//! addresses that Nova gives to containers; routers and security groups are records: every
//! network already reaches this machine and nothing else, and nothing is filtered.

pub mod floating;
pub mod networks;
pub mod ports;
pub mod routers;
pub mod secgroups;

use std::sync::Arc;

use actix_web::{HttpMessage, HttpRequest, HttpResponse, http::StatusCode, web};
use serde_json::{Map, Value, json};

use crate::auth::Identity;
use crate::compute::{Cloud, CloudError};
use crate::data::value_is;

/// Query keys that are not attribute filters (`fields` selects attributes).
const NOT_FILTERS: &[&str] = &[
    "fields",
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "page_reverse",
];

/// The extensions Heat and Magnum look for (`GET /v2.0/extensions`).
const EXTENSIONS: &[(&str, &str)] = &[
    ("router", "Neutron L3 Router"),
    ("external-net", "Neutron external network"),
    ("security-group", "security-group"),
    ("quotas", "Quota management support"),
    ("allowed-address-pairs", "Allowed Address Pairs"),
    ("port-security", "Port Security"),
    ("binding", "Port Binding"),
    ("extra_dhcp_opt", "Neutron Extra DHCP options"),
    ("standard-attr-description", "standard-attr-description"),
];

/// Routes of the network service.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(versions))
        .route("/v2.0/extensions", web::get().to(extensions))
        .configure(networks::routes)
        .configure(ports::routes)
        .configure(floating::routes)
        .configure(routers::routes)
        .configure(secgroups::routes);
}

/// The caller's project (the auth middleware put the identity there).
pub fn project(req: &HttpRequest) -> String {
    req.extensions()
        .get::<Arc<Identity>>()
        .and_then(|i| i.project_id.clone())
        .unwrap_or_default()
}

/// A Neutron error answer for a failed change.
pub fn cloud_error(e: CloudError, not_found_kind: &str) -> HttpResponse {
    match e {
        CloudError::BadRequest(m) => error(StatusCode::BAD_REQUEST, "BadRequest", m),
        CloudError::NotFound(m) => error(StatusCode::NOT_FOUND, not_found_kind, m),
        CloudError::Conflict(m) => error(StatusCode::CONFLICT, "Conflict", m),
        CloudError::Unavailable(m) => {
            error(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", m)
        }
    }
}

/// The member object of a request body (`{"port": {...}}`), or a 400.
pub fn member<'a>(body: &'a Value, name: &str) -> Result<&'a Map<String, Value>, CloudError> {
    body.get(name).and_then(Value::as_object).ok_or_else(|| {
        CloudError::BadRequest(format!(
            "Resource body required: a JSON object under '{name}'."
        ))
    })
}

/// A string attribute of a request body, if present and not null.
pub fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    match m.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Neutron's "created" answer.
pub fn created(member: &str, view: Value) -> HttpResponse {
    HttpResponse::Created().json(json!({ member: view }))
}

async fn extensions() -> HttpResponse {
    let list: Vec<Value> = EXTENSIONS
        .iter()
        .map(|(alias, name)| json!({"alias": alias, "name": name, "description": name, "updated": "2013-01-01T00:00:00-00:00", "links": []}))
        .collect();
    HttpResponse::Ok().json(json!({"extensions": list}))
}

/// A Neutron error body.
pub fn error(status: StatusCode, kind: &str, message: String) -> HttpResponse {
    HttpResponse::build(status)
        .json(json!({"NeutronError": {"type": kind, "message": message, "detail": ""}}))
}

async fn versions(req: HttpRequest) -> HttpResponse {
    let info = req.connection_info();
    let href = format!("{}://{}/v2.0/", info.scheme(), info.host());
    HttpResponse::Ok().json(json!({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"href": href, "rel": "self"}]}]}))
}

/// Neutron's `convert_to_boolean`.
fn to_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Applies the filters of `params` (values of one key are ORed, keys ANDed) and
/// `fields`; `Err` is the message of Neutron's 400.
pub fn filter(items: &[Value], params: &[(String, String)]) -> Result<Vec<Value>, String> {
    let mut keys: Vec<&str> = params
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !NOT_FILTERS.contains(k))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    // an empty collection says nothing about its attributes: any filter then finds nothing
    let known = |k: &str| items.is_empty() || items.iter().any(|i| i.get(k).is_some());
    if let Some(unknown) = keys.iter().find(|k| !known(k)) {
        return Err(format!("['{unknown}'] is invalid attribute for filtering"));
    }
    let mut out = Vec::new();
    for item in items {
        let mut keep = true;
        for key in &keys {
            let wanted = params
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str());
            let mut any = false;
            for want in wanted {
                any |= match &item[*key] {
                    Value::Bool(b) => match to_bool(want) {
                        Some(w) => *b == w,
                        None => {
                            return Err(format!(
                                "Invalid input for operation: '{want}' cannot be converted to boolean."
                            ));
                        }
                    },
                    Value::Array(a) => a.iter().any(|x| value_is(x, want)),
                    other => value_is(other, want),
                };
            }
            keep &= any;
        }
        if keep {
            out.push(item.clone());
        }
    }
    let fields: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "fields")
        .map(|(_, v)| v.as_str())
        .collect();
    if !fields.is_empty() {
        for item in &mut out {
            if let Value::Object(map) = item {
                let kept: Map<String, Value> = map
                    .iter()
                    .filter(|(k, _)| fields.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                *map = kept;
            }
        }
    }
    Ok(out)
}

pub fn list(collection: &str, items: &[Value], params: &[(String, String)]) -> HttpResponse {
    match filter(items, params) {
        Ok(found) => HttpResponse::Ok().json(json!({ collection: found })),
        Err(message) => error(StatusCode::BAD_REQUEST, "HTTPBadRequest", message),
    }
}

/// One object as Neutron shows it (only `fields` applies), or Neutron's 404.
pub fn show(
    member: &str,
    kind: &str,
    item: Option<Value>,
    id: &str,
    params: &[(String, String)],
) -> HttpResponse {
    match item {
        Some(item) => {
            let fields: Vec<(String, String)> = params
                .iter()
                .filter(|(k, _)| k == "fields")
                .cloned()
                .collect();
            let item = filter(std::slice::from_ref(&item), &fields)
                .ok()
                .and_then(|mut v| v.pop())
                .unwrap_or(item);
            HttpResponse::Ok().json(json!({ member: item }))
        }
        None => {
            let title = format!("{}{}", member[..1].to_ascii_uppercase(), &member[1..]);
            error(
                StatusCode::NOT_FOUND,
                kind,
                format!("{title} {id} could not be found."),
            )
        }
    }
}

/// The cloud, as the handlers get it.
pub type CloudData = web::Data<Cloud>;
