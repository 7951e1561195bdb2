//! The recording Heat stand-in (benchmarks only): stacks are kept in memory and
//! stay `CREATE_IN_PROGRESS` for ever; every answer is immediate.
//!
//! Under `/v1/{project}`: `POST /stacks` (records arrival time, name and tags;
//! 201 `{"stack": {"id", "links"}}`, 409 StackExists for a taken name),
//! `GET /stacks` (filters `name`, `id`, `status`, `tags` — all of them — and
//! `tags_any`), `GET /stacks/{name}` (302 to the canonical URL),
//! `GET|PATCH|PUT|DELETE /stacks/{name}/{id}`, and `…/outputs[/{key}]`,
//! `…/resources[/{name}]`, `…/events` (empty lists; single items 404).
//! With the Keystone stand-in in the same process, the token must be one it
//! issued (401) for the path's project (403); otherwise any token is taken.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::keystone::Keystone;
use super::{RequestLog, arrived, lock, method_name};

#[derive(Debug, Clone)]
struct Stack {
    id: String,
    name: String,
    tags: Vec<String>,
    status: &'static str,
    created: String,
    updated: Option<String>,
    parameters: Map<String, Value>,
    timeout_mins: Option<i64>,
}

/// One stack create as recorded.
#[derive(Debug, Clone)]
struct Create {
    t_us: u64,
    project: String,
    stack_name: String,
    stack_id: String,
    tags: Vec<String>,
}

/// The stand-in's state.
#[derive(Debug)]
pub struct Heat {
    stacks: Mutex<HashMap<String, Vec<Stack>>>,
    creates: Mutex<Vec<Create>>,
    /// Arrival time of the first create carrying each tag (for `/_bench/wait`).
    tagged: Mutex<HashMap<String, u64>>,
    created: tokio::sync::Notify,
    keystone: Option<web::Data<Keystone>>,
    /// The request log.
    pub log: web::Data<RequestLog>,
}

impl Heat {
    /// An empty Heat; with `keystone`, tokens are checked against it.
    pub fn new(keystone: Option<web::Data<Keystone>>) -> Self {
        Heat {
            stacks: Mutex::new(HashMap::new()),
            creates: Mutex::new(Vec::new()),
            tagged: Mutex::new(HashMap::new()),
            created: tokio::sync::Notify::new(),
            keystone,
            log: web::Data::new(RequestLog::default()),
        }
    }
}

/// Heat's fault body.
fn error(status: StatusCode, kind: &str, message: &str) -> HttpResponse {
    let title = status.canonical_reason().unwrap_or("Error");
    HttpResponse::build(status).json(json!({"code": status.as_u16(), "title": title,
        "explanation": message, "error": {"type": kind, "message": message, "traceback": null}}))
}

fn now_iso() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Routes of the Heat stand-in (the app holds `web::Data<Heat>` and its log).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(versions))
        .route("/_bench/records", web::get().to(records))
        .route("/_bench/reset", web::post().to(reset))
        .route("/_bench/wait", web::get().to(wait))
        .configure(super::routes)
        .service(
            web::scope("/v1/{project}")
                .route("/stacks", web::post().to(create))
                .route("/stacks", web::get().to(list))
                .route("/stacks/{name}", web::get().to(by_name))
                .route("/stacks/{name}/{id}", web::get().to(show))
                .route("/stacks/{name}/{id}", web::patch().to(update))
                .route("/stacks/{name}/{id}", web::put().to(update))
                .route("/stacks/{name}/{id}", web::delete().to(delete))
                .route("/stacks/{name}/{id}/outputs", web::get().to(outputs))
                .route("/stacks/{name}/{id}/outputs/{key}", web::get().to(missing))
                .route("/stacks/{name}/{id}/resources", web::get().to(resources))
                .route("/stacks/{name}/{id}/resources/{r}", web::get().to(missing))
                .route("/stacks/{name}/{id}/events", web::get().to(events)),
        )
        .default_service(web::to(not_found));
}

async fn versions() -> HttpResponse {
    HttpResponse::MultipleChoices()
        .json(json!({"versions": [{"id": "v1.0", "status": "CURRENT", "links": []}]}))
}

async fn not_found(heat: web::Data<Heat>, req: HttpRequest) -> HttpResponse {
    heat.log
        .log(arrived(&req), method_name(req.method()), "other", "");
    error(
        StatusCode::NOT_FOUND,
        "NotFound",
        "The resource could not be found.",
    )
}

async fn records(heat: web::Data<Heat>) -> HttpResponse {
    let list: Vec<Value> = lock(&heat.creates)
        .iter()
        .map(|c| json!({"t_us": c.t_us, "project": c.project, "stack_name": c.stack_name, "stack_id": c.stack_id, "tags": c.tags}))
        .collect();
    HttpResponse::Ok().json(json!({ "creates": list }))
}

async fn reset(heat: web::Data<Heat>) -> HttpResponse {
    heat.log.reset();
    lock(&heat.creates).clear();
    lock(&heat.tagged).clear();
    HttpResponse::NoContent().finish()
}

#[derive(serde::Deserialize)]
struct WaitQuery {
    tag: String,
    #[serde(default = "default_wait_ms")]
    timeout_ms: u64,
}

fn default_wait_ms() -> u64 {
    30_000
}

/// `GET /_bench/wait?tag=T[&timeout_ms=N]`: waits until a stack create carrying tag `T` has
/// arrived; `{"t_us"}` is its arrival time (408 after the timeout).
async fn wait(heat: web::Data<Heat>, q: web::Query<WaitQuery>) -> HttpResponse {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(q.timeout_ms);
    loop {
        let notified = heat.created.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(t) = lock(&heat.tagged).get(&q.tag).copied() {
            return HttpResponse::Ok().json(json!({ "t_us": t }));
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                "Timeout",
                "No stack create with that tag arrived in time.",
            );
        }
    }
}

/// The answer to give instead (boxed: an `HttpResponse` is large).
type Refusal = Box<HttpResponse>;

/// Logs the request and checks its token; `Err` is the answer to give.
fn admit(heat: &Heat, req: &HttpRequest, kind: &'static str) -> Result<String, Refusal> {
    let project = req.match_info().get("project").unwrap_or("").to_owned();
    heat.log
        .log(arrived(req), method_name(req.method()), kind, &project);
    let token = req
        .headers()
        .get("X-Auth-Token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let unauthorized = || {
        Box::new(error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "The request you have made requires authentication.",
        ))
    };
    if token.is_empty() {
        return Err(unauthorized());
    }
    if let Some(ks) = &heat.keystone {
        let issued = ks.token(token).ok_or_else(unauthorized)?;
        if issued.project_id.as_deref() != Some(project.as_str()) {
            return Err(Box::new(error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "The token is not scoped to this project.",
            )));
        }
    }
    Ok(project)
}

fn self_link(req: &HttpRequest, project: &str, s: &Stack) -> String {
    let info = req.connection_info();
    format!(
        "{}://{}/v1/{project}/stacks/{}/{}",
        info.scheme(),
        info.host(),
        s.name,
        s.id
    )
}

fn summary(req: &HttpRequest, project: &str, s: &Stack) -> Value {
    json!({
        "id": s.id, "stack_name": s.name, "stack_status": s.status,
        "stack_status_reason": "Stack CREATE started", "description": "",
        "creation_time": s.created, "updated_time": s.updated, "deletion_time": null,
        "tags": if s.tags.is_empty() { Value::Null } else { json!(s.tags) },
        "project": project, "stack_owner": null, "stack_user_project_id": project, "parent": null,
        "links": [{"href": self_link(req, project, s), "rel": "self"}],
    })
}

/// `IN_PROGRESS` of `CREATE_IN_PROGRESS` (what Heat's `status` filter matches).
fn status_part(status: &str) -> &str {
    status.split_once('_').map_or(status, |(_, rest)| rest)
}

fn tag_list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

async fn create(heat: web::Data<Heat>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let project = match admit(&heat, &req, "create") {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let t_us = arrived(&req);
    let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "HTTPBadRequest",
            "The request body is not a JSON object.",
        );
    };
    let Some(name) = body
        .get("stack_name")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "HTTPBadRequest",
            "No stack name specified",
        );
    };
    let tags = body.get("tags").map(tag_list).unwrap_or_default();
    let stack = Stack {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.clone(),
        tags: tags.clone(),
        status: "CREATE_IN_PROGRESS",
        created: now_iso(),
        updated: None,
        parameters: match body.remove("parameters") {
            Some(Value::Object(p)) => p,
            _ => Map::new(),
        },
        timeout_mins: body.get("timeout_mins").and_then(Value::as_i64),
    };
    {
        let mut stacks = lock(&heat.stacks);
        let list = stacks.entry(project.clone()).or_default();
        if list.iter().any(|s| s.name == name) {
            return error(
                StatusCode::CONFLICT,
                "StackExists",
                &format!("The Stack ({name}) already exists."),
            );
        }
        list.push(stack.clone());
    }
    {
        let mut tagged = lock(&heat.tagged);
        for t in &tags {
            tagged.entry(t.clone()).or_insert(t_us);
        }
    }
    lock(&heat.creates).push(Create {
        t_us,
        project: project.clone(),
        stack_name: name,
        stack_id: stack.id.clone(),
        tags,
    });
    heat.created.notify_waiters();
    let href = self_link(&req, &project, &stack);
    HttpResponse::Created()
        .insert_header(("Location", href.clone()))
        .json(json!({"stack": {"id": stack.id, "links": [{"href": href, "rel": "self"}]}}))
}

async fn list(heat: web::Data<Heat>, req: HttpRequest) -> HttpResponse {
    let q: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let has = |k: &str| q.iter().any(|(key, _)| key == k);
    let kind = if has("tags") || has("tags_any") {
        "list:tags"
    } else if has("name") {
        "list:name"
    } else if has("id") {
        "list:id"
    } else {
        "list"
    };
    let project = match admit(&heat, &req, kind) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let values = |k: &str| -> Vec<&str> {
        q.iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let (names, ids, statuses) = (values("name"), values("id"), values("status"));
    let all_tags: Vec<&str> = values("tags")
        .into_iter()
        .flat_map(|v| v.split(','))
        .collect();
    let any_tags: Vec<&str> = values("tags_any")
        .into_iter()
        .flat_map(|v| v.split(','))
        .collect();
    let stacks = lock(&heat.stacks);
    let list: Vec<Value> = stacks
        .get(&project)
        .map(|l| {
            l.iter()
                .filter(|s| names.is_empty() || names.contains(&s.name.as_str()))
                .filter(|s| ids.is_empty() || ids.contains(&s.id.as_str()))
                .filter(|s| statuses.is_empty() || statuses.contains(&status_part(s.status)))
                .filter(|s| all_tags.iter().all(|t| s.tags.iter().any(|x| x == t)))
                .filter(|s| {
                    any_tags.is_empty() || any_tags.iter().any(|t| s.tags.iter().any(|x| x == t))
                })
                .map(|s| summary(&req, &project, s))
                .collect()
        })
        .unwrap_or_default();
    drop(stacks);
    HttpResponse::Ok().json(json!({ "stacks": list }))
}

/// The stack `{name}/{id}` of the path's project, or the 404.
fn find(heat: &Heat, project: &str, req: &HttpRequest) -> Result<Stack, Refusal> {
    let (name, id) = (
        req.match_info().get("name").unwrap_or(""),
        req.match_info().get("id").unwrap_or(""),
    );
    lock(&heat.stacks)
        .get(project)
        .and_then(|l| l.iter().find(|s| s.id == id && s.name == name).cloned())
        .ok_or_else(|| {
            Box::new(error(
                StatusCode::NOT_FOUND,
                "EntityNotFound",
                &format!("The Stack ({name}) could not be found."),
            ))
        })
}

async fn by_name(heat: web::Data<Heat>, req: HttpRequest) -> HttpResponse {
    let project = match admit(&heat, &req, "show:name") {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let name = req.match_info().get("name").unwrap_or("");
    let found = lock(&heat.stacks)
        .get(&project)
        .and_then(|l| l.iter().find(|s| s.name == name || s.id == name).cloned());
    match found {
        Some(s) => HttpResponse::Found()
            .insert_header(("Location", self_link(&req, &project, &s)))
            .finish(),
        None => error(
            StatusCode::NOT_FOUND,
            "EntityNotFound",
            &format!("The Stack ({name}) could not be found."),
        ),
    }
}

/// Logs, checks the token and finds the stack of the path.
fn stack_of(
    heat: &Heat,
    req: &HttpRequest,
    kind: &'static str,
) -> Result<(String, Stack), Refusal> {
    let project = admit(heat, req, kind)?;
    let stack = find(heat, &project, req)?;
    Ok((project, stack))
}

async fn show(heat: web::Data<Heat>, req: HttpRequest) -> HttpResponse {
    let (project, s) = match stack_of(&heat, &req, "show") {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let mut v = summary(&req, &project, &s);
    if let Some(o) = v.as_object_mut() {
        let params: Map<String, Value> = s
            .parameters
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(t) => t.clone(),
                    other => other.to_string(),
                };
                (k.clone(), Value::String(text))
            })
            .collect();
        o.insert("parameters".into(), Value::Object(params));
        o.insert("outputs".into(), json!([]));
        o.insert("timeout_mins".into(), json!(s.timeout_mins));
        o.insert("disable_rollback".into(), true.into());
        o.insert("capabilities".into(), json!([]));
        o.insert("notification_topics".into(), json!([]));
        o.insert("template_description".into(), "".into());
    }
    HttpResponse::Ok().json(json!({ "stack": v }))
}

async fn update(heat: web::Data<Heat>, req: HttpRequest) -> HttpResponse {
    let (project, s) = match stack_of(&heat, &req, "update") {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if let Some(st) = lock(&heat.stacks)
        .get_mut(&project)
        .and_then(|l| l.iter_mut().find(|x| x.id == s.id))
    {
        st.status = "UPDATE_IN_PROGRESS";
        st.updated = Some(now_iso());
    }
    HttpResponse::Accepted().finish()
}

async fn delete(heat: web::Data<Heat>, req: HttpRequest) -> HttpResponse {
    let (project, s) = match stack_of(&heat, &req, "delete") {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if let Some(l) = lock(&heat.stacks).get_mut(&project) {
        l.retain(|x| x.id != s.id);
    }
    HttpResponse::NoContent().finish()
}

async fn outputs(heat: web::Data<Heat>, req: HttpRequest) -> HttpResponse {
    match stack_of(&heat, &req, "outputs") {
        Ok(_) => HttpResponse::Ok().json(json!({"outputs": []})),
        Err(r) => *r,
    }
}

async fn resources(heat: web::Data<Heat>, req: HttpRequest) -> HttpResponse {
    match stack_of(&heat, &req, "resources") {
        Ok(_) => HttpResponse::Ok().json(json!({"resources": []})),
        Err(r) => *r,
    }
}

async fn events(heat: web::Data<Heat>, req: HttpRequest) -> HttpResponse {
    match stack_of(&heat, &req, "events") {
        Ok(_) => HttpResponse::Ok().json(json!({"events": []})),
        Err(r) => *r,
    }
}

async fn missing(heat: web::Data<Heat>, req: HttpRequest) -> HttpResponse {
    match stack_of(&heat, &req, "item") {
        Ok(_) => error(
            StatusCode::NOT_FOUND,
            "EntityNotFound",
            "The item could not be found.",
        ),
        Err(r) => *r,
    }
}
