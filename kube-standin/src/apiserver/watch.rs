//! Watches (`?watch=true`, `/watch/...`): newline-delimited JSON events. The stand-in polls
//! etcd every second and sends what changed (ADDED, MODIFIED, DELETED) instead of using etcd's
//! watch stream; enough for `kubectl get -w`, `kubectl wait` and `kubectl rollout status`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::HttpResponse;
use actix_web::web::Bytes;
use serde_json::{Value, json};

use super::State;
use super::call::Call;
use super::status::ApiError;
use super::store::{name_of, namespace_of, version_of};
use super::table::{self, Include};

/// How long a watch lasts at most, whatever `timeoutSeconds` asks.
const MAX_TIMEOUT: u64 = 1800;

type Snapshot = BTreeMap<String, Value>;

fn snapshot(items: Vec<Value>) -> Snapshot {
    items
        .into_iter()
        .map(|o| {
            (
                format!("{}/{}", namespace_of(&o).unwrap_or_default(), name_of(&o)),
                o,
            )
        })
        .collect()
}

/// The events that turn `old` into `new`.
fn diff(old: &Snapshot, new: &Snapshot) -> Vec<(&'static str, Value)> {
    let mut events = Vec::new();
    for (key, obj) in new {
        match old.get(key) {
            None => events.push(("ADDED", obj.clone())),
            Some(prev) if version_of(prev) != version_of(obj) => {
                events.push(("MODIFIED", obj.clone()))
            }
            Some(_) => {}
        }
    }
    for (key, obj) in old {
        if !new.contains_key(key) {
            events.push(("DELETED", obj.clone()));
        }
    }
    events
}

struct Encoder {
    res: &'static super::resources::Resource,
    table: Option<&'static str>,
    include: Include,
}

impl Encoder {
    fn line(&self, kind: &str, obj: Value) -> Bytes {
        let object = match self.table {
            Some(v) => table::build(self.res, std::slice::from_ref(&obj), self.include, v, None),
            None => obj,
        };
        let mut text = json!({"type": kind, "object": object}).to_string();
        text.push('\n');
        Bytes::from(text)
    }
}

/// Starts a watch: answers at once and streams events until the timeout or the client goes.
pub async fn watch(state: Arc<State>, call: Call) -> Result<HttpResponse, ApiError> {
    let (labels, mut fields) = call.selectors()?;
    if let Some(name) = &call.target.name {
        fields = fields.with_name(name);
    }
    let timeout = call
        .q("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(300)
        .clamp(1, MAX_TIMEOUT);
    let since = call
        .q("resourceVersion")
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|v| *v > 0);
    let res = call.target.res;
    let ns = call.target.ns.clone();
    let encoder = Encoder {
        res,
        table: call.table_version(),
        include: Include::parse(call.q("includeObject")),
    };
    let selected = move |items: Vec<Value>| -> Snapshot {
        snapshot(
            items
                .into_iter()
                .filter(|o| labels.matches(o) && fields.matches(o))
                .collect(),
        )
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    let mut known = Snapshot::new();
    if let Some(rev) = since {
        match state.store.list(res, ns.as_deref(), Some(rev)).await {
            Ok((items, _)) => known = selected(items),
            Err(e) if e.code == 410 => {
                let gone = ApiError::gone(format!("too old resource version: {rev}"));
                let _ = tx.send(encoder.line("ERROR", gone.status())).await;
                drop(tx);
                return Ok(stream(rx));
            }
            Err(_) => {
                // A future revision (or a passing error): start from now, quietly.
                if let Ok((items, _)) = state.store.list(res, ns.as_deref(), None).await {
                    known = selected(items);
                }
            }
        }
    }
    actix_web::rt::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(timeout);
        loop {
            match state.store.list(res, ns.as_deref(), None).await {
                Ok((items, _)) => {
                    let current = selected(items);
                    for (kind, obj) in diff(&known, &current) {
                        if tx.send(encoder.line(kind, obj)).await.is_err() {
                            return;
                        }
                    }
                    known = current;
                }
                Err(e) => tracing::debug!("watch of {}: {e}", res.name),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tx.is_closed() {
                return;
            }
            tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        }
    });
    Ok(stream(rx))
}

fn stream(rx: tokio::sync::mpsc::Receiver<Bytes>) -> HttpResponse {
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, actix_web::Error>(b), rx))
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(ns: &str, name: &str, rv: &str) -> Value {
        json!({"metadata": {"namespace": ns, "name": name, "resourceVersion": rv}})
    }

    #[test]
    fn events_from_snapshots() {
        let old = snapshot(vec![obj("a", "x", "1"), obj("a", "y", "2")]);
        let new = snapshot(vec![
            obj("a", "x", "3"),
            obj("a", "y", "2"),
            obj("b", "z", "4"),
        ]);
        let kinds: Vec<&str> = diff(&old, &new).iter().map(|e| e.0).collect();
        assert_eq!(kinds, vec!["MODIFIED", "ADDED"]);
        let gone = diff(&new, &old);
        assert!(
            gone.iter()
                .any(|(k, o)| *k == "DELETED" && o["metadata"]["name"] == "z")
        );
        assert!(diff(&old, &old).is_empty());
    }
}
