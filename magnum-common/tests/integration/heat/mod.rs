//! The Heat client against a real Heat and Keystone (devstack/lib/heat.sh and
//! keystone.sh). Source both env files first:
//!
//! ```sh
//! set -a; . KEYSTONE_DIR/keystone.env; . HEAT_DIR/heat.env; set +a
//! cargo test -p magnum-common --features openstack --test integration heat::
//! ```
//!
//! Without `HEAT_URL` and `OS_AUTH_URL` every test is skipped with a message,
//! unless `MAGNUM_TEST_REQUIRE_HEAT=1` (then they fail; the fault tests also fail
//! without `HEAT_FAULT_URL`). Tests that inject faults run alone: the fault rule
//! is global to that Heat.

mod faults;
mod stacks;
mod templates;
mod trusts;

use std::time::{Duration, Instant};

use magnum_common::openstack::catalog::Catalog;
use magnum_common::openstack::heat::{HeatClient, Phase, StackLookup, StackRef};
use magnum_common::openstack::keystone::{Domain, PasswordAuth, TokenInfo, authenticate_password};
use serde_json::{Value, json};

/// Normal tests take it shared, fault-injecting tests exclusively.
pub static FAULT_LOCK: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// What the tests need from keystone.env and heat.env.
pub struct Env {
    pub http: reqwest::Client,
    pub auth_url: String,
    pub password: String,
    pub heat_url: String,
    pub fault_url: Option<String>,
    pub trustee_domain_id: String,
    pub trustee_domain_admin: String,
    pub trustee_domain_admin_password: String,
}

/// The environment, or `None` (test skipped) when Heat is not configured.
pub fn env() -> Option<Env> {
    magnum_common::tls::init();
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (Some(heat_url), Some(auth_url)) = (var("HEAT_URL"), var("OS_AUTH_URL")) else {
        assert!(
            var("MAGNUM_TEST_REQUIRE_HEAT").as_deref() != Some("1"),
            "MAGNUM_TEST_REQUIRE_HEAT=1 but HEAT_URL/OS_AUTH_URL are not set: \
             source keystone.env and heat.env (devstack/lib/keystone.sh, heat.sh)"
        );
        eprintln!(
            "skipped: HEAT_URL/OS_AUTH_URL not set (start devstack/lib/heat.sh and source \
             keystone.env + heat.env; MAGNUM_TEST_REQUIRE_HEAT=1 makes this a failure)"
        );
        return None;
    };
    let password = var("MAGNUM_PASSWORD").unwrap_or_else(|| "secret".to_owned());
    Some(Env {
        http: magnum_common::openstack::http_client(Duration::from_secs(10), false).unwrap(),
        auth_url,
        heat_url,
        fault_url: var("HEAT_FAULT_URL"),
        trustee_domain_id: var("MAGNUM_TRUSTEE_DOMAIN_ID").unwrap_or_default(),
        trustee_domain_admin: var("MAGNUM_TRUSTEE_DOMAIN_ADMIN")
            .unwrap_or_else(|| "magnum_domain_admin".to_owned()),
        trustee_domain_admin_password: var("MAGNUM_TRUSTEE_DOMAIN_ADMIN_PASSWORD")
            .unwrap_or_else(|| password.clone()),
        password,
    })
}

impl Env {
    /// A project-scoped token of `user` in `project` (domain Default).
    pub async fn login(&self, user: &str, project: &str) -> (String, TokenInfo) {
        authenticate_password(
            &self.http,
            &self.auth_url,
            &PasswordAuth {
                username: user,
                password: &self.password,
                user_domain: Domain::Id("default"),
                project: Some((project, Domain::Id("default"))),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("login {user}/{project}: {e}"))
    }

    /// A Heat client for the token's project: the catalog's orchestration
    /// endpoint, else HEAT_URL with the project id substituted.
    pub fn heat(&self, token: &str, catalog: &Catalog, project_id: &str) -> HeatClient {
        let client = HeatClient::from_catalog(self.http.clone(), catalog, "public", None, token)
            .unwrap_or_else(|_| {
                let url = self.heat_url.replace("$(project_id)s", project_id);
                HeatClient::new(self.http.clone(), &url, token).unwrap()
            });
        assert!(
            client.base_url().ends_with(project_id),
            "{}",
            client.base_url()
        );
        client
    }

    /// A Heat client acting as demo.
    pub async fn demo(&self) -> HeatClient {
        let (token, info) = self.login("demo", "demo").await;
        self.heat(&token, &info.catalog, info.project_id.as_deref().unwrap())
    }

    /// Sends a JSON request to Keystone; (status, X-Subject-Token, body).
    pub async fn keystone(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Option<String>, Value) {
        let mut req = self.http.request(
            method,
            format!("{}{path}", self.auth_url.trim_end_matches('/')),
        );
        if let Some(t) = token {
            req = req.header("X-Auth-Token", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let subject = resp
            .headers()
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp.text().await.unwrap();
        (
            status,
            subject,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }
}

/// A fresh stack name.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// Polls (without outputs) until the stack leaves `*_IN_PROGRESS` or is gone.
pub async fn wait(client: &HeatClient, stack: &StackRef, timeout: Duration) -> StackLookup {
    let deadline = Instant::now() + timeout;
    loop {
        let lookup = client
            .get_stack(&stack.name, &stack.id, false)
            .await
            .unwrap();
        match &lookup {
            StackLookup::Found(s) if s.phase() == Phase::InProgress => {}
            _ => return lookup,
        }
        assert!(
            Instant::now() < deadline,
            "{} still in progress after {timeout:?}",
            stack.name
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits and asserts the stack ended in `status`.
pub async fn wait_status(client: &HeatClient, stack: &StackRef, status: &str) {
    match wait(client, stack, Duration::from_secs(180)).await {
        StackLookup::Found(s) => assert_eq!(
            s.stack_status, status,
            "{}: {:?}",
            stack.name, s.stack_status_reason
        ),
        StackLookup::Gone => panic!("{} is gone, wanted {status}", stack.name),
    }
}

/// Deletes and waits until gone.
pub async fn delete_and_wait(client: &HeatClient, stack: &StackRef) {
    client.delete_stack(&stack.name, &stack.id).await.unwrap();
    match wait(client, stack, Duration::from_secs(180)).await {
        StackLookup::Gone => {}
        StackLookup::Found(s) => panic!(
            "{}: {} {:?}",
            s.stack_name, s.stack_status, s.stack_status_reason
        ),
    }
}

/// A one-network template (fast; used where the template does not matter).
pub fn tiny_template() -> String {
    json!({
        "heat_template_version": "queens",
        "parameters": {"count": {"type": "number", "default": 1}},
        "resources": {"group": {"type": "OS::Heat::ResourceGroup", "properties": {
            "count": {"get_param": "count"},
            "resource_def": {"type": "OS::Neutron::Net", "properties": {"name": "tiny-%index%"}}}}},
        "outputs": {"networks": {"value": {"get_attr": ["group", "refs"]}}}
    })
    .to_string()
}
