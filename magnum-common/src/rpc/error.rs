//! The errors of the RPC layer, and the error a handler sends back to its caller.

use serde_json::{Map, Value, json};

/// Why an RPC operation failed. Callers map these to behaviour: `Transport` and
/// `Timeout` mean "conductor unreachable" (the API answers 503), `Remote` is the
/// conductor's own answer (mapped by `class`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// `transport_url` could not be parsed (or is not set).
    #[error("invalid transport_url: {0}")]
    InvalidUrl(String),
    /// The broker could not be reached, or did not take the message in time.
    #[error("messaging transport unavailable: {0}")]
    Transport(String),
    /// A call got no reply in time (oslo's `MessagingTimeout`).
    #[error("timed out waiting for a reply to {method} on {topic} after {timeout_ms} ms")]
    Timeout {
        /// The routing key the call went to.
        topic: String,
        /// The method called.
        method: String,
        /// How long the caller waited.
        timeout_ms: u128,
    },
    /// The server answered with a failure (an oslo serialized exception).
    #[error("{class}: {message}")]
    Remote {
        /// Exception class name, e.g. `NotSupported`, `NoSuchMethod`.
        class: String,
        /// Module of the class, e.g. `magnum.common.exception`.
        module: String,
        /// The exception's message.
        message: String,
    },
    /// A message we sent or received is not what oslo.messaging would send.
    #[error("invalid message: {0}")]
    InvalidMessage(String),
}

impl RpcError {
    pub(crate) fn transport(what: &str, err: impl std::fmt::Display) -> Self {
        Self::Transport(format!("{what}: {err}"))
    }
}

/// The module of Magnum's exceptions: a Python peer whose `allowed_remote_exmods`
/// lists it rebuilds the real exception class from our failures.
pub const MAGNUM_EXCEPTION_MODULE: &str = "magnum.common.exception";

/// A failure a handler returns to its caller, serialized as oslo does, so that
/// the caller (Rust or Python) sees the class name and can map it (for example
/// `NotSupported` to 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    /// Exception class name.
    pub class: String,
    /// Module of the class.
    pub module: String,
    /// Human-readable message.
    pub message: String,
}

impl RemoteError {
    /// A Magnum exception (`magnum.common.exception.<class>`).
    pub fn new(class: impl Into<String>, message: impl Into<String>) -> Self {
        Self::with_module(MAGNUM_EXCEPTION_MODULE, class, message)
    }

    /// An exception from another module.
    pub fn with_module(
        module: impl Into<String>,
        class: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            class: class.into(),
            module: module.into(),
            message: message.into(),
        }
    }

    /// oslo's answer to a method no endpoint exposes.
    pub fn no_such_method(method: &str) -> Self {
        Self::with_module(
            "oslo_messaging.rpc.dispatcher",
            "NoSuchMethod",
            format!("Endpoint does not support RPC method {method}"),
        )
    }

    /// The failure sent when a handler crashed twice on the same message.
    pub(crate) fn handler_crashed(method: &str) -> Self {
        Self::with_module(
            "builtins",
            "RuntimeError",
            format!("the handler of {method} crashed"),
        )
    }

    /// The `failure` field of an oslo reply: a JSON *string* holding
    /// `{"class", "module", "message", "tb", "args", "kwargs"}`.
    pub(crate) fn to_failure_string(&self) -> String {
        json!({
            "class": self.class,
            "module": self.module,
            "message": self.message,
            "tb": [],
            "args": [self.message],
            "kwargs": {},
        })
        .to_string()
    }

    /// Reads an oslo `failure` (a JSON string, or leniently an object).
    pub(crate) fn from_failure(failure: &Value) -> Self {
        let parsed;
        let obj: Option<&Map<String, Value>> = match failure {
            Value::String(s) => {
                parsed = serde_json::from_str::<Value>(s).ok();
                parsed.as_ref().and_then(Value::as_object)
            }
            Value::Object(o) => Some(o),
            _ => None,
        };
        let field = |k: &str| {
            obj.and_then(|o| o.get(k))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let strip = |s: String| s.strip_suffix("_Remote").map(str::to_owned).unwrap_or(s);
        match obj {
            Some(_) => Self {
                class: strip(field("class")),
                module: strip(field("module")),
                message: field("message"),
            },
            None => Self::with_module("", "RemoteError", failure.to_string()),
        }
    }
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.class, self.message)
    }
}

impl std::error::Error for RemoteError {}

impl From<RemoteError> for RpcError {
    fn from(e: RemoteError) -> Self {
        Self::Remote {
            class: e.class,
            module: e.module,
            message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_round_trip_is_oslo_shaped() {
        let e = RemoteError::new("NotSupported", "no way");
        let s = e.to_failure_string();
        let v: Value = serde_json::from_str(&s).unwrap_or_default();
        assert_eq!(v["class"], "NotSupported");
        assert_eq!(v["module"], "magnum.common.exception");
        assert_eq!(v["args"], json!(["no way"]));
        assert_eq!(v["tb"], json!([]));
        assert_eq!(RemoteError::from_failure(&Value::String(s)), e);
    }

    #[test]
    fn remote_suffix_is_stripped_and_garbage_tolerated() {
        let f = json!({"class": "Boom_Remote", "module": "x_Remote", "message": "m"});
        let e = RemoteError::from_failure(&Value::String(f.to_string()));
        assert_eq!((e.class.as_str(), e.module.as_str()), ("Boom", "x"));
        let e = RemoteError::from_failure(&json!(42));
        assert_eq!(e.class, "RemoteError");
    }
}
