//! The test application: magnum-api in process, a fresh database, tokens from Keystone.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, StatusCode};
use actix_web::test;
use actix_web::web::Data;
use magnum_api::state::AppState;
use magnum_common::config::{Config, RawConfig};
use magnum_common::db::testing::{TestDatabase, sqlite};
use magnum_common::openstack::keystone::{Domain, PasswordAuth, authenticate_password};
use serde_json::Value;

/// The Keystone the test script started, from its `keystone.env` variables.
#[derive(Debug, Clone)]
pub struct Env {
    /// Keystone v3 URL.
    pub auth_url: String,
    /// Password of admin, demo and alt_demo.
    pub password: String,
    /// Service user.
    pub service_user: String,
    /// Its password.
    pub service_password: String,
    /// Its project.
    pub service_project: String,
    /// Project ids by name.
    pub projects: HashMap<&'static str, String>,
    /// JWS public key directory, when Keystone issues JWS tokens.
    pub jws_dir: Option<String>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The environment, or `None` (after saying why) when Keystone was not started.
pub fn env() -> Option<Env> {
    let Some(auth_url) = var("OS_AUTH_URL") else {
        assert!(
            var("MAGNUM_TEST_REQUIRE_KEYSTONE").is_none(),
            "MAGNUM_TEST_REQUIRE_KEYSTONE is set but OS_AUTH_URL is not: run ./scripts/test.sh"
        );
        eprintln!("skipped: no Keystone (OS_AUTH_URL unset); ./scripts/test.sh starts one");
        return None;
    };
    let get = |n: &str| var(n).unwrap_or_default();
    Some(Env {
        auth_url,
        password: get("MAGNUM_PASSWORD"),
        service_user: var("MAGNUM_SERVICE_USER").unwrap_or_else(|| "magnum".to_owned()),
        service_password: var("MAGNUM_SERVICE_PASSWORD").unwrap_or_else(|| get("MAGNUM_PASSWORD")),
        service_project: var("MAGNUM_SERVICE_PROJECT").unwrap_or_else(|| "service".to_owned()),
        projects: [
            ("admin", get("ADMIN_PROJECT_ID")),
            ("demo", get("DEMO_PROJECT_ID")),
            ("alt_demo", get("ALT_DEMO_PROJECT_ID")),
        ]
        .into(),
        jws_dir: var("KEYSTONE_JWS_PUBLIC_KEY_DIR")
            .filter(|_| var("KEYSTONE_TOKEN_PROVIDER").as_deref() == Some("jws")),
    })
}

/// magnum.conf for tests: Keystone authentication against `env`.
pub fn config(env: &Env, db_url: &str) -> Config {
    let mut raw = RawConfig::default();
    raw.set("database", "connection", db_url);
    raw.set("keystone_authtoken", "auth_url", &env.auth_url);
    raw.set("keystone_authtoken", "www_authenticate_uri", &env.auth_url);
    raw.set("keystone_authtoken", "username", &env.service_user);
    raw.set("keystone_authtoken", "password", &env.service_password);
    raw.set("keystone_authtoken", "project_name", &env.service_project);
    raw.set("keystone_authtoken", "user_domain_id", "default");
    raw.set("keystone_authtoken", "project_domain_id", "default");
    raw.set("api", "workers", "1");
    raw.set("api", "db_pool_size", "4");
    Config::from_raw(&raw).expect("test config")
}

/// Tokens are fetched once per user and process, and shared between test processes
/// through `$MAGNUM_TEST_DIR/tokens` (nextest runs each test in its own process; a
/// password authentication per test would load Keystone for nothing).
pub async fn token(env: &Env, user: &str) -> String {
    static TOKENS: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let cache = TOKENS.get_or_init(Default::default);
    if let Some(t) = cache.lock().unwrap().get(user) {
        return t.clone();
    }
    let file = var("MAGNUM_TEST_DIR").map(|d| {
        std::path::Path::new(&d)
            .join("tokens")
            .join(format!("{user}-{}", env.auth_url.replace(['/', ':'], "_")))
    });
    let fresh = |p: &std::path::Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() < 1800)
    };
    if let Some(token) = file
        .as_deref()
        .filter(|p| fresh(p))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .filter(|t| !t.is_empty())
    {
        cache.lock().unwrap().insert(user.to_owned(), token.clone());
        return token;
    }
    magnum_common::tls::init();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let auth = PasswordAuth {
        username: user,
        password: &env.password,
        user_domain: Domain::Id("default"),
        project: Some((user, Domain::Id("default"))),
    };
    let mut attempt = 0;
    let token = loop {
        match authenticate_password(&http, &env.auth_url, &auth).await {
            Ok((token, _)) => break token,
            Err(e) if attempt < 5 => {
                attempt += 1;
                eprintln!("token for {user}: {e}; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(300 * attempt)).await;
            }
            Err(e) => panic!("token for {user}: {e}"),
        }
    };
    if let Some(p) = &file {
        let _ = std::fs::create_dir_all(p.parent().unwrap());
        let tmp = p.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, &token).is_ok() {
            let _ = std::fs::rename(&tmp, p);
        }
    }
    cache.lock().unwrap().insert(user.to_owned(), token.clone());
    token
}

/// A response, read.
#[derive(Debug)]
pub struct Resp {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body as JSON (Null when empty or not JSON).
    pub json: Value,
    /// Body as text.
    pub text: String,
}

impl Resp {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The error detail of an enveloped error.
    pub fn detail(&self) -> &str {
        self.json["errors"][0]["detail"].as_str().unwrap_or("")
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts an enveloped error with this status whose detail contains `needle`.
    #[track_caller]
    pub fn expect_error(self, status: u16, needle: &str) -> Self {
        let r = self.expect(status);
        let code = if status >= 500 { "server" } else { "client" };
        assert_eq!(r.json["errors"][0]["status"], status, "{}", r.text);
        assert_eq!(r.json["errors"][0]["code"], code, "{}", r.text);
        assert!(
            r.detail().contains(needle),
            "detail {:?} lacks {needle:?}",
            r.detail()
        );
        r
    }
}

/// The application under test.
pub struct TestApp {
    /// The Keystone environment.
    pub env: Env,
    /// The database (dropped with the app).
    _db: TestDatabase,
    /// Shared state (for direct database checks).
    pub state: Data<AppState>,
}

impl TestApp {
    /// A fresh app on a fresh SQLite database, or `None` without Keystone.
    pub async fn new() -> Option<TestApp> {
        let env = env()?;
        Some(Self::on(env, sqlite(4), |_| {}).await)
    }

    /// A fresh app with a tweaked configuration.
    pub async fn with(tweak: impl FnOnce(&mut RawConfig)) -> Option<TestApp> {
        let env = env()?;
        Some(Self::on_raw(env, sqlite(4), tweak).await)
    }

    /// An app on `db`.
    pub async fn on(env: Env, db: TestDatabase, tweak: impl FnOnce(&mut Config)) -> TestApp {
        magnum_common::tls::init();
        let mut cfg = config(&env, &db.url);
        tweak(&mut cfg);
        Self::start(env, db, cfg).await
    }

    async fn on_raw(env: Env, db: TestDatabase, tweak: impl FnOnce(&mut RawConfig)) -> TestApp {
        magnum_common::tls::init();
        let mut raw = RawConfig::default();
        let base = config(&env, &db.url);
        raw.set("database", "connection", &db.url);
        raw.set(
            "keystone_authtoken",
            "auth_url",
            base.keystone_authtoken
                .auth_url
                .as_deref()
                .unwrap_or_default(),
        );
        raw.set(
            "keystone_authtoken",
            "www_authenticate_uri",
            base.keystone_authtoken
                .auth_url
                .as_deref()
                .unwrap_or_default(),
        );
        raw.set("keystone_authtoken", "username", &env.service_user);
        raw.set("keystone_authtoken", "password", &env.service_password);
        raw.set("keystone_authtoken", "project_name", &env.service_project);
        raw.set("keystone_authtoken", "user_domain_id", "default");
        raw.set("keystone_authtoken", "project_domain_id", "default");
        raw.set("api", "db_pool_size", "4");
        tweak(&mut raw);
        let cfg = Config::from_raw(&raw).expect("config");
        Self::start(env, db, cfg).await
    }

    async fn start(env: Env, db: TestDatabase, cfg: Config) -> TestApp {
        let state = Data::new(AppState::build(cfg, &[], true).expect("app state"));
        TestApp {
            env,
            _db: db,
            state,
        }
    }

    /// A request builder.
    pub fn req(&self, method: Method, path: &str) -> Req<'_> {
        Req {
            app: self,
            inner: test::TestRequest::default().method(method).uri(path),
            user: None,
            raw_token: None,
        }
    }

    /// GET.
    pub fn get(&self, path: &str) -> Req<'_> {
        self.req(Method::GET, path)
    }

    /// POST.
    pub fn post(&self, path: &str) -> Req<'_> {
        self.req(Method::POST, path)
    }

    /// PATCH.
    pub fn patch(&self, path: &str) -> Req<'_> {
        self.req(Method::PATCH, path)
    }

    /// DELETE.
    pub fn delete(&self, path: &str) -> Req<'_> {
        self.req(Method::DELETE, path)
    }

    /// The project id of a seeded user.
    pub fn project(&self, user: &str) -> String {
        self.env.projects.get(user).cloned().unwrap_or_default()
    }
}

/// A request being built.
pub struct Req<'a> {
    app: &'a TestApp,
    inner: test::TestRequest,
    user: Option<String>,
    raw_token: Option<String>,
}

impl Req<'_> {
    /// Authenticates as a seeded user (admin, demo, alt_demo).
    pub fn user(mut self, user: &str) -> Self {
        self.user = Some(user.to_owned());
        self
    }

    /// Sends this exact token.
    pub fn token(mut self, token: &str) -> Self {
        self.raw_token = Some(token.to_owned());
        self
    }

    /// Sets the microversion.
    pub fn version(mut self, v: &str) -> Self {
        self.inner = self
            .inner
            .insert_header(("OpenStack-API-Version", format!("container-infra {v}")));
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.inner = self
            .inner
            .insert_header((name.to_owned(), value.to_owned()));
        self
    }

    /// A JSON body.
    pub fn json(mut self, body: Value) -> Self {
        self.inner = self
            .inner
            .insert_header(("Content-Type", "application/json"))
            .set_payload(body.to_string());
        self
    }

    /// A raw body.
    pub fn body(mut self, body: impl Into<actix_web::web::Bytes>) -> Self {
        self.inner = self.inner.set_payload(body.into());
        self
    }

    /// Sends it.
    pub async fn send(self) -> Resp {
        let mut inner = self.inner;
        if let Some(user) = &self.user {
            inner = inner.insert_header(("X-Auth-Token", token(&self.app.env, user).await));
        }
        if let Some(t) = &self.raw_token {
            inner = inner.insert_header(("X-Auth-Token", t.clone()));
        }
        // The app is cheap to build; a fresh one per request keeps the harness simple.
        let service = test::init_service(magnum_api::app(self.app.state.clone())).await;
        let res = test::call_service(&service, inner.to_request()).await;
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = test::read_body(res).await;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            json,
            text,
        }
    }
}

/// Runs `f` only when Keystone is available.
#[macro_export]
macro_rules! app {
    () => {
        match $crate::harness::TestApp::new().await {
            Some(app) => app,
            None => return,
        }
    };
}

/// A cluster template body the stand-in's data satisfies.
pub fn k8s_template(name: &str) -> Value {
    serde_json::json!({
        "name": name, "coe": "kubernetes", "image_id": "fedora-coreos-40", "external_network_id": "public",
        "flavor_id": "m1.small", "master_flavor_id": "m1.medium", "keypair_id": "default", "dns_nameserver": "8.8.8.8",
        "labels": {"kube_tag": "v1.27.4", "min_node_count": "0"}, "docker_volume_size": 3,
    })
}
