//! Token validation against the real Keystone, and the per-request middleware.
//!
//! As keystonemiddleware in Nova and Neutron does, tokens are validated with the
//! service user's own token when service credentials are given (needed for
//! trust-scoped tokens, which Keystone does not let validate themselves);
//! without them the caller's token validates itself (`X-Auth-Token` =
//! `X-Subject-Token`), which Keystone's default policy allows for ordinary
//! tokens. Results are cached by the token's SHA-256 for
//! at most five minutes and never past the token's expiry. Tokens are never logged.

use std::sync::Arc;
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, web};
use chrono::{DateTime, Utc};
use magnum_common::openstack::token_cache::{self, TokenCache};
use serde::Deserialize;
use serde_json::json;

/// Who made the request, as Keystone said.
#[derive(Debug, Clone)]
pub struct Identity {
    /// User id.
    pub user_id: String,
    /// Project id (absent for domain- or system-scoped tokens).
    pub project_id: Option<String>,
}

/// Why a request was not authenticated.
#[derive(Debug)]
pub enum AuthError {
    /// No token, or Keystone rejected it.
    Invalid,
    /// Keystone could not be reached or failed.
    Unavailable(String),
}

/// The service user the stand-in validates tokens as (project-scoped, domain `default`).
#[derive(Debug, Clone)]
pub struct ServiceCredentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Project name.
    pub project: String,
}

/// The Keystone client and the validation cache.
pub struct Auth {
    http: reqwest::Client,
    url: String,
    cache: TokenCache<Identity>,
    service: Option<ServiceCredentials>,
    service_token: tokio::sync::Mutex<Option<(String, DateTime<Utc>)>>,
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Deserialize)]
struct TokenBody {
    token: Token,
}

#[derive(Deserialize)]
struct Token {
    user: IdOnly,
    #[serde(default)]
    project: Option<IdOnly>,
    expires_at: DateTime<Utc>,
}

impl Auth {
    /// A validator for the Keystone at `keystone_url` (with or without `/v3`).
    pub fn new(keystone_url: &str, service: Option<ServiceCredentials>) -> anyhow::Result<Self> {
        let http = magnum_common::openstack::http_client(Duration::from_secs(10), false)?;
        let url = magnum_common::openstack::keystone::v3_url(keystone_url);
        Ok(Auth {
            http,
            url,
            cache: TokenCache::new(Some(Duration::from_secs(300)), 10_000),
            service,
            service_token: tokio::sync::Mutex::new(None),
        })
    }

    /// The Keystone v3 URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Validates `token`, from the cache when possible.
    pub async fn validate(&self, token: &str) -> Result<Arc<Identity>, AuthError> {
        let key = token_cache::key(token);
        if let Some(identity) = self.cache.get(&key) {
            return Ok(identity);
        }
        let url = format!("{}/auth/tokens?nocatalog", self.url);
        let mut resp = self.send_validation(&url, token, false).await?;
        if resp.status().as_u16() == 401 && self.service.is_some() {
            // Our own token may have been revoked: take a fresh one, once.
            resp = self.send_validation(&url, token, true).await?;
        }
        let status = resp.status();
        match status.as_u16() {
            200 => {}
            401 | 403 | 404 => return Err(AuthError::Invalid),
            _ => {
                return Err(AuthError::Unavailable(format!(
                    "Keystone answered {status}"
                )));
            }
        }
        let body: TokenBody = resp
            .json()
            .await
            .map_err(|e| AuthError::Unavailable(format!("unexpected Keystone answer: {e}")))?;
        let remaining = (body.token.expires_at - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        if remaining.is_zero() {
            return Err(AuthError::Invalid);
        }
        let identity = Arc::new(Identity {
            user_id: body.token.user.id,
            project_id: body.token.project.map(|p| p.id),
        });
        self.cache.insert(key, identity.clone(), Some(remaining));
        Ok(identity)
    }
}

impl Auth {
    async fn send_validation(
        &self,
        url: &str,
        token: &str,
        fresh: bool,
    ) -> Result<reqwest::Response, AuthError> {
        let auth_token = match self.service {
            Some(ref creds) => self.service_token(creds, fresh).await?,
            None => token.to_owned(),
        };
        magnum_common::openstack::send_idempotent(|| {
            self.http
                .get(url)
                .header("X-Auth-Token", &auth_token)
                .header("X-Subject-Token", token)
        })
        .await
        .map_err(|e| AuthError::Unavailable(e.to_string()))
    }

    /// The service user's token, re-issued when close to expiry or when `fresh`.
    async fn service_token(
        &self,
        creds: &ServiceCredentials,
        fresh: bool,
    ) -> Result<String, AuthError> {
        use magnum_common::openstack::keystone::{Domain, PasswordAuth, authenticate_password};
        let mut slot = self.service_token.lock().await;
        if let Some((ref t, expires)) = *slot
            && !fresh
            && expires - Utc::now() > chrono::Duration::seconds(60)
        {
            return Ok(t.clone());
        }
        let auth = PasswordAuth {
            username: &creds.username,
            password: &creds.password,
            user_domain: Domain::Id("default"),
            project: Some((&creds.project, Domain::Id("default"))),
        };
        let (t, info) = authenticate_password(&self.http, &self.url, &auth)
            .await
            .map_err(|e| AuthError::Unavailable(format!("service authentication: {e}")))?;
        *slot = Some((t.clone(), info.expires_at));
        Ok(t)
    }
}

/// Paths answered without a token (version documents, as the real services do).
fn is_public(path: &str) -> bool {
    matches!(path, "/" | "/versions" | "/v2.1" | "/v2.1/")
}

/// keystonemiddleware's 401.
fn unauthorized(keystone_url: &str) -> HttpResponse {
    let uri = keystone_url.trim_end_matches("/v3");
    HttpResponse::Unauthorized()
        .insert_header(("WWW-Authenticate", format!("Keystone uri=\"{uri}\"")))
        .json(json!({"error": {"code": 401, "title": "Unauthorized",
            "message": "The request you have made requires authentication."}}))
}

/// keystonemiddleware's 503 when Keystone cannot be reached.
fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable().json(
        json!({"error": {"code": 503, "title": "Service Unavailable",
        "message": "The server is currently unavailable. Please try again at a later time."}}),
    )
}

/// Middleware: validates `X-Auth-Token` and stores the [`Identity`] in the request.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if is_public(req.path()) {
        return next.call(req).await;
    }
    let Some(auth) = req.app_data::<web::Data<Auth>>().cloned() else {
        return Ok(req.into_response(unavailable()));
    };
    let token = req
        .headers()
        .get("X-Auth-Token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    if token.is_empty() {
        return Ok(req.into_response(unauthorized(auth.url())));
    }
    match auth.validate(&token).await {
        Ok(identity) => {
            req.extensions_mut().insert(identity);
            next.call(req).await
        }
        Err(AuthError::Invalid) => {
            tracing::info!(path = req.path(), "token rejected by Keystone");
            Ok(req.into_response(unauthorized(auth.url())))
        }
        Err(AuthError::Unavailable(why)) => {
            tracing::warn!(path = req.path(), error = %why, "cannot validate token: Keystone unavailable");
            Ok(req.into_response(unavailable()))
        }
    }
}
