//! Nova v2.1: flavors, per-user keypairs, and the local cloud's servers (`servers`), server
//! groups and volume attachments.
//!
//! Responses have the 2.1 shape, except what microversions change for keypairs:
//! `type` appears from 2.2, and create/delete answer 201/204 instead of 200/202.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::Identity;
use crate::data::FLAVORS;
use crate::sshkey::{DEFAULT_PUBLIC_KEY, check_public_key, generate_key};

pub mod attachments;
pub mod node;
pub mod server_groups;
pub mod servers;

/// Highest microversion the stand-in claims (Nova 2024.1).
const MAX_VERSION: (u32, u32) = (2, 96);
/// The keypair every user has without creating it.
pub const DEFAULT_KEYPAIR: &str = "default";

/// Routes of the compute service (mounted at the root; paths carry `/v2.1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(versions))
        .route("/v2.1", web::get().to(version))
        .route("/v2.1/", web::get().to(version))
        .route("/v2.1/flavors", web::get().to(list_flavors))
        .route("/v2.1/flavors/detail", web::get().to(list_flavors_detail))
        .route("/v2.1/flavors/{id}", web::get().to(show_flavor))
        .route("/v2.1/os-keypairs", web::get().to(list_keypairs))
        .route("/v2.1/os-keypairs", web::post().to(create_keypair))
        .route("/v2.1/os-keypairs/{name}", web::get().to(show_keypair))
        .route("/v2.1/os-keypairs/{name}", web::delete().to(delete_keypair))
        .route("/v2.1/limits", web::get().to(limits))
        .configure(servers::routes)
        .configure(server_groups::routes)
        .configure(attachments::routes);
}

/// `GET /limits`: Heat reads `maxServerMeta` before it sends server metadata.
async fn limits() -> HttpResponse {
    HttpResponse::Ok().json(json!({"limits": {"rate": [], "absolute": {
        "maxServerMeta": 128, "maxPersonality": 5, "maxPersonalitySize": 10240,
        "maxTotalInstances": 1000, "maxTotalCores": 1000, "maxTotalRAMSize": 10_485_760,
        "maxServerGroups": 100, "maxServerGroupMembers": 100, "maxTotalKeypairs": 100,
        "maxImageMeta": 128, "totalInstancesUsed": 0, "totalCoresUsed": 0, "totalRAMUsed": 0,
        "totalServerGroupsUsed": 0}}}))
}

/// A Nova fault body: `{"<name>": {"code", "message"}}`, named by status as Nova does.
pub fn fault(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    let name = match status.as_u16() {
        400 => "badRequest",
        404 => "itemNotFound",
        409 => "conflictingRequest",
        _ => "computeFault",
    };
    HttpResponse::build(status)
        .json(json!({ name: {"code": status.as_u16(), "message": message.into()} }))
}

/// The request's compute microversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Microversion(pub u32, pub u32);

fn parse_version(s: &str) -> Option<(u32, u32)> {
    if s.eq_ignore_ascii_case("latest") {
        return Some(MAX_VERSION);
    }
    let (major, minor) = s.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Reads `OpenStack-API-Version: compute X.Y` (or the legacy header).
fn requested_version(req: &ServiceRequest) -> Result<Microversion, String> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .map(str::to_owned)
    };
    let raw = header("OpenStack-API-Version")
        .and_then(|v| {
            v.split(',').find_map(|part| {
                part.trim()
                    .strip_prefix("compute ")
                    .map(|v| v.trim().to_owned())
            })
        })
        .or_else(|| header("X-OpenStack-Nova-API-Version"));
    let Some(raw) = raw else {
        return Ok(Microversion(2, 1));
    };
    let (major, minor) = parse_version(&raw).ok_or_else(|| {
        format!(
            "API Version String {raw} is of invalid format. Must be of format MajorNum.MinorNum."
        )
    })?;
    if (major, minor) < (2, 1) || (major, minor) > MAX_VERSION {
        return Err(format!(
            "Version {major}.{minor} is not supported by the API. Minimum is 2.1 and maximum is {}.{}.",
            MAX_VERSION.0, MAX_VERSION.1
        ));
    }
    Ok(Microversion(major, minor))
}

/// Middleware: negotiates the microversion and echoes it in the response headers.
pub async fn microversion(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let version = match requested_version(&req) {
        Ok(v) => v,
        Err(message) if message.contains("invalid format") => {
            return Ok(req.into_response(fault(StatusCode::BAD_REQUEST, message)));
        }
        Err(message) => return Ok(req.into_response(fault(StatusCode::NOT_ACCEPTABLE, message))),
    };
    req.extensions_mut().insert(version);
    let mut resp = next.call(req).await?;
    let text = format!("{}.{}", version.0, version.1);
    let headers = resp.headers_mut();
    for (name, value) in [
        ("openstack-api-version", format!("compute {text}")),
        ("x-openstack-nova-api-version", text.clone()),
        (
            "vary",
            "OpenStack-API-Version, X-OpenStack-Nova-API-Version".to_owned(),
        ),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    Ok(resp)
}

pub fn version_of(req: &HttpRequest) -> Microversion {
    req.extensions()
        .get::<Microversion>()
        .copied()
        .unwrap_or(Microversion(2, 1))
}

pub fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

fn version_doc(base: &str) -> Value {
    json!({
        "id": "v2.1", "status": "CURRENT",
        "version": format!("{}.{}", MAX_VERSION.0, MAX_VERSION.1), "min_version": "2.1",
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": format!("{base}/v2.1/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
    })
}

async fn versions(req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok().json(json!({"versions": [version_doc(&base_url(&req))]}))
}

async fn version(req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok().json(json!({"version": version_doc(&base_url(&req))}))
}

// ---- flavors --------------------------------------------------------------------------------

fn with_links(flavor: &Value, base: &str, detail: bool) -> Value {
    let id = flavor["id"].as_str().unwrap_or_default();
    let links = json!([
        {"rel": "self", "href": format!("{base}/v2.1/flavors/{id}")},
        {"rel": "bookmark", "href": format!("{base}/flavors/{id}")},
    ]);
    if detail {
        let mut f = flavor.clone();
        f["links"] = links;
        f
    } else {
        json!({"id": id, "name": flavor["name"], "links": links})
    }
}

async fn list_flavors(req: HttpRequest) -> HttpResponse {
    let base = base_url(&req);
    HttpResponse::Ok().json(
        json!({"flavors": FLAVORS.iter().map(|f| with_links(f, &base, false)).collect::<Vec<_>>()}),
    )
}

async fn list_flavors_detail(req: HttpRequest) -> HttpResponse {
    let base = base_url(&req);
    HttpResponse::Ok().json(
        json!({"flavors": FLAVORS.iter().map(|f| with_links(f, &base, true)).collect::<Vec<_>>()}),
    )
}

async fn show_flavor(req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    match FLAVORS.iter().find(|f| f["id"] == id.as_str()) {
        Some(f) => HttpResponse::Ok().json(json!({"flavor": with_links(f, &base_url(&req), true)})),
        None => fault(
            StatusCode::NOT_FOUND,
            format!("Flavor {id} could not be found."),
        ),
    }
}

// ---- keypairs -------------------------------------------------------------------------------

/// A stored keypair (Nova never keeps private keys, nor does the stand-in).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Keypair {
    id: u64,
    name: String,
    public_key: String,
    fingerprint: String,
    #[serde(rename = "type")]
    kind: String,
    created_at: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    next_id: u64,
    /// user id → name → keypair; a user absent here has only the implicit `default`.
    users: BTreeMap<String, BTreeMap<String, Keypair>>,
}

/// Keypairs of all users, persisted to the state file when one is given.
pub struct Keypairs {
    state: Mutex<State>,
    file: Option<PathBuf>,
}

fn default_keypair() -> Keypair {
    let public_key = DEFAULT_PUBLIC_KEY.clone();
    let fingerprint = check_public_key(&public_key).unwrap_or_default();
    Keypair {
        id: 0,
        name: DEFAULT_KEYPAIR.to_owned(),
        public_key,
        fingerprint,
        kind: "ssh".to_owned(),
        created_at: "2024-05-01T10:00:00.000000".to_owned(),
    }
}

impl State {
    /// The user's keypairs, materialising the implicit `default` on first write.
    fn user_mut(&mut self, user: &str) -> &mut BTreeMap<String, Keypair> {
        self.users
            .entry(user.to_owned())
            .or_insert_with(|| BTreeMap::from([(DEFAULT_KEYPAIR.to_owned(), default_keypair())]))
    }

    fn user(&self, user: &str) -> BTreeMap<String, Keypair> {
        self.users
            .get(user)
            .cloned()
            .unwrap_or_else(|| BTreeMap::from([(DEFAULT_KEYPAIR.to_owned(), default_keypair())]))
    }
}

impl Keypairs {
    /// Loads the state file if it exists (a missing file is an empty state).
    pub fn load(file: Option<PathBuf>) -> anyhow::Result<Self> {
        let state = match &file {
            Some(path) if path.exists() => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
                serde_json::from_str(&text).map_err(|e| {
                    anyhow::anyhow!("{} is not a stand-in state file: {e}", path.display())
                })?
            }
            _ => State {
                next_id: 1,
                ..State::default()
            },
        };
        Ok(Keypairs {
            state: Mutex::new(state),
            file,
        })
    }

    /// The public key of a user's keypair (what a server booted with it gets).
    pub fn public_key(&self, user: &str, name: &str) -> Option<String> {
        let state = self.state.lock().ok()?;
        state.user(user).get(name).map(|k| k.public_key.clone())
    }

    /// Number of users with stored keypairs.
    pub fn users(&self) -> usize {
        self.state.lock().map(|s| s.users.len()).unwrap_or(0)
    }

    fn save(&self, state: &State) -> std::io::Result<()> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let tmp = path.with_extension("tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, path)
    }
}

fn keypair_json(kp: &Keypair, version: Microversion, user_id: Option<&str>) -> Value {
    let mut v =
        json!({"name": kp.name, "public_key": kp.public_key, "fingerprint": kp.fingerprint});
    if let Some(user_id) = user_id {
        v["user_id"] = json!(user_id);
    }
    if version >= Microversion(2, 2) {
        v["type"] = json!(kp.kind);
    }
    v
}

pub fn identity(req: &HttpRequest) -> Option<Arc<Identity>> {
    req.extensions().get::<Arc<Identity>>().cloned()
}

fn not_found(name: &str, user: &str) -> HttpResponse {
    fault(
        StatusCode::NOT_FOUND,
        format!("Keypair {name} not found for user {user}"),
    )
}

fn unauthenticated() -> HttpResponse {
    fault(
        StatusCode::INTERNAL_SERVER_ERROR,
        "request reached Nova without an identity",
    )
}

async fn list_keypairs(req: HttpRequest, store: web::Data<Keypairs>) -> HttpResponse {
    let Some(who) = identity(&req) else {
        return unauthenticated();
    };
    let version = version_of(&req);
    let keypairs = store
        .state
        .lock()
        .map(|s| s.user(&who.user_id))
        .unwrap_or_default();
    let list: Vec<Value> = keypairs
        .values()
        .map(|kp| json!({"keypair": keypair_json(kp, version, None)}))
        .collect();
    HttpResponse::Ok().json(json!({"keypairs": list}))
}

async fn show_keypair(
    req: HttpRequest,
    name: web::Path<String>,
    store: web::Data<Keypairs>,
) -> HttpResponse {
    let Some(who) = identity(&req) else {
        return unauthenticated();
    };
    let found = store
        .state
        .lock()
        .ok()
        .and_then(|s| s.user(&who.user_id).get(name.as_str()).cloned());
    match found {
        Some(kp) => {
            let mut v = keypair_json(&kp, version_of(&req), Some(&who.user_id));
            for (k, val) in [
                ("id", json!(kp.id)),
                ("created_at", json!(kp.created_at)),
                ("deleted", json!(false)),
                ("deleted_at", Value::Null),
                ("updated_at", Value::Null),
            ] {
                v[k] = val;
            }
            HttpResponse::Ok().json(json!({"keypair": v}))
        }
        None => not_found(&name, &who.user_id),
    }
}

/// Nova's schema error text.
fn invalid(field: &str, value: &Value, why: &str) -> HttpResponse {
    fault(
        StatusCode::BAD_REQUEST,
        format!("Invalid input for field/attribute {field}. Value: {value}. {why}"),
    )
}

fn valid_name(name: &str, version: Microversion) -> bool {
    let extra: &[char] = if version >= Microversion(2, 92) {
        &['@', '.']
    } else {
        &[]
    };
    !name.is_empty()
        && name.chars().count() <= 255
        && name.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-') || extra.contains(&c)
        })
}

async fn create_keypair(
    req: HttpRequest,
    body: web::Bytes,
    store: web::Data<Keypairs>,
) -> HttpResponse {
    let Some(who) = identity(&req) else {
        return unauthenticated();
    };
    let version = version_of(&req);
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return fault(StatusCode::BAD_REQUEST, "Malformed request body");
    };
    let Some(kp) = body.get("keypair").filter(|k| k.is_object()) else {
        return invalid("keypair", &body, "'keypair' is a required property");
    };
    let name = match kp.get("name") {
        Some(Value::String(n)) if valid_name(n, version) => n.clone(),
        Some(other) => {
            return invalid(
                "name",
                other,
                "It must be 1-255 characters: letters, digits, spaces, '_' and '-'",
            );
        }
        None => return invalid("keypair", kp, "'name' is a required property"),
    };
    let kind = match kp.get("type").and_then(Value::as_str) {
        None => "ssh".to_owned(),
        Some(t @ ("ssh" | "x509")) if version >= Microversion(2, 2) => t.to_owned(),
        Some(t) => return invalid("type", &json!(t), "'type' must be 'ssh' or 'x509'"),
    };
    let (public_key, private_key) = match kp.get("public_key") {
        None | Some(Value::Null) => {
            let (public, private) = generate_key("Generated-by-magnum-cloud-standin");
            (public, Some(private))
        }
        Some(Value::String(key)) => (key.trim().to_owned(), None),
        Some(other) => return invalid("public_key", other, "It must be a string"),
    };
    let Some(fingerprint) = check_public_key(&public_key) else {
        return fault(
            StatusCode::BAD_REQUEST,
            "Keypair data is invalid: failed to generate fingerprint",
        );
    };
    let Ok(mut state) = store.state.lock() else {
        return fault(StatusCode::INTERNAL_SERVER_ERROR, "keypair store poisoned");
    };
    if state.user_mut(&who.user_id).contains_key(&name) {
        return fault(
            StatusCode::CONFLICT,
            format!("Key pair '{name}' already exists."),
        );
    }
    let id = state.next_id.max(1);
    state.next_id = id + 1;
    let created_at = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string();
    let stored = Keypair {
        id,
        name: name.clone(),
        public_key,
        fingerprint,
        kind,
        created_at,
    };
    state
        .user_mut(&who.user_id)
        .insert(name.clone(), stored.clone());
    if let Err(e) = store.save(&state) {
        tracing::error!(error = %e, "cannot write the state file");
        if let Some(keys) = state.users.get_mut(&who.user_id) {
            keys.remove(&name);
        }
        return fault(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot persist the keypair",
        );
    }
    drop(state);
    tracing::info!(user = %who.user_id, keypair = %name, generated = private_key.is_some(), "keypair created");
    let mut v = keypair_json(&stored, version, Some(&who.user_id));
    if let Some(private) = private_key {
        v["private_key"] = json!(private);
    }
    let status = if version >= Microversion(2, 2) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    HttpResponse::build(status).json(json!({"keypair": v}))
}

async fn delete_keypair(
    req: HttpRequest,
    name: web::Path<String>,
    store: web::Data<Keypairs>,
) -> HttpResponse {
    let Some(who) = identity(&req) else {
        return unauthenticated();
    };
    let Ok(mut state) = store.state.lock() else {
        return fault(StatusCode::INTERNAL_SERVER_ERROR, "keypair store poisoned");
    };
    let Some(removed) = state.user_mut(&who.user_id).remove(name.as_str()) else {
        return not_found(&name, &who.user_id);
    };
    if let Err(e) = store.save(&state) {
        tracing::error!(error = %e, "cannot write the state file");
        state
            .user_mut(&who.user_id)
            .insert(removed.name.clone(), removed);
        return fault(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot persist the deletion",
        );
    }
    drop(state);
    tracing::info!(user = %who.user_id, keypair = %name, "keypair deleted");
    if version_of(&req) >= Microversion(2, 2) {
        HttpResponse::NoContent().finish()
    } else {
        HttpResponse::Accepted().finish()
    }
}
