//! Microversion negotiation for `/v1` paths, and the four response headers.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, ResponseError};

use crate::error::ApiError;
use crate::version::{MAX_VERSION, MIN_VERSION, SERVICE_TYPE, VERSION_HEADER, negotiate};

fn set_headers(
    headers: &mut actix_web::http::header::HeaderMap,
    version: crate::version::ApiVersion,
) {
    let pairs = [
        (
            "openstack-api-minimum-version",
            format!("{SERVICE_TYPE} {MIN_VERSION}"),
        ),
        (
            "openstack-api-maximum-version",
            format!("{SERVICE_TYPE} {MAX_VERSION}"),
        ),
        ("openstack-api-version", format!("{SERVICE_TYPE} {version}")),
        ("vary", VERSION_HEADER.to_owned()),
    ];
    for (name, value) in pairs {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
}

/// Negotiates the version of `/v1` requests.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if !(req.path() == "/v1" || req.path().starts_with("/v1/")) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let header = req
        .headers()
        .get(VERSION_HEADER)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let negotiated = match negotiate(header) {
        Ok(n) => n,
        Err(e) => return Ok(req.into_response(e.error_response()).map_into_right_body()),
    };
    if let Some(message) = negotiated.unsupported {
        let mut res = req.into_response(ApiError::VersionUnsupported(message).error_response());
        set_headers(res.headers_mut(), negotiated.version);
        return Ok(res.map_into_right_body());
    }
    req.extensions_mut().insert(negotiated.version);
    let mut res = next.call(req).await?;
    set_headers(res.headers_mut(), negotiated.version);
    Ok(res.map_into_left_body())
}
