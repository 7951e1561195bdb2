//! The API's side of the conductor: oslo.messaging RPC on `[conductor] topic`.
//!
//! Operations are recorded in the database outbox in the same transaction as the
//! change they ask for, so a cast is only a nudge: when the bus is down the
//! conductor's sweep finds the operation anyway, and the request still succeeds.
//! Calls (certificates, upgrade, CA rotation, bays at 1.1) need an answer, so an
//! unreachable conductor is a 503 and nothing is changed.

use std::time::Duration;

use magnum_common::config::Config;
use magnum_common::rpc::{RpcClient, RpcError, Transport};
use serde_json::{Value, json};

use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};

/// How the API reaches the conductor.
#[derive(Clone, Default)]
pub enum ConductorClient {
    /// No message bus configured: casts are left to the outbox sweep, calls fail with 503.
    #[default]
    Unavailable,
    /// RPC over the bus.
    Rpc {
        /// The client on `[conductor] topic`.
        client: RpcClient,
        /// How long a call waits.
        timeout: Duration,
        /// The connection (kept to close it).
        transport: Transport,
    },
}

impl std::fmt::Debug for ConductorClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConductorClient::Unavailable => f.write_str("ConductorClient::Unavailable"),
            ConductorClient::Rpc { timeout, .. } => write!(f, "ConductorClient::Rpc({timeout:?})"),
        }
    }
}

/// The RPC context of a request: who asks, and their token (as oslo.context
/// sends it), so the conductor can act for them.
pub fn rpc_context(ctx: &RequestContext, request_id: &str) -> Value {
    json!({
        "request_id": request_id,
        "user_id": ctx.user_id,
        "user_name": ctx.user_name,
        "user_domain_id": ctx.user_domain_id,
        "project_id": ctx.project_id,
        "project_name": ctx.project_name,
        "roles": ctx.roles,
        "is_admin": ctx.is_admin,
        "auth_token": ctx.token.as_deref(),
    })
}

/// The HTTP error for a conductor failure, by the exception class it sent.
fn remote_error(class: &str, message: String) -> ApiError {
    match class {
        "InvalidParameterValue"
        | "NotSupported"
        | "InvalidVersion"
        | "InvalidCsr"
        | "OperationFailed"
        | "ClusterTypeNotSupported" => ApiError::BadRequest(message),
        "ClusterNotFound"
        | "ClusterTemplateNotFound"
        | "CertificateNotFound"
        | "NodeGroupNotFound" => ApiError::NotFound(message),
        "Conflict" | "InvalidClusterTemplateForUpgrade" => ApiError::Conflict(message),
        "ServiceUnavailable" => ApiError::Unavailable(message),
        _ => ApiError::Internal(message),
    }
}

impl ConductorClient {
    /// The client `[DEFAULT] transport_url` asks for (must run inside a tokio runtime).
    pub fn from_config(cfg: &Config) -> Self {
        match Transport::from_config(cfg) {
            Ok(transport) => ConductorClient::Rpc {
                client: RpcClient::for_conductor(&transport, cfg),
                timeout: Duration::from_secs(cfg.default.rpc_response_timeout.max(1)),
                transport,
            },
            Err(e) => {
                tracing::warn!(error = %e, "no message bus: conductor calls will answer 503");
                ConductorClient::Unavailable
            }
        }
    }

    /// A synchronous call; returns the conductor's result.
    pub async fn call(&self, ctx: Value, method: &str, args: Value) -> ApiResult<Value> {
        let ConductorClient::Rpc {
            client, timeout, ..
        } = self
        else {
            return Err(ApiError::Unavailable(format!(
                "The conductor is not available, so {method} cannot be performed now. The request was not applied; please retry later."
            )));
        };
        match client.call(ctx, method, args, Some(*timeout)).await {
            Ok(v) => Ok(v),
            Err(RpcError::Remote { class, message, .. }) => Err(remote_error(&class, message)),
            Err(e @ (RpcError::Timeout { .. } | RpcError::Transport(_))) => {
                tracing::warn!(method, error = %e, "conductor call failed");
                Err(ApiError::Unavailable(format!(
                    "The conductor did not answer {method}; please retry later."
                )))
            }
            Err(e) => Err(ApiError::Internal(e.to_string())),
        }
    }

    /// A nudge that an operation is waiting in the outbox; a failure to send it
    /// only delays the operation until the conductor's next sweep.
    pub async fn cast(&self, ctx: Value, method: &str, args: Value) {
        match self {
            ConductorClient::Unavailable => {
                tracing::debug!(
                    method,
                    "no message bus; the operation waits for the outbox sweep"
                );
            }
            ConductorClient::Rpc { client, .. } => {
                if let Err(e) = client.cast(ctx, method, args).await {
                    tracing::warn!(method, error = %e, "cast not sent; the conductor's sweep will pick the operation up");
                }
            }
        }
    }

    /// Closes the connection.
    pub async fn close(&self) {
        if let ConductorClient::Rpc { transport, .. } = self {
            transport.close().await;
        }
    }
}
