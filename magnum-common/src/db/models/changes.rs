//! Targeted updates of clusters and node groups: only the columns a change
//! names are written, so the conductor and the API never overwrite each other's
//! fields with a stale copy of the row.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{cluster, nodegroup};
use crate::db::{AnyConnection, DbError, JsonList, JsonMap, MaybeHealth};
use crate::ids::{ClusterTemplateUuid, ClusterUuid, NodeGroupUuid};
use crate::status::ClusterStatus;

/// Columns of a cluster to set; `None` leaves a column as it is, `Some(None)`
/// clears it.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = cluster)]
pub struct ClusterChange {
    status: Option<String>,
    status_reason: Option<Option<String>>,
    stack_id: Option<Option<String>>,
    api_address: Option<Option<String>>,
    coe_version: Option<Option<String>>,
    container_version: Option<Option<String>>,
    discovery_url: Option<Option<String>>,
    health_status: Option<Option<String>>,
    health_status_reason: Option<String>,
    trustee_username: Option<Option<String>>,
    trustee_user_id: Option<Option<String>>,
    trustee_password: Option<Option<String>>,
    trust_id: Option<Option<String>>,
    ca_cert_ref: Option<Option<String>>,
    etcd_ca_cert_ref: Option<Option<String>>,
    front_proxy_ca_cert_ref: Option<Option<String>>,
    magnum_cert_ref: Option<Option<String>>,
    cluster_template_id: Option<String>,
    labels: Option<String>,
    updated_at: Option<NaiveDateTime>,
}

impl ClusterChange {
    /// Nothing to change yet.
    pub fn new() -> Self {
        ClusterChange::default()
    }
    /// Sets the status.
    pub fn status(mut self, s: ClusterStatus) -> Self {
        self.status = Some(s.as_str().to_owned());
        self
    }
    /// Sets (or clears) the status reason.
    pub fn status_reason(mut self, r: Option<String>) -> Self {
        self.status_reason = Some(r);
        self
    }
    /// Sets the Heat stack id.
    pub fn stack_id(mut self, id: Option<String>) -> Self {
        self.stack_id = Some(id);
        self
    }
    /// Sets the API address.
    pub fn api_address(mut self, a: Option<String>) -> Self {
        self.api_address = Some(a);
        self
    }
    /// Sets the COE and container versions.
    pub fn versions(mut self, coe: Option<String>, container: Option<String>) -> Self {
        self.coe_version = Some(coe);
        self.container_version = Some(container);
        self
    }
    /// Sets the etcd discovery URL.
    pub fn discovery_url(mut self, u: Option<String>) -> Self {
        self.discovery_url = Some(u);
        self
    }
    /// Sets the health and its reasons.
    pub fn health(mut self, h: MaybeHealth, reason: JsonMap) -> Self {
        self.health_status = Some(h.0.map(|h| h.as_str().to_owned()));
        self.health_status_reason = Some(String::from(reason));
        self
    }
    /// Sets the trustee user (or clears it).
    pub fn trustee(mut self, user: Option<(String, String, String)>) -> Self {
        match user {
            Some((name, id, password)) => {
                self.trustee_username = Some(Some(name));
                self.trustee_user_id = Some(Some(id));
                self.trustee_password = Some(Some(password));
            }
            None => {
                self.trustee_username = Some(None);
                self.trustee_user_id = Some(None);
                self.trustee_password = Some(None);
            }
        }
        self
    }
    /// Sets the trustee password alone (credential rotation).
    pub fn trustee_password(mut self, password: String) -> Self {
        self.trustee_password = Some(Some(password));
        self
    }
    /// Sets the trust id.
    pub fn trust_id(mut self, id: Option<String>) -> Self {
        self.trust_id = Some(id);
        self
    }
    /// Sets the certificate references: (main CA, etcd CA, front-proxy CA, magnum client cert).
    pub fn cert_refs(mut self, refs: [Option<String>; 4]) -> Self {
        let [ca, etcd, front, magnum] = refs;
        self.ca_cert_ref = Some(ca);
        self.etcd_ca_cert_ref = Some(etcd);
        self.front_proxy_ca_cert_ref = Some(front);
        self.magnum_cert_ref = Some(magnum);
        self
    }
    /// Moves the cluster to another template (upgrade) with its labels.
    pub fn template(mut self, t: ClusterTemplateUuid, labels: JsonMap) -> Self {
        self.cluster_template_id = Some(t.to_string());
        self.labels = Some(String::from(labels));
        self
    }
}

/// Applies `change` to cluster `uuid`; returns whether the row exists.
pub fn update_cluster(
    conn: &mut AnyConnection,
    uuid: ClusterUuid,
    mut change: ClusterChange,
) -> Result<bool, DbError> {
    change.updated_at = Some(crate::db::now());
    let n = diesel::update(cluster::table.filter(cluster::uuid.eq(uuid.to_string())))
        .set(change)
        .execute(conn)?;
    Ok(n > 0)
}

/// Applies `change` to cluster `uuid` only while it is in `expected` (a
/// compare-and-set on the status); returns whether it was applied.
pub fn update_cluster_if(
    conn: &mut AnyConnection,
    uuid: ClusterUuid,
    expected: ClusterStatus,
    mut change: ClusterChange,
) -> Result<bool, DbError> {
    change.updated_at = Some(crate::db::now());
    let n = diesel::update(
        cluster::table
            .filter(cluster::uuid.eq(uuid.to_string()))
            .filter(cluster::status.eq(expected.as_str())),
    )
    .set(change)
    .execute(conn)?;
    Ok(n > 0)
}

/// Applies `change` to cluster `uuid` only if nobody wrote it since it was read
/// (its `updated_at` is still `read_at`); returns whether it was applied.
pub fn update_cluster_if_unchanged(
    conn: &mut AnyConnection,
    uuid: ClusterUuid,
    read_at: Option<NaiveDateTime>,
    mut change: ClusterChange,
) -> Result<bool, DbError> {
    change.updated_at = Some(crate::db::now());
    let target = cluster::table.filter(cluster::uuid.eq(uuid.to_string()));
    let n = match read_at {
        Some(t) => diesel::update(target.filter(cluster::updated_at.eq(t)))
            .set(change)
            .execute(conn)?,
        None => diesel::update(target.filter(cluster::updated_at.is_null()))
            .set(change)
            .execute(conn)?,
    };
    Ok(n > 0)
}

/// Columns of a node group to set.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = nodegroup)]
pub struct NodeGroupChange {
    status: Option<String>,
    status_reason: Option<Option<String>>,
    stack_id: Option<Option<String>>,
    node_addresses: Option<String>,
    node_count: Option<i32>,
    version: Option<Option<String>>,
    labels: Option<String>,
    updated_at: Option<NaiveDateTime>,
}

impl NodeGroupChange {
    /// Nothing to change yet.
    pub fn new() -> Self {
        NodeGroupChange::default()
    }
    /// Sets the status and its reason.
    pub fn status(mut self, s: ClusterStatus, reason: Option<String>) -> Self {
        self.status = Some(s.as_str().to_owned());
        self.status_reason = Some(reason);
        self
    }
    /// Sets the Heat stack id.
    pub fn stack_id(mut self, id: Option<String>) -> Self {
        self.stack_id = Some(id);
        self
    }
    /// Sets the node addresses.
    pub fn node_addresses(mut self, a: Vec<String>) -> Self {
        self.node_addresses = Some(String::from(JsonList(a)));
        self
    }
    /// Sets the node count.
    pub fn node_count(mut self, n: i32) -> Self {
        self.node_count = Some(n);
        self
    }
    /// Sets the version (the COE version the nodes run).
    pub fn version(mut self, v: Option<String>) -> Self {
        self.version = Some(v);
        self
    }
    /// Sets the labels.
    pub fn labels(mut self, l: JsonMap) -> Self {
        self.labels = Some(String::from(l));
        self
    }
    /// True when nothing would be written.
    pub fn is_empty(&self) -> bool {
        *self == NodeGroupChange::default()
    }
}

/// Applies `change` to node group `uuid`; returns whether the row exists.
pub fn update_nodegroup(
    conn: &mut AnyConnection,
    uuid: NodeGroupUuid,
    mut change: NodeGroupChange,
) -> Result<bool, DbError> {
    change.updated_at = Some(crate::db::now());
    let n = diesel::update(nodegroup::table.filter(nodegroup::uuid.eq(uuid.to_string())))
        .set(change)
        .execute(conn)?;
    Ok(n > 0)
}

/// Sets the stack id of the cluster's default node groups (they share its stack).
pub fn set_default_nodegroups_stack(
    conn: &mut AnyConnection,
    cluster_uuid: ClusterUuid,
    stack_id: &str,
) -> Result<(), DbError> {
    diesel::update(
        nodegroup::table
            .filter(nodegroup::cluster_id.eq(cluster_uuid.to_string()))
            .filter(nodegroup::is_default.eq(true)),
    )
    .set((
        nodegroup::stack_id.eq(Some(stack_id)),
        nodegroup::updated_at.eq(Some(crate::db::now())),
    ))
    .execute(conn)?;
    Ok(())
}
