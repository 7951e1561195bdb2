//! Errors as Kubernetes `Status` objects, worded as Kubernetes words them, since kubectl and
//! client libraries show the message and branch on `reason` and `code`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Value, json};

use super::resources::Resource;
use crate::etcd::EtcdError;

/// A failed API request, answered as a Status.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status.
    pub code: u16,
    /// Kubernetes reason (`NotFound`, `AlreadyExists`, ...).
    pub reason: &'static str,
    /// Human message.
    pub message: String,
    /// `details` (name, group, kind), when about one object.
    pub details: Option<Value>,
}

fn details(res: &Resource, name: &str) -> Option<Value> {
    let mut d = json!({"name": name, "kind": res.name});
    if !res.group.is_empty() {
        d["group"] = json!(res.group);
    }
    Some(d)
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// `pods "x" not found`.
    pub fn not_found(res: &Resource, name: &str) -> ApiError {
        ApiError {
            details: details(res, name),
            ..Self::new(
                404,
                "NotFound",
                format!("{} \"{name}\" not found", res.group_resource()),
            )
        }
    }

    /// A path that names nothing served.
    pub fn no_route() -> ApiError {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    /// `deployments.apps "x" already exists`.
    pub fn already_exists(res: &Resource, name: &str) -> ApiError {
        ApiError {
            details: details(res, name),
            ..Self::new(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", res.group_resource()),
            )
        }
    }

    /// An update against a stale resourceVersion.
    pub fn conflict(res: &Resource, name: &str) -> ApiError {
        ApiError {
            details: details(res, name),
            ..Self::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                    res.group_resource()
                ),
            )
        }
    }

    /// A conflict with a message of its own.
    pub fn conflict_msg(res: &Resource, name: &str, why: &str) -> ApiError {
        ApiError {
            details: details(res, name),
            ..Self::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": {why}",
                    res.group_resource()
                ),
            )
        }
    }

    /// A malformed request.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        Self::new(400, "BadRequest", message)
    }

    /// An object that fails validation: `Kind "name" is invalid: field: why`.
    pub fn invalid(res: &Resource, name: &str, why: &str) -> ApiError {
        ApiError {
            details: details(res, name),
            ..Self::new(
                422,
                "Invalid",
                format!("{} \"{name}\" is invalid: {why}", res.kind),
            )
        }
    }

    /// A verb the resource does not take.
    pub fn method_not_allowed(what: &str) -> ApiError {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({what})"),
        )
    }

    /// A body the stand-in cannot read (protobuf, ...).
    pub fn unsupported_media(content_type: &str) -> ApiError {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({content_type}): the Kubernetes stand-in speaks JSON (and YAML) only"
            ),
        )
    }

    /// A request refused whatever the user.
    pub fn forbidden(res: &Resource, name: &str, why: &str) -> ApiError {
        ApiError {
            details: details(res, name),
            ..Self::new(
                403,
                "Forbidden",
                format!("{} \"{name}\" is forbidden: {why}", res.group_resource()),
            )
        }
    }

    /// No client identity (cannot happen over mutual TLS, kept for safety).
    pub fn unauthorized() -> ApiError {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// etcd could not be used.
    pub fn internal(message: impl Into<String>) -> ApiError {
        Self::new(500, "InternalError", message)
    }

    /// A watch that starts from a compacted revision.
    pub fn gone(message: impl Into<String>) -> ApiError {
        Self::new(410, "Expired", message)
    }

    /// The Status object.
    pub fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

impl From<EtcdError> for ApiError {
    fn from(e: EtcdError) -> ApiError {
        match e {
            EtcdError::Compacted => ApiError::gone(e.to_string()),
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .content_type("application/json")
            .body(self.status().to_string())
    }
}

/// A Status saying success (eviction, deletes of collections).
pub fn success(details: Option<Value>) -> Value {
    let mut s = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"});
    if let Some(d) = details {
        s["details"] = d;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::resources::find;

    #[test]
    fn kubernetes_wording() {
        let Some(pods) = find("", "v1", "pods") else {
            panic!("pods")
        };
        let Some(deploy) = find("apps", "v1", "deployments") else {
            panic!("deployments")
        };
        let s = ApiError::not_found(pods, "x").status();
        assert_eq!(s["message"], "pods \"x\" not found");
        assert_eq!(s["code"], 404);
        assert_eq!(s["details"], json!({"name": "x", "kind": "pods"}));
        let s = ApiError::already_exists(deploy, "web").status();
        assert_eq!(s["message"], "deployments.apps \"web\" already exists");
        assert_eq!(s["reason"], "AlreadyExists");
        assert_eq!(s["details"]["group"], "apps");
        assert_eq!(ApiError::conflict(deploy, "web").reason, "Conflict");
    }
}
