//! Trustee users and trusts (spec §5).
//!
//! Each cluster gets a user `<cluster uuid>_<project id>` in the trustee domain
//! (made by the trustee domain's administrator) and a trust from the requesting
//! user to it, with impersonation and redelegation (Heat makes its own trust from
//! the trust-scoped tokens we give it). Every Heat call after the create uses a
//! token scoped to that trust, so a retried operation does not depend on the
//! user's token still being valid.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use magnum_common::config::TrustOpts;
use magnum_common::openstack::keystone::{TokenInfo, v3_url};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// What went wrong talking to Keystone about trusts.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TrustError {
    /// Keystone could not be reached or failed (worth a retry).
    #[error("Keystone is unavailable: {0}")]
    Unavailable(String),
    /// Keystone refused (not worth a retry); the message is the cluster's status_reason.
    #[error("{0}")]
    Refused(String),
    /// `[trust]` lacks what is needed.
    #[error("[trust] is incomplete: {0}")]
    Config(String),
}

/// A trust-scoped token and what it grants.
#[derive(Debug, Clone)]
pub struct TrustToken {
    /// The token.
    pub token: String,
    /// Its scope, roles and catalog.
    pub info: TokenInfo,
}

/// The trustee user made for a cluster.
#[derive(Clone)]
pub struct Trustee {
    /// User id.
    pub user_id: String,
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for Trustee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trustee")
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Makes and removes trustees and trusts, and hands out trust-scoped tokens.
pub struct TrustManager {
    http: reqwest::Client,
    url: String,
    opts: TrustOpts,
    domain_id: Mutex<Option<String>>,
    admin_token: Mutex<Option<(String, DateTime<Utc>)>>,
    trust_tokens: Mutex<HashMap<String, TrustToken>>,
}

impl std::fmt::Debug for TrustManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustManager({})", self.url)
    }
}

#[derive(Deserialize)]
struct TokenBody {
    token: Value,
}

fn unavailable(e: reqwest::Error) -> TrustError {
    TrustError::Unavailable(e.to_string())
}

async fn excerpt(resp: reqwest::Response) -> String {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| text.chars().take(200).collect());
    format!("Keystone answered {status}: {message}")
}

/// A random password for a trustee.
fn password() -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..24)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

impl TrustManager {
    /// A manager talking to Keystone at `auth_url` as `[trust]`'s domain admin.
    pub fn new(http: reqwest::Client, auth_url: &str, opts: TrustOpts) -> Self {
        TrustManager {
            http,
            url: v3_url(auth_url),
            domain_id: Mutex::new(opts.trustee_domain_id.clone().filter(|s| !s.is_empty())),
            opts,
            admin_token: Mutex::new(None),
            trust_tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Keystone's v3 URL.
    pub fn keystone_url(&self) -> &str {
        &self.url
    }

    async fn post_token(&self, body: Value) -> Result<(String, TokenInfo), TrustError> {
        let resp = self
            .http
            .post(format!("{}/auth/tokens", self.url))
            .json(&body)
            .send()
            .await
            .map_err(unavailable)?;
        let status = resp.status();
        if status.is_server_error() {
            return Err(TrustError::Unavailable(excerpt(resp).await));
        }
        if !status.is_success() {
            return Err(TrustError::Refused(excerpt(resp).await));
        }
        let token = resp
            .headers()
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| TrustError::Unavailable("no X-Subject-Token header".to_owned()))?;
        let body: TokenBody = resp.json().await.map_err(unavailable)?;
        let info = magnum_common::openstack::keystone::token_info(body.token)
            .map_err(|e| TrustError::Unavailable(format!("unreadable token: {e}")))?;
        Ok((token, info))
    }

    /// A token of the trustee domain's administrator, scoped to the domain.
    async fn admin_token(&self) -> Result<String, TrustError> {
        let mut slot = self.admin_token.lock().await;
        if let Some((t, exp)) = slot.as_ref()
            && *exp - Utc::now() > chrono::Duration::seconds(60)
        {
            return Ok(t.clone());
        }
        let o = &self.opts;
        let domain = match (&o.trustee_domain_id, &o.trustee_domain_name) {
            (Some(id), _) if !id.is_empty() => json!({"id": id}),
            (_, Some(name)) if !name.is_empty() => json!({"name": name}),
            _ => {
                return Err(TrustError::Config(
                    "trustee_domain_id or trustee_domain_name must be set".to_owned(),
                ));
            }
        };
        let user = match (&o.trustee_domain_admin_id, &o.trustee_domain_admin_name) {
            (Some(id), _) if !id.is_empty() => {
                json!({"id": id, "password": o.trustee_domain_admin_password.expose()})
            }
            (_, Some(name)) if !name.is_empty() => {
                json!({"name": name, "domain": domain, "password": o.trustee_domain_admin_password.expose()})
            }
            _ => {
                return Err(TrustError::Config(
                    "trustee_domain_admin_id or trustee_domain_admin_name must be set".to_owned(),
                ));
            }
        };
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": user}},
                                   "scope": {"domain": domain}}});
        let (token, info) = self.post_token(body).await.map_err(|e| match e {
            TrustError::Refused(m) => {
                TrustError::Config(format!("the trustee domain admin cannot log in: {m}"))
            }
            other => other,
        })?;
        if let Some(d) = info.domain_id.clone() {
            *self.domain_id.lock().await = Some(d);
        }
        *slot = Some((token.clone(), info.expires_at));
        Ok(token)
    }

    /// The trustee domain's id.
    pub async fn domain_id(&self) -> Result<String, TrustError> {
        if let Some(d) = self.domain_id.lock().await.clone() {
            return Ok(d);
        }
        self.admin_token().await?;
        self.domain_id
            .lock()
            .await
            .clone()
            .ok_or_else(|| TrustError::Config("cannot resolve the trustee domain".to_owned()))
    }

    async fn admin_request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<reqwest::Response, TrustError> {
        let token = self.admin_token().await?;
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("X-Auth-Token", token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(unavailable)?;
        if resp.status() == 401 {
            // The cached admin token was revoked: forget it; the retry gets a new one.
            *self.admin_token.lock().await = None;
            return Err(TrustError::Unavailable(excerpt(resp).await));
        }
        if resp.status().is_server_error() {
            return Err(TrustError::Unavailable(excerpt(resp).await));
        }
        Ok(resp)
    }

    /// Creates the trustee user `<cluster>_<project>`, or (after a crash left it
    /// behind) gives the existing one a new password.
    pub async fn create_trustee(
        &self,
        cluster: &str,
        project: &str,
    ) -> Result<Trustee, TrustError> {
        let username = format!("{cluster}_{project}");
        let password = password();
        let domain_id = self.domain_id().await?;
        let body = json!({"user": {"name": username, "password": password, "domain_id": domain_id, "enabled": true}});
        let resp = self
            .admin_request(reqwest::Method::POST, "/users", Some(body))
            .await?;
        let user_id = match resp.status().as_u16() {
            201 => {
                let v: Value = resp.json().await.map_err(unavailable)?;
                v["user"]["id"].as_str().unwrap_or_default().to_owned()
            }
            409 => {
                let id = self
                    .find_user(&username, &domain_id)
                    .await?
                    .ok_or_else(|| {
                        TrustError::Refused(format!(
                            "trustee user {username} conflicts but cannot be found"
                        ))
                    })?;
                let patch = json!({"user": {"password": password}});
                let r = self
                    .admin_request(reqwest::Method::PATCH, &format!("/users/{id}"), Some(patch))
                    .await?;
                if !r.status().is_success() {
                    return Err(TrustError::Refused(excerpt(r).await));
                }
                id
            }
            _ => return Err(TrustError::Refused(excerpt(resp).await)),
        };
        Ok(Trustee {
            user_id,
            username,
            password,
        })
    }

    async fn find_user(&self, name: &str, domain_id: &str) -> Result<Option<String>, TrustError> {
        let resp = self
            .admin_request(
                reqwest::Method::GET,
                &format!("/users?name={name}&domain_id={domain_id}"),
                None,
            )
            .await?;
        if !resp.status().is_success() {
            return Err(TrustError::Refused(excerpt(resp).await));
        }
        let v: Value = resp.json().await.map_err(unavailable)?;
        Ok(v["users"][0]["id"].as_str().map(str::to_owned))
    }

    /// Gives the trustee a new password (credential rotation).
    pub async fn set_password(&self, user_id: &str) -> Result<String, TrustError> {
        let password = password();
        let r = self
            .admin_request(
                reqwest::Method::PATCH,
                &format!("/users/{user_id}"),
                Some(json!({"user": {"password": password}})),
            )
            .await?;
        if !r.status().is_success() {
            return Err(TrustError::Refused(excerpt(r).await));
        }
        Ok(password)
    }

    /// Creates the trust from the user (by their token) to the trustee, in the
    /// user's project, delegating `[trust] roles` or else the user's roles.
    pub async fn create_trust(
        &self,
        user_token: &str,
        trustor_user_id: &str,
        project_id: &str,
        trustee_user_id: &str,
        user_roles: &[String],
    ) -> Result<String, TrustError> {
        let roles: Vec<Value> = if self.opts.roles.is_empty() {
            user_roles
        } else {
            &self.opts.roles
        }
        .iter()
        .map(|r| json!({"name": r}))
        .collect();
        let body = json!({"trust": {
            "trustor_user_id": trustor_user_id, "trustee_user_id": trustee_user_id,
            "project_id": project_id, "impersonation": true, "allow_redelegation": true,
            "roles": roles}});
        let resp = self
            .http
            .post(format!("{}/OS-TRUST/trusts", self.url))
            .header("X-Auth-Token", user_token)
            .json(&body)
            .send()
            .await
            .map_err(unavailable)?;
        match resp.status().as_u16() {
            201 => {
                let v: Value = resp.json().await.map_err(unavailable)?;
                v["trust"]["id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| TrustError::Unavailable("trust without id".to_owned()))
            }
            401 | 404 => Err(TrustError::Refused(
                "The requesting user's token expired before the cluster's trust could be made; please retry the request.".to_owned(),
            )),
            s if s >= 500 => Err(TrustError::Unavailable(excerpt(resp).await)),
            _ => Err(TrustError::Refused(excerpt(resp).await)),
        }
    }

    /// A token of the trustee scoped to the trust (cached until a minute before
    /// it expires).
    pub async fn trust_token(
        &self,
        trustee_user_id: &str,
        password: &str,
        trust_id: &str,
    ) -> Result<TrustToken, TrustError> {
        if let Some(t) = self.trust_tokens.lock().await.get(trust_id)
            && t.info.remaining() > Duration::from_secs(60)
        {
            return Ok(t.clone());
        }
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": trustee_user_id, "password": password}}},
                                   "scope": {"OS-TRUST:trust": {"id": trust_id}}}});
        let (token, info) = self.post_token(body).await?;
        let t = TrustToken { token, info };
        let mut cache = self.trust_tokens.lock().await;
        cache.retain(|_, v| v.info.remaining() > Duration::from_secs(60));
        cache.insert(trust_id.to_owned(), t.clone());
        Ok(t)
    }

    /// Forgets a cached trust token (Heat refused it).
    pub async fn forget_trust_token(&self, trust_id: &str) {
        self.trust_tokens.lock().await.remove(trust_id);
    }

    /// Forgets every cached trust token (after a service refused one of them).
    pub async fn forget_trust_tokens(&self) {
        self.trust_tokens.lock().await.clear();
    }

    /// Deletes the trust (with the user's token when we have one) and the trustee
    /// user; Keystone drops a deleted user's trusts with it, so the trust goes
    /// even when the user's token is gone. Absent objects are fine.
    pub async fn delete(
        &self,
        trust_id: Option<&str>,
        trustee_user_id: Option<&str>,
        user_token: Option<&str>,
    ) -> Result<(), TrustError> {
        if let (Some(trust), Some(token)) = (trust_id, user_token) {
            let resp = self
                .http
                .delete(format!("{}/OS-TRUST/trusts/{trust}", self.url))
                .header("X-Auth-Token", token)
                .send()
                .await
                .map_err(unavailable)?;
            if resp.status().is_server_error() {
                return Err(TrustError::Unavailable(excerpt(resp).await));
            }
            self.forget_trust_token(trust).await;
        }
        if let Some(user) = trustee_user_id {
            let resp = self
                .admin_request(reqwest::Method::DELETE, &format!("/users/{user}"), None)
                .await?;
            if !(resp.status().is_success() || resp.status() == 404) {
                return Err(TrustError::Refused(excerpt(resp).await));
            }
        }
        if let Some(trust) = trust_id {
            self.forget_trust_token(trust).await;
        }
        Ok(())
    }
}
