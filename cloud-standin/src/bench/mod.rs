//! Benchmark stand-ins (for `scripts/bench-conductor.sh` only; not for tests of
//! behaviour and never for production): a fast Keystone that issues tokens,
//! trustees and trusts in memory, and a recording Heat that answers at once and
//! keeps every stack in CREATE_IN_PROGRESS.
//!
//! Both count the requests they get by route kind, in a log with arrival times
//! (µs since the epoch), readable and resettable at `/_bench/…` on their own
//! listener without a token:
//!
//! - `GET /_bench/counters`: `{"total", "kinds": {kind: n}, "projects": {project: {kind: n}}}`;
//! - `GET /_bench/requests[?since=µs]`: `{"requests": [{"t_us", "method", "kind", "project"}]}`;
//! - `GET /_bench/records` (Heat only): every stack create, `{"creates": [{"t_us", "project",
//!   "stack_name", "stack_id", "tags"}]}`;
//! - `GET /_bench/wait?tag=T[&timeout_ms=N]` (Heat only): answers `{"t_us"}` once a stack
//!   create carrying tag `T` has arrived (a closed-loop load generator waits on it);
//! - `POST /_bench/reset`: forgets the log and the records (not the stacks or tokens).

pub mod heat;
pub mod keystone;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, Error, HttpMessage, HttpResponse, HttpServer, web};
use anyhow::Context as _;
use serde::Deserialize;
use serde_json::{Value, json};

/// Microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// When the request's head arrived (µs since the epoch), set by [`arrival`].
#[derive(Debug, Clone, Copy)]
pub struct Arrival(pub u64);

/// Middleware: stamps the request with its arrival time before its body is read.
pub async fn arrival(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    req.extensions_mut().insert(Arrival(now_us()));
    next.call(req).await
}

/// The arrival time of a request (now, if [`arrival`] did not run).
pub fn arrived(req: &actix_web::HttpRequest) -> u64 {
    req.extensions()
        .get::<Arrival>()
        .map_or_else(now_us, |a| a.0)
}

/// One request, as logged.
#[derive(Debug, Clone)]
struct Entry {
    t_us: u64,
    method: &'static str,
    kind: &'static str,
    project: String,
}

/// The request log (bounded: the oldest half goes when it is full).
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: Mutex<Vec<Entry>>,
}

const MAX_ENTRIES: usize = 1 << 21;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl RequestLog {
    /// Logs one request.
    pub fn log(&self, t_us: u64, method: &'static str, kind: &'static str, project: &str) {
        let mut entries = lock(&self.entries);
        if entries.len() >= MAX_ENTRIES {
            entries.drain(..MAX_ENTRIES / 2);
        }
        entries.push(Entry {
            t_us,
            method,
            kind,
            project: project.to_owned(),
        });
    }

    /// Forgets everything.
    pub fn reset(&self) {
        lock(&self.entries).clear();
    }

    fn counters(&self) -> Value {
        let entries = lock(&self.entries);
        let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
        let mut projects: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
        for e in entries.iter() {
            let key = format!("{} {}", e.method, e.kind);
            *kinds.entry(key.clone()).or_default() += 1;
            *projects
                .entry(e.project.as_str())
                .or_default()
                .entry(key)
                .or_default() += 1;
        }
        json!({"total": entries.len(), "kinds": kinds, "projects": projects})
    }

    fn since(&self, since: u64) -> Value {
        let entries = lock(&self.entries);
        let list: Vec<Value> = entries
            .iter()
            .filter(|e| e.t_us >= since)
            .map(|e| json!({"t_us": e.t_us, "method": e.method, "kind": e.kind, "project": e.project}))
            .collect();
        json!({ "requests": list })
    }
}

#[derive(Deserialize)]
struct Since {
    #[serde(default)]
    since: u64,
}

async fn counters(log: web::Data<RequestLog>) -> HttpResponse {
    HttpResponse::Ok().json(log.counters())
}

async fn requests(log: web::Data<RequestLog>, q: web::Query<Since>) -> HttpResponse {
    HttpResponse::Ok().json(log.since(q.since))
}

/// The `/_bench` routes shared by both stand-ins (the app must hold a
/// `web::Data<RequestLog>`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/_bench/counters", web::get().to(counters))
        .route("/_bench/requests", web::get().to(requests));
}

/// The method as a static string.
pub fn method_name(m: &actix_web::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        _ => "OTHER",
    }
}

/// A random hex id of `bytes` bytes.
pub fn random_hex(bytes: usize) -> String {
    (0..bytes).fold(String::with_capacity(bytes * 2), |mut s, _| {
        let _ = write!(s, "{:02x}", rand::random::<u8>());
        s
    })
}

/// A stable 32-hex id for `kind` + `name` (the same name always gets the same id).
pub fn stable_id(kind: &str, name: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("{kind}:{name}").as_bytes());
    digest
        .iter()
        .take(16)
        .fold(String::with_capacity(32), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The benchmark stand-ins that run, and the tail of the ready line.
pub struct Started {
    /// The Heat stand-in.
    pub heat: Option<actix_web::dev::Server>,
    /// The Keystone stand-in.
    pub keystone: Option<actix_web::dev::Server>,
    /// ` heat=URL keystone=URL` (what runs).
    pub ready: String,
}

fn listener(addr: SocketAddr, what: &str) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let l = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr} ({what})"))?;
    let bound = l.local_addr()?;
    Ok((l, bound))
}

fn serve<F>(listener: TcpListener, configure: F) -> anyhow::Result<actix_web::dev::Server>
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::PayloadConfig::new(64 << 20))
            .app_data(web::JsonConfig::default().limit(16 << 20))
            .configure(configure.clone())
            .wrap(from_fn(arrival))
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)?;
    Ok(server.run())
}

/// Starts the benchmark stand-ins asked for; the Keystone catalog points at the
/// look-up services (`image`, `compute`, `network` base URLs) and at the Heat one.
pub fn start(
    keystone_listen: Option<SocketAddr>,
    heat_listen: Option<SocketAddr>,
    magnum_url: Option<String>,
    image: &str,
    compute: &str,
    network: &str,
) -> anyhow::Result<Started> {
    let mut ready = String::new();
    let heat_l = heat_listen
        .map(|a| listener(a, "Heat stand-in"))
        .transpose()?;
    let ks_l = keystone_listen
        .map(|a| listener(a, "Keystone stand-in"))
        .transpose()?;
    let keystone = ks_l.as_ref().map(|(_, addr)| {
        web::Data::new(keystone::Keystone::new(keystone::CatalogUrls {
            identity: format!("http://{addr}"),
            image: image.to_owned(),
            compute: compute.to_owned(),
            network: network.to_owned(),
            orchestration: heat_l.as_ref().map(|(_, a)| format!("http://{a}")),
            container_infra: magnum_url.clone(),
        }))
    });
    let heat = match heat_l {
        Some((l, addr)) => {
            let state = web::Data::new(heat::Heat::new(keystone.clone()));
            let log = state.log.clone();
            let _ = write!(ready, " heat=http://{addr}");
            tracing::warn!(%addr, "Heat BENCHMARK stand-in listening (records every request; not a real Heat)");
            Some(serve(l, move |cfg| {
                cfg.app_data(state.clone()).app_data(log.clone());
                heat::routes(cfg);
            })?)
        }
        None => None,
    };
    let keystone = match (ks_l, keystone) {
        (Some((l, addr)), Some(state)) => {
            let log = state.log.clone();
            let _ = write!(ready, " keystone=http://{addr}/v3");
            tracing::warn!(%addr, "Keystone BENCHMARK stand-in listening (accepts any password; not a real Keystone)");
            Some(serve(l, move |cfg| {
                cfg.app_data(state.clone()).app_data(log.clone());
                keystone::routes(cfg);
            })?)
        }
        _ => None,
    };
    Ok(Started {
        heat,
        keystone,
        ready,
    })
}
