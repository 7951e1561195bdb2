//! Cluster certificates: three CAs per cluster (Kubernetes, etcd, front-proxy)
//! and the conductor's own client certificate, made once, served to nodes and
//! users, rotated on request and deleted with the cluster.

pub mod pki;
pub mod store;

use magnum_common::db::models::Scope;
use magnum_common::db::models::changes::{self, ClusterChange};
use magnum_common::db::models::cluster::{self, Cluster};
use magnum_common::db::{DbError, write_transaction};
use magnum_common::ids::ClusterUuid;

use crate::db::Db;
use magnum_common::db::diesel_error;
pub use pki::{CertAndKey, PkiError, Policy};
pub use store::{Store, StoreError};

/// Which of a cluster's CAs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaKind {
    /// The main (Kubernetes / Docker) CA.
    Main,
    /// etcd's CA.
    Etcd,
    /// The front-proxy CA (aggregated API servers).
    FrontProxy,
}

impl CaKind {
    /// From the API's `ca_cert_type`: `etcd`, `front_proxy`/`front-proxy`, else the main CA.
    pub fn from_param(value: Option<&str>) -> CaKind {
        match value {
            Some("etcd") => CaKind::Etcd,
            Some("front_proxy" | "front-proxy") => CaKind::FrontProxy,
            _ => CaKind::Main,
        }
    }

    fn reference(self, c: &Cluster) -> Option<&str> {
        match self {
            CaKind::Main => c.ca_cert_ref.as_deref(),
            CaKind::Etcd => c.etcd_ca_cert_ref.as_deref(),
            CaKind::FrontProxy => c.front_proxy_ca_cert_ref.as_deref(),
        }
    }
}

/// What went wrong with a cluster's certificates.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// Generation or signing failed (an invalid CSR among them).
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The cluster has no such certificate (yet, or any more).
    #[error("{0}")]
    NotFound(String),
}

impl From<DbError> for CertError {
    fn from(e: DbError) -> Self {
        CertError::Store(StoreError::Db(e))
    }
}

impl From<diesel_error::Error> for CertError {
    fn from(e: diesel_error::Error) -> Self {
        CertError::from(DbError::from(e))
    }
}

/// The cluster certificate manager.
#[derive(Debug, Clone)]
pub struct CertManager {
    db: Db,
    store: Store,
    policy: Policy,
}

struct Generated {
    ca: CertAndKey,
    etcd: CertAndKey,
    front_proxy: CertAndKey,
    client: CertAndKey,
}

fn generate(name: &str, policy: Policy) -> Result<Generated, PkiError> {
    let ca = pki::generate_ca(name, policy)?;
    let client = pki::generate_client(&ca, "admin", "system:masters", policy)?;
    Ok(Generated {
        etcd: pki::generate_ca(name, policy)?,
        front_proxy: pki::generate_ca(name, policy)?,
        ca,
        client,
    })
}

fn display_name(c: &Cluster) -> String {
    c.name.clone().unwrap_or_else(|| c.uuid.to_string())
}

impl CertManager {
    /// A manager over `store`, issuing per `policy`.
    pub fn new(db: Db, store: Store, policy: Policy) -> Self {
        CertManager { db, store, policy }
    }

    /// Makes the cluster's CAs and client certificate unless it has them. The
    /// rows and the cluster's references are written in one transaction, so a
    /// retry after a crash never leaves two sets.
    pub async fn ensure_for_cluster(&self, cluster: &Cluster) -> Result<(), CertError> {
        if cluster.ca_cert_ref.is_some() {
            return Ok(());
        }
        let generated = generate(&display_name(cluster), self.policy)?;
        let (uuid, store) = (cluster.uuid, self.store.clone());
        self.db
            .run(move |conn| {
                write_transaction(conn, |tx| {
                    let Some(c) = cluster::get_by_uuid(tx, &Scope::All, uuid)? else {
                        return Ok(());
                    };
                    if c.ca_cert_ref.is_some() {
                        return Ok(());
                    }
                    let refs = put_all(&store, tx, &c, &generated)?;
                    changes::update_cluster(tx, uuid, ClusterChange::new().cert_refs(refs))?;
                    Ok::<(), CertError>(())
                })
            })
            .await
    }

    /// The PEM of one of the cluster's CAs.
    pub async fn ca_pem(&self, cluster: &Cluster, kind: CaKind) -> Result<String, CertError> {
        Ok(self.ca(cluster, kind).await?.cert)
    }

    async fn ca(&self, cluster: &Cluster, kind: CaKind) -> Result<CertAndKey, CertError> {
        let reference = kind.reference(cluster).map(str::to_owned).ok_or_else(|| {
            CertError::NotFound(format!(
                "Cluster {} has no CA certificate yet.",
                cluster.uuid
            ))
        })?;
        let store = self.store.clone();
        let uuid = cluster.uuid;
        self.db
            .run(move |conn| store.get(conn, &reference).map_err(CertError::from))
            .await?
            .ok_or_else(|| {
                CertError::NotFound(format!("The CA certificate of cluster {uuid} is missing."))
            })
    }

    /// The private key of the cluster's main CA (for stacks that sign in-cluster).
    pub async fn ca_key(&self, cluster: &Cluster) -> Result<String, CertError> {
        Ok(self.ca(cluster, CaKind::Main).await?.key)
    }

    /// Signs a CSR with one of the cluster's CAs.
    pub async fn sign(
        &self,
        cluster: &Cluster,
        csr: &str,
        kind: CaKind,
    ) -> Result<String, CertError> {
        let ca = self.ca(cluster, kind).await?;
        Ok(pki::sign_csr(&ca, csr, self.policy)?)
    }

    /// The conductor's client identity for the cluster: (CA PEM, client pair).
    pub async fn client_identity(
        &self,
        cluster: &Cluster,
    ) -> Result<(String, CertAndKey), CertError> {
        let ca = self.ca(cluster, CaKind::Main).await?;
        let reference = cluster.magnum_cert_ref.clone().ok_or_else(|| {
            CertError::NotFound(format!(
                "Cluster {} has no client certificate.",
                cluster.uuid
            ))
        })?;
        let store = self.store.clone();
        let client = self
            .db
            .run(move |conn| store.get(conn, &reference).map_err(CertError::from))
            .await?
            .ok_or_else(|| CertError::NotFound("client certificate missing".to_owned()))?;
        Ok((ca.cert, client))
    }

    /// Replaces all of the cluster's CAs and its client certificate; the old ones
    /// are deleted once the new references are saved.
    pub async fn rotate(&self, cluster: &Cluster) -> Result<(), CertError> {
        let generated = generate(&display_name(cluster), self.policy)?;
        let (uuid, store) = (cluster.uuid, self.store.clone());
        self.db
            .run(move |conn| {
                write_transaction(conn, |tx| {
                    let Some(c) = cluster::get_by_uuid(tx, &Scope::All, uuid)? else {
                        return Ok(());
                    };
                    let refs = put_all(&store, tx, &c, &generated)?;
                    changes::update_cluster(tx, uuid, ClusterChange::new().cert_refs(refs))?;
                    for old in old_refs(&c) {
                        store.delete(tx, &old)?;
                    }
                    Ok::<(), CertError>(())
                })
            })
            .await
    }

    /// Deletes the cluster's certificates (errors are the caller's to log).
    pub async fn delete_for_cluster(&self, cluster_uuid: ClusterUuid) -> Result<(), CertError> {
        let store = self.store.clone();
        self.db
            .run(move |conn| {
                let Some(c) = cluster::get_by_uuid(conn, &Scope::All, cluster_uuid)? else {
                    return Ok(());
                };
                for old in old_refs(&c) {
                    store.delete(conn, &old)?;
                }
                changes::update_cluster(
                    conn,
                    cluster_uuid,
                    ClusterChange::new().cert_refs([None, None, None, None]),
                )?;
                Ok::<(), CertError>(())
            })
            .await
    }
}

fn old_refs(c: &Cluster) -> Vec<String> {
    [
        &c.ca_cert_ref,
        &c.etcd_ca_cert_ref,
        &c.front_proxy_ca_cert_ref,
        &c.magnum_cert_ref,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect()
}

fn put_all(
    store: &Store,
    tx: &mut magnum_common::db::AnyConnection,
    c: &Cluster,
    g: &Generated,
) -> Result<[Option<String>; 4], CertError> {
    let put = |tx: &mut magnum_common::db::AnyConnection, pair: &CertAndKey| {
        store.put(tx, pair, &c.project_id, &c.user_id).map(Some)
    };
    Ok([
        put(tx, &g.ca)?,
        put(tx, &g.etcd)?,
        put(tx, &g.front_proxy)?,
        put(tx, &g.client)?,
    ])
}
