//! One API call as the handlers see it: the resource, namespace, name and subresource from
//! the URL, the query, the headers that matter (Accept for Tables, Content-Type for bodies) and
//! the body; and JSON answers.

use std::collections::HashMap;

use actix_web::HttpResponse;
use actix_web::web::Bytes;
use serde_json::Value;

use super::resources::Resource;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::ApiError;

/// What a request is about.
#[derive(Debug, Clone)]
pub struct Target {
    /// The resource.
    pub res: &'static Resource,
    /// The namespace in the URL.
    pub ns: Option<String>,
    /// The object's name in the URL.
    pub name: Option<String>,
    /// The subresource in the URL.
    pub sub: Option<String>,
}

impl Target {
    /// The name in the URL (routing only builds object calls with one).
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }
}

/// One API call: target, query, headers that matter, body.
#[derive(Debug)]
pub struct Call {
    /// What it is about.
    pub target: Target,
    /// Query parameters.
    pub query: HashMap<String, String>,
    /// The Accept header.
    pub accept: String,
    /// The Content-Type header.
    pub content_type: String,
    /// The body.
    pub body: Bytes,
}

impl Call {
    /// A query parameter, if given and not empty.
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Whether `dryRun` was asked (nothing is stored).
    pub fn dry_run(&self) -> bool {
        self.q("dryRun").is_some()
    }

    /// The label and field selectors of a list or watch.
    pub fn selectors(&self) -> Result<(LabelSelector, FieldSelector), ApiError> {
        let labels = LabelSelector::parse(self.q("labelSelector").unwrap_or_default())
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let fields = FieldSelector::parse(self.q("fieldSelector").unwrap_or_default())
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        Ok((labels, fields))
    }

    /// `Some("v1")` when the client asks for a Table (kubectl get), with the meta version.
    pub fn table_version(&self) -> Option<&'static str> {
        let wanted = self
            .accept
            .split(',')
            .find(|m| m.split(';').any(|p| p.trim() == "as=Table"))?;
        Some(if wanted.contains("v=v1beta1") {
            "v1beta1"
        } else {
            "v1"
        })
    }

    /// The request body as JSON (JSON or YAML bodies; protobuf refused).
    pub fn json_body(&self) -> Result<Value, ApiError> {
        let ct = self
            .content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim();
        let parsed = match ct {
            "" | "application/json" | "*/*" => {
                serde_json::from_slice::<Value>(&self.body).map_err(|e| e.to_string())
            }
            "application/yaml" | "application/x-yaml" | "text/yaml" => {
                yaml_serde::from_slice::<Value>(&self.body).map_err(|e| e.to_string())
            }
            other => return Err(ApiError::unsupported_media(other)),
        };
        let value = parsed.map_err(|e| {
            ApiError::bad_request(format!("the body of the request could not be decoded: {e}"))
        })?;
        if !value.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be an object",
            ));
        }
        Ok(value)
    }
}

/// A JSON response.
pub fn json_response(code: u16, body: &Value) -> HttpResponse {
    let status =
        actix_web::http::StatusCode::from_u16(code).unwrap_or(actix_web::http::StatusCode::OK);
    HttpResponse::build(status)
        .content_type("application/json")
        .body(body.to_string())
}
