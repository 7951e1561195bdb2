//! Middleware, outermost first: request id → path normalisation → authentication
//! → microversion. Each turns its own failures into responses, so the request id
//! middleware sees (and stamps) every response.

pub mod auth;
pub mod normalize;
pub mod request_id;
pub mod version;
