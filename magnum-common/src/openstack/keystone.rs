//! Keystone v3: service authentication, token validation, project look-up.
//!
//! Validation follows keystonemiddleware's contract: `GET /v3/auth/tokens` with the
//! service token in `X-Auth-Token` and the user's in `X-Subject-Token`. A 404 means
//! the user's token is invalid; a 401 means the *service* token went stale, and it
//! is renewed once; anything else unreachable is "Keystone unavailable" (503).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use super::catalog::Catalog;
use crate::config::KeystoneAuthtokenOpts;

/// What can go wrong talking to Keystone.
#[derive(Debug, thiserror::Error)]
pub enum KeystoneError {
    /// The user's token is invalid, expired or revoked.
    #[error("the token is invalid")]
    InvalidToken,
    /// Keystone could not be reached or failed.
    #[error("Keystone is unavailable: {0}")]
    Unavailable(String),
    /// Our own service credentials were refused or lack the rights to validate.
    #[error("the service credentials were refused by Keystone: {0}")]
    ServiceAuth(String),
    /// The configuration lacks what authentication needs.
    #[error("[keystone_authtoken] is incomplete: {0}")]
    Config(String),
    /// Keystone answered something we did not expect.
    #[error("unexpected answer from Keystone ({status}): {message}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// Body excerpt.
        message: String,
    },
}

/// A validated token: who, in which scope, with which roles and catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenInfo {
    /// User id.
    pub user_id: String,
    /// User name.
    pub user_name: String,
    /// The user's domain id.
    pub user_domain_id: String,
    /// The user's domain name.
    pub user_domain_name: String,
    /// Project id of a project-scoped token.
    pub project_id: Option<String>,
    /// Project name.
    pub project_name: Option<String>,
    /// The project's domain id.
    pub project_domain_id: Option<String>,
    /// The project's domain name.
    pub project_domain_name: Option<String>,
    /// Domain id of a domain-scoped token.
    pub domain_id: Option<String>,
    /// True for a system-scoped token.
    pub system_scope: bool,
    /// Role names (implied roles included, as Keystone expands them).
    pub roles: Vec<String>,
    /// When the token expires.
    pub expires_at: DateTime<Utc>,
    /// The service catalog (empty if Keystone sent none).
    pub catalog: Catalog,
    /// Trust id of a trust-scoped token.
    pub trust_id: Option<String>,
}

impl TokenInfo {
    /// Time left before the token expires (zero if already expired).
    pub fn remaining(&self) -> Duration {
        (self.expires_at - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
    }
}

#[derive(Deserialize)]
struct NameId {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    domain: Option<Box<NameId>>,
}

#[derive(Deserialize)]
struct RawToken {
    user: NameId,
    #[serde(default)]
    project: Option<NameId>,
    #[serde(default)]
    domain: Option<NameId>,
    #[serde(default)]
    system: Option<serde_json::Value>,
    #[serde(default)]
    roles: Vec<NameId>,
    expires_at: DateTime<Utc>,
    #[serde(default)]
    catalog: Catalog,
    #[serde(default, rename = "OS-TRUST:trust")]
    trust: Option<NameId>,
}

#[derive(Deserialize)]
struct TokenBody {
    token: RawToken,
}

impl From<RawToken> for TokenInfo {
    fn from(t: RawToken) -> Self {
        let (udid, udname) = t
            .user
            .domain
            .map(|d| (d.id, d.name.unwrap_or_default()))
            .unwrap_or_default();
        let (pid, pname, pdid, pdname) = match t.project {
            Some(p) => {
                let (did, dname) = p
                    .domain
                    .map(|d| (Some(d.id), d.name))
                    .unwrap_or((None, None));
                (Some(p.id), p.name, did, dname)
            }
            None => (None, None, None, None),
        };
        TokenInfo {
            user_id: t.user.id,
            user_name: t.user.name.unwrap_or_default(),
            user_domain_id: udid,
            user_domain_name: udname,
            project_id: pid,
            project_name: pname,
            project_domain_id: pdid,
            project_domain_name: pdname,
            domain_id: t.domain.map(|d| d.id),
            system_scope: t.system.is_some(),
            roles: t.roles.into_iter().filter_map(|r| r.name).collect(),
            expires_at: t.expires_at,
            catalog: t.catalog,
            trust_id: t.trust.map(|t| t.id),
        }
    }
}

/// Reads the `token` object of a Keystone token response.
pub fn token_info(token: serde_json::Value) -> Result<TokenInfo, serde_json::Error> {
    Ok(serde_json::from_value::<RawToken>(token)?.into())
}

/// Appends `/v3` to a Keystone URL unless it already ends with it.
pub fn v3_url(auth_url: &str) -> String {
    let base = auth_url.trim_end_matches('/');
    if base.ends_with("/v3") {
        base.to_owned()
    } else {
        format!("{base}/v3")
    }
}

/// Who a password authentication is for and in which scope.
#[derive(Debug, Clone)]
pub struct PasswordAuth<'a> {
    /// User name.
    pub username: &'a str,
    /// Password.
    pub password: &'a str,
    /// The user's domain (id or name).
    pub user_domain: Domain<'a>,
    /// Project to scope to, if any.
    pub project: Option<(&'a str, Domain<'a>)>,
}

/// A domain given by id or by name.
#[derive(Debug, Clone, Copy)]
pub enum Domain<'a> {
    /// By id.
    Id(&'a str),
    /// By name.
    Name(&'a str),
}

impl Domain<'_> {
    fn json(self) -> serde_json::Value {
        match self {
            Domain::Id(id) => json!({"id": id}),
            Domain::Name(name) => json!({"name": name}),
        }
    }
}

/// Authenticates with a password; returns the token and what it grants.
pub async fn authenticate_password(
    http: &reqwest::Client,
    auth_url: &str,
    auth: &PasswordAuth<'_>,
) -> Result<(String, TokenInfo), KeystoneError> {
    let mut body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": auth.username, "password": auth.password, "domain": auth.user_domain.json()}}}}});
    if let Some((project, domain)) = auth.project {
        body["auth"]["scope"] = json!({"project": {"name": project, "domain": domain.json()}});
    }
    let resp = http
        .post(format!("{}/auth/tokens", v3_url(auth_url)))
        .json(&body)
        .send()
        .await
        .map_err(|e| KeystoneError::Unavailable(e.to_string()))?;
    let status = resp.status();
    if status == 401 {
        return Err(KeystoneError::ServiceAuth(format!(
            "password authentication of {} failed",
            auth.username
        )));
    }
    if !status.is_success() {
        let message = resp
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect();
        return Err(if status.is_server_error() {
            KeystoneError::Unavailable(message)
        } else {
            KeystoneError::Unexpected {
                status: status.as_u16(),
                message,
            }
        });
    }
    let token = resp
        .headers()
        .get("X-Subject-Token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| KeystoneError::Unexpected {
            status: status.as_u16(),
            message: "no X-Subject-Token header".to_owned(),
        })?;
    let body: TokenBody = resp.json().await.map_err(|e| KeystoneError::Unexpected {
        status: status.as_u16(),
        message: e.to_string(),
    })?;
    Ok((token, body.token.into()))
}

/// Keystone as a service sees it: our credentials and a renewable service token.
pub struct Keystone {
    http: reqwest::Client,
    url: String,
    username: String,
    password: crate::config::Secret,
    user_domain: (Option<String>, Option<String>),
    project: String,
    project_domain: (Option<String>, Option<String>),
    retries: u32,
    service_token: Mutex<Option<(String, DateTime<Utc>)>>,
}

impl std::fmt::Debug for Keystone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keystone({}, user {})", self.url, self.username)
    }
}

fn domain<'a>(d: &'a (Option<String>, Option<String>)) -> Domain<'a> {
    match d {
        (Some(id), _) => Domain::Id(id),
        (None, Some(name)) => Domain::Name(name),
        (None, None) => Domain::Id("default"),
    }
}

impl Keystone {
    /// A client for `[keystone_authtoken]`; fails if the options needed are missing.
    pub fn new(opts: &KeystoneAuthtokenOpts) -> Result<Self, KeystoneError> {
        let need = |v: &Option<String>, name: &str| {
            v.clone()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| KeystoneError::Config(format!("{name} is not set")))
        };
        let url = v3_url(&need(&opts.auth_url, "auth_url")?);
        let http = super::http_client(
            Duration::from_secs(opts.http_connect_timeout),
            opts.insecure,
        )
        .map_err(|e| KeystoneError::Config(e.to_string()))?;
        Ok(Keystone {
            http,
            url,
            username: need(&opts.username, "username")?,
            password: opts.password.clone(),
            user_domain: (opts.user_domain_id.clone(), opts.user_domain_name.clone()),
            project: need(&opts.project_name, "project_name")?,
            project_domain: (
                opts.project_domain_id.clone(),
                opts.project_domain_name.clone(),
            ),
            retries: opts.http_request_max_retries,
            service_token: Mutex::new(None),
        })
    }

    /// The Keystone v3 URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The HTTP client (shared connection pool).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A valid service token, renewed a minute before it expires.
    pub async fn service_token(&self) -> Result<String, KeystoneError> {
        let mut slot = self.service_token.lock().await;
        if let Some((token, expires)) = slot.as_ref()
            && *expires - Utc::now() > chrono::Duration::seconds(60)
        {
            return Ok(token.clone());
        }
        let auth = PasswordAuth {
            username: &self.username,
            password: self.password.expose(),
            user_domain: domain(&self.user_domain),
            project: Some((&self.project, domain(&self.project_domain))),
        };
        let (token, info) = authenticate_password(&self.http, &self.url, &auth).await?;
        *slot = Some((token.clone(), info.expires_at));
        Ok(token)
    }

    async fn forget_service_token(&self) {
        *self.service_token.lock().await = None;
    }

    /// Sends a GET with the service token, renewing it once on 401 and retrying
    /// connection errors `http_request_max_retries` times.
    async fn get_as_service(
        &self,
        path: &str,
        subject: Option<&str>,
    ) -> Result<reqwest::Response, KeystoneError> {
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            let service = self.service_token().await?;
            let mut req = self
                .http
                .get(format!("{}{path}", self.url))
                .header("X-Auth-Token", service);
            if let Some(subject) = subject {
                req = req
                    .header("X-Subject-Token", subject)
                    .header("OpenStack-Identity-Access-Rules", "1");
            }
            match req.send().await {
                Ok(resp) if resp.status() == 401 && !renewed => {
                    renewed = true;
                    self.forget_service_token().await;
                }
                Ok(resp) if resp.status() == 401 || resp.status() == 403 => {
                    return Err(KeystoneError::ServiceAuth(format!(
                        "Keystone answered {} to the service user",
                        resp.status()
                    )));
                }
                Ok(resp) if resp.status().is_server_error() && attempt < self.retries => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                Ok(resp) if resp.status().is_server_error() => {
                    return Err(KeystoneError::Unavailable(format!(
                        "Keystone answered {}",
                        resp.status()
                    )));
                }
                Ok(resp) => return Ok(resp),
                Err(e) if attempt < self.retries => {
                    attempt += 1;
                    tracing::warn!(error = %e, attempt, "Keystone request failed, retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                Err(e) => return Err(KeystoneError::Unavailable(e.to_string())),
            }
        }
    }

    /// Validates a user token (with its catalog).
    pub async fn validate(&self, token: &str) -> Result<TokenInfo, KeystoneError> {
        let resp = self.get_as_service("/auth/tokens", Some(token)).await?;
        let status = resp.status();
        if status == 404 {
            return Err(KeystoneError::InvalidToken);
        }
        if !status.is_success() {
            let message = resp
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect();
            return Err(KeystoneError::Unexpected {
                status: status.as_u16(),
                message,
            });
        }
        let body: TokenBody = resp.json().await.map_err(|e| KeystoneError::Unexpected {
            status: status.as_u16(),
            message: e.to_string(),
        })?;
        let info: TokenInfo = body.token.into();
        if info.expires_at <= Utc::now() {
            return Err(KeystoneError::InvalidToken);
        }
        Ok(info)
    }

    /// Whether the project `id` exists.
    pub async fn project_exists(&self, id: &str) -> Result<bool, KeystoneError> {
        let resp = self
            .get_as_service(&format!("/projects/{id}"), None)
            .await?;
        match resp.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            status => Err(KeystoneError::Unexpected {
                status,
                message: resp
                    .text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(300)
                    .collect(),
            }),
        }
    }
}
