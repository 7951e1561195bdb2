//! Starts the `magnum-cloud-standin` binary and drives it over HTTP.
//!
//! Tests that need Keystone read `OS_AUTH_URL` and two users, either from
//! devstack/lib/keystone.sh's `keystone.env` (`ADMIN_USER`, `DEMO_USER`, their
//! `*_PROJECT`, `MAGNUM_PASSWORD`) or from keystone-local.sh's `openrc`
//! (`OS_USERNAME`/`OS_PASSWORD`/`OS_PROJECT_NAME`, `KS_DEMO_USER`/`KS_DEMO_PASSWORD`/
//! `KS_DEMO_PROJECT`). Without them they say so and return early.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers outside #[test] fns

use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use magnum_common::openstack::catalog::Catalog;
use magnum_common::openstack::cloud::{CloudClient, Endpoints};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const FCOS: &str = "459a72ae-3ad9-478f-b711-ec4480d150d6";
const NET_PUBLIC: &str = "623f1e84-1cc2-4450-9836-6cf621f8da85";
const NET_PRIVATE: &str = "65c2b873-3c56-4a52-b721-8656197b315e";

struct Creds {
    user: String,
    password: String,
    project: String,
}

struct Env {
    auth_url: String,
    admin: Creds,
    demo: Creds,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The Keystone to test against, or `None` (after saying why) to skip.
fn keystone_env(test: &str) -> Option<Env> {
    let found = (|| {
        let auth_url = var("OS_AUTH_URL")?;
        if let (Some(admin), Some(demo), Some(password)) =
            (var("ADMIN_USER"), var("DEMO_USER"), var("MAGNUM_PASSWORD"))
        {
            let admin = Creds {
                project: var("ADMIN_PROJECT").unwrap_or_else(|| admin.clone()),
                user: admin,
                password: password.clone(),
            };
            let demo = Creds {
                project: var("DEMO_PROJECT").unwrap_or_else(|| demo.clone()),
                user: demo,
                password,
            };
            return Some(Env {
                auth_url,
                admin,
                demo,
            });
        }
        let admin = Creds {
            user: var("OS_USERNAME")?,
            password: var("OS_PASSWORD")?,
            project: var("OS_PROJECT_NAME")?,
        };
        let demo = Creds {
            user: var("KS_DEMO_USER")?,
            password: var("KS_DEMO_PASSWORD")?,
            project: var("KS_DEMO_PROJECT")?,
        };
        Some(Env {
            auth_url,
            admin,
            demo,
        })
    })();
    if found.is_none() {
        // Written to the real stderr, so it shows even when libtest captures output.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: no Keystone. Set OS_AUTH_URL and two users: source devstack/lib/keystone.sh's \
             DIR/keystone.env (ADMIN_USER, DEMO_USER, MAGNUM_PASSWORD) or keystone-local.sh's DIR/openrc \
             (OS_USERNAME/OS_PASSWORD/OS_PROJECT_NAME and KS_DEMO_*)."
        );
    }
    found
}

fn http() -> reqwest::Client {
    magnum_common::tls::init();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// Password authentication, project-scoped: (token, user id).
async fn token(env: &Env, who: &Creds) -> (String, String) {
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": who.user, "password": who.password, "domain": {"id": "default"}}}},
        "scope": {"project": {"name": who.project, "domain": {"id": "default"}}},
    }});
    let url = format!(
        "{}/auth/tokens?nocatalog",
        magnum_common::openstack::keystone::v3_url(&env.auth_url)
    );
    let resp = http()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("POST /v3/auth/tokens");
    assert_eq!(
        resp.status(),
        201,
        "password authentication of {}",
        who.user
    );
    let token = resp.headers()["x-subject-token"]
        .to_str()
        .expect("token")
        .to_owned();
    let body: Value = resp.json().await.expect("token body");
    (
        token,
        body["token"]["user"]["id"]
            .as_str()
            .expect("user id")
            .to_owned(),
    )
}

/// A running stand-in, killed when dropped.
struct Standin {
    _child: Child,
    image: String,
    compute: String,
    network: String,
}

impl Standin {
    async fn start(keystone_url: &str, state_file: Option<&Path>) -> Standin {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_magnum-cloud-standin"));
        cmd.args([
            "--image-listen",
            "127.0.0.1:0",
            "--compute-listen",
            "127.0.0.1:0",
            "--network-listen",
            "127.0.0.1:0",
            "--volume-listen",
            "127.0.0.1:0",
            "--lb-listen",
            "127.0.0.1:0",
        ])
        .args(["--keystone-url", keystone_url])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
        if let Some(file) = state_file {
            cmd.arg("--state-file").arg(file);
        }
        let mut child = cmd.spawn().expect("spawn magnum-cloud-standin");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("STANDIN_READY within 30 s")
            .expect("read stdout")
            .expect("STANDIN_READY line");
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_owned))
                .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
        };
        assert!(line.starts_with("STANDIN_READY "), "{line}");
        Standin {
            image: field("image"),
            compute: field("compute"),
            network: field("network"),
            _child: child,
        }
    }

    async fn stop(mut self) {
        let pid = self._child.id().expect("pid");
        // SIGTERM, then the process must exit by itself.
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(15), self._child.wait())
            .await
            .expect("exits on SIGTERM")
            .expect("wait");
        assert!(exit.success(), "clean exit on SIGTERM: {exit:?}");
    }
}

async fn get(url: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = http().get(url);
    if let Some(t) = token {
        req = req.header("X-Auth-Token", t);
    }
    let resp = req.send().await.expect("GET");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|v| v["name"].as_str().unwrap_or_default())
        .collect()
}

/// A port nothing listens on.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v3")
}

#[tokio::test]
async fn without_keystone_401_503_and_public_version_documents() {
    let standin = Standin::start(&closed_port_url(), None).await;
    let (status, body) = get(&format!("{}/v2/images", standin.image), None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], 401);
    let resp = http()
        .get(format!("{}/flavors", standin.compute))
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    assert!(
        resp.headers()["x-compute-request-id"]
            .to_str()
            .expect("ascii")
            .starts_with("req-")
    );
    // A token that cannot be checked: Keystone unreachable.
    let (status, body) = get(
        &format!("{}/v2.0/networks", standin.network),
        Some("some-token"),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    // Version documents need no token.
    let (status, body) = get(&standin.compute, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["version"]["id"], "v2.1");
    let network_root = standin.network.clone();
    let (status, body) = get(&format!("{network_root}/"), None).await;
    assert_eq!(
        (status, &body["versions"][0]["id"]),
        (StatusCode::OK, &json!("v2.0"))
    );
    standin.stop().await;
}

#[tokio::test]
async fn bad_token_is_401() {
    let Some(env) = keystone_env("bad_token_is_401") else {
        return;
    };
    let standin = Standin::start(&env.auth_url, None).await;
    for url in [
        format!("{}/v2/images", standin.image),
        format!("{}/os-keypairs", standin.compute),
        format!("{}/v2.0/subnets", standin.network),
    ] {
        let (status, body) = get(&url, Some("gAAAAABnot-a-real-token")).await;
        assert_eq!(status, 401, "{url}: {body}");
        assert_eq!(body["error"]["title"], "Unauthorized");
    }
}

#[tokio::test]
async fn images() {
    let Some(env) = keystone_env("images") else {
        return;
    };
    let (tok, _) = token(&env, &env.demo).await;
    let standin = Standin::start(&env.auth_url, None).await;
    let t = Some(tok.as_str());
    let (status, body) = get(
        &format!("{}/v2/images?name=fedora-coreos-40", standin.image),
        t,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["schema"], "/v2/schemas/images");
    assert_eq!(body["images"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["images"][0]["id"], FCOS);
    assert_eq!(body["images"][0]["os_distro"], "fedora-coreos");
    assert_eq!(body["images"][0]["status"], "active");

    let (status, img) = get(&format!("{}/v2/images/{FCOS}", standin.image), t).await;
    assert_eq!(
        (status, &img["name"]),
        (StatusCode::OK, &json!("fedora-coreos-40"))
    );
    let (_, body) = get(
        &format!("{}/v2/images?name=fedora-atomic-33", standin.image),
        t,
    )
    .await;
    assert_eq!(body["images"][0]["os_distro"], "fedora-atomic");
    let (_, body) = get(&format!("{}/v2/images?name=cirros-0.6", standin.image), t).await;
    assert!(body["images"][0].get("os_distro").is_none(), "{body}");
    let (_, body) = get(
        &format!("{}/v2/images?name=duplicate-image", standin.image),
        t,
    )
    .await;
    assert_eq!(
        names(&body["images"]),
        ["duplicate-image", "duplicate-image"]
    );
    let (_, body) = get(&format!("{}/v2/images?name=nope", standin.image), t).await;
    assert_eq!(body["images"], json!([]));
    let (status, _) = get(
        &format!(
            "{}/v2/images/00000000-0000-0000-0000-000000000000",
            standin.image
        ),
        t,
    )
    .await;
    assert_eq!(status, 404);
    let (_, body) = get(&format!("{}/v2/images?limit=2", standin.image), t).await;
    assert_eq!(body["images"].as_array().map(Vec::len), Some(2));
    let next = body["next"].as_str().expect("next link");
    let (_, page2) = get(&format!("{}{next}", standin.image), t).await;
    assert_eq!(page2["images"].as_array().map(Vec::len), Some(2));
    assert_ne!(page2["images"][0]["id"], body["images"][0]["id"]);
}

#[tokio::test]
async fn flavors() {
    let Some(env) = keystone_env("flavors") else {
        return;
    };
    let (tok, _) = token(&env, &env.demo).await;
    let standin = Standin::start(&env.auth_url, None).await;
    let t = Some(tok.as_str());
    let (status, body) = get(&format!("{}/flavors", standin.compute), t).await;
    assert_eq!(status, 200);
    assert!(names(&body["flavors"]).contains(&"m1.small"));
    let (_, body) = get(&format!("{}/flavors/detail", standin.compute), t).await;
    let small = body["flavors"]
        .as_array()
        .expect("flavors")
        .iter()
        .find(|f| f["name"] == "m1.small")
        .expect("m1.small");
    assert_eq!(
        (&small["id"], &small["vcpus"], &small["ram"], &small["disk"]),
        (&json!("2"), &json!(1), &json!(2048), &json!(20))
    );
    let (status, body) = get(&format!("{}/flavors/4", standin.compute), t).await;
    assert_eq!(
        (status, &body["flavor"]["name"]),
        (StatusCode::OK, &json!("m1.large"))
    );
    let (status, body) = get(&format!("{}/flavors/999", standin.compute), t).await;
    assert_eq!(status, 404);
    assert_eq!(body["itemNotFound"]["code"], 404);
}

#[tokio::test]
async fn keypairs_per_user() {
    let Some(env) = keystone_env("keypairs_per_user") else {
        return;
    };
    let (admin, admin_id) = token(&env, &env.admin).await;
    let (demo, demo_id) = token(&env, &env.demo).await;
    assert_ne!(admin_id, demo_id);
    let state = std::env::temp_dir().join(format!("standin-test-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&state);
    let standin = Standin::start(&env.auth_url, Some(&state)).await;
    let kp = |name: &str| format!("{}/os-keypairs/{name}", standin.compute);
    let post = |tok: &str, body: Value| {
        http()
            .post(format!("{}/os-keypairs", standin.compute))
            .header("X-Auth-Token", tok)
            .json(&body)
            .send()
    };

    // Every user has `default`, with the same fixed key.
    let (status, body) = get(&kp("default"), Some(&demo)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["keypair"]["user_id"], demo_id.as_str());
    let default_key = body["keypair"]["public_key"]
        .as_str()
        .expect("public_key")
        .to_owned();
    assert!(default_key.starts_with("ssh-ed25519 AAAA"));
    let (_, body) = get(&kp("default"), Some(&admin)).await;
    assert_eq!(body["keypair"]["public_key"], default_key.as_str());

    // Create with a generated key: private_key only then.
    let resp = post(&admin, json!({"keypair": {"name": "admin-key"}}))
        .await
        .expect("POST");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("x-compute-request-id"));
    let created: Value = resp.json().await.expect("json");
    assert!(
        created["keypair"]["private_key"]
            .as_str()
            .is_some_and(|k| k.contains("OPENSSH PRIVATE KEY"))
    );
    assert_eq!(created["keypair"]["user_id"], admin_id.as_str());
    let (status, body) = get(&kp("admin-key"), Some(&admin)).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["keypair"]["public_key"],
        created["keypair"]["public_key"]
    );
    assert!(body["keypair"].get("private_key").is_none());
    let (_, list) = get(&format!("{}/os-keypairs", standin.compute), Some(&admin)).await;
    let listed: Vec<&str> = list["keypairs"]
        .as_array()
        .expect("keypairs")
        .iter()
        .map(|k| k["keypair"]["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(listed, ["admin-key", "default"]);

    // Another user cannot see it.
    let (status, body) = get(&kp("admin-key"), Some(&demo)).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["itemNotFound"]["message"],
        format!("Keypair admin-key not found for user {demo_id}")
    );

    // Duplicates, bad names, bad keys.
    let resp = post(&admin, json!({"keypair": {"name": "admin-key"}}))
        .await
        .expect("POST");
    assert_eq!(resp.status(), 409);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body["conflictingRequest"]["message"],
        "Key pair 'admin-key' already exists."
    );
    let resp = post(&demo, json!({"keypair": {"name": "default"}}))
        .await
        .expect("POST");
    assert_eq!(resp.status(), 409);
    let resp = post(&demo, json!({"keypair": {"name": "bad/name"}}))
        .await
        .expect("POST");
    assert_eq!(resp.status(), 400);
    let resp = post(
        &demo,
        json!({"keypair": {"name": "k", "public_key": "ssh-rsa not-base64!"}}),
    )
    .await
    .expect("POST");
    assert_eq!(resp.status(), 400);

    // Import a key (microversion 2.2: 201 and `type`).
    let resp = http()
        .post(format!("{}/os-keypairs", standin.compute))
        .header("X-Auth-Token", &demo)
        .header("OpenStack-API-Version", "compute 2.2")
        .json(&json!({"keypair": {"name": "imported", "public_key": default_key}}))
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.expect("json");
    assert!(body["keypair"].get("private_key").is_none());
    assert_eq!(body["keypair"]["type"], "ssh");

    // Keypairs survive a restart through the state file; deletion too.
    standin.stop().await;
    let standin = Standin::start(&env.auth_url, Some(&state)).await;
    let kp = |name: &str| format!("{}/os-keypairs/{name}", standin.compute);
    assert_eq!(get(&kp("admin-key"), Some(&admin)).await.0, 200);
    assert_eq!(get(&kp("imported"), Some(&demo)).await.0, 200);
    let resp = http()
        .delete(kp("admin-key"))
        .header("X-Auth-Token", &admin)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(resp.status(), 202);
    assert_eq!(get(&kp("admin-key"), Some(&admin)).await.0, 404);
    let resp = http()
        .delete(kp("admin-key"))
        .header("X-Auth-Token", &admin)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(resp.status(), 404);
    standin.stop().await;
    let standin = Standin::start(&env.auth_url, Some(&state)).await;
    assert_eq!(
        get(
            &format!("{}/os-keypairs/admin-key", standin.compute),
            Some(&admin)
        )
        .await
        .0,
        404
    );
    assert_eq!(
        get(
            &format!("{}/os-keypairs/default", standin.compute),
            Some(&admin)
        )
        .await
        .0,
        200
    );
    standin.stop().await;
    let _ = std::fs::remove_file(&state);
}

#[tokio::test]
async fn networks_and_subnets() {
    let Some(env) = keystone_env("networks_and_subnets") else {
        return;
    };
    let (tok, _) = token(&env, &env.demo).await;
    let standin = Standin::start(&env.auth_url, None).await;
    let t = Some(tok.as_str());
    let nets = |q: &str| format!("{}/v2.0/networks{q}", standin.network);
    let (status, body) = get(&nets("?router:external=True"), t).await;
    assert_eq!(status, 200);
    let mut external = names(&body["networks"]);
    external.sort_unstable();
    // (Neutron promises no order)
    assert_eq!(external, ["duplicate-net", "duplicate-net", "public"]);
    let (_, body) = get(&nets("?name=public&router:external=true"), t).await;
    assert_eq!(body["networks"][0]["id"], NET_PUBLIC);
    assert_eq!(body["networks"][0]["router:external"], true);
    assert_eq!(body["networks"].as_array().map(Vec::len), Some(1));
    let (_, body) = get(&nets("?name=private&router:external=true"), t).await;
    assert_eq!(body["networks"], json!([]));
    let (_, body) = get(&nets("?router:external=False"), t).await;
    assert_eq!(names(&body["networks"]), ["private"]);
    let (_, body) = get(&nets(&format!("?id={NET_PRIVATE}")), t).await;
    assert_eq!(names(&body["networks"]), ["private"]);
    let (status, body) = get(&nets("?router:external=maybe"), t).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = get(&nets(&format!("/{NET_PUBLIC}")), t).await;
    assert_eq!(
        (status, &body["network"]["name"]),
        (StatusCode::OK, &json!("public"))
    );
    let (status, body) = get(&nets("/00000000-0000-0000-0000-000000000000"), t).await;
    assert_eq!(status, 404);
    assert_eq!(body["NeutronError"]["type"], "NetworkNotFound");

    let subnets = |q: &str| format!("{}/v2.0/subnets{q}", standin.network);
    let (_, body) = get(&subnets("?name=public-subnet"), t).await;
    assert_eq!(body["subnets"][0]["cidr"], "172.24.4.0/24");
    assert_eq!(body["subnets"][0]["network_id"], NET_PUBLIC);
    let (_, body) = get(&subnets(&format!("?network_id={NET_PRIVATE}")), t).await;
    assert_eq!(names(&body["subnets"]), ["private-subnet"]);
    assert_eq!(body["subnets"][0]["gateway_ip"], "10.0.0.1");
    let id = body["subnets"][0]["id"].as_str().expect("id").to_owned();
    let (status, body) = get(&subnets(&format!("/{id}")), t).await;
    assert_eq!(
        (status, &body["subnet"]["cidr"]),
        (StatusCode::OK, &json!("10.0.0.0/24"))
    );
}

/// What Magnum's own look-up client (magnum_common::openstack::cloud) makes of it.
#[tokio::test]
async fn magnum_cloud_client_reads_it() {
    let Some(env) = keystone_env("magnum_cloud_client_reads_it") else {
        return;
    };
    let (tok, _) = token(&env, &env.demo).await;
    let standin = Standin::start(&env.auth_url, None).await;
    let endpoint = |url: &str| json!([{"interface": "public", "region": "RegionOne", "url": url}, {"interface": "internal", "region": "RegionOne", "url": url}]);
    let catalog: Catalog = serde_json::from_value(json!([
        {"type": "image", "name": "glance", "endpoints": endpoint(&standin.image)},
        {"type": "compute", "name": "nova", "endpoints": endpoint(&standin.compute)},
        {"type": "network", "name": "neutron", "endpoints": endpoint(&standin.network)},
    ]))
    .expect("catalog");
    let config = magnum_common::config::Config::load(&[], &[]).expect("default config");
    let endpoints = Endpoints::from_config(&config);
    let client = http();
    let cloud = CloudClient::new(&client, &catalog, &tok, &endpoints);
    let images = cloud
        .images_named("fedora-coreos-40")
        .await
        .expect("images");
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].os_distro.as_deref(), Some("fedora-coreos"));
    assert_eq!(
        cloud
            .images_named("duplicate-image")
            .await
            .expect("images")
            .len(),
        2
    );
    assert_eq!(
        cloud.image(FCOS).await.expect("image").map(|i| i.id),
        Some(FCOS.to_owned())
    );
    assert!(cloud.image("missing").await.expect("image").is_none());
    assert!(
        cloud
            .flavors()
            .await
            .expect("flavors")
            .iter()
            .any(|f| f.name == "m1.small" && f.id == "2")
    );
    assert!(cloud.keypair("default").await.expect("keypair").is_some());
    assert!(cloud.keypair("nope").await.expect("keypair").is_none());
    let nets = cloud
        .networks(&[("name", "public"), ("router:external", "True")])
        .await
        .expect("networks");
    assert_eq!(nets.len(), 1);
    assert!(nets[0].router_external);
    let subnets = cloud
        .subnets(&[("name", "private-subnet")])
        .await
        .expect("subnets");
    assert_eq!(subnets[0].cidr, "10.0.0.0/24");
}

async fn send(
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = http().request(method, url).header("X-Auth-Token", token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The local cloud's Neutron without a Docker Engine: records, address management, project
/// isolation and Neutron's answers (the engine side is exercised by the end-to-end tests).
#[tokio::test]
async fn neutron_records_addresses_and_projects() {
    use reqwest::Method;
    let Some(env) = keystone_env("neutron_records_addresses_and_projects") else {
        return;
    };
    let (demo, _) = token(&env, &env.demo).await;
    let (admin, _) = token(&env, &env.admin).await;
    let standin = Standin::start(&env.auth_url, None).await;
    let n = |path: &str| format!("{}/v2.0{path}", standin.network);

    let (status, net) = send(
        Method::POST,
        &n("/networks"),
        &demo,
        Some(json!({"network": {"name": "bay-net"}})),
    )
    .await;
    assert_eq!(status, 201, "{net}");
    let net_id = net["network"]["id"].as_str().unwrap().to_owned();
    // 10.0.0.0/24 belongs to the shared `private` network: the subnet moves into the tenant pool
    let (status, sub) = send(Method::POST, &n("/subnets"), &demo, Some(json!({"subnet": {
        "network_id": net_id, "cidr": "10.0.0.0/24", "ip_version": 4, "dns_nameservers": ["8.8.8.8"]}}))).await;
    assert_eq!(status, 201, "{sub}");
    let cidr = sub["subnet"]["cidr"].as_str().unwrap().to_owned();
    assert!(
        cidr.starts_with("10.100.") && cidr.ends_with("/24"),
        "{cidr}"
    );
    assert!(
        sub["subnet"]["description"]
            .as_str()
            .unwrap()
            .contains("10.0.0.0/24")
    );
    let prefix = cidr.trim_end_matches(".0/24").to_owned();
    assert_eq!(sub["subnet"]["gateway_ip"], format!("{prefix}.1"));
    let sub_id = sub["subnet"]["id"].as_str().unwrap().to_owned();
    // a second subnet on the same network is refused here
    let (status, _) = send(
        Method::POST,
        &n("/subnets"),
        &demo,
        Some(json!({"subnet": {
        "network_id": net_id, "cidr": "10.9.0.0/24", "ip_version": 4}})),
    )
    .await;
    assert_eq!(status, 400);

    // ports take addresses round robin, never the gateway; an address in use is a conflict
    let ports_url = n("/ports");
    let port = |body: Value| send(Method::POST, &ports_url, &demo, Some(json!({"port": body})));
    let (_, p1) = port(json!({"network_id": net_id})).await;
    let (_, p2) = port(json!({"network_id": net_id, "fixed_ips": [{"subnet_id": sub_id}]})).await;
    assert_eq!(
        p1["port"]["fixed_ips"][0]["ip_address"],
        format!("{prefix}.2")
    );
    assert_eq!(
        p2["port"]["fixed_ips"][0]["ip_address"],
        format!("{prefix}.3")
    );
    assert_eq!(p1["port"]["status"], "DOWN");
    assert_eq!(
        p1["port"]["security_groups"].as_array().unwrap().len(),
        1,
        "the default group"
    );
    let (status, _) =
        port(json!({"network_id": net_id, "fixed_ips": [{"ip_address": format!("{prefix}.3")}]}))
            .await;
    assert_eq!(status, 409);
    let p1_id = p1["port"]["id"].as_str().unwrap().to_owned();
    let (status, _) = send(Method::DELETE, &n(&format!("/ports/{p1_id}")), &demo, None).await;
    assert_eq!(status, 204);
    let (status, body) = get(&n(&format!("/ports/{p1_id}")), Some(&demo)).await;
    assert_eq!(
        (status, &body["NeutronError"]["type"]),
        (StatusCode::NOT_FOUND, &json!("PortNotFound"))
    );
    // the released .2 is not handed out again at once
    let (_, p3) = port(json!({"network_id": net_id})).await;
    assert_eq!(
        p3["port"]["fixed_ips"][0]["ip_address"],
        format!("{prefix}.4")
    );

    // a floating IP from `public`, on a port; filters on device and address work
    let p2_id = p2["port"]["id"].as_str().unwrap().to_owned();
    let (status, fip) = send(
        Method::POST,
        &n("/floatingips"),
        &demo,
        Some(json!({"floatingip": {
        "floating_network_id": NET_PUBLIC, "port_id": p2_id}})),
    )
    .await;
    assert_eq!(status, 201, "{fip}");
    assert!(
        fip["floatingip"]["floating_ip_address"]
            .as_str()
            .unwrap()
            .starts_with("172.24.4.")
    );
    assert_eq!(fip["floatingip"]["fixed_ip_address"], format!("{prefix}.3"));
    let (_, found) = get(
        &n(&format!("/floatingips?fixed_ip_address={prefix}.3")),
        Some(&demo),
    )
    .await;
    assert_eq!(found["floatingips"].as_array().unwrap().len(), 1);
    let (status, _) = send(
        Method::POST,
        &n("/floatingips"),
        &demo,
        Some(json!({"floatingip": {
        "floating_network_id": net_id}})),
    )
    .await;
    assert_eq!(status, 404, "not an external network");

    // a router's interface takes the subnet's gateway address
    let (status, router) = send(
        Method::POST,
        &n("/routers"),
        &demo,
        Some(json!({"router": {
        "name": "r", "external_gateway_info": {"network_id": NET_PUBLIC}}})),
    )
    .await;
    assert_eq!(status, 201);
    let r_id = router["router"]["id"].as_str().unwrap().to_owned();
    let (status, iface) = send(
        Method::PUT,
        &n(&format!("/routers/{r_id}/add_router_interface")),
        &demo,
        Some(json!({"subnet_id": sub_id})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, ports) = get(&n(&format!("/ports?device_id={r_id}")), Some(&demo)).await;
    assert_eq!(ports["ports"][0]["id"], iface["port_id"]);
    assert_eq!(
        ports["ports"][0]["fixed_ips"][0]["ip_address"],
        format!("{prefix}.1")
    );

    // security groups: Heat's bulk rule create, default egress rules
    let (status, sg) = send(
        Method::POST,
        &n("/security-groups"),
        &demo,
        Some(json!({"security_group": {"name": "web"}})),
    )
    .await;
    assert_eq!(status, 201);
    let sg_id = sg["security_group"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        sg["security_group"]["security_group_rules"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (status, rules) = send(Method::POST, &n("/security-group-rules"), &demo, Some(json!({"security_group_rules": [
        {"security_group_id": sg_id, "direction": "ingress", "protocol": "tcp", "port_range_min": "22", "port_range_max": "22"},
        {"security_group_id": sg_id, "direction": "ingress", "protocol": "icmp", "remote_group_id": null}]}))).await;
    assert_eq!(status, 201, "{rules}");
    assert_eq!(rules["security_group_rules"][0]["port_range_min"], 22);
    let (_, shown) = get(&n(&format!("/security-groups/{sg_id}")), Some(&demo)).await;
    assert_eq!(
        shown["security_group"]["security_group_rules"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // another project sees none of it
    let (status, _) = get(&n(&format!("/networks/{net_id}")), Some(&admin)).await;
    assert_eq!(status, 404);
    let (_, list) = get(&n("/ports"), Some(&admin)).await;
    assert!(
        list["ports"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["network_id"] != net_id.as_str())
    );

    // a subnet with ports is in use; without a Docker Engine no server can be made
    let (status, _) = send(
        Method::DELETE,
        &n(&format!("/subnets/{sub_id}")),
        &demo,
        None,
    )
    .await;
    assert_eq!(status, 409);
    let (status, body) = send(
        Method::POST,
        &format!("{}/servers", standin.compute),
        &demo,
        Some(json!({"server": {
        "name": "x", "imageRef": FCOS, "flavorRef": "2", "networks": [{"uuid": net_id}]}})),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert!(body.to_string().contains("Docker Engine"), "{body}");
    standin.stop().await;
}
