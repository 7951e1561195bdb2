//! What every part of the conductor works with: configuration, database,
//! Keystone (trusts), Heat, certificates, drivers and the notifier.

use std::sync::Arc;
use std::time::Duration;

use magnum_common::config::Config;
use magnum_common::db::models::cluster::Cluster;
use magnum_common::openstack::catalog::{Catalog, interface_name};
use magnum_common::openstack::cloud::Endpoints;
use magnum_common::openstack::heat::{HeatClient, RetryPolicy};
use magnum_common::rpc::Notifier;
use serde_json::Value;

use crate::certs::CertManager;
use crate::db::Db;
use crate::drivers::Registry;
use crate::error::OpError;
use crate::notify::cadf;
use crate::trust::{TrustManager, TrustToken};

/// The conductor's shared services.
pub struct Services {
    /// Configuration.
    pub cfg: Arc<Config>,
    /// Database.
    pub db: Db,
    /// This process's name in leases and service records (`<host>-<random>`):
    /// unique, so two conductors on one host never share a lease.
    pub owner: String,
    /// HTTP client (shared pool) for Heat, Keystone and the other services.
    pub http: reqwest::Client,
    /// Trustees and trusts.
    pub trusts: TrustManager,
    /// Cluster certificates.
    pub certs: CertManager,
    /// The drivers.
    pub drivers: Registry,
    /// CADF notifications.
    pub notifier: Notifier,
    /// Where cloud look-ups go.
    pub endpoints: Endpoints,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Services({})", self.owner)
    }
}

/// A trust-scoped session for one cluster: a Heat client and the token's catalog.
pub struct ClusterSession {
    /// Heat, acting with the trust-scoped token.
    pub heat: HeatClient,
    /// The trust token (its catalog, roles, expiry).
    pub token: TrustToken,
}

impl Services {
    /// Heat's retry policy from `[cluster_heat] max_retries`.
    pub fn heat_retry(&self) -> RetryPolicy {
        RetryPolicy {
            retries: self.cfg.cluster_heat.max_retries,
            ..RetryPolicy::default()
        }
    }

    /// A Heat client for `cluster`, acting with its trust.
    pub async fn session(&self, cluster: &Cluster) -> Result<ClusterSession, OpError> {
        let (Some(user), Some(password), Some(trust)) = (
            cluster.trustee_user_id.as_deref(),
            cluster.trustee_password.as_deref(),
            cluster.trust_id.as_deref(),
        ) else {
            return Err(OpError::Permanent(format!(
                "Cluster {} has no trust to act with.",
                cluster.uuid
            )));
        };
        let token = self.trusts.trust_token(user, password, trust).await?;
        let heat = self.heat_client(&token.info.catalog, &token.token)?;
        Ok(ClusterSession { heat, token })
    }

    /// A Heat client from `catalog` acting with `token`.
    pub fn heat_client(&self, catalog: &Catalog, token: &str) -> Result<HeatClient, OpError> {
        let hc = &self.cfg.heat_client;
        Ok(HeatClient::from_catalog(
            self.http.clone(),
            catalog,
            interface_name(&hc.endpoint_type),
            hc.region_name.as_deref(),
            token,
        )?
        .with_retry(self.heat_retry()))
    }

    /// Sends a CADF notification about `cluster` (failures are logged: a
    /// notification is never worth failing an operation for).
    pub async fn notify(
        &self,
        action: &str,
        outcome: &str,
        cluster: &Cluster,
        context: &serde_json::Map<String, Value>,
    ) {
        if !self.notifier.is_enabled() {
            return;
        }
        let nodegroups = {
            let uuid = cluster.uuid;
            self.db
                .run(move |c| magnum_common::db::models::nodegroup::list_for_clusters(c, &[uuid]))
                .await
                .unwrap_or_default()
        };
        let initiator = cadf::Initiator::from_context(context);
        let payload = cadf::event(action, outcome, cluster, &nodegroups, &initiator);
        let event_type = format!("magnum.cluster.{action}");
        let ctx = Value::Object(context.clone());
        let sent = if outcome == "failure" {
            self.notifier.error(&ctx, &event_type, payload).await
        } else {
            self.notifier.info(&ctx, &event_type, payload).await
        };
        if let Err(e) = sent {
            tracing::warn!(cluster = %cluster.uuid, %event_type, error = %e, "notification not sent");
        }
    }

    /// How long a lease lasts.
    pub fn lease(&self) -> chrono::Duration {
        chrono::Duration::seconds(
            i64::try_from(self.cfg.conductor.lease_seconds.max(5)).unwrap_or(60),
        )
    }

    /// Pause between sweeps of the outbox.
    pub fn sweep_interval(&self) -> Duration {
        Duration::from_secs(self.cfg.conductor.sweep_interval.max(1))
    }
}
