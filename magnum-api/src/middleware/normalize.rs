//! Path normalisation before routing, as upstream's root controller does it:
//! trailing slashes are dropped, and a path whose first segment is not `v1` is
//! routed to v1 (`GET /clusters` is `GET /v1/clusters`).

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::middleware::Next;

/// Paths served outside v1.
const ROOT_PATHS: &[&str] = &["/", "/healthcheck"];

/// The normalised form of `path`.
pub fn normalize(path: &str) -> String {
    let mut p = path.trim_end_matches('/').to_owned();
    if p.is_empty() {
        return "/".to_owned();
    }
    if !p.starts_with('/') {
        p.insert(0, '/');
    }
    if ROOT_PATHS.contains(&p.as_str()) || p == "/v1" || p.starts_with("/v1/") {
        p
    } else {
        format!("/v1{p}")
    }
}

/// Rewrites the request URI in place.
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let path = req.path();
    let normal = normalize(path);
    if normal != path {
        let query = req.query_string();
        let target = if query.is_empty() {
            normal
        } else {
            format!("{normal}?{query}")
        };
        if let Ok(uri) = target.parse::<Uri>() {
            req.match_info_mut().get_mut().update(&uri);
            req.head_mut().uri = uri;
        }
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn paths() {
        for (input, want) in [
            ("/", "/"),
            ("", "/"),
            ("/v1", "/v1"),
            ("/v1/", "/v1"),
            ("/v1/clusters/", "/v1/clusters"),
            ("/clusters", "/v1/clusters"),
            ("/clusters/abc/nodegroups/", "/v1/clusters/abc/nodegroups"),
            ("/healthcheck", "/healthcheck"),
            ("/v2/clusters", "/v1/v2/clusters"),
        ] {
            assert_eq!(normalize(input), want, "{input}");
        }
    }
}
