//! A small REST client for the end-to-end tests that follow clusters through the conductor:
//! Keystone password log-in, Magnum's API and the user's Heat endpoint from the catalog.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

use crate::Env;

/// A user's session: a project-scoped token and the endpoints the tests call.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    token: String,
    /// Magnum v1 URL.
    pub magnum: String,
    /// The user's Heat endpoint (`…/v1/<project id>`).
    pub heat: String,
    /// The user's Nova endpoint (`…/v2.1`).
    pub nova: String,
    /// The user's Neutron endpoint (without `/v2.0`).
    pub neutron: String,
    /// The project id.
    pub project_id: String,
    /// The user id.
    pub user_id: String,
    /// Keystone v3 URL.
    pub keystone: String,
}

/// What Magnum or Heat answered.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body as JSON (Null when empty or not JSON).
    pub json: Value,
}

impl Answer {
    /// The body if the status is `want`, else an error with the body.
    pub fn expect(self, want: u16) -> Result<Value> {
        if self.status == want {
            Ok(self.json)
        } else {
            bail!("expected {want}, got {}: {}", self.status, self.json)
        }
    }
}

/// Installs the TLS provider reqwest needs (idempotent).
fn tls_init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Api {
    /// Logs `user` in to its own project (the seeded users' project has the user's name).
    pub async fn login(env: &Env, user: &str) -> Result<Api> {
        tls_init();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "password": env.password, "domain": {"id": "default"}}}},
            "scope": {"project": {"name": user, "domain": {"id": "default"}}}}});
        let resp = http
            .post(format!(
                "{}/auth/tokens",
                env.auth_url.trim_end_matches('/')
            ))
            .json(&body)
            .send()
            .await
            .context("Keystone log-in")?;
        if resp.status().as_u16() != 201 {
            bail!("Keystone log-in of {user}: {}", resp.status());
        }
        let token = resp
            .headers()
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow!("no X-Subject-Token"))?
            .to_owned();
        let doc: Value = resp.json().await?;
        let project_id = doc["token"]["project"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let user_id = doc["token"]["user"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let endpoint = |kind: &str| -> Result<String> {
            doc["token"]["catalog"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| s["type"] == kind)
                .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
                .find(|e| e["interface"] == "public")
                .and_then(|e| {
                    e["url"]
                        .as_str()
                        .map(|u| u.trim_end_matches('/').to_owned())
                })
                .ok_or_else(|| anyhow!("no public {kind} endpoint in the catalog"))
        };
        Ok(Api {
            magnum: env.api_url.trim_end_matches('/').to_owned(),
            heat: endpoint("orchestration")?,
            nova: endpoint("compute")?,
            neutron: endpoint("network")?,
            keystone: env.auth_url.trim_end_matches('/').to_owned(),
            http,
            token,
            project_id,
            user_id,
        })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: String,
        body: Option<Value>,
    ) -> Result<Answer> {
        let request = || {
            let mut req = self
                .http
                .request(method.clone(), &url)
                .header("X-Auth-Token", &self.token)
                .header("OpenStack-API-Version", "container-infra latest");
            if let Some(b) = &body {
                req = req.json(b);
            }
            req
        };
        // A GET whose pooled connection the server closed as it was sent is sent again.
        let resp = match request().send().await {
            Err(e) if method == reqwest::Method::GET && (e.is_request() || e.is_connect()) => {
                request().send().await
            }
            other => other,
        }
        .with_context(|| url.clone())?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        Ok(Answer {
            status,
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
        })
    }

    /// GET on Nova (`path` from `/v2.1` on), at the latest microversion.
    pub async fn nova_get(&self, path: &str) -> Result<Answer> {
        self.send(reqwest::Method::GET, format!("{}{path}", self.nova), None)
            .await
    }

    /// POST on Nova (a server action, …).
    pub async fn nova_post(&self, path: &str, body: Value) -> Result<Answer> {
        self.send(
            reqwest::Method::POST,
            format!("{}{path}", self.nova),
            Some(body),
        )
        .await
    }

    /// GET on Neutron (`path` from `/v2.0` on).
    pub async fn neutron_get(&self, path: &str) -> Result<Answer> {
        self.send(
            reqwest::Method::GET,
            format!("{}/v2.0{path}", self.neutron),
            None,
        )
        .await
    }

    /// The project's Nova servers whose names start with `prefix` (id, name, status).
    pub async fn servers_named(&self, prefix: &str) -> Result<Vec<(String, String, String)>> {
        let a = self.nova_get("/servers/detail").await?.expect(200)?;
        Ok(a["servers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
            .map(|s| {
                let f = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
                (f("id"), f("name"), f("status"))
            })
            .collect())
    }

    /// GET on Magnum (`path` from `/v1` on).
    pub async fn get(&self, path: &str) -> Result<Answer> {
        self.send(reqwest::Method::GET, format!("{}{path}", self.magnum), None)
            .await
    }

    /// POST on Magnum.
    pub async fn post(&self, path: &str, body: Value) -> Result<Answer> {
        self.send(
            reqwest::Method::POST,
            format!("{}{path}", self.magnum),
            Some(body),
        )
        .await
    }

    /// PATCH on Magnum.
    pub async fn patch(&self, path: &str, body: Value) -> Result<Answer> {
        self.send(
            reqwest::Method::PATCH,
            format!("{}{path}", self.magnum),
            Some(body),
        )
        .await
    }

    /// DELETE on Magnum.
    pub async fn delete(&self, path: &str) -> Result<Answer> {
        self.send(
            reqwest::Method::DELETE,
            format!("{}{path}", self.magnum),
            None,
        )
        .await
    }

    /// GET on the user's Heat endpoint.
    pub async fn heat_get(&self, path: &str) -> Result<Answer> {
        self.send(reqwest::Method::GET, format!("{}{path}", self.heat), None)
            .await
    }

    /// GET on Keystone (`path` from `/v3` on), with this user's token.
    pub async fn keystone_get(&self, path: &str) -> Result<Answer> {
        self.send(
            reqwest::Method::GET,
            format!("{}{path}", self.keystone),
            None,
        )
        .await
    }

    /// A stack's environment as Heat keeps it (hidden parameters masked).
    pub async fn stack_environment(&self, stack_id: &str) -> Result<Value> {
        let stack = self
            .heat_get(&format!("/stacks/{stack_id}"))
            .await?
            .expect(200)?;
        let name = stack["stack"]["stack_name"].as_str().unwrap_or_default();
        self.heat_get(&format!("/stacks/{name}/{stack_id}/environment"))
            .await?
            .expect(200)
    }

    /// A stack's parameters as `stack show` gives them (hidden ones masked).
    pub async fn stack_parameters(&self, stack_id: &str) -> Result<Value> {
        let stack = self
            .heat_get(&format!("/stacks/{stack_id}"))
            .await?
            .expect(200)?;
        Ok(stack["stack"]["parameters"].clone())
    }

    /// Creates a public-network cluster template for `driver`'s image and COE; returns its uuid.
    pub async fn create_template(&self, name: &str, driver: Driver) -> Result<String> {
        self.create_template_with(name, driver, json!({})).await
    }

    /// Like [`Api::create_template`], with the fields of `extra` (labels, …) added.
    pub async fn create_template_with(
        &self,
        name: &str,
        driver: Driver,
        extra: Value,
    ) -> Result<String> {
        let (image, coe, network_driver) = driver.image_coe_network();
        let mut body = json!({"name": name, "image_id": image, "coe": coe,
                              "keypair_id": "default", "external_network_id": "public",
                              "flavor_id": "m1.small", "master_flavor_id": "m1.medium",
                              "network_driver": network_driver, "docker_volume_size": 5});
        let mut labels = serde_json::Map::new();
        if coe == "kubernetes" {
            // the images come from the local registry (devstack/lib/kube-images.sh)
            labels.extend(kube_image_labels());
            if let Some(registry) = kube_image_prefix().split('/').next() {
                body["insecure_registry"] = json!(registry);
            }
        }
        if let Some(given) = extra["labels"].as_object() {
            labels.extend(given.clone());
        }
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        if !labels.is_empty() {
            body["labels"] = Value::Object(labels);
        }
        let t = self.post("/clustertemplates", body).await?.expect(201)?;
        Ok(t["uuid"].as_str().unwrap_or_default().to_owned())
    }

    /// Asks for a cluster; returns its uuid (202).
    pub async fn create_cluster(
        &self,
        name: &str,
        template: &str,
        masters: u32,
        nodes: u32,
    ) -> Result<String> {
        let c = self
            .post(
                "/clusters",
                json!({"name": name, "cluster_template_id": template,
                       "master_count": masters, "node_count": nodes}),
            )
            .await?
            .expect(202)?;
        Ok(c["uuid"].as_str().unwrap_or_default().to_owned())
    }

    /// The cluster as shown (200).
    pub async fn cluster(&self, uuid: &str) -> Result<Value> {
        self.get(&format!("/clusters/{uuid}")).await?.expect(200)
    }

    /// Deletes the cluster (204) and waits until it is gone.
    pub async fn delete_cluster(&self, uuid: &str, timeout: Duration) -> Result<()> {
        self.delete(&format!("/clusters/{uuid}"))
            .await?
            .expect(204)?;
        self.wait_gone(uuid, timeout).await
    }

    /// Deletes the cluster template (204).
    pub async fn delete_template(&self, uuid: &str) -> Result<()> {
        self.delete(&format!("/clustertemplates/{uuid}"))
            .await?
            .expect(204)
            .map(drop)
    }

    /// Polls the cluster until its status is `want`; any other terminal status is an error.
    pub async fn wait_status(&self, uuid: &str, want: &str, timeout: Duration) -> Result<Value> {
        let t0 = Instant::now();
        loop {
            let c = self.get(&format!("/clusters/{uuid}")).await?.expect(200)?;
            let status = c["status"].as_str().unwrap_or_default().to_owned();
            if status == want {
                return Ok(c);
            }
            if status.ends_with("_FAILED") || status.ends_with("_COMPLETE") {
                bail!(
                    "cluster {uuid} is {status} (wanted {want}): {}{}",
                    c["status_reason"],
                    self.node_logs(&c).await
                );
            }
            if t0.elapsed() > timeout {
                bail!(
                    "cluster {uuid} still {status} after {timeout:?} (wanted {want}){}",
                    self.node_logs(&c).await
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The last lines of the bootstrap log of each node of cluster `c` (as shown), for the
    /// message of a test that waited in vain: what a node was doing is the first question.
    pub async fn node_logs(&self, c: &Value) -> String {
        let Some(engine) = crate::nodes::Engine::get() else {
            return String::new();
        };
        let stack_id = c["stack_id"]
            .as_str()
            .or(c["cluster_id"].as_str())
            .unwrap_or_default();
        let Ok(stack) = self.heat_get(&format!("/stacks/{stack_id}")).await else {
            return String::new();
        };
        let name = stack.json["stack"]["stack_name"].as_str().unwrap_or("-");
        let mut out = String::new();
        for (id, server, status) in self.servers_named(name).await.unwrap_or_default() {
            let log = engine
                .exec(&id, &["tail", "-n", "15", "/var/log/magnum/bootstrap.log"])
                .unwrap_or_else(|e| format!("(no log: {e})"));
            out.push_str(&format!("\n--- {server} ({id}, {status}):\n{log}"));
        }
        out
    }

    /// Polls until the cluster is gone (404); a *_FAILED status is an error.
    pub async fn wait_gone(&self, uuid: &str, timeout: Duration) -> Result<()> {
        let t0 = Instant::now();
        loop {
            let a = self.get(&format!("/clusters/{uuid}")).await?;
            if a.status == 404 {
                return Ok(());
            }
            let status = a.json["status"].as_str().unwrap_or_default();
            if status.ends_with("_FAILED") {
                bail!("cluster {uuid} is {status}: {}", a.json["status_reason"]);
            }
            if t0.elapsed() > timeout {
                bail!("cluster {uuid} still there ({status}) after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The live Heat stacks tagged for `cluster` (the conductor tags each `cluster-<uuid>`);
    /// DELETE_COMPLETE ones are gone (Heat lists them until it purges the row).
    pub async fn stacks_of(&self, cluster: &str) -> Result<Vec<Value>> {
        let a = self
            .heat_get(&format!("/stacks?tags=cluster-{cluster}"))
            .await?
            .expect(200)?;
        Ok(a["stacks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["stack_status"] != "DELETE_COMPLETE")
            .cloned()
            .collect())
    }

    /// Server ids of a stack's group members named `resource` (kube_minion, swarm_node, …), in
    /// member order.
    pub async fn servers(&self, stack_id: &str, resource: &str) -> Result<Vec<String>> {
        let a = self
            .heat_get(&format!("/stacks/{stack_id}/resources?nested_depth=2"))
            .await?
            .expect(200)?;
        let mut rows: Vec<(i64, String)> = a["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["resource_type"] == "OS::Nova::Server" && r["resource_name"] == resource)
            .map(|r| {
                let index = r["parent_resource"]
                    .as_str()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                (
                    index,
                    r["physical_resource_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect();
        rows.sort();
        Ok(rows.into_iter().map(|(_, id)| id).collect())
    }
}

/// Where the nodes pull the Kubernetes images from: `KUBE_IMAGE_PREFIX` (`host:port/magnum/`,
/// set by scripts/test.sh from devstack/lib/kube-images.sh), or empty.
pub fn kube_image_prefix() -> String {
    std::env::var("KUBE_IMAGE_PREFIX").unwrap_or_default()
}

/// The Kubernetes versions the local registry has images of (`KUBE_IMAGE_TAGS`), oldest first.
pub fn kube_tags() -> Vec<String> {
    std::env::var("KUBE_IMAGE_TAGS")
        .unwrap_or_else(|_| "v1.18.16 v1.26.8 v1.27.4".to_owned())
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The labels that make a Kubernetes template's nodes pull the local registry's images:
/// `container_infra_prefix`, `kube_tag` (the newest there) and `etcd_tag`.
pub fn kube_image_labels() -> serde_json::Map<String, Value> {
    let mut labels = serde_json::Map::new();
    let prefix = kube_image_prefix();
    if prefix.is_empty() {
        return labels;
    }
    labels.insert("container_infra_prefix".to_owned(), json!(prefix));
    if let Some(tag) = kube_tags().last() {
        labels.insert("kube_tag".to_owned(), json!(tag));
    }
    if let Ok(tag) = std::env::var("KUBE_ETCD_TAG") {
        labels.insert("etcd_tag".to_owned(), json!(tag));
    }
    labels
}

/// The three drivers, by the image and COE that select them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// k8s_fedora_coreos_v1.
    K8sFedoraCoreos,
    /// k8s_fedora_atomic_v1.
    K8sFedoraAtomic,
    /// swarm_fedora_atomic_v2.
    SwarmFedoraAtomic,
}

impl Driver {
    fn image_coe_network(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Driver::K8sFedoraCoreos => ("debian-12-node-coreos", "kubernetes", "flannel"),
            Driver::K8sFedoraAtomic => ("debian-12-node-atomic", "kubernetes", "flannel"),
            Driver::SwarmFedoraAtomic => ("debian-12-node-atomic", "swarm-mode", "docker"),
        }
    }
}
