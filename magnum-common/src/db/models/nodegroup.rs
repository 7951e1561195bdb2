//! `nodegroup`: same-flavor sets of nodes of one role within a cluster.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::pending_operation::PendingOperation;
use super::{ByName, Scope};
use crate::db::schema::nodegroup::{self, dsl};
use crate::db::{AnyConnection, DbError, JsonList, JsonMap, Page, write_transaction};
use crate::ids::{ClusterUuid, NodeGroupUuid, ProjectId};
use crate::status::ClusterStatus;

/// A Kubernetes taint on a node group's nodes (microversion 1.14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taint {
    /// Taint key.
    pub key: String,
    /// Optional value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// NoSchedule, PreferNoSchedule or NoExecute.
    pub effect: String,
}

/// A node group row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = nodegroup, treat_none_as_null = true)]
pub struct NodeGroup {
    #[diesel(skip_insertion)]
    pub id: i32,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub uuid: NodeGroupUuid,
    pub name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub cluster_id: ClusterUuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub project_id: ProjectId,
    pub docker_volume_size: Option<i32>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub labels: JsonMap,
    pub flavor_id: Option<String>,
    pub image_id: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub node_addresses: JsonList<String>,
    pub node_count: i32,
    pub role: String,
    pub max_node_count: Option<i32>,
    pub min_node_count: i32,
    pub is_default: bool,
    pub stack_id: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: ClusterStatus,
    pub status_reason: Option<String>,
    pub version: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub node_labels: JsonMap,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub node_taints: JsonList<Taint>,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

crate::sortable!(NodeGroup {
    id,
    uuid,
    name,
    cluster_id,
    project_id,
    docker_volume_size,
    flavor_id,
    image_id,
    node_count,
    role,
    max_node_count,
    min_node_count,
    is_default,
    stack_id,
    status,
    status_reason,
    version,
    created_at,
    updated_at,
});

impl NodeGroup {
    /// True for the master role.
    pub fn is_master(&self) -> bool {
        self.role == "master"
    }
}

type Boxed<'a> = nodegroup::BoxedQuery<'a, crate::db::MultiBackend>;

fn in_cluster(cluster: ClusterUuid) -> Boxed<'static> {
    dsl::nodegroup
        .into_boxed()
        .filter(dsl::cluster_id.eq(cluster.to_string()))
}

/// Every node group of the clusters `uuids`, in id order.
pub fn list_for_clusters(
    conn: &mut AnyConnection,
    uuids: &[ClusterUuid],
) -> Result<Vec<NodeGroup>, DbError> {
    match uuids {
        [] => return Ok(Vec::new()),
        // One cluster: a statically shaped query, prepared once (an IN list never is).
        [one] => {
            return Ok(dsl::nodegroup
                .filter(dsl::cluster_id.eq(one.to_string()))
                .order(dsl::id.asc())
                .select(NodeGroup::as_select())
                .load(conn)?);
        }
        _ => {}
    }
    let ids: Vec<String> = uuids.iter().map(ToString::to_string).collect();
    Ok(dsl::nodegroup
        .filter(dsl::cluster_id.eq_any(ids))
        .order(dsl::id.asc())
        .select(NodeGroup::as_select())
        .load(conn)?)
}

/// A node group's cluster, whether it is a master group, and its size.
pub type GroupSize = (ClusterUuid, bool, i32);

/// What list views need of node groups: per group its cluster, whether it is a master
/// group, and its size (no labels or addresses to decode).
pub fn counts_for_clusters(
    conn: &mut AnyConnection,
    uuids: &[ClusterUuid],
) -> Result<Vec<GroupSize>, DbError> {
    if uuids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = uuids.iter().map(ToString::to_string).collect();
    let rows: Vec<(String, String, i32)> = dsl::nodegroup
        .filter(dsl::cluster_id.eq_any(ids))
        .select((dsl::cluster_id, dsl::role, dsl::node_count))
        .load(conn)?;
    rows.into_iter()
        .map(|(c, role, n)| {
            let uuid = c
                .parse::<ClusterUuid>()
                .map_err(|e| DbError::Corrupt(e.to_string()))?;
            Ok((uuid, role == "master", n))
        })
        .collect()
}

/// Node group sizes of every cluster in `scope` (a statically shaped query), for a list
/// page that holds every cluster of the scope. A user scope has no node group column.
pub fn counts_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
) -> Result<Option<Vec<GroupSize>>, DbError> {
    let rows: Vec<(String, String, i32)> = match scope {
        Scope::All => dsl::nodegroup
            .select((dsl::cluster_id, dsl::role, dsl::node_count))
            .load(conn)?,
        Scope::Project(p) => dsl::nodegroup
            .filter(dsl::project_id.eq(p.as_str()))
            .select((dsl::cluster_id, dsl::role, dsl::node_count))
            .load(conn)?,
        Scope::User(_) => return Ok(None),
    };
    rows.into_iter()
        .map(|(c, role, n)| {
            let uuid = c
                .parse::<ClusterUuid>()
                .map_err(|e| DbError::Corrupt(e.to_string()))?;
            Ok((uuid, role == "master", n))
        })
        .collect::<Result<Vec<_>, DbError>>()
        .map(Some)
}

/// One page of a cluster's node groups, optionally of one role.
pub fn list(
    conn: &mut AnyConnection,
    cluster: ClusterUuid,
    role: Option<&str>,
    page: &Page,
) -> Result<Vec<NodeGroup>, DbError> {
    let mut q = in_cluster(cluster);
    if let Some(role) = role {
        q = q.filter(dsl::role.eq(role.to_owned()));
    }
    if let Some(f) = page.marker_filter::<nodegroup::table>() {
        q = q.filter(f);
    }
    Ok(q.order(diesel::dsl::sql::<diesel::sql_types::Integer>(
        &page.order_sql(),
    ))
    .limit(page.limit)
    .select(NodeGroup::as_select())
    .load(conn)?)
}

/// The node group `uuid` of `cluster`.
pub fn get_by_uuid(
    conn: &mut AnyConnection,
    cluster: ClusterUuid,
    uuid: NodeGroupUuid,
) -> Result<Option<NodeGroup>, DbError> {
    Ok(in_cluster(cluster)
        .filter(dsl::uuid.eq(uuid.to_string()))
        .select(NodeGroup::as_select())
        .first(conn)
        .optional()?)
}

/// The node group with integer `id` in `cluster`.
pub fn get_by_id(
    conn: &mut AnyConnection,
    cluster: ClusterUuid,
    id: i32,
) -> Result<Option<NodeGroup>, DbError> {
    Ok(in_cluster(cluster)
        .filter(dsl::id.eq(id))
        .select(NodeGroup::as_select())
        .first(conn)
        .optional()?)
}

/// The node groups of `cluster` named `name` (unique per cluster).
pub fn get_by_name(
    conn: &mut AnyConnection,
    cluster: ClusterUuid,
    name: &str,
) -> Result<ByName<NodeGroup>, DbError> {
    let rows = in_cluster(cluster)
        .filter(dsl::name.eq(name.to_owned()))
        .select(NodeGroup::as_select())
        .limit(2)
        .load(conn)?;
    Ok(ByName::from_rows(rows))
}

/// Node groups in scope (for stats), all clusters.
pub fn count_nodes(conn: &mut AnyConnection, scope: &Scope) -> Result<i64, DbError> {
    let mut q = dsl::nodegroup.into_boxed::<crate::db::MultiBackend>();
    if let Some(p) = scope.project() {
        q = q.filter(dsl::project_id.eq(p));
    }
    let counts: Vec<i32> = q.select(dsl::node_count).load(conn)?;
    Ok(counts.into_iter().map(i64::from).sum())
}

/// Writes every column of `row` (matched by id) and stamps `updated_at`.
pub fn save(conn: &mut AnyConnection, mut row: NodeGroup) -> Result<NodeGroup, DbError> {
    row.updated_at = Some(crate::db::now());
    diesel::update(dsl::nodegroup.filter(dsl::id.eq(row.id)))
        .set(row.clone())
        .execute(conn)?;
    Ok(row)
}

/// Inserts a node group, saves its cluster's new status and records the operation,
/// atomically. Fails with [`DbError::Duplicate`] if the name is taken.
pub fn create_with_operation(
    conn: &mut AnyConnection,
    row: NodeGroup,
    cluster: Option<super::cluster::Cluster>,
    operation: PendingOperation,
) -> Result<NodeGroup, DbError> {
    let (cluster_uuid, uuid) = (row.cluster_id, row.uuid);
    write_transaction(conn, |c| {
        diesel::insert_into(dsl::nodegroup).values(row).execute(c)?;
        if let Some(cl) = cluster {
            super::cluster::save_state(c, &cl)?;
        }
        super::pending_operation::insert(c, operation)?;
        get_by_uuid(c, cluster_uuid, uuid)?
            .ok_or_else(|| DbError::Corrupt(format!("node group {uuid} vanished after insert")))
    })
}

/// Saves a node group (and optionally its cluster) and records the operation, atomically.
pub fn save_with_operation(
    conn: &mut AnyConnection,
    row: NodeGroup,
    cluster: Option<super::cluster::Cluster>,
    operation: Option<PendingOperation>,
) -> Result<NodeGroup, DbError> {
    write_transaction(conn, |c| {
        let saved = save(c, row)?;
        if let Some(cl) = cluster {
            super::cluster::save_state(c, &cl)?;
        }
        if let Some(op) = operation {
            super::pending_operation::insert(c, op)?;
        }
        Ok(saved)
    })
}

/// Deletes the node group with `id`.
pub fn destroy(conn: &mut AnyConnection, id: i32) -> Result<usize, DbError> {
    Ok(diesel::delete(dsl::nodegroup.filter(dsl::id.eq(id))).execute(conn)?)
}

impl NodeGroup {
    /// A node group for `cluster` with upstream's defaults.
    pub fn new(
        cluster: ClusterUuid,
        project: ProjectId,
        name: impl Into<String>,
        role: impl Into<String>,
    ) -> Self {
        NodeGroup {
            id: 0,
            uuid: NodeGroupUuid::new(),
            name: name.into(),
            cluster_id: cluster,
            project_id: project,
            docker_volume_size: None,
            labels: JsonMap::default(),
            flavor_id: None,
            image_id: None,
            node_addresses: JsonList::default(),
            node_count: 1,
            role: role.into(),
            max_node_count: None,
            min_node_count: 0,
            is_default: false,
            stack_id: None,
            status: ClusterStatus::CreateInProgress,
            status_reason: None,
            version: None,
            node_labels: JsonMap::default(),
            node_taints: JsonList(Vec::new()),
            created_at: crate::db::now(),
            updated_at: None,
        }
    }
}
