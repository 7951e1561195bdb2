//! What every handler shares.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use magnum_common::config::Config;
use magnum_common::db::{AnyConnection, Database};
use magnum_common::openstack::cloud::Endpoints;
use magnum_common::policy::PolicyEnforcer;

use crate::auth::Authenticator;
use crate::conductor::ConductorClient;
use crate::error::{ApiError, ApiResult};

/// Shared application state.
pub struct AppState {
    /// Configuration.
    pub config: Arc<Config>,
    /// The database.
    pub db: Database,
    /// Authentication.
    pub auth: Arc<Authenticator>,
    /// Policy.
    pub policy: Arc<PolicyEnforcer>,
    /// HTTP client for look-ups in other services.
    pub http: reqwest::Client,
    /// Which catalog endpoints those look-ups use.
    pub endpoints: Endpoints,
    /// The conductor.
    pub conductor: ConductorClient,
    /// The trustee domain (callers in it are cluster trustees).
    pub trustee_domain_id: Option<String>,
}

/// Start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The database could not be opened.
    #[error(transparent)]
    Db(#[from] magnum_common::db::DbError),
    /// Authentication is misconfigured.
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthSetupError),
    /// The policy file is broken.
    #[error(transparent)]
    Policy(#[from] magnum_common::policy::PolicyError),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Http(String),
}

impl AppState {
    /// Builds the state: connects the database (and migrates it when `migrate`),
    /// sets up authentication and policy.
    pub fn build(
        config: Config,
        config_dirs: &[PathBuf],
        migrate: bool,
    ) -> Result<AppState, SetupError> {
        let workers = if config.api.workers == 0 {
            num_cpus()
        } else {
            config.api.workers as usize
        };
        let pool = if config.api.db_pool_size == 0 {
            (2 * workers + 2) as u32
        } else {
            config.api.db_pool_size
        };
        let db = Database::connect(
            &config.database_url(),
            pool,
            Duration::from_secs(config.database.connection_timeout),
        )?;
        if migrate {
            db.migrate()?;
        }
        let trustee_domain_id = config
            .trust
            .trustee_domain_id
            .clone()
            .filter(|s| !s.is_empty());
        let policy =
            PolicyEnforcer::new(&config.oslo_policy, config_dirs, trustee_domain_id.clone())?;
        let auth = Authenticator::from_config(&config)?;
        let http = magnum_common::openstack::http_client(
            Duration::from_secs(config.keystone_authtoken.http_connect_timeout),
            config.keystone_authtoken.insecure,
        )
        .map_err(|e| SetupError::Http(e.to_string()))?;
        Ok(AppState {
            endpoints: Endpoints::from_config(&config),
            config: Arc::new(config),
            db,
            auth: Arc::new(auth),
            policy: Arc::new(policy),
            http,
            conductor: ConductorClient::default(),
            trustee_domain_id,
        })
    }

    /// Runs `f` with a pooled connection. SQLite answers from a local file in
    /// microseconds, so its queries run inline on the worker thread: handing them to the
    /// blocking pool cost more (two thread switches and contention for connections)
    /// than the queries themselves. Network databases run on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&mut AnyConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        if self.db.backend() == magnum_common::db::Backend::Sqlite {
            let mut conn = self.db.conn()?;
            return f(&mut conn);
        }
        let db = self.db.clone();
        web::block(move || {
            let mut conn = db.conn()?;
            f(&mut conn)
        })
        .await?
    }

    /// The body size limit.
    pub fn body_limit(&self) -> usize {
        self.config.oslo_middleware.max_request_body_size
    }

    /// Authorizes `action` on `target` for the caller, or 403.
    pub fn authorize(
        &self,
        ctx: &crate::context::RequestContext,
        action: &str,
        target: &magnum_common::policy::Target,
    ) -> ApiResult<()> {
        self.policy
            .authorize(action, &ctx.credentials(), target)
            .map_err(|_| ApiError::policy(action))
    }
}

/// Number of CPUs (for the default worker count).
pub fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}
