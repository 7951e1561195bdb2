//! The fast Keystone stand-in (benchmarks only): what magnum-api's token
//! validation and the conductor's trusts need, in memory, answered at once.
//!
//! - `POST /v3/auth/tokens`, password method: a user given by name (and domain)
//!   that was not created here is accepted with any password (its id is derived
//!   from its name); a user created here (a trustee) must give its password.
//!   Scopes: project (by id, or by name: the id is derived from the name),
//!   domain, `OS-TRUST:trust` (the trustee of that trust only), or none.
//!   Roles in a project: `member`, `reader`; also `admin` for the user `admin`
//!   and `admin`, `service` for the user `magnum`. A trust-scoped token has the
//!   trust's roles and project. Tokens are random strings valid for an hour.
//! - `GET /v3/auth/tokens`: `X-Auth-Token` must be a token issued here (401),
//!   `X-Subject-Token` too (404); `?nocatalog` drops the catalog.
//! - `POST/GET /v3/users`, `PATCH/DELETE /v3/users/{id}` (trustees),
//!   `POST /v3/OS-TRUST/trusts`, `GET/DELETE /v3/OS-TRUST/trusts/{id}`,
//!   `GET /v3/projects/{id}` (every project exists).
//!
//! The catalog of every token: identity (this listener), image, compute and
//! network (the look-up stand-in), orchestration (the Heat stand-in, with the
//! token's project) and container-infra when `--magnum-url` is given; public and
//! internal interfaces, region `RegionOne`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{RequestLog, lock, method_name, now_us, random_hex, stable_id};

/// Base URLs the catalog points at.
#[derive(Debug, Clone)]
pub struct CatalogUrls {
    /// This Keystone, without `/v3`.
    pub identity: String,
    /// Glance.
    pub image: String,
    /// Nova (with `/v2.1`).
    pub compute: String,
    /// Neutron.
    pub network: String,
    /// Heat, without `/v1/{project}`.
    pub orchestration: Option<String>,
    /// Magnum (`…/v1`).
    pub container_infra: Option<String>,
}

/// A token issued here.
#[derive(Debug)]
pub struct Issued {
    /// The token object (with its catalog).
    body: Value,
    /// Its project (project- and trust-scoped tokens).
    pub project_id: Option<String>,
    expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    name: String,
    domain_id: String,
    password: String,
}

#[derive(Debug, Clone)]
struct Trust {
    id: String,
    trustor: String,
    trustee: String,
    project: String,
    roles: Vec<String>,
}

/// The stand-in's state.
#[derive(Debug)]
pub struct Keystone {
    urls: CatalogUrls,
    tokens: Mutex<HashMap<String, Arc<Issued>>>,
    users: Mutex<HashMap<String, User>>,
    trusts: Mutex<HashMap<String, Trust>>,
    /// The request log.
    pub log: web::Data<RequestLog>,
}

impl Keystone {
    /// An empty Keystone whose catalog points at `urls`.
    pub fn new(urls: CatalogUrls) -> Self {
        Keystone {
            urls,
            tokens: Mutex::new(HashMap::new()),
            users: Mutex::new(HashMap::new()),
            trusts: Mutex::new(HashMap::new()),
            log: web::Data::new(RequestLog::default()),
        }
    }

    /// The token, if it was issued here and has not expired.
    pub fn token(&self, token: &str) -> Option<Arc<Issued>> {
        lock(&self.tokens)
            .get(token)
            .filter(|t| t.expires_at > Utc::now())
            .cloned()
    }

    fn catalog(&self, project: Option<&str>) -> Value {
        let u = &self.urls;
        let service = |kind: &str, name: &str, url: &str| {
            let eps: Vec<Value> = ["public", "internal"]
                .iter()
                .map(|i| {
                    json!({"id": stable_id(&format!("{kind}-{i}"), url), "interface": i,
                    "region": "RegionOne", "region_id": "RegionOne", "url": url})
                })
                .collect();
            json!({"id": stable_id("service", kind), "type": kind, "name": name, "endpoints": eps})
        };
        let mut list = vec![
            service("identity", "keystone", &u.identity),
            service("image", "glance", &u.image),
            service("compute", "nova", &u.compute),
            service("network", "neutron", &u.network),
        ];
        if let (Some(heat), Some(p)) = (&u.orchestration, project) {
            list.push(service("orchestration", "heat", &format!("{heat}/v1/{p}")));
        }
        if let Some(m) = &u.container_infra {
            list.push(service("container-infra", "magnum", m));
        }
        Value::Array(list)
    }

    fn issue(&self, mut body: Map<String, Value>, project: Option<String>) -> (String, Value) {
        let now = Utc::now();
        let expires_at = now + chrono::Duration::hours(1);
        let fmt = "%Y-%m-%dT%H:%M:%S%.6fZ";
        body.insert("methods".into(), json!(["password"]));
        body.insert("issued_at".into(), now.format(fmt).to_string().into());
        body.insert(
            "expires_at".into(),
            expires_at.format(fmt).to_string().into(),
        );
        body.insert("audit_ids".into(), json!([random_hex(8)]));
        body.insert("catalog".into(), self.catalog(project.as_deref()));
        let id = random_hex(16);
        let body = Value::Object(body);
        let issued = Arc::new(Issued {
            body: body.clone(),
            project_id: project,
            expires_at,
        });
        lock(&self.tokens).insert(id.clone(), issued);
        (id, body)
    }
}

fn error(status: StatusCode, message: &str) -> HttpResponse {
    let title = status.canonical_reason().unwrap_or("Error");
    HttpResponse::build(status)
        .json(json!({"error": {"code": status.as_u16(), "title": title, "message": message}}))
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> &'a str {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Routes of the Keystone stand-in (the app holds `web::Data<Keystone>` and its log).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(versions))
        .route("/v3", web::get().to(versions))
        .route("/v3/auth/tokens", web::post().to(authenticate))
        .route("/v3/auth/tokens", web::get().to(validate))
        .route("/v3/projects/{id}", web::get().to(project))
        .route("/v3/users", web::post().to(create_user))
        .route("/v3/users", web::get().to(find_users))
        .route("/v3/users/{id}", web::patch().to(update_user))
        .route("/v3/users/{id}", web::delete().to(delete_user))
        .route("/v3/OS-TRUST/trusts", web::post().to(create_trust))
        .route("/v3/OS-TRUST/trusts/{id}", web::get().to(show_trust))
        .route("/v3/OS-TRUST/trusts/{id}", web::delete().to(delete_trust))
        .route("/_bench/reset", web::post().to(reset))
        .configure(super::routes);
}

async fn reset(ks: web::Data<Keystone>) -> HttpResponse {
    ks.log.reset();
    HttpResponse::NoContent().finish()
}

fn count(ks: &Keystone, req: &HttpRequest, kind: &'static str, project: &str) {
    ks.log
        .log(now_us(), method_name(req.method()), kind, project);
}

async fn versions(ks: web::Data<Keystone>) -> HttpResponse {
    let href = format!("{}/v3/", ks.urls.identity);
    HttpResponse::Ok().json(json!({"version": {"id": "v3.14", "status": "stable",
        "links": [{"rel": "self", "href": href}]}}))
}

fn domain_of(v: &Value) -> (String, String) {
    match (v["id"].as_str(), v["name"].as_str()) {
        (Some(id), _) => (id.to_owned(), v["name"].as_str().unwrap_or(id).to_owned()),
        (None, Some(name)) if name.eq_ignore_ascii_case("default") => {
            ("default".to_owned(), "Default".to_owned())
        }
        (None, Some(name)) => (stable_id("domain", name), name.to_owned()),
        (None, None) => ("default".to_owned(), "Default".to_owned()),
    }
}

fn roles_json(names: &[String]) -> Value {
    Value::Array(
        names
            .iter()
            .map(|n| json!({"id": stable_id("role", n), "name": n}))
            .collect(),
    )
}

fn roles_for(user_name: &str) -> Vec<String> {
    let mut roles = vec!["member".to_owned(), "reader".to_owned()];
    match user_name {
        "admin" => roles.push("admin".to_owned()),
        "magnum" => roles.extend(["admin".to_owned(), "service".to_owned()]),
        _ => {}
    }
    roles
}

/// The user a password authentication names, if the password is right.
fn password_user(ks: &Keystone, user: &Value) -> Option<User> {
    let password = user["password"].as_str().unwrap_or("");
    if let Some(id) = user["id"].as_str() {
        let found = lock(&ks.users).get(id).cloned()?;
        return (found.password == password).then_some(found);
    }
    let name = user["name"].as_str()?;
    let (domain_id, _) = domain_of(&user["domain"]);
    let created = lock(&ks.users)
        .values()
        .find(|u| u.name == name && u.domain_id == domain_id)
        .cloned();
    match created {
        Some(u) => (u.password == password).then_some(u),
        None => Some(User {
            id: stable_id("user", &format!("{domain_id}/{name}")),
            name: name.to_owned(),
            domain_id,
            password: String::new(),
        }),
    }
}

async fn authenticate(
    ks: web::Data<Keystone>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    let auth = &body["auth"];
    let Some(user) = password_user(ks.get_ref(), &auth["identity"]["password"]["user"]) else {
        count(&ks, &req, "auth:refused", "");
        return error(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        );
    };
    let domain_name = if user.domain_id == "default" {
        "Default".to_owned()
    } else {
        user.domain_id.clone()
    };
    let mut token = Map::new();
    token.insert(
        "user".into(),
        json!({"id": user.id, "name": user.name, "domain": {"id": user.domain_id, "name": domain_name}, "password_expires_at": null}),
    );
    let scope = &auth["scope"];
    let (kind, project) = if let Some(trust_id) = scope["OS-TRUST:trust"]["id"].as_str() {
        let Some(trust) = lock(&ks.trusts).get(trust_id).cloned() else {
            count(&ks, &req, "auth:refused", "");
            return error(StatusCode::NOT_FOUND, "Could not find trust.");
        };
        if trust.trustee != user.id {
            count(&ks, &req, "auth:refused", &trust.project);
            return error(StatusCode::FORBIDDEN, "User is not a trustee.");
        }
        token.insert("project".into(), json!({"id": trust.project, "name": trust.project, "domain": {"id": "default", "name": "Default"}}));
        token.insert("roles".into(), roles_json(&trust.roles));
        token.insert(
            "OS-TRUST:trust".into(),
            json!({"id": trust.id, "impersonation": true,
            "trustee_user": {"id": trust.trustee}, "trustor_user": {"id": trust.trustor}}),
        );
        ("auth:trust", Some(trust.project))
    } else if !scope["project"].is_null() {
        let p = &scope["project"];
        let (pid, pname) = match (p["id"].as_str(), p["name"].as_str()) {
            (Some(id), _) => (id.to_owned(), p["name"].as_str().unwrap_or(id).to_owned()),
            (None, Some(name)) => (stable_id("project", name), name.to_owned()),
            (None, None) => {
                return error(StatusCode::BAD_REQUEST, "Project scope without id or name.");
            }
        };
        let (did, dname) = domain_of(&p["domain"]);
        token.insert(
            "project".into(),
            json!({"id": pid, "name": pname, "domain": {"id": did, "name": dname}}),
        );
        token.insert("roles".into(), roles_json(&roles_for(&user.name)));
        ("auth:project", Some(pid))
    } else if !scope["domain"].is_null() {
        let (did, dname) = domain_of(&scope["domain"]);
        token.insert("domain".into(), json!({"id": did, "name": dname}));
        token.insert("roles".into(), roles_json(&["admin".to_owned()]));
        ("auth:domain", None)
    } else {
        ("auth:unscoped", None)
    };
    count(&ks, &req, kind, project.as_deref().unwrap_or(""));
    let (id, body) = ks.issue(token, project);
    HttpResponse::Created()
        .insert_header(("X-Subject-Token", id))
        .json(json!({ "token": body }))
}

async fn validate(ks: web::Data<Keystone>, req: HttpRequest) -> HttpResponse {
    count(&ks, &req, "validate", "");
    if ks.token(header(&req, "X-Auth-Token")).is_none() {
        return error(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        );
    }
    let Some(subject) = ks.token(header(&req, "X-Subject-Token")) else {
        return error(StatusCode::NOT_FOUND, "Could not find token.");
    };
    let mut body = subject.body.clone();
    if req.query_string().split('&').any(|kv| kv == "nocatalog")
        && let Some(o) = body.as_object_mut()
    {
        o.remove("catalog");
    }
    HttpResponse::Ok()
        .insert_header(("X-Subject-Token", header(&req, "X-Subject-Token")))
        .json(json!({ "token": body }))
}

/// The caller's token, or the 401 to answer.
fn caller(ks: &Keystone, req: &HttpRequest) -> Result<Arc<Issued>, Box<HttpResponse>> {
    ks.token(header(req, "X-Auth-Token")).ok_or_else(|| {
        Box::new(error(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        ))
    })
}

async fn project(ks: web::Data<Keystone>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    count(&ks, &req, "project", &id);
    if let Err(r) = caller(&ks, &req) {
        return *r;
    }
    HttpResponse::Ok()
        .json(json!({"project": {"id": *id, "name": *id, "domain_id": "default", "enabled": true}}))
}

fn user_json(u: &User) -> Value {
    json!({"id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": true})
}

async fn create_user(
    ks: web::Data<Keystone>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    count(&ks, &req, "user:create", "");
    if let Err(r) = caller(&ks, &req) {
        return *r;
    }
    let u = &body["user"];
    let (Some(name), Some(domain_id)) = (u["name"].as_str(), u["domain_id"].as_str()) else {
        return error(StatusCode::BAD_REQUEST, "name and domain_id are required.");
    };
    let mut users = lock(&ks.users);
    if users
        .values()
        .any(|x| x.name == name && x.domain_id == domain_id)
    {
        return error(StatusCode::CONFLICT, "Duplicate entry found with name.");
    }
    let user = User {
        id: random_hex(16),
        name: name.to_owned(),
        domain_id: domain_id.to_owned(),
        password: u["password"].as_str().unwrap_or("").to_owned(),
    };
    users.insert(user.id.clone(), user.clone());
    HttpResponse::Created().json(json!({ "user": user_json(&user) }))
}

async fn find_users(ks: web::Data<Keystone>, req: HttpRequest) -> HttpResponse {
    count(&ks, &req, "user:list", "");
    if let Err(r) = caller(&ks, &req) {
        return *r;
    }
    let q = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let list: Vec<Value> = lock(&ks.users)
        .values()
        .filter(|u| q.get("name").is_none_or(|n| *n == u.name))
        .filter(|u| q.get("domain_id").is_none_or(|d| *d == u.domain_id))
        .map(user_json)
        .collect();
    HttpResponse::Ok().json(json!({ "users": list }))
}

async fn update_user(
    ks: web::Data<Keystone>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    count(&ks, &req, "user:update", "");
    if let Err(r) = caller(&ks, &req) {
        return *r;
    }
    let mut users = lock(&ks.users);
    let Some(u) = users.get_mut(id.as_str()) else {
        return error(StatusCode::NOT_FOUND, "Could not find user.");
    };
    if let Some(p) = body["user"]["password"].as_str() {
        p.clone_into(&mut u.password);
    }
    HttpResponse::Ok().json(json!({ "user": user_json(u) }))
}

async fn delete_user(
    ks: web::Data<Keystone>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    count(&ks, &req, "user:delete", "");
    if let Err(r) = caller(&ks, &req) {
        return *r;
    }
    if lock(&ks.users).remove(id.as_str()).is_none() {
        return error(StatusCode::NOT_FOUND, "Could not find user.");
    }
    lock(&ks.trusts).retain(|_, t| t.trustee != *id);
    HttpResponse::NoContent().finish()
}

async fn create_trust(
    ks: web::Data<Keystone>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    let t = &body["trust"];
    let project = t["project_id"].as_str().unwrap_or("").to_owned();
    count(&ks, &req, "trust:create", &project);
    let caller_token = match caller(&ks, &req) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let (Some(trustor), Some(trustee)) =
        (t["trustor_user_id"].as_str(), t["trustee_user_id"].as_str())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "trustor_user_id and trustee_user_id are required.",
        );
    };
    if caller_token.body["user"]["id"].as_str() != Some(trustor) {
        return error(
            StatusCode::FORBIDDEN,
            "The trustor must be the authenticated user.",
        );
    }
    let mut roles: Vec<String> = t["roles"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if roles.is_empty() {
        roles = caller_token.body["roles"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| r["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
    }
    let trust = Trust {
        id: random_hex(16),
        trustor: trustor.to_owned(),
        trustee: trustee.to_owned(),
        project,
        roles,
    };
    let answer = trust_json(&trust);
    lock(&ks.trusts).insert(trust.id.clone(), trust);
    HttpResponse::Created().json(json!({ "trust": answer }))
}

fn trust_json(t: &Trust) -> Value {
    json!({"id": t.id, "trustor_user_id": t.trustor, "trustee_user_id": t.trustee,
        "project_id": t.project, "impersonation": true, "allow_redelegation": true,
        "roles": roles_json(&t.roles), "expires_at": null, "remaining_uses": null})
}

async fn show_trust(
    ks: web::Data<Keystone>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    count(&ks, &req, "trust:show", "");
    if let Err(r) = caller(&ks, &req) {
        return *r;
    }
    match lock(&ks.trusts).get(id.as_str()) {
        Some(t) => HttpResponse::Ok().json(json!({ "trust": trust_json(t) })),
        None => error(StatusCode::NOT_FOUND, "Could not find trust."),
    }
}

async fn delete_trust(
    ks: web::Data<Keystone>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    count(&ks, &req, "trust:delete", "");
    if let Err(r) = caller(&ks, &req) {
        return *r;
    }
    match lock(&ks.trusts).remove(id.as_str()) {
        Some(_) => HttpResponse::NoContent().finish(),
        None => error(StatusCode::NOT_FOUND, "Could not find trust."),
    }
}
