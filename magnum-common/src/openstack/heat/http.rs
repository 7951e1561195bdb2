//! The request plumbing shared by the client's calls: answers, error bodies,
//! and turning a status into a [`HeatError`].

use reqwest::StatusCode;
use serde::Deserialize;

use super::*;

/// Heat's error body (fault middleware, or keystonemiddleware's 401).
#[derive(Deserialize)]
pub(super) struct ErrorBody {
    #[serde(default)]
    explanation: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    error: Option<ErrorDetail>,
}

#[derive(Deserialize)]
pub(super) struct ErrorDetail {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// A response that is not a transient failure.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) location: Option<String>,
    pub(super) body: Vec<u8>,
}

/// Retry mode of one request.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// Re-send on transient failures.
    Idempotent,
    /// Send once.
    Once,
}

/// A reqwest error's text without the URL (it may be long; it never holds a token).
pub(super) fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

/// `error.message` (or `explanation`, `title`) of a Heat error body.
pub(super) fn error_message(body: &str) -> Option<String> {
    let parsed: ErrorBody = serde_json::from_str(body).ok()?;
    parsed
        .error
        .and_then(|e| e.message)
        .or(parsed.explanation)
        .or(parsed.title)
}

/// The error an error answer stands for.
pub(super) fn error_of(answer: &Answer) -> HeatError {
    let text = String::from_utf8_lossy(&answer.body);
    let parsed: Option<ErrorBody> = serde_json::from_str(&text).ok();
    let kind = parsed
        .as_ref()
        .and_then(|b| b.error.as_ref())
        .and_then(|e| e.kind.clone());
    let message = error_message(&text).unwrap_or_else(|| text.chars().take(300).collect());
    match answer.status.as_u16() {
        400 => HeatError::BadRequest(message),
        401 => HeatError::Unauthorized,
        403 => HeatError::Forbidden(message),
        404 => HeatError::NotFound(message),
        409 => HeatError::Conflict {
            kind: match kind.as_deref() {
                Some("StackExists") => ConflictKind::StackExists,
                Some("ActionInProgress") => ConflictKind::ActionInProgress,
                other => ConflictKind::Other(other.unwrap_or("").to_owned()),
            },
            message,
        },
        status => HeatError::Unexpected { status, message },
    }
}

/// The answer itself if it is a success, else its error.
pub(super) fn check(answer: Answer) -> Result<Answer, HeatError> {
    if answer.status.is_success() {
        Ok(answer)
    } else {
        Err(error_of(&answer))
    }
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(answer: &Answer) -> Result<T, HeatError> {
    serde_json::from_slice(&answer.body).map_err(|e| HeatError::Unexpected {
        status: answer.status.as_u16(),
        message: format!("undecodable answer: {e}"),
    })
}
