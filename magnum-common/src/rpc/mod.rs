//! oslo.messaging-compatible RPC over RabbitMQ, so that our API and conductor talk
//! to each other, and to Python Magnum services, exactly as upstream's do.
//!
//! - [`Transport`]: the process's one connection (from `[DEFAULT] transport_url`),
//!   reconnecting by itself; every user redeclares its queues on a new connection.
//! - [`RpcClient`]: `call` (waits, `RpcError::Timeout` when no reply comes),
//!   `cast`, `fanout_cast`, optionally to one server (`<topic>.<server>`).
//! - [`RpcServer`]: consumes `<topic>`, `<topic>.<server>` and a fanout queue,
//!   runs at most `workers` [`Handler`]s at once, acks after the handler.
//! - [`Notifier`]: notifications in oslo's `messagingv2` format.
//!
//! The wire format (envelope, fields, exchanges, queue flags) is oslo's rabbit
//! driver with its defaults; `wire.rs` says where each piece comes from.

mod client;
mod error;
mod notifier;
mod server;
mod transport;
mod url;
mod wire;

pub use client::{DEFAULT_CALL_TIMEOUT, RpcClient};
pub use error::{MAGNUM_EXCEPTION_MODULE, RemoteError, RpcError};
pub use notifier::{Notifier, Priority};
pub use server::{Handler, HandlerFuture, RpcServer, ServerOptions};
pub use transport::{Transport, TransportOptions};
pub use url::TransportUrl;
