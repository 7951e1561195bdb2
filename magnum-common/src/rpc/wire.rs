//! oslo.messaging's message format (rabbit driver, envelope 2.0), read from its
//! source (`_drivers/common.py`, `amqp.py`, `amqpdriver.py`, `notify/notifier.py`):
//! what goes on the wire is built and read here and nowhere else.

use super::{RemoteError, RpcError};
use serde_json::{Map, Value};

type Obj = Map<String, Value>;

const VERSION_KEY: &str = "oslo.version";
const MESSAGE_KEY: &str = "oslo.message";
const ENVELOPE_VERSION: (u64, u64) = (2, 0);
const CONTEXT_PREFIX: &str = "_context_";

/// A fresh `_unique_id` / `_msg_id`: uuid4 as 32 hex digits, as oslo makes them.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `{"oslo.version": "2.0", "oslo.message": "<the message as a JSON string>"}`.
pub(crate) fn envelope(msg: &Obj) -> Vec<u8> {
    let mut env = Obj::new();
    env.insert(VERSION_KEY.into(), "2.0".into());
    env.insert(
        MESSAGE_KEY.into(),
        Value::String(Value::Object(msg.clone()).to_string()),
    );
    Value::Object(env).to_string().into_bytes()
}

/// The message inside a body. Like oslo's `deserialize_msg`, a JSON object
/// without the two envelope keys is taken as an old (1.0) unwrapped message.
pub(crate) fn open_envelope(body: &[u8]) -> Result<Obj, RpcError> {
    let bad = |why: String| RpcError::InvalidMessage(why);
    let outer: Value = serde_json::from_slice(body).map_err(|e| bad(format!("not JSON: {e}")))?;
    let Value::Object(mut outer) = outer else {
        return Err(bad("not a JSON object".into()));
    };
    if !(outer.contains_key(VERSION_KEY) && outer.contains_key(MESSAGE_KEY)) {
        return Ok(outer);
    }
    let version = outer
        .get(VERSION_KEY)
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !version_is_compatible(version) {
        return Err(bad(format!("unsupported envelope version {version}")));
    }
    let inner = match outer.remove(MESSAGE_KEY) {
        Some(Value::String(s)) => serde_json::from_str::<Value>(&s)
            .map_err(|e| bad(format!("oslo.message is not JSON: {e}")))?,
        _ => return Err(bad("oslo.message is not a string".into())),
    };
    match inner {
        Value::Object(o) => Ok(o),
        _ => Err(bad("oslo.message is not a JSON object".into())),
    }
}

/// oslo's `version_is_compatible(imp="2.0", version)`: same major, minor not newer.
fn version_is_compatible(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u64>().ok());
    match (parts.next().flatten(), parts.next().flatten().or(Some(0))) {
        (Some(major), Some(minor)) => major == ENVELOPE_VERSION.0 && minor <= ENVELOPE_VERSION.1,
        _ => false,
    }
}

/// The context flattened into the message as `_context_<key>` (oslo `pack_context`).
fn pack_context(msg: &mut Obj, ctx: &Value) -> Result<(), RpcError> {
    match ctx {
        Value::Null => Ok(()),
        Value::Object(o) => {
            msg.extend(
                o.iter()
                    .map(|(k, v)| (format!("{CONTEXT_PREFIX}{k}"), v.clone())),
            );
            Ok(())
        }
        _ => Err(RpcError::InvalidMessage(
            "the context must be a JSON object".into(),
        )),
    }
}

fn object_or_empty(v: Value, what: &str) -> Result<Value, RpcError> {
    match v {
        Value::Null => Ok(Value::Object(Obj::new())),
        Value::Object(_) => Ok(v),
        _ => Err(RpcError::InvalidMessage(format!(
            "{what} must be a JSON object"
        ))),
    }
}

/// Where a call's reply goes.
pub(crate) struct CallReturn<'a> {
    pub msg_id: &'a str,
    pub reply_q: &'a str,
}

/// A request (`call` when `ret` is set, else `cast`/fanout). `_timeout` is oslo's
/// call-monitor timeout, not the call's deadline (that travels as the AMQP
/// `expiration`): like oslo's default client we send null.
pub(crate) fn request(
    ctx: &Value,
    method: &str,
    args: Value,
    ret: Option<CallReturn<'_>>,
) -> Result<Obj, RpcError> {
    let mut msg = Obj::new();
    msg.insert("method".into(), method.into());
    msg.insert("args".into(), object_or_empty(args, "args")?);
    msg.insert("namespace".into(), Value::Null);
    msg.insert("version".into(), "1.0".into());
    if let Some(ret) = ret {
        msg.insert("_msg_id".into(), ret.msg_id.into());
        msg.insert("_reply_q".into(), ret.reply_q.into());
        msg.insert("_timeout".into(), Value::Null);
    }
    msg.insert("_unique_id".into(), new_id().into());
    pack_context(&mut msg, ctx)?;
    Ok(msg)
}

/// A request as a server reads it (oslo `unpack_context` plus the dispatcher's fields).
#[derive(Debug)]
pub(crate) struct Request {
    pub ctx: Value,
    pub method: String,
    pub args: Value,
    pub msg_id: Option<String>,
    pub reply_q: Option<String>,
    /// The caller's call-monitor timeout in seconds: heartbeat every half of it.
    pub call_monitor_timeout: Option<u64>,
}

pub(crate) fn parse_request(msg: Obj) -> Result<Request, RpcError> {
    let mut ctx = Obj::new();
    let mut fields = Obj::new();
    for (k, v) in msg {
        match k.strip_prefix(CONTEXT_PREFIX) {
            Some(key) => {
                ctx.insert(key.to_owned(), v);
            }
            None => {
                fields.insert(k, v);
            }
        }
    }
    let text = |fields: &mut Obj, k: &str| match fields.remove(k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    };
    let method = text(&mut fields, "method")
        .ok_or_else(|| RpcError::InvalidMessage("a request without a method".into()))?;
    let call_monitor_timeout = match fields.get("_timeout") {
        Some(Value::Number(n)) => n.as_f64().filter(|t| *t >= 1.0).map(|t| t as u64),
        _ => None,
    };
    Ok(Request {
        ctx: Value::Object(ctx),
        method,
        args: object_or_empty(fields.remove("args").unwrap_or(Value::Null), "args")?,
        msg_id: text(&mut fields, "_msg_id"),
        reply_q: text(&mut fields, "_reply_q"),
        call_monitor_timeout,
    })
}

/// A reply: `{"result", "failure", "ending", "_msg_id", "_unique_id"}`, one message
/// per call (oslo stopped sending a second `ending` message); `ending: false` with
/// nothing in it is a call-monitor heartbeat.
pub(crate) fn reply(msg_id: &str, outcome: Option<&Result<Value, RemoteError>>) -> Obj {
    let (result, failure) = match outcome {
        Some(Ok(v)) => (v.clone(), Value::Null),
        Some(Err(e)) => (Value::Null, Value::String(e.to_failure_string())),
        None => (Value::Null, Value::Null),
    };
    let mut msg = Obj::new();
    msg.insert("result".into(), result);
    msg.insert("failure".into(), failure);
    msg.insert("ending".into(), outcome.is_some().into());
    msg.insert("_msg_id".into(), msg_id.into());
    msg.insert("_unique_id".into(), new_id().into());
    msg
}

/// A reply as a client reads it.
#[derive(Debug)]
pub(crate) struct Reply {
    pub msg_id: Option<String>,
    pub result: Value,
    pub failure: Option<RemoteError>,
    pub ending: bool,
}

pub(crate) fn parse_reply(mut msg: Obj) -> Reply {
    let failure = match msg.remove("failure") {
        None | Some(Value::Null) => None,
        Some(f) => Some(RemoteError::from_failure(&f)),
    };
    Reply {
        msg_id: match msg.remove("_msg_id") {
            Some(Value::String(s)) => Some(s),
            _ => None,
        },
        result: msg.remove("result").unwrap_or(Value::Null),
        failure,
        ending: msg.get("ending").and_then(Value::as_bool).unwrap_or(false),
    }
}

/// A notification (oslo `Notifier._notify` + the driver's `_send`): `message_id`
/// is a dashed uuid4, `priority` upper-case, `timestamp` is Python's
/// `str(datetime.utcnow())`; the context is flattened as for requests.
pub(crate) fn notification(
    ctx: &Value,
    publisher_id: &str,
    event_type: &str,
    priority: &str,
    payload: Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Obj, RpcError> {
    let mut msg = Obj::new();
    msg.insert("message_id".into(), uuid::Uuid::new_v4().to_string().into());
    msg.insert("publisher_id".into(), publisher_id.into());
    msg.insert("event_type".into(), event_type.into());
    msg.insert("priority".into(), priority.into());
    msg.insert("payload".into(), payload);
    msg.insert(
        "timestamp".into(),
        now.format("%Y-%m-%d %H:%M:%S%.6f").to_string().into(),
    );
    msg.insert("_unique_id".into(), new_id().into());
    pack_context(&mut msg, ctx)?;
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn call_request_round_trip() {
        let ctx = json!({"user_id": "u1", "roles": ["admin"]});
        let ret = CallReturn {
            msg_id: "m1",
            reply_q: "reply_q1",
        };
        let msg = request(&ctx, "cluster_create", json!({"x": 1}), Some(ret)).unwrap();
        assert_eq!(msg["_context_user_id"], "u1");
        assert_eq!(msg["namespace"], Value::Null);
        assert_eq!(msg["version"], "1.0");
        assert_eq!(msg["_timeout"], Value::Null);
        assert_eq!(msg["_unique_id"].as_str().map(str::len), Some(32));
        let body: Value = serde_json::from_slice(&envelope(&msg)).unwrap();
        assert_eq!(body["oslo.version"], "2.0");
        assert!(body["oslo.message"].is_string());
        let req = parse_request(open_envelope(&envelope(&msg)).unwrap()).unwrap();
        assert_eq!(req.ctx, ctx);
        assert_eq!(req.method, "cluster_create");
        assert_eq!(req.args, json!({"x": 1}));
        assert_eq!(req.msg_id.as_deref(), Some("m1"));
        assert_eq!(req.reply_q.as_deref(), Some("reply_q1"));
        assert_eq!(req.call_monitor_timeout, None);
    }

    #[test]
    fn casts_have_no_reply_fields_and_bad_input_is_refused() {
        let msg = request(&Value::Null, "m", Value::Null, None).unwrap();
        assert!(!msg.contains_key("_msg_id") && !msg.contains_key("_reply_q"));
        assert_eq!(msg["args"], json!({}));
        assert!(request(&json!([1]), "m", Value::Null, None).is_err());
        assert!(request(&Value::Null, "m", json!("x"), None).is_err());
        assert!(parse_request(Obj::new()).is_err());
    }

    #[test]
    fn envelopes_old_and_future() {
        assert_eq!(open_envelope(br#"{"method": "m"}"#).unwrap()["method"], "m");
        let future = br#"{"oslo.version": "3.0", "oslo.message": "{}"}"#;
        assert!(open_envelope(future).is_err());
        let newer_minor = br#"{"oslo.version": "2.1", "oslo.message": "{}"}"#;
        assert!(open_envelope(newer_minor).is_err());
        assert!(open_envelope(b"[]").is_err());
    }

    #[test]
    fn replies_and_heartbeats() {
        let ok = reply("m1", Some(&Ok(json!({"a": 1}))));
        assert_eq!(ok["ending"], true);
        assert_eq!(ok["failure"], Value::Null);
        let r = parse_reply(ok);
        assert_eq!(
            (r.msg_id.as_deref(), r.result, r.ending),
            (Some("m1"), json!({"a": 1}), true)
        );
        let err = reply("m2", Some(&Err(RemoteError::new("NotSupported", "no"))));
        assert!(err["failure"].is_string());
        let r = parse_reply(err);
        assert_eq!(r.failure.map(|f| f.class), Some("NotSupported".into()));
        let hb = parse_reply(reply("m3", None));
        assert!(!hb.ending && hb.result.is_null() && hb.failure.is_none());
    }

    #[test]
    fn notification_shape() {
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 5_000).unwrap();
        let n = notification(
            &json!({"a": 1}),
            "magnum.h",
            "magnum.cluster.create",
            "INFO",
            json!({}),
            now,
        )
        .unwrap();
        assert_eq!(n["timestamp"], "2023-11-14 22:13:20.000005");
        assert_eq!(n["priority"], "INFO");
        assert_eq!(n["_context_a"], 1);
        assert_eq!(n["message_id"].as_str().map(str::len), Some(36));
    }
}
