//! The generic verbs on every resource: get, list, create, replace, patch, delete and
//! deletecollection, with Kubernetes' checks and answers (201 on create, Status on errors,
//! Tables for kubectl).

use actix_web::HttpResponse;
use serde_json::{Value, json};

use super::State;
use super::call::{Call, Target, json_response};
use super::defaults;
use super::patch::{self, PatchKind};
use super::resources::{Resource, by_name};
use super::status::ApiError;
use super::store::{name_of, namespace_of, version_of};
use super::table::{self, Include};

fn one(call: &Call, code: u16, obj: &Value) -> HttpResponse {
    match call.table_version() {
        Some(v) => {
            let include = Include::parse(call.q("includeObject"));
            json_response(
                code,
                &table::build(call.target.res, std::slice::from_ref(obj), include, v, None),
            )
        }
        None => json_response(code, obj),
    }
}

/// Sets kind and apiVersion, or refuses a body of another type.
fn check_type(res: &Resource, obj: &mut Value) -> Result<(), ApiError> {
    let api_version = res.api_version();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let given_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if (!kind.is_empty() && kind != res.kind)
        || (!given_version.is_empty() && given_version != api_version)
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({given_version}) and the kind ({kind}) do not match the resource {} of {api_version}",
            res.group_resource()
        )));
    }
    obj["kind"] = json!(res.kind);
    obj["apiVersion"] = json!(api_version);
    Ok(())
}

/// Checks the body's namespace against the URL's, filling it in when missing.
fn check_namespace(t: &Target, obj: &mut Value) -> Result<(), ApiError> {
    if !t.res.namespaced {
        if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("namespace");
        }
        return Ok(());
    }
    let url_ns = t.ns.clone().unwrap_or_default();
    match namespace_of(obj) {
        Some(ns) if ns != url_ns => Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )),
        _ => {
            obj["metadata"]["namespace"] = json!(url_ns);
            Ok(())
        }
    }
}

/// GET of one object.
pub async fn get(state: &State, call: &Call) -> Result<HttpResponse, ApiError> {
    let t = &call.target;
    let obj = state.store.get(t.res, t.ns.as_deref(), t.name()).await?;
    Ok(one(call, 200, &obj))
}

/// The objects a list or watch selects, and the revision read at.
pub async fn select(
    state: &State,
    call: &Call,
    revision: Option<i64>,
) -> Result<(Vec<Value>, i64), ApiError> {
    let (labels, fields) = call.selectors()?;
    let t = &call.target;
    let (items, rev) = state.store.list(t.res, t.ns.as_deref(), revision).await?;
    Ok((
        items
            .into_iter()
            .filter(|o| labels.matches(o) && fields.matches(o))
            .collect(),
        rev,
    ))
}

/// GET of a collection.
pub async fn list(state: &State, call: &Call) -> Result<HttpResponse, ApiError> {
    let (items, rev) = select(state, call, None).await?;
    let res = call.target.res;
    if let Some(v) = call.table_version() {
        let include = Include::parse(call.q("includeObject"));
        return Ok(json_response(
            200,
            &table::build(res, &items, include, v, Some(rev.to_string())),
        ));
    }
    Ok(json_response(
        200,
        &json!({
            "kind": format!("{}List", res.kind),
            "apiVersion": res.api_version(),
            "metadata": {"resourceVersion": rev.to_string()},
            "items": items,
        }),
    ))
}

/// Makes a name from `generateName` (five random characters, as Kubernetes).
fn generate_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let id = uuid::Uuid::new_v4();
    let suffix: String = id
        .as_bytes()
        .iter()
        .take(5)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    format!("{prefix}{suffix}")
}

/// Creates an object after Kubernetes' checks and defaults; `obj` is the decoded body.
pub async fn create_object(state: &State, t: &Target, mut obj: Value) -> Result<Value, ApiError> {
    let res = t.res;
    check_type(res, &mut obj)?;
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    check_namespace(t, &mut obj)?;
    let prefix = obj
        .pointer("/metadata/generateName")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(prefix) = prefix.filter(|_| name_of(&obj).is_empty()) {
        obj["metadata"]["name"] = json!(generate_name(&prefix));
    }
    let name = name_of(&obj).to_string();
    if name.is_empty() {
        return Err(ApiError::invalid(
            res,
            "",
            "metadata.name: Required value: name or generateName is required",
        ));
    }
    defaults::check_name(res, &name)?;
    if let Some(ns) = t.ns.as_deref().filter(|_| res.namespaced) {
        let namespaces =
            by_name("namespaces").ok_or_else(|| ApiError::internal("no namespaces"))?;
        match state.store.try_get(namespaces, None, ns).await? {
            None => return Err(ApiError::not_found(namespaces, ns)),
            Some(n) if n.pointer("/metadata/deletionTimestamp").is_some() => {
                return Err(ApiError::forbidden(
                    res,
                    &name,
                    &format!(
                        "unable to create new content in namespace {ns} because it is being terminated"
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    defaults::on_create(&state.store, &state.net, res, &mut obj).await?;
    state.store.create(res, obj).await
}

/// POST to a collection.
pub async fn create(state: &State, call: &Call) -> Result<HttpResponse, ApiError> {
    let obj = call.json_body()?;
    if call.dry_run() {
        let mut obj = obj;
        check_type(call.target.res, &mut obj)?;
        return Ok(one(call, 201, &obj));
    }
    let created = create_object(state, &call.target, obj).await?;
    Ok(one(call, 201, &created))
}

/// Turns `new` (a PUT body or a patched object) into what gets stored over `old`.
pub fn finish_update(t: &Target, old: &Value, mut new: Value) -> Result<Value, ApiError> {
    let res = t.res;
    check_type(res, &mut new)?;
    if !new.get("metadata").is_some_and(Value::is_object) {
        new["metadata"] = json!({});
    }
    check_namespace(t, &mut new)?;
    let name = name_of(&new).to_string();
    if name.is_empty() {
        new["metadata"]["name"] = json!(t.name());
    } else if name != t.name() {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({})",
            t.name()
        )));
    }
    if version_of(&new).is_some_and(|given| Some(given) != version_of(old)) {
        return Err(ApiError::conflict(res, t.name()));
    }
    defaults::on_update(res, old, &mut new)?;
    Ok(new)
}

/// PUT of one object.
pub async fn replace(state: &State, call: &Call) -> Result<HttpResponse, ApiError> {
    let body = call.json_body()?;
    let t = &call.target;
    let updated = state
        .store
        .update(t.res, t.ns.as_deref(), t.name(), |old| {
            finish_update(t, &old, body.clone())
        })
        .await?;
    Ok(one(call, 200, &updated))
}

/// The patch type and body of a PATCH.
pub fn patch_body(call: &Call) -> Result<(PatchKind, Value), ApiError> {
    let kind = PatchKind::from_content_type(&call.content_type)
        .ok_or_else(|| ApiError::unsupported_media(&call.content_type))?;
    let body: Value = serde_json::from_slice(&call.body)
        .map_err(|e| ApiError::bad_request(format!("the patch could not be decoded: {e}")))?;
    Ok((kind, body))
}

/// PATCH of one object.
pub async fn patch(state: &State, call: &Call) -> Result<HttpResponse, ApiError> {
    let (kind, body) = patch_body(call)?;
    let t = &call.target;
    let updated = state
        .store
        .update(t.res, t.ns.as_deref(), t.name(), |old| {
            let mut new = old.clone();
            patch::apply(kind, &mut new, &body)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            finish_update(t, &old, new)
        })
        .await?;
    Ok(one(call, 200, &updated))
}

/// DELETE of one object (namespaces: see `namespaces::delete`).
pub async fn delete(state: &State, call: &Call) -> Result<HttpResponse, ApiError> {
    let t = &call.target;
    let expect = serde_json::from_slice::<Value>(&call.body)
        .ok()
        .and_then(|b| {
            b.pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
        });
    let gone = state
        .store
        .delete(t.res, t.ns.as_deref(), t.name(), expect)
        .await?;
    Ok(json_response(200, &gone))
}

/// DELETE of a collection (with the list's selectors): answers the deleted objects.
pub async fn delete_collection(state: &State, call: &Call) -> Result<HttpResponse, ApiError> {
    let t = &call.target;
    if t.res.name == "namespaces" {
        return Err(ApiError::method_not_allowed(
            "deletecollection of namespaces",
        ));
    }
    let (items, rev) = select(state, call, None).await?;
    let mut gone = Vec::new();
    for obj in items {
        match state
            .store
            .delete(t.res, namespace_of(&obj), name_of(&obj), None)
            .await
        {
            Ok(o) => gone.push(o),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(json_response(
        200,
        &json!({
            "kind": format!("{}List", t.res.kind), "apiVersion": t.res.api_version(),
            "metadata": {"resourceVersion": rev.to_string()}, "items": gone,
        }),
    ))
}
