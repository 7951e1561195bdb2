//! The one place where errors become HTTP responses.
//!
//! Bodies follow Magnum's ParsableErrorMiddleware envelope:
//! `{"errors":[{"request_id":"","code":"client"|"server","status":N,"title":…,"detail":…,"links":[]}]}`
//! where `title` is the detail up to its first `.`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use magnum_common::db::DbError;
use serde_json::json;

use crate::version::{MAX_VERSION, MIN_VERSION};

/// Every way a request can fail, with upstream's status for each.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: invalid input (WSME errors, Invalid, PatchError, NotSupported…).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no or invalid token (keystonemiddleware's body, not the envelope).
    #[error("The request you have made requires authentication.")]
    Unauthorized {
        /// Value for `WWW-Authenticate: Keystone uri="…"`.
        www_authenticate: String,
    },
    /// 403: policy or ownership refused the action.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists, the method does not.
    #[error("The method is not allowed for the requested URL.")]
    MethodNotAllowed,
    /// 406: a malformed version header, or an API the version does not offer.
    #[error("{0}")]
    NotAcceptable(String),
    /// 406 with the microversion-unsupported body (min/max versions, help link).
    #[error("{0}")]
    VersionUnsupported(String),
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is larger than `[oslo_middleware] max_request_body_size`.
    #[error("Request is too large. The limit is {0} bytes.")]
    PayloadTooLarge(usize),
    /// 415.
    #[error("Unknown mimetype: {0}")]
    UnsupportedMediaType(String),
    /// 503: a dependency (Keystone, the database, the conductor) is down; retry later.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure; the cause is logged, not shown.
    #[error("{0}")]
    Internal(String),
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// Everything before the first `.` of the detail, as upstream's title.
    fn title(detail: &str) -> &str {
        detail.split_once('.').map_or(detail, |(t, _)| t)
    }

    /// The policy refusal for `action`.
    pub fn policy(action: &str) -> Self {
        ApiError::Forbidden(format!("Policy doesn't allow {action} to be performed."))
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        if e.is_transient() {
            tracing::warn!(error = %e, "database unavailable");
            ApiError::Unavailable("The database is unavailable. Please retry later.".to_owned())
        } else {
            tracing::error!(error = %e, "database error");
            ApiError::Internal(format!("Database error: {e}"))
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        DbError::from(e).into()
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        ApiError::Unavailable("The server is shutting down. Please retry later.".to_owned())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable(_) | ApiError::VersionUnsupported(_) => {
                StatusCode::NOT_ACCEPTABLE
            }
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut resp = HttpResponse::build(status);
        let body = match self {
            ApiError::Unauthorized { www_authenticate } => {
                if let Ok(v) =
                    HeaderValue::from_str(&format!("Keystone uri=\"{www_authenticate}\""))
                {
                    resp.insert_header((header::WWW_AUTHENTICATE, v));
                }
                json!({"error": {"code": 401, "title": "Unauthorized", "message": self.to_string()}})
            }
            ApiError::VersionUnsupported(message) => json!({"errors": [{
                "request_id": "",
                "code": "magnum.microversion-unsupported",
                "status": 406,
                "title": "Requested microversion is unsupported",
                "detail": message,
                "description": message,
                "max_version": format!("{}.{}", MAX_VERSION.major, MAX_VERSION.minor),
                "min_version": format!("{}.{}", MIN_VERSION.major, MIN_VERSION.minor),
                "links": [{"rel": "help", "href": "http://docs.openstack.org/api-guide/compute/microversions.html"}],
            }]}),
            other => {
                let detail = match other {
                    ApiError::Internal(_) => "An unexpected error occurred; the request id in the response headers identifies it in the logs.".to_owned(),
                    ApiError::MethodNotAllowed => "The method is not allowed for the requested URL.".to_owned(),
                    _ => other.to_string(),
                };
                let code = if status.is_server_error() {
                    "server"
                } else {
                    "client"
                };
                json!({"errors": [{
                    "request_id": "",
                    "code": code,
                    "status": status.as_u16(),
                    "title": Self::title(&detail),
                    "detail": detail,
                    "links": [],
                }]})
            }
        };
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        if matches!(self, ApiError::MethodNotAllowed) {
            resp.insert_header((header::ALLOW, "GET, POST, PATCH, DELETE"));
        }
        resp.content_type("application/json").body(body.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body(e: ApiError) -> (u16, serde_json::Value) {
        let r = e.error_response();
        let status = r.status().as_u16();
        let bytes = r.into_body().try_into_bytes().unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[test]
    fn envelope_and_title() {
        let (status, b) = body(ApiError::BadRequest(
            "Unable to find flavor m1.nope.".into(),
        ));
        assert_eq!(status, 400);
        assert_eq!(b["errors"][0]["title"], "Unable to find flavor m1");
        assert_eq!(b["errors"][0]["detail"], "Unable to find flavor m1.nope.");
        assert_eq!(b["errors"][0]["code"], "client");
        assert_eq!(b["errors"][0]["request_id"], "");
        let (status, b) = body(ApiError::Internal("secret cause".into()));
        assert_eq!(status, 500);
        assert_eq!(b["errors"][0]["code"], "server");
        assert!(
            !b.to_string().contains("secret cause"),
            "causes are logged, not shown"
        );
    }

    #[test]
    fn unauthorized_is_keystonemiddlewares() {
        let r = ApiError::Unauthorized {
            www_authenticate: "http://ks/v3".into(),
        }
        .error_response();
        assert_eq!(
            r.headers().get("WWW-Authenticate").unwrap(),
            "Keystone uri=\"http://ks/v3\""
        );
        let (_, b) = body(ApiError::Unauthorized {
            www_authenticate: "x".into(),
        });
        assert_eq!(b["error"]["code"], 401);
    }
}
