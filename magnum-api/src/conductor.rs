//! The API's side of the conductor.
//!
//! Operations are recorded in the database outbox in the same transaction as the
//! change they ask for, so a cast carries nothing the conductor cannot find
//! without it. Synchronous calls (certificates, upgrade, bays at 1.1) need a
//! running conductor; until the RPC layer lands they answer 503.

use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// How the API reaches the conductor.
#[derive(Debug, Clone, Default)]
pub enum ConductorClient {
    /// No conductor transport: casts are left to the outbox sweep, calls fail with 503.
    #[default]
    Unavailable,
}

impl ConductorClient {
    /// A synchronous call; returns the conductor's result.
    pub async fn call(&self, method: &str, _args: Value) -> ApiResult<Value> {
        match self {
            ConductorClient::Unavailable => Err(ApiError::Unavailable(format!(
                "The conductor is not available, so {method} cannot be performed now. The request was not applied; please retry later."
            ))),
        }
    }

    /// A nudge that an operation is waiting in the outbox.
    pub async fn cast(&self, method: &str, _args: Value) -> ApiResult<()> {
        match self {
            ConductorClient::Unavailable => {
                tracing::debug!(
                    method,
                    "no conductor transport; the operation waits in the outbox"
                );
                Ok(())
            }
        }
    }
}
