//! Neutron v2.0: networks and subnets, list (with filters) and show.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use serde_json::{Map, Value, json};

use crate::data::{NETWORKS, SUBNETS, value_is};

/// Query keys that are not attribute filters (`fields` selects attributes).
const NOT_FILTERS: &[&str] = &[
    "fields",
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "page_reverse",
];

/// Routes of the network service.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(versions))
        .route("/v2.0/networks", web::get().to(list_networks))
        .route("/v2.0/networks/{id}", web::get().to(show_network))
        .route("/v2.0/subnets", web::get().to(list_subnets))
        .route("/v2.0/subnets/{id}", web::get().to(show_subnet));
}

/// A Neutron error body.
fn error(status: StatusCode, kind: &str, message: String) -> HttpResponse {
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
fn filter(items: &[Value], params: &[(String, String)]) -> Result<Vec<Value>, String> {
    let mut keys: Vec<&str> = params
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !NOT_FILTERS.contains(k))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let known = |k: &str| items.iter().any(|i| i.get(k).is_some());
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

fn list(collection: &str, items: &[Value], params: &[(String, String)]) -> HttpResponse {
    match filter(items, params) {
        Ok(found) => HttpResponse::Ok().json(json!({ collection: found })),
        Err(message) => error(StatusCode::BAD_REQUEST, "HTTPBadRequest", message),
    }
}

fn show(member: &str, kind: &str, items: &[Value], id: &str) -> HttpResponse {
    match items.iter().find(|i| i["id"] == id) {
        Some(item) => HttpResponse::Ok().json(json!({ member: item })),
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

async fn list_networks(query: web::Query<Vec<(String, String)>>) -> HttpResponse {
    list("networks", &NETWORKS, &query)
}

async fn show_network(id: web::Path<String>) -> HttpResponse {
    show("network", "NetworkNotFound", &NETWORKS, &id)
}

async fn list_subnets(query: web::Query<Vec<(String, String)>>) -> HttpResponse {
    list("subnets", &SUBNETS, &query)
}

async fn show_subnet(id: web::Path<String>) -> HttpResponse {
    show("subnet", "SubnetNotFound", &SUBNETS, &id)
}
