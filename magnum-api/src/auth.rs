//! Authentication: keystonemiddleware's contract, in process.
//!
//! A token is validated against Keystone v3 with the service token and cached
//! (by SHA-256, bounded, never past the token's own expiry). With a JWS key
//! repository configured, JWS tokens are first checked offline, so a forged or
//! expired one costs no round trip. `noauth` exists for development only.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use magnum_common::config::Config;
use magnum_common::openstack::jws::{JwsKeys, Verdict};
use magnum_common::openstack::keystone::{Keystone, KeystoneError, TokenInfo};
use magnum_common::openstack::token_cache::{self, TokenCache};

use crate::error::ApiError;

/// How requests are authenticated.
pub enum Authenticator {
    /// Real Keystone validation.
    Keystone(Box<KeystoneAuth>),
    /// Development only: identity from request headers, unchecked.
    NoAuth,
}

/// Keystone validation with its cache and optional offline JWS check.
pub struct KeystoneAuth {
    keystone: Keystone,
    cache: TokenCache<TokenInfo>,
    jws: Option<JwsKeys>,
    www_authenticate: String,
    service_token_roles: Vec<String>,
    service_token_roles_required: bool,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Authenticator::Keystone(k) => write!(
                f,
                "Authenticator::Keystone({:?}, jws: {})",
                k.keystone,
                k.jws.is_some()
            ),
            Authenticator::NoAuth => f.write_str("Authenticator::NoAuth"),
        }
    }
}

/// Failures building the authenticator at start-up.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    /// `[DEFAULT] auth_strategy` names nothing we know.
    #[error("[DEFAULT] auth_strategy must be keystone or noauth, not {0:?}")]
    Strategy(String),
    /// Keystone options missing.
    #[error(transparent)]
    Keystone(#[from] KeystoneError),
    /// The JWS key directory is unusable.
    #[error("[keystone_authtoken] jws_public_key_repository: {0}")]
    Jws(String),
}

impl Authenticator {
    /// Builds the authenticator `[DEFAULT] auth_strategy` names.
    pub fn from_config(cfg: &Config) -> Result<Self, AuthSetupError> {
        match cfg.default.auth_strategy.as_str() {
            "noauth" => {
                tracing::warn!(
                    "*** auth_strategy = noauth: requests are NOT authenticated; identity comes from request headers. Development only. ***"
                );
                Ok(Authenticator::NoAuth)
            }
            "keystone" => {
                let opts = &cfg.keystone_authtoken;
                let keystone = Keystone::new(opts)?;
                let jws = match opts.jws_public_key_repository.as_deref() {
                    Some(dir) if !dir.is_empty() => {
                        Some(JwsKeys::load(Path::new(dir)).map_err(AuthSetupError::Jws)?)
                    }
                    _ => None,
                };
                let ttl = u64::try_from(opts.token_cache_time)
                    .ok()
                    .filter(|t| *t > 0)
                    .map(Duration::from_secs);
                let www_authenticate = opts
                    .www_authenticate_uri
                    .clone()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| keystone.url().to_owned());
                Ok(Authenticator::Keystone(Box::new(KeystoneAuth {
                    keystone,
                    cache: TokenCache::new(ttl, opts.token_cache_size),
                    jws,
                    www_authenticate,
                    service_token_roles: opts.service_token_roles.clone(),
                    service_token_roles_required: opts.service_token_roles_required,
                })))
            }
            other => Err(AuthSetupError::Strategy(other.to_owned())),
        }
    }

    /// The Keystone client, when authenticating with Keystone.
    pub fn keystone(&self) -> Option<&Keystone> {
        match self {
            Authenticator::Keystone(k) => Some(&k.keystone),
            Authenticator::NoAuth => None,
        }
    }
}

impl KeystoneAuth {
    fn unauthorized(&self) -> ApiError {
        ApiError::Unauthorized {
            www_authenticate: self.www_authenticate.clone(),
        }
    }

    fn unavailable(e: &KeystoneError) -> ApiError {
        tracing::error!(error = %e, "token validation failed: Keystone unavailable");
        ApiError::Unavailable(
            "The server is currently unavailable. Please try again at a later time.".to_owned(),
        )
    }

    /// Validates `token` (cache first), mapping failures to 401/503.
    pub async fn validate(&self, token: &str) -> Result<Arc<TokenInfo>, ApiError> {
        if let Some(jws) = &self.jws
            && let Verdict::Invalid(why) = jws.check(token)
        {
            tracing::info!(reason = %why, "JWS token refused offline");
            return Err(self.unauthorized());
        }
        let key = token_cache::key(token);
        if let Some(info) = self.cache.get(&key) {
            if info.remaining() > Duration::ZERO {
                return Ok(info);
            }
            self.cache.remove(&key);
        }
        match self.keystone.validate(token).await {
            Ok(info) => {
                let info = Arc::new(info);
                self.cache.insert(key, info.clone(), Some(info.remaining()));
                Ok(info)
            }
            Err(KeystoneError::InvalidToken) => {
                self.cache.remove(&key);
                Err(self.unauthorized())
            }
            Err(e) => Err(Self::unavailable(&e)),
        }
    }

    /// Checks an `X-Service-Token`: it must be valid and, when required, carry one of
    /// `service_token_roles`.
    pub async fn validate_service_token(&self, token: &str) -> Result<(), ApiError> {
        let info = self.validate(token).await?;
        let has_role = info.roles.iter().any(|r| {
            self.service_token_roles
                .iter()
                .any(|want| want.eq_ignore_ascii_case(r))
        });
        if self.service_token_roles_required && !has_role {
            tracing::info!("service token without a service role refused");
            return Err(self.unauthorized());
        }
        Ok(())
    }

    /// The 401 for a request without a token.
    pub fn missing_token(&self) -> ApiError {
        self.unauthorized()
    }

    /// Number of cached tokens (for tests and diagnostics).
    pub fn cached_tokens(&self) -> usize {
        self.cache.len()
    }
}
