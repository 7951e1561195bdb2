//! The bay's etcd (v3) through its JSON gateway (`/v3/kv/...`, keys and values in base64), over
//! mutual TLS, trying the `--etcd-servers` in order and staying on the one that answers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::tls::{TlsError, client_config, read_file};

/// An etcd request that failed.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// No endpoint could be reached.
    #[error("etcd unreachable: {0}")]
    Unreachable(String),
    /// etcd answered with an error.
    #[error("etcd: {0}")]
    Server(String),
    /// The asked revision was compacted away.
    #[error("etcd: required revision has been compacted")]
    Compacted,
    /// The TLS files could not be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The HTTP client could not be built.
    #[error("etcd client: {0}")]
    Client(#[from] reqwest::Error),
}

/// An error with its causes, `a: b: c` (reqwest's own message leaves out why a TLS
/// handshake or connection failed).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// One key as etcd keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Kv {
    /// The key.
    pub key: String,
    /// The value (an object's JSON).
    pub value: Vec<u8>,
    /// The revision that created the key.
    pub create_revision: i64,
    /// The revision that last changed it: the object's resourceVersion.
    pub mod_revision: i64,
}

/// What a conditional write came to.
#[derive(Debug)]
pub enum Written {
    /// Written at this revision.
    Done(i64),
    /// The key does not exist.
    Missing,
    /// The key exists but not at the expected revision (for creates: it exists).
    Conflict,
}

/// A client for the etcd cluster.
#[derive(Debug)]
pub struct Etcd {
    endpoints: Vec<String>,
    http: reqwest::Client,
    current: AtomicUsize,
}

/// Whether etcd's error means a leader election was under way (the request may be retried).
fn is_election(msg: &str) -> bool {
    [
        "leader changed",
        "no leader",
        "not leader",
        "request timed out",
    ]
    .iter()
    .any(|m| msg.contains(m))
}

fn b64(s: &str) -> String {
    B64.encode(s.as_bytes())
}

fn num(v: &Value) -> i64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

/// The end of the key range that holds every key starting with `prefix`.
pub fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

fn kvs(resp: &Value) -> Vec<Kv> {
    let Some(Value::Array(list)) = resp.get("kvs") else {
        return Vec::new();
    };
    list.iter()
        .map(|kv| {
            let field = |name: &str| {
                kv.get(name)
                    .and_then(Value::as_str)
                    .and_then(|s| B64.decode(s).ok())
                    .unwrap_or_default()
            };
            Kv {
                key: String::from_utf8_lossy(&field("key")).into_owned(),
                value: field("value"),
                create_revision: kv.get("create_revision").map_or(0, num),
                mod_revision: kv.get("mod_revision").map_or(0, num),
            }
        })
        .collect()
}

impl Etcd {
    /// A client for `endpoints` (`https://host:2379`), with the CA and client identity files
    /// when given.
    pub fn new(
        endpoints: &[String],
        ca: Option<&str>,
        cert: Option<&str>,
        key: Option<&str>,
    ) -> Result<Etcd, EtcdError> {
        let mut builder = reqwest::Client::builder()
            .http1_only()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10));
        if let Some(ca) = ca {
            let ca = read_file(ca.as_ref())?;
            let identity = match (cert, key) {
                (Some(c), Some(k)) => Some((read_file(c.as_ref())?, read_file(k.as_ref())?)),
                _ => None,
            };
            let config = client_config(
                &ca,
                identity.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice())),
            )?;
            builder = builder.tls_backend_preconfigured(config);
        }
        Ok(Etcd {
            endpoints: endpoints
                .iter()
                .map(|e| e.trim().trim_end_matches('/').to_string())
                .filter(|e| !e.is_empty())
                .collect(),
            http: builder.build()?,
            current: AtomicUsize::new(0),
        })
    }

    /// POSTs to the gateway; an answer that says etcd is electing a leader (a member joining,
    /// one restarting) is retried for a few seconds, as etcd's own clients do. Writes are
    /// compare-and-set transactions, so one that went through before the error is not made
    /// twice: its retry answers AlreadyExists or Conflict.
    async fn call(&self, path: &str, body: &Value) -> Result<Value, EtcdError> {
        let mut attempt = 0u64;
        loop {
            match self.call_once(path, body).await {
                Err(EtcdError::Server(msg)) if attempt < 10 && is_election(&msg) => {
                    attempt += 1;
                    tracing::info!("etcd: {msg}; retrying ({attempt})");
                    tokio::time::sleep(std::time::Duration::from_millis(300 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// POSTs to the gateway, failing over to the next endpoint when one cannot be reached.
    async fn call_once(&self, path: &str, body: &Value) -> Result<Value, EtcdError> {
        let n = self.endpoints.len();
        if n == 0 {
            return Err(EtcdError::Unreachable("no --etcd-servers given".into()));
        }
        let start = self.current.load(Ordering::Relaxed);
        let mut last = String::new();
        for i in 0..n {
            let idx = (start + i) % n;
            let url = format!("{}{path}", self.endpoints[idx]);
            match self.http.post(&url).json(body).send().await {
                Ok(resp) => {
                    if idx != start {
                        tracing::info!("etcd: now using {}", self.endpoints[idx]);
                        self.current.store(idx, Ordering::Relaxed);
                    }
                    let status = resp.status();
                    let text = resp
                        .text()
                        .await
                        .map_err(|e| EtcdError::Unreachable(e.to_string()))?;
                    let value: Value = serde_json::from_str(&text)
                        .map_err(|_| EtcdError::Server(format!("{status}: {text}")))?;
                    if !status.is_success() || value.get("error").is_some() {
                        let msg = value
                            .get("error")
                            .or_else(|| value.get("message"))
                            .and_then(Value::as_str)
                            .unwrap_or(&text)
                            .to_string();
                        if msg.contains("compacted") {
                            return Err(EtcdError::Compacted);
                        }
                        return Err(EtcdError::Server(msg));
                    }
                    return Ok(value);
                }
                Err(e) => {
                    tracing::debug!("etcd {url}: {}", chain(&e));
                    last = format!("{}: {}", self.endpoints[idx], chain(&e));
                }
            }
        }
        Err(EtcdError::Unreachable(last))
    }

    /// The cluster's current revision; doubles as a health check.
    pub async fn revision(&self) -> Result<i64, EtcdError> {
        let resp = self
            .call(
                "/v3/kv/range",
                &json!({"key": b64("/registry/health"), "count_only": true}),
            )
            .await?;
        Ok(resp.pointer("/header/revision").map_or(0, num))
    }

    /// One key, if present.
    pub async fn get(&self, key: &str) -> Result<Option<Kv>, EtcdError> {
        let resp = self.call("/v3/kv/range", &json!({"key": b64(key)})).await?;
        Ok(kvs(&resp).into_iter().next())
    }

    /// Every key under `prefix`, at `revision` (now when `None`), with the revision read at.
    pub async fn list(
        &self,
        prefix: &str,
        revision: Option<i64>,
    ) -> Result<(Vec<Kv>, i64), EtcdError> {
        let mut body = json!({"key": b64(prefix), "range_end": B64.encode(prefix_end(prefix))});
        if let Some(rev) = revision {
            body["revision"] = json!(rev.to_string());
        }
        let resp = self.call("/v3/kv/range", &body).await?;
        let rev = resp.pointer("/header/revision").map_or(0, num);
        Ok((kvs(&resp), rev))
    }

    async fn txn(
        &self,
        key: &str,
        compare: Value,
        put: Option<&[u8]>,
    ) -> Result<Written, EtcdError> {
        let action = match put {
            Some(value) => json!({"request_put": {"key": b64(key), "value": B64.encode(value)}}),
            None => json!({"request_delete_range": {"key": b64(key)}}),
        };
        let body = json!({
            "compare": [compare],
            "success": [action],
            "failure": [{"request_range": {"key": b64(key)}}],
        });
        let resp = self.call("/v3/kv/txn", &body).await?;
        if resp.get("succeeded").and_then(Value::as_bool) == Some(true) {
            return Ok(Written::Done(
                resp.pointer("/header/revision").map_or(0, num),
            ));
        }
        let exists = resp
            .pointer("/responses/0/response_range")
            .is_some_and(|r| !kvs(r).is_empty());
        Ok(if exists {
            Written::Conflict
        } else {
            Written::Missing
        })
    }

    /// Creates `key` only if it does not exist.
    pub async fn create(&self, key: &str, value: &[u8]) -> Result<Written, EtcdError> {
        let compare =
            json!({"key": b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"});
        let out = self.txn(key, compare, Some(value)).await?;
        // The failure branch's range finds nothing only if the key vanished meanwhile.
        Ok(match out {
            Written::Missing => Written::Conflict,
            other => other,
        })
    }

    /// Replaces `key` only if it is still at `mod_revision`.
    pub async fn update(
        &self,
        key: &str,
        value: &[u8],
        mod_revision: i64,
    ) -> Result<Written, EtcdError> {
        let compare = json!({"key": b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": mod_revision.to_string()});
        self.txn(key, compare, Some(value)).await
    }

    /// Deletes `key` only if it is still at `mod_revision`.
    pub async fn delete(&self, key: &str, mod_revision: i64) -> Result<Written, EtcdError> {
        let compare = json!({"key": b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": mod_revision.to_string()});
        self.txn(key, compare, None).await
    }

    /// Deletes every key under `prefix`; returns how many went.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<i64, EtcdError> {
        let body = json!({"key": b64(prefix), "range_end": B64.encode(prefix_end(prefix))});
        let resp = self.call("/v3/kv/deleterange", &body).await?;
        Ok(resp.get("deleted").map_or(0, num))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elections_are_retried_and_nothing_else() {
        assert!(is_election("etcdserver: leader changed"));
        assert!(is_election("etcdserver: no leader"));
        assert!(is_election("etcdserver: request timed out"));
        assert!(!is_election(
            "etcdserver: mvcc: required revision has been compacted"
        ));
        assert!(!is_election("permission denied"));
    }

    #[test]
    fn prefix_ranges() {
        assert_eq!(prefix_end("/registry/pods/"), b"/registry/pods0".to_vec());
        assert_eq!(prefix_end("a\u{7f}"), b"a\x80".to_vec());
        assert_eq!(prefix_end(""), vec![0]);
    }

    #[test]
    fn gateway_answers_decode() {
        let resp = json!({"header": {"revision": "9"}, "kvs": [
            {"key": b64("/registry/pods/a/b"), "value": b64("{}"), "create_revision": "3", "mod_revision": "7"}
        ], "count": "1"});
        let list = kvs(&resp);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].key, "/registry/pods/a/b");
        assert_eq!(list[0].value, b"{}".to_vec());
        assert_eq!((list[0].create_revision, list[0].mod_revision), (3, 7));
        assert!(kvs(&json!({"header": {}})).is_empty());
        assert_eq!(num(&json!(5)), 5);
    }
}
