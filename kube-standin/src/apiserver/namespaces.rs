//! Namespace deletion as Kubernetes does it: the namespace turns `Terminating` at once (no new
//! objects in it), and a moment later its objects go, then the namespace itself; so that
//! `kubectl delete -f` of a manifest holding a namespace and its objects finds each object.

use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpResponse;
use serde_json::{Value, json};

use super::State;
use super::call::{Call, json_response};
use super::defaults::now;
use super::resources::{RESOURCES, by_name};
use super::status::ApiError;

/// How long a namespace stays Terminating before its objects are deleted.
const GRACE: Duration = Duration::from_secs(1);

/// DELETE of a namespace: marked Terminating, emptied and removed in the background.
pub async fn delete(state: Arc<State>, call: &Call) -> Result<HttpResponse, ApiError> {
    let t = &call.target;
    let name = t.name().to_string();
    if matches!(name.as_str(), "default" | "kube-system" | "kube-public") {
        return Err(ApiError::forbidden(
            t.res,
            &name,
            "this namespace may not be deleted",
        ));
    }
    let marked = state
        .store
        .update(t.res, None, &name, |mut ns| {
            if ns.pointer("/metadata/deletionTimestamp").is_none() {
                ns["metadata"]["deletionTimestamp"] = json!(now());
            }
            ns["status"] = json!({"phase": "Terminating"});
            Ok(ns)
        })
        .await?;
    actix_web::rt::spawn(async move {
        tokio::time::sleep(GRACE).await;
        finalize(&state, &name).await;
    });
    Ok(json_response(200, &marked))
}

/// Deletes a Terminating namespace's objects, then the namespace.
pub async fn finalize(state: &State, name: &str) {
    let result = async {
        for r in RESOURCES.iter().filter(|r| r.namespaced) {
            state.store.delete_all(r, Some(name)).await?;
        }
        let namespaces = by_name("namespaces").ok_or_else(|| ApiError::internal("namespaces"))?;
        match state.store.delete(namespaces, None, name, None).await {
            Err(e) if e.code != 404 => Err(e),
            _ => Ok(()),
        }
    };
    match result.await {
        Ok(()) => tracing::info!("namespace {name} deleted with its objects"),
        Err(e) => tracing::warn!("namespace {name} stays Terminating until the next start: {e}"),
    }
}

/// Finishes the deletions a previous run left (namespaces still Terminating).
pub async fn finish_pending(state: &State) -> Result<(), ApiError> {
    let namespaces = by_name("namespaces").ok_or_else(|| ApiError::internal("namespaces"))?;
    let (all, _) = state.store.list(namespaces, None, None).await?;
    for ns in all
        .iter()
        .filter(|n| n.pointer("/metadata/deletionTimestamp").is_some())
    {
        let name = ns
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        finalize(state, name).await;
    }
    Ok(())
}
