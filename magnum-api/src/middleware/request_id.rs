//! `X-OpenStack-Request-Id: req-<uuid>` on every response, and in every log line.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Instrument;

/// The request id of the current request.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The response (and request) header carrying the id.
pub const HEADER: &str = "x-openstack-request-id";

/// Generates the id, runs the request inside a span carrying it, stamps the response.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = format!("req-{}", uuid::Uuid::new_v4());
    // A caller's own id (oslo's global_request_id) is logged alongside ours.
    let global = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.starts_with("req-") && v.len() <= 64)
        .map(str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, global_request_id = global.as_deref().unwrap_or(""));
    let method = req.method().clone();
    let path = req.path().to_owned();
    let started = std::time::Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    let status = res.status().as_u16();
    span.in_scope(|| {
        tracing::info!(%method, %path, status, elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, "handled");
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static(HEADER), v);
    }
    Ok(res)
}
