//! `cluster`: Bays / Clusters.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::nodegroup::NodeGroup;
use super::pending_operation::PendingOperation;
use super::{ByName, Scope};
use crate::db::schema::cluster::{self, dsl};
use crate::db::schema::nodegroup;
use crate::db::{AnyConnection, DbError, JsonMap, MaybeHealth, Page, write_transaction};
use crate::ids::{ClusterTemplateUuid, ClusterUuid, ProjectId, UserId};
use crate::status::ClusterStatus;

/// A cluster row. Node counts and addresses live on its node groups.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = cluster, treat_none_as_null = true)]
pub struct Cluster {
    #[diesel(skip_insertion)]
    pub id: i32,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub uuid: ClusterUuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub project_id: ProjectId,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub user_id: UserId,
    pub name: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub cluster_template_id: ClusterTemplateUuid,
    pub keypair: Option<String>,
    pub docker_volume_size: Option<i32>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub labels: JsonMap,
    pub master_flavor_id: Option<String>,
    pub flavor_id: Option<String>,
    pub stack_id: Option<String>,
    pub api_address: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: ClusterStatus,
    pub status_reason: Option<String>,
    #[diesel(deserialize_as = Option<String>, serialize_as = Option<String>)]
    pub health_status: MaybeHealth,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub health_status_reason: JsonMap,
    pub create_timeout: Option<i32>,
    pub discovery_url: Option<String>,
    pub ca_cert_ref: Option<String>,
    pub magnum_cert_ref: Option<String>,
    pub etcd_ca_cert_ref: Option<String>,
    pub front_proxy_ca_cert_ref: Option<String>,
    pub trust_id: Option<String>,
    pub trustee_username: Option<String>,
    pub trustee_user_id: Option<String>,
    pub trustee_password: Option<String>,
    pub coe_version: Option<String>,
    pub container_version: Option<String>,
    pub fixed_network: Option<String>,
    pub fixed_subnet: Option<String>,
    pub floating_ip_enabled: bool,
    pub master_lb_enabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

// Secrets and certificate references are never sortable.
crate::sortable!(Cluster {
    id,
    uuid,
    project_id,
    user_id,
    name,
    cluster_template_id,
    keypair,
    docker_volume_size,
    master_flavor_id,
    flavor_id,
    stack_id,
    api_address,
    status,
    status_reason,
    health_status,
    create_timeout,
    discovery_url,
    coe_version,
    container_version,
    fixed_network,
    fixed_subnet,
    floating_ip_enabled,
    master_lb_enabled,
    created_at,
    updated_at,
});

/// The columns list views show: no secrets, no long texts to decode.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = cluster)]
pub struct ClusterSummary {
    pub id: i32,
    #[diesel(deserialize_as = String)]
    pub uuid: ClusterUuid,
    pub name: Option<String>,
    #[diesel(deserialize_as = String)]
    pub cluster_template_id: ClusterTemplateUuid,
    pub keypair: Option<String>,
    pub docker_volume_size: Option<i32>,
    #[diesel(deserialize_as = String)]
    pub labels: JsonMap,
    pub master_flavor_id: Option<String>,
    pub flavor_id: Option<String>,
    pub stack_id: Option<String>,
    #[diesel(deserialize_as = String)]
    pub status: ClusterStatus,
    #[diesel(deserialize_as = Option<String>)]
    pub health_status: MaybeHealth,
    pub create_timeout: Option<i32>,
    pub floating_ip_enabled: bool,
}

type Boxed<'a> = cluster::BoxedQuery<'a, crate::db::MultiBackend>;

fn scoped(scope: &Scope) -> Boxed<'_> {
    let q = dsl::cluster.into_boxed();
    match scope {
        Scope::All => q,
        Scope::Project(p) => q.filter(dsl::project_id.eq(p.as_str())),
        Scope::User(u) => q.filter(dsl::user_id.eq(u.as_str())),
    }
}

/// Creates a cluster, its node groups and the operation that asks the conductor to
/// build it, all or nothing.
pub fn create_with_nodegroups(
    conn: &mut AnyConnection,
    row: Cluster,
    nodegroups: Vec<NodeGroup>,
    operation: PendingOperation,
) -> Result<Cluster, DbError> {
    let uuid = row.uuid;
    write_transaction(conn, |c| {
        diesel::insert_into(dsl::cluster).values(row).execute(c)?;
        for ng in nodegroups {
            diesel::insert_into(nodegroup::table)
                .values(ng)
                .execute(c)?;
        }
        super::pending_operation::insert(c, operation)?;
        get_by_uuid(c, &Scope::All, uuid)?
            .ok_or_else(|| DbError::Corrupt(format!("cluster {uuid} vanished after insert")))
    })
}

/// The cluster with `uuid`, if in scope. One statically shaped query per scope kind,
/// so SQLite prepares it once (boxed queries are prepared on every call).
pub fn get_by_uuid(
    conn: &mut AnyConnection,
    scope: &Scope,
    uuid: ClusterUuid,
) -> Result<Option<Cluster>, DbError> {
    let by_uuid = dsl::cluster.filter(dsl::uuid.eq(uuid.to_string()));
    let found = match scope {
        Scope::All => by_uuid.select(Cluster::as_select()).first(conn),
        Scope::Project(p) => by_uuid
            .filter(dsl::project_id.eq(p.as_str()))
            .select(Cluster::as_select())
            .first(conn),
        Scope::User(u) => by_uuid
            .filter(dsl::user_id.eq(u.as_str()))
            .select(Cluster::as_select())
            .first(conn),
    };
    Ok(found.optional()?)
}

/// The clusters in scope named `name`.
pub fn get_by_name(
    conn: &mut AnyConnection,
    scope: &Scope,
    name: &str,
) -> Result<ByName<Cluster>, DbError> {
    let rows = scoped(scope)
        .filter(dsl::name.eq(name))
        .select(Cluster::as_select())
        .limit(2)
        .load(conn)?;
    Ok(ByName::from_rows(rows))
}

/// One page of clusters in scope.
pub fn list(conn: &mut AnyConnection, scope: &Scope, page: &Page) -> Result<Vec<Cluster>, DbError> {
    if page.is_first_by_id() {
        let asc = page.sort_dir == crate::db::SortDir::Asc;
        macro_rules! first {
            ($q:expr) => {
                if asc {
                    $q.order(dsl::id.asc())
                        .limit(page.limit)
                        .select(Cluster::as_select())
                        .load(conn)
                } else {
                    $q.order(dsl::id.desc())
                        .limit(page.limit)
                        .select(Cluster::as_select())
                        .load(conn)
                }
            };
        }
        return Ok(match scope {
            Scope::All => first!(dsl::cluster),
            Scope::Project(p) => first!(dsl::cluster.filter(dsl::project_id.eq(p.as_str()))),
            Scope::User(u) => first!(dsl::cluster.filter(dsl::user_id.eq(u.as_str()))),
        }?);
    }
    let mut q = scoped(scope);
    if let Some(f) = page.marker_filter::<cluster::table>() {
        q = q.filter(f);
    }
    Ok(q.order(diesel::dsl::sql::<diesel::sql_types::Integer>(
        &page.order_sql(),
    ))
    .limit(page.limit)
    .select(Cluster::as_select())
    .load(conn)?)
}

/// One page of clusters in scope, as list views show them.
pub fn list_summaries(
    conn: &mut AnyConnection,
    scope: &Scope,
    page: &Page,
) -> Result<Vec<ClusterSummary>, DbError> {
    if page.is_first_by_id() {
        let asc = page.sort_dir == crate::db::SortDir::Asc;
        macro_rules! first {
            ($q:expr) => {
                if asc {
                    $q.order(dsl::id.asc())
                        .limit(page.limit)
                        .select(ClusterSummary::as_select())
                        .load(conn)
                } else {
                    $q.order(dsl::id.desc())
                        .limit(page.limit)
                        .select(ClusterSummary::as_select())
                        .load(conn)
                }
            };
        }
        return Ok(match scope {
            Scope::All => first!(dsl::cluster),
            Scope::Project(p) => first!(dsl::cluster.filter(dsl::project_id.eq(p.as_str()))),
            Scope::User(u) => first!(dsl::cluster.filter(dsl::user_id.eq(u.as_str()))),
        }?);
    }
    let mut q = scoped(scope);
    if let Some(f) = page.marker_filter::<cluster::table>() {
        q = q.filter(f);
    }
    Ok(q.order(diesel::dsl::sql::<diesel::sql_types::Integer>(
        &page.order_sql(),
    ))
    .limit(page.limit)
    .select(ClusterSummary::as_select())
    .load(conn)?)
}

/// Clusters in any of `statuses`, oldest first (for the conductor's sweeps).
pub fn list_in_statuses(
    conn: &mut AnyConnection,
    statuses: &[ClusterStatus],
) -> Result<Vec<Cluster>, DbError> {
    let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    Ok(dsl::cluster
        .filter(dsl::status.eq_any(names))
        .order(dsl::id.asc())
        .select(Cluster::as_select())
        .load(conn)?)
}

/// How many clusters the scope holds.
pub fn count(conn: &mut AnyConnection, scope: &Scope) -> Result<i64, DbError> {
    Ok(scoped(scope).count().get_result(conn)?)
}

/// How many clusters use the template `uuid`.
pub fn count_using_template(
    conn: &mut AnyConnection,
    uuid: ClusterTemplateUuid,
) -> Result<i64, DbError> {
    Ok(dsl::cluster
        .filter(dsl::cluster_template_id.eq(uuid.to_string()))
        .count()
        .get_result(conn)?)
}

/// Cluster count and total nodes (every node group, masters included) in scope.
pub fn stats(conn: &mut AnyConnection, scope: &Scope) -> Result<(i64, i64), DbError> {
    let clusters = count(conn, scope)?;
    Ok((clusters, super::nodegroup::count_nodes(conn, scope)?))
}

/// Writes every column of `row` (matched by id) and stamps `updated_at`.
pub fn save(conn: &mut AnyConnection, mut row: Cluster) -> Result<Cluster, DbError> {
    row.updated_at = Some(crate::db::now());
    diesel::update(dsl::cluster.filter(dsl::id.eq(row.id)))
        .set(row.clone())
        .execute(conn)?;
    Ok(row)
}

/// Saves `row` and records `operation` for the conductor, atomically.
pub fn save_with_operation(
    conn: &mut AnyConnection,
    row: Cluster,
    operation: PendingOperation,
) -> Result<Cluster, DbError> {
    write_transaction(conn, |c| {
        let saved = save(c, row)?;
        super::pending_operation::insert(c, operation)?;
        Ok(saved)
    })
}

/// Writes what the API changes on a cluster, its status and health, and
/// nothing the conductor owns (addresses, stack, trust, certificates), so a
/// request never puts back a stale copy of those. Returns the row as stored.
pub fn save_state(conn: &mut AnyConnection, row: &Cluster) -> Result<Cluster, DbError> {
    use super::changes::{self, ClusterChange};
    let change = ClusterChange::new()
        .status(row.status)
        .status_reason(row.status_reason.clone())
        .health(row.health_status, row.health_status_reason.clone());
    changes::update_cluster(conn, row.uuid, change)?;
    get_by_uuid(conn, &Scope::All, row.uuid)?
        .ok_or_else(|| DbError::Corrupt(format!("cluster {} vanished", row.uuid)))
}

/// [`save_state`] and records `operation`, atomically.
pub fn save_state_with_operation(
    conn: &mut AnyConnection,
    row: &Cluster,
    operation: PendingOperation,
) -> Result<Cluster, DbError> {
    write_transaction(conn, |c| {
        let saved = save_state(c, row)?;
        super::pending_operation::insert(c, operation)?;
        Ok(saved)
    })
}

/// Deletes the cluster and its node groups.
pub fn destroy(conn: &mut AnyConnection, uuid: ClusterUuid) -> Result<(), DbError> {
    write_transaction(conn, |c| {
        diesel::delete(nodegroup::table.filter(nodegroup::cluster_id.eq(uuid.to_string())))
            .execute(c)?;
        diesel::delete(dsl::cluster.filter(dsl::uuid.eq(uuid.to_string()))).execute(c)?;
        Ok(())
    })
}

impl Cluster {
    /// A new cluster in CREATE_IN_PROGRESS, owned by `project`/`user`.
    pub fn new(project: ProjectId, user: UserId, template: ClusterTemplateUuid) -> Self {
        Cluster {
            id: 0,
            uuid: ClusterUuid::new(),
            project_id: project,
            user_id: user,
            name: None,
            cluster_template_id: template,
            keypair: None,
            docker_volume_size: None,
            labels: JsonMap::default(),
            master_flavor_id: None,
            flavor_id: None,
            stack_id: None,
            api_address: None,
            status: ClusterStatus::CreateInProgress,
            status_reason: None,
            health_status: MaybeHealth(None),
            health_status_reason: JsonMap::default(),
            create_timeout: None,
            discovery_url: None,
            ca_cert_ref: None,
            magnum_cert_ref: None,
            etcd_ca_cert_ref: None,
            front_proxy_ca_cert_ref: None,
            trust_id: None,
            trustee_username: None,
            trustee_user_id: None,
            trustee_password: None,
            coe_version: None,
            container_version: None,
            fixed_network: None,
            fixed_subnet: None,
            floating_ip_enabled: true,
            master_lb_enabled: false,
            created_at: crate::db::now(),
            updated_at: None,
        }
    }
}
