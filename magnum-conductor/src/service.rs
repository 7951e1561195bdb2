//! Starting and stopping the conductor: the services, the RPC server, the
//! workers and the periodic tasks (outbox sweep, status sync, health polling,
//! service heartbeat).

use std::sync::Arc;
use std::time::Duration;

use magnum_common::config::Config;
use magnum_common::db::Database;
use magnum_common::db::models::magnum_service;
use magnum_common::openstack::cloud::Endpoints;
use magnum_common::rpc::{Notifier, RpcServer, ServerOptions, Transport};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::certs::{CertManager, Policy, Store};
use crate::db::Db;
use crate::drivers::Registry;
use crate::endpoint::Endpoint;
use crate::reconciler::Reconciler;
use crate::services::Services;
use crate::trust::TrustManager;

/// The binary name in service records.
pub const BINARY: &str = "magnum-conductor";

/// Why the conductor could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database.
    #[error("database: {0}")]
    Db(#[from] magnum_common::db::DbError),
    /// Configuration.
    #[error("configuration: {0}")]
    Config(String),
}

/// A running conductor.
pub struct Conductor {
    /// Its services.
    pub svc: Arc<Services>,
    /// Its work queue.
    pub reconciler: Arc<Reconciler>,
    rpc: Option<RpcServer>,
    transport: Option<Transport>,
    tasks: JoinSet<()>,
    stop: Stop,
}

/// Flips once; every periodic task watching it ends.
#[derive(Clone)]
struct Stop(watch::Sender<bool>, watch::Receiver<bool>);

impl Stop {
    fn new() -> Self {
        let (tx, rx) = watch::channel(false);
        Stop(tx, rx)
    }
    async fn wait(&mut self) {
        let _ = self.1.wait_for(|s| *s).await;
    }
    fn fire(&self) {
        self.0.send_replace(true);
    }
}

fn every(
    tasks: &mut JoinSet<()>,
    stop: &Stop,
    period: Duration,
    name: &'static str,
    job: impl Fn() -> futures_util::future::BoxFuture<'static, ()> + Send + 'static,
) {
    let mut stop = stop.clone();
    tasks.spawn(async move {
        loop {
            job().await;
            tokio::select! {
                () = tokio::time::sleep(period) => {}
                () = stop.wait() => {
                    tracing::debug!(task = name, "periodic task stopped");
                    return;
                }
            }
        }
    });
}

impl Conductor {
    /// Connects everything and starts working.
    pub async fn start(cfg: Config) -> Result<Conductor, StartError> {
        magnum_common::tls::init();
        let cfg = Arc::new(cfg);
        let workers = u32::try_from(cfg.conductor.workers).unwrap_or(16);
        let database = Database::connect(
            &cfg.database_url(),
            workers + 4,
            Duration::from_secs(cfg.database.connection_timeout),
        )?;
        database.migrate()?;
        let http = magnum_common::openstack::http_client(
            Duration::from_secs(cfg.keystone_authtoken.http_connect_timeout),
            cfg.keystone_authtoken.insecure,
        )
        .map_err(|e| StartError::Config(e.to_string()))?;
        let auth_url = cfg
            .keystone_authtoken
            .auth_url
            .clone()
            .or_else(|| cfg.keystone_authtoken.www_authenticate_uri.clone())
            .ok_or_else(|| {
                StartError::Config("[keystone_authtoken] auth_url is not set".to_owned())
            })?;
        let trusts = TrustManager::new(http.clone(), &auth_url, cfg.trust.clone());
        let db = Db(database);
        let store = Store::from_config(
            &cfg.certificates.cert_manager_type,
            &cfg.certificates.storage_path,
        )
        .map_err(|e| StartError::Config(e.to_string()))?;
        let policy = Policy {
            validity_days: cfg.x509.term_of_validity,
            allow_ca: cfg.x509.allow_ca,
        };
        let drivers = Registry::from_config(&cfg.drivers.heat_template_dir)
            .map_err(|e| StartError::Config(format!("heat templates: {e}")))?;
        let transport = match Transport::from_config(&cfg) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(error = %e, "no message bus: working from the outbox sweep alone");
                None
            }
        };
        let notifier = match &transport {
            Some(_) => Notifier::from_config(
                transport.as_ref(),
                &cfg,
                format!("container-infra.{}", cfg.default.host),
            ),
            None => Notifier::noop(),
        };
        let suffix: String = (0..6)
            .map(|_| char::from(b'a' + rand::random_range(0..26u8)))
            .collect();
        let svc = Arc::new(Services {
            owner: format!("{}-{}-{suffix}", cfg.default.host, std::process::id()),
            endpoints: Endpoints::from_config(&cfg),
            certs: CertManager::new(db.clone(), store, policy),
            cfg: Arc::clone(&cfg),
            db,
            http,
            trusts,
            drivers,
            notifier,
        });
        let reconciler = Reconciler::start(Arc::clone(&svc));
        let rpc = transport.as_ref().map(|t| {
            let endpoint = Endpoint::new(Arc::clone(&svc), Arc::clone(&reconciler));
            RpcServer::start(t, ServerOptions::for_conductor(&cfg), endpoint)
        });
        let stop = Stop::new();
        let mut tasks = JoinSet::new();
        {
            let rec = Arc::clone(&reconciler);
            every(
                &mut tasks,
                &stop,
                svc.sweep_interval(),
                "sweep",
                move || {
                    let rec = Arc::clone(&rec);
                    Box::pin(async move {
                        if let Err(e) = rec.sweep().await {
                            tracing::warn!(error = %e, "outbox sweep failed");
                        }
                    })
                },
            );
        }
        {
            let s = Arc::clone(&svc);
            // Every 10 s (oslo's report_interval), and at least three times per
            // service_down_time, so a live conductor is never shown down.
            let beat = u64::try_from(svc.cfg.default.service_down_time / 3)
                .unwrap_or(1)
                .clamp(1, 10);
            every(
                &mut tasks,
                &stop,
                Duration::from_secs(beat),
                "heartbeat",
                move || {
                    let s = Arc::clone(&s);
                    Box::pin(async move {
                        let host = s.cfg.default.host.clone();
                        if let Err(e) =
                            s.db.run(move |c| magnum_service::heartbeat(c, &host, BINARY))
                                .await
                        {
                            tracing::warn!(error = %e, "service heartbeat not recorded");
                        }
                    })
                },
            );
        }
        if cfg.default.periodic_enable {
            let period = Duration::from_secs(cfg.default.periodic_interval_max.max(1));
            let s = Arc::clone(&svc);
            every(&mut tasks, &stop, period, "sync", move || {
                let s = Arc::clone(&s);
                Box::pin(async move {
                    match crate::sync::run_once(&s, period).await {
                        Ok(r) if r.leader && r.clusters > 0 => {
                            tracing::debug!(
                                clusters = r.clusters,
                                list_calls = r.list_calls,
                                changed = r.changed,
                                "status sync"
                            );
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "status sync failed"),
                    }
                })
            });
            if let Ok(secs) = u64::try_from(cfg.kubernetes.health_polling_interval) {
                let s = Arc::clone(&svc);
                every(
                    &mut tasks,
                    &stop,
                    Duration::from_secs(secs.max(1)),
                    "health",
                    move || {
                        let s = Arc::clone(&s);
                        Box::pin(async move {
                            if let Err(e) = crate::health::run_once(&s).await {
                                tracing::warn!(error = %e, "health polling failed");
                            }
                        })
                    },
                );
            }
        }
        tracing::info!(owner = %svc.owner, rpc = rpc.is_some(), "magnum-conductor started");
        Ok(Conductor {
            svc,
            reconciler,
            rpc,
            transport,
            tasks,
            stop,
        })
    }

    /// Waits until the RPC server consumes its queues (no-op without a bus).
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        match &self.rpc {
            Some(r) => r.wait_ready(timeout).await.is_ok(),
            None => true,
        }
    }

    /// Stops taking work, lets running RPC handlers finish, stops the tasks.
    pub async fn shutdown(mut self) {
        self.stop.fire();
        if let Some(rpc) = self.rpc.take() {
            rpc.shutdown(Duration::from_secs(10)).await;
        }
        while self.tasks.join_next().await.is_some() {}
        if let Some(t) = &self.transport {
            t.close().await;
        }
    }
}
