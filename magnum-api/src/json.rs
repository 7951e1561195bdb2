//! JSON responses written into a buffer sized up front: growing a large body by
//! doubling costs copies, and glibc then trims and regrows its heap on every request.

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;
use serde::Serialize;

/// 200 with `body` as JSON, serialized into a buffer of about `size_hint` bytes.
pub fn ok<T: Serialize>(body: &T, size_hint: usize) -> HttpResponse {
    let mut buf = Vec::with_capacity(size_hint.max(256));
    match serde_json::to_writer(&mut buf, body) {
        Ok(()) => HttpResponse::Ok()
            .insert_header(ContentType::json())
            .body(buf),
        Err(e) => actix_web::ResponseError::error_response(&crate::error::ApiError::Internal(
            format!("cannot serialize the response: {e}"),
        )),
    }
}
