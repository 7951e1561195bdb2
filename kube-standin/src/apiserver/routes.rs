//! URL routing, Kubernetes style: `/api/v1/...` and `/apis/<group>/<version>/...`, with
//! `namespaces/<ns>/` in front of namespaced resources, `/watch/` or `?watch=true` for watches,
//! and the non-resource paths (`/healthz`, `/version`, `/openapi/v2`, discovery).

use std::collections::HashMap;
use std::time::Duration;

use actix_web::web::{Bytes, Data, Query};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

use super::State;
use super::auth::Identity;
use super::call::{Call, Target, json_response};
use super::discovery;
use super::namespaces;
use super::ops;
use super::resources::find;
use super::reviews;
use super::status::ApiError;
use super::subresources;
use super::watch;

/// Every request comes here: identity logged, then routed.
pub async fn handle(req: HttpRequest, body: Bytes, state: Data<State>) -> HttpResponse {
    let identity = req.conn_data::<Identity>().cloned();
    let Some(identity) = identity else {
        return ApiError::unauthorized().error_response();
    };
    tracing::debug!(
        user = %identity.user,
        groups = ?identity.groups,
        "{} {}",
        req.method(),
        req.uri()
    );
    // No authorization: every authenticated user may do everything (see the README).
    match route(&req, body, state).await {
        Ok(resp) => resp,
        Err(e) => {
            if e.code >= 500 {
                tracing::warn!("{} {}: {e}", req.method(), req.uri());
            }
            e.error_response()
        }
    }
}

async fn health(state: &State, verbose: bool) -> HttpResponse {
    let etcd = tokio::time::timeout(Duration::from_secs(3), state.store.etcd.revision()).await;
    let ok = matches!(etcd, Ok(Ok(_)));
    let text = match (ok, verbose) {
        (true, false) => "ok".to_string(),
        (true, true) => "[+]ping ok\n[+]etcd ok\nhealthz check passed\n".to_string(),
        (false, _) => {
            "[+]ping ok\n[-]etcd failed: reason withheld\nhealthz check failed\n".to_string()
        }
    };
    let mut resp = if ok {
        HttpResponse::Ok()
    } else {
        HttpResponse::InternalServerError()
    };
    resp.content_type("text/plain; charset=utf-8").body(text)
}

async fn route(
    req: &HttpRequest,
    body: Bytes,
    state: Data<State>,
) -> Result<HttpResponse, ApiError> {
    let decoded: Vec<String> = req
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let method = req.method().as_str().to_string();
    let query: HashMap<String, String> =
        Query::<HashMap<String, String>>::from_query(req.query_string())
            .map(Query::into_inner)
            .unwrap_or_default();
    let get_only = |value: serde_json::Value| -> Result<HttpResponse, ApiError> {
        if method == "GET" {
            Ok(json_response(200, &value))
        } else {
            Err(ApiError::method_not_allowed(&method))
        }
    };
    match segs.as_slice() {
        [] => get_only(
            json!({"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version", "/openapi/v2"]}),
        ),
        ["healthz" | "livez" | "readyz", ..] => {
            Ok(health(&state, query.contains_key("verbose")).await)
        }
        ["version"] => get_only(discovery::version_info(&state.version)),
        ["openapi", "v2"] | ["swagger-2.0.0.pb-v1"] => {
            let accept = header(req, "accept");
            Ok(if accept.contains("protobuf") {
                HttpResponse::Ok()
                    .content_type("application/octet-stream")
                    .body(discovery::openapi_protobuf(&state.version))
            } else {
                json_response(200, &discovery::openapi_json(&state.version))
            })
        }
        ["api"] => get_only(discovery::core_versions(&state.server_address)),
        ["api", "v1", rest @ ..] => resource(req, body, state, query, "", "v1", rest).await,
        ["apis"] => get_only(discovery::groups()),
        ["apis", group] => get_only(discovery::group(group).ok_or_else(ApiError::no_route)?),
        ["apis", group, version, rest @ ..] => {
            resource(req, body, state, query, group, version, rest).await
        }
        _ => Err(ApiError::no_route()),
    }
}

/// Decodes `%XX` escapes in one path segment (names such as `system:node` may come escaped).
fn percent_decode(seg: &str) -> String {
    let bytes = seg.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn header(req: &HttpRequest, name: &str) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn resource(
    req: &HttpRequest,
    body: Bytes,
    state: Data<State>,
    query: HashMap<String, String>,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<HttpResponse, ApiError> {
    let method = req.method().as_str();
    if rest.is_empty() {
        let list = discovery::resource_list(group, version).ok_or_else(ApiError::no_route)?;
        return if method == "GET" {
            Ok(json_response(200, &list))
        } else {
            Err(ApiError::method_not_allowed(method))
        };
    }
    let (watch_path, rest) = match rest {
        ["watch", tail @ ..] => (true, tail),
        _ => (false, rest),
    };
    let namespaced_path = rest.len() >= 3
        && rest[0] == "namespaces"
        && !(rest.len() == 3 && matches!(rest[2], "status" | "finalize"));
    let (ns, parts) = if namespaced_path {
        (Some(rest[1].to_string()), &rest[2..])
    } else {
        (None, rest)
    };
    if parts.is_empty() || parts.len() > 3 {
        return Err(ApiError::no_route());
    }
    let to_s = |i: usize| parts.get(i).map(|s| s.to_string());
    // The old binding path: POST namespaces/{ns}/bindings, the pod named in the body.
    if group.is_empty() && parts == ["bindings"] && ns.is_some() && method == "POST" {
        let pods = find("", "v1", "pods").ok_or_else(ApiError::no_route)?;
        let call = make_call(
            req,
            body,
            query,
            Target {
                res: pods,
                ns,
                name: None,
                sub: Some("binding".into()),
            },
        );
        return subresources::binding(&state, &call).await;
    }
    if group == reviews::GROUP && parts.len() == 1 && method == "POST" {
        let call = make_call(
            req,
            body,
            query,
            Target {
                res: find("", "v1", "pods").ok_or_else(ApiError::no_route)?,
                ns,
                name: None,
                sub: None,
            },
        );
        return Ok(json_response(
            201,
            &reviews::answer(parts[0], call.json_body()?)?,
        ));
    }
    let res = find(group, version, parts[0]).ok_or_else(ApiError::no_route)?;
    if ns.is_some() && !res.namespaced {
        return Err(ApiError::no_route());
    }
    let (name, sub) = (to_s(1), to_s(2));
    if sub
        .as_deref()
        .is_some_and(|s| !res.subresources.contains(&s))
    {
        return Err(ApiError::no_route());
    }
    let watching =
        watch_path || matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
    let call = make_call(req, body, query, Target { res, ns, name, sub });
    let has_name = call.target.name.is_some();
    let sub = call.target.sub.clone();
    match (method, has_name, sub.as_deref()) {
        ("GET", _, None) if watching => watch::watch(state.into_inner(), call).await,
        ("GET", false, None) => ops::list(&state, &call).await,
        ("GET", true, None | Some("status")) => ops::get(&state, &call).await,
        ("GET", true, Some("log")) => subresources::log(&state, &call).await,
        ("GET" | "PUT" | "PATCH", true, Some("scale")) => {
            subresources::scale(&state, &call, method).await
        }
        ("POST", false, None) if res.namespaced && call.target.ns.is_none() => {
            Err(ApiError::method_not_allowed("create needs a namespace"))
        }
        ("POST", false, None) => ops::create(&state, &call).await,
        ("POST", true, Some("binding")) => subresources::binding(&state, &call).await,
        ("POST", true, Some("eviction")) => subresources::eviction(&state, &call).await,
        ("PUT", true, None) => ops::replace(&state, &call).await,
        ("PUT", true, Some("status")) => subresources::write_status(&state, &call, false).await,
        ("PATCH", true, None) => ops::patch(&state, &call).await,
        ("PATCH", true, Some("status")) => subresources::write_status(&state, &call, true).await,
        ("DELETE", true, None) if res.name == "namespaces" => {
            namespaces::delete(state.into_inner(), &call).await
        }
        ("DELETE", true, None) => ops::delete(&state, &call).await,
        ("DELETE", false, None) => ops::delete_collection(&state, &call).await,
        _ => Err(ApiError::method_not_allowed(method)),
    }
}

fn make_call(
    req: &HttpRequest,
    body: Bytes,
    query: HashMap<String, String>,
    target: Target,
) -> Call {
    Call {
        target,
        query,
        accept: header(req, "accept"),
        content_type: header(req, "content-type"),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn path_segments_are_decoded() {
        assert_eq!(percent_decode("system%3Anode%3An1"), "system:node:n1");
        assert_eq!(percent_decode("plain"), "plain");
        assert_eq!(percent_decode("bad%zz%4"), "bad%zz%4");
    }
}
