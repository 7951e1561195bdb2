//! Heat (orchestration API v1): stacks, outputs, resources and events, with the
//! caller's token.
//!
//! A [`HeatClient`] is built from the orchestration endpoint as the catalog gives
//! it (`http://host:8004/v1/<project id>`, the project already substituted) and
//! a token, which the caller may replace between calls ([`HeatClient::set_token`]).
//! Tokens are sent in `X-Auth-Token` and never logged.
//!
//! URLs: every call on an existing stack uses the canonical
//! `/stacks/{name}/{id}` URL (as returned by create), so Heat never answers with
//! the 302 of its name-or-id look-ups and no request is re-sent to another URL.
//!
//! Retries: connection errors, timeouts and 500/502/503/504 are retried with
//! exponential backoff (with jitter) up to [`RetryPolicy::retries`] times
//! (default 5), then [`HeatError::Unavailable`]. GET, DELETE and PATCH are
//! retried as they are (a PATCH repeats the same parameters: the end state is the
//! same; under the legacy engine a repeat that finds the first one running gets
//! 409 ActionInProgress, surfaced as [`HeatError::Conflict`]). A create is not
//! idempotent: a POST whose answer was lost may have created the stack, so
//! before re-sending it the client looks the name up (one list request) and
//! returns the stack it finds; a re-sent POST answered 409 StackExists is
//! resolved the same way. This assumes stack names are unique per create call
//! (Magnum appends a random suffix to each stack name).
//!
//! Status: `404` and `DELETE_COMPLETE` both mean the stack is gone
//! ([`StackLookup::Gone`]): after a delete, Heat still shows the stack by id
//! (200, `DELETE_COMPLETE`) while the name alone gives 404.
//!
//! Trusts: Heat (`deferred_auth_method = trusts`, its default) creates at stack
//! create a trust from the caller to its service user, with impersonation and the
//! roles of the caller's token. From a trust-scoped token (a Magnum trustee's)
//! Keystone accepts that only as a redelegation of the token's trust, which
//! must have been created with `impersonation: true`, `allow_redelegation: true`
//! (and a `redelegation_count` of 1 or more, the default being 3), without
//! `remaining_uses`, and with every role the trust-scoped token carries,
//! implied roles included (a trust of `member` alone yields tokens with `member`
//! and `reader`, Heat asks for both, and Keystone refuses: 403). Otherwise a
//! create answers 403 Forbidden (no redelegation, or missing roles) or 400
//! MissingCredentialError (no impersonation). Updates, reads and deletes work
//! with any trust-scoped token of the project, redelegatable or not.

mod client;
mod http;
#[cfg(test)]
mod tests;
mod types;

use std::time::Duration;

pub use client::HeatClient;
pub use types::*;

/// How transient failures (connection errors, timeouts, 5xx) are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// The first pause; doubled after each retry.
    pub initial_backoff: Duration,
    /// The longest pause.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The pause before retry number `retry` (1-based), ±20 % jitter.
    fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        exp.min(self.max_backoff)
            .mul_f64(rand::random_range(0.8..1.2))
    }
}

/// Which conflict Heat reported (409).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConflictKind {
    /// A stack with that name exists (`StackExists`).
    StackExists,
    /// The stack is busy with another action (`ActionInProgress`).
    ActionInProgress,
    /// Another 409 (Heat's error type).
    Other(String),
}

/// What can go wrong talking to Heat.
#[derive(Debug, thiserror::Error)]
pub enum HeatError {
    /// The stack (or output, resource) does not exist (404).
    #[error("not found: {0}")]
    NotFound(String),
    /// 409: the name is taken or the stack is busy.
    #[error("conflict ({kind:?}): {message}")]
    Conflict {
        /// Which conflict.
        kind: ConflictKind,
        /// Heat's message.
        message: String,
    },
    /// 400: Heat's `error.message` (validation, unknown parameter, size limits…).
    #[error("Heat refused the request: {0}")]
    BadRequest(String),
    /// 403: policy, or a trust Keystone would not create.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 401: the token is invalid or expired.
    #[error("Heat refused the token (401)")]
    Unauthorized,
    /// Connection errors or 5xx, still failing after the retries.
    #[error("Heat is unavailable after {attempts} attempts: {message}")]
    Unavailable {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        message: String,
    },
    /// The endpoint URL given is unusable.
    #[error("invalid orchestration endpoint: {0}")]
    InvalidEndpoint(String),
    /// Any other answer.
    #[error("unexpected answer from Heat ({status}): {message}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// Body excerpt or decoding error.
        message: String,
    },
}
