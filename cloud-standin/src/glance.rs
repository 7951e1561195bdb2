//! Glance v2: image list and show.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use serde_json::{Value, json};

use crate::data::{images, value_is};

/// Query keys that are not property filters.
const NOT_FILTERS: &[&str] = &[
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "sort",
    "member_status",
];
const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 1000;

/// Routes of the image service.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(root))
        .route("/versions", web::get().to(versions))
        .route("/v2/images", web::get().to(list))
        .route("/v2/images/{id}", web::get().to(show))
        .route("/v2/schemas/image", web::get().to(schema));
}

/// A Glance (webob) error body.
fn error(status: StatusCode, message: String) -> HttpResponse {
    let reason = status.canonical_reason().unwrap_or("Error");
    HttpResponse::build(status).json(json!({"message": message, "code": format!("{} {reason}", status.as_u16()), "title": reason}))
}

fn versions_doc(req: &HttpRequest) -> Value {
    let info = req.connection_info();
    let href = format!("{}://{}/v2/", info.scheme(), info.host());
    json!({"versions": [{"id": "v2.16", "status": "CURRENT", "links": [{"rel": "self", "href": href}]}]})
}

async fn root(req: HttpRequest) -> HttpResponse {
    HttpResponse::MultipleChoices().json(versions_doc(&req))
}

async fn versions(req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok().json(versions_doc(&req))
}

/// Glance matches a filter against the property's string form.
fn matches(image: &Value, key: &str, want: &str) -> bool {
    if key == "visibility" && want == "all" {
        return true;
    }
    image.get(key).is_some_and(|v| value_is(v, want))
}

fn encode(params: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

async fn list(query: web::Query<Vec<(String, String)>>) -> HttpResponse {
    let params = query.into_inner();
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let limit = match get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if n < 0 => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "limit param must be positive".to_owned(),
                );
            }
            Ok(n) => usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "limit param must be an integer".to_owned(),
                );
            }
        },
    };
    let filtered: Vec<&Value> = images()
        .iter()
        .filter(|img| {
            params
                .iter()
                .filter(|(k, _)| !NOT_FILTERS.contains(&k.as_str()))
                .all(|(k, v)| matches(img, k, v))
        })
        .collect();
    let start = match get("marker") {
        None => 0,
        Some(marker) => match filtered.iter().position(|img| img["id"] == marker) {
            Some(i) => i + 1,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("Invalid marker. Image {marker} could not be found."),
                );
            }
        },
    };
    let page: Vec<&Value> = filtered.iter().skip(start).take(limit).copied().collect();
    let without_marker: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "marker")
        .cloned()
        .collect();
    let first = if without_marker.is_empty() {
        "/v2/images".to_owned()
    } else {
        format!("/v2/images?{}", encode(&without_marker))
    };
    let mut body = json!({"images": page, "first": first, "schema": "/v2/schemas/images"});
    if start + page.len() < filtered.len()
        && let Some(last) = page.last()
    {
        let mut next = vec![(
            "marker".to_owned(),
            last["id"].as_str().unwrap_or_default().to_owned(),
        )];
        next.extend(without_marker);
        body["next"] = json!(format!("/v2/images?{}", encode(&next)));
    }
    HttpResponse::Ok().json(body)
}

async fn show(id: web::Path<String>) -> HttpResponse {
    match images().iter().find(|img| img["id"] == id.as_str()) {
        Some(img) => HttpResponse::Ok().json(img),
        None => error(
            StatusCode::NOT_FOUND,
            format!("No image found with ID {id}"),
        ),
    }
}

/// `GET /v2/schemas/image`: glanceclient builds its image model from it. The properties the
/// images here carry; any other is a string.
async fn schema() -> HttpResponse {
    let string = json!({"type": ["null", "string"]});
    let mut props = serde_json::Map::new();
    for k in [
        "id",
        "name",
        "status",
        "visibility",
        "owner",
        "disk_format",
        "container_format",
        "checksum",
        "created_at",
        "updated_at",
        "self",
        "file",
        "schema",
        "os_distro",
        "docker_image",
        "os_type",
        "description",
    ] {
        props.insert(k.to_owned(), string.clone());
    }
    for k in ["size", "virtual_size", "min_disk", "min_ram"] {
        props.insert(k.to_owned(), json!({"type": ["null", "integer"]}));
    }
    for k in ["protected", "os_hidden"] {
        props.insert(k.to_owned(), json!({"type": "boolean"}));
    }
    props.insert(
        "tags".to_owned(),
        json!({"type": "array", "items": {"type": "string"}}),
    );
    HttpResponse::Ok().json(json!({
        "name": "image", "properties": props, "additionalProperties": {"type": "string"},
        "links": [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
                  {"rel": "describedby", "href": "{schema}"}],
    }))
}
