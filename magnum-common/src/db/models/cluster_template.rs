//! `cluster_template`: BayModels / ClusterTemplates.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ByName;
use crate::db::schema::cluster_template::{self, dsl};
use crate::db::{AnyConnection, DbError, JsonMap, Page};
use crate::ids::{ClusterTemplateUuid, ProjectId, UserId};
use crate::status::{Coe, ServerType};

/// A cluster template row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = cluster_template, treat_none_as_null = true)]
pub struct ClusterTemplate {
    #[diesel(skip_insertion)]
    pub id: i32,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub uuid: ClusterTemplateUuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub project_id: ProjectId,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub user_id: UserId,
    pub name: Option<String>,
    pub image_id: Option<String>,
    pub flavor_id: Option<String>,
    pub master_flavor_id: Option<String>,
    pub keypair_id: Option<String>,
    pub external_network_id: Option<String>,
    pub fixed_network: Option<String>,
    pub fixed_subnet: Option<String>,
    pub network_driver: Option<String>,
    pub volume_driver: Option<String>,
    pub dns_nameserver: Option<String>,
    pub apiserver_port: Option<i32>,
    pub docker_volume_size: Option<i32>,
    pub docker_storage_driver: Option<String>,
    pub cluster_distro: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub coe: Coe,
    pub http_proxy: Option<String>,
    pub https_proxy: Option<String>,
    pub no_proxy: Option<String>,
    pub registry_enabled: bool,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub labels: JsonMap,
    pub tls_disabled: bool,
    pub public: bool,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub server_type: ServerType,
    pub insecure_registry: Option<String>,
    pub master_lb_enabled: bool,
    pub floating_ip_enabled: bool,
    pub hidden: bool,
    pub tags: Option<String>,
    pub driver: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

crate::sortable!(ClusterTemplate {
    id,
    uuid,
    project_id,
    user_id,
    name,
    image_id,
    flavor_id,
    master_flavor_id,
    keypair_id,
    external_network_id,
    fixed_network,
    fixed_subnet,
    network_driver,
    volume_driver,
    dns_nameserver,
    apiserver_port,
    docker_volume_size,
    docker_storage_driver,
    cluster_distro,
    coe,
    http_proxy,
    https_proxy,
    no_proxy,
    registry_enabled,
    tls_disabled,
    public,
    server_type,
    insecure_registry,
    master_lb_enabled,
    floating_ip_enabled,
    hidden,
    tags,
    driver,
    created_at,
    updated_at,
});

/// Which templates a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// All templates of every project.
    All,
    /// The project's own templates plus public ones (hidden public ones only if asked).
    Project {
        /// The caller's project.
        project: ProjectId,
        /// Also show public templates that are hidden.
        include_hidden: bool,
    },
}

type Boxed<'a> = cluster_template::BoxedQuery<'a, crate::db::MultiBackend>;

fn visible(v: &Visibility) -> Boxed<'_> {
    let q = dsl::cluster_template.into_boxed();
    match v {
        Visibility::All => q,
        Visibility::Project {
            project,
            include_hidden: true,
        } => q.filter(
            dsl::project_id
                .eq(project.as_str())
                .or(dsl::public.eq(true)),
        ),
        Visibility::Project {
            project,
            include_hidden: false,
        } => q.filter(
            dsl::project_id
                .eq(project.as_str())
                .or(dsl::public.eq(true).and(dsl::hidden.eq(false))),
        ),
    }
}

/// Inserts a new template and returns it as stored.
pub fn create(conn: &mut AnyConnection, row: ClusterTemplate) -> Result<ClusterTemplate, DbError> {
    let uuid = row.uuid;
    diesel::insert_into(dsl::cluster_template)
        .values(row)
        .execute(conn)?;
    get_by_uuid(conn, &Visibility::All, uuid)?
        .ok_or_else(|| DbError::Corrupt(format!("cluster template {uuid} vanished after insert")))
}

/// The template with `uuid`, if visible.
pub fn get_by_uuid(
    conn: &mut AnyConnection,
    v: &Visibility,
    uuid: ClusterTemplateUuid,
) -> Result<Option<ClusterTemplate>, DbError> {
    if *v == Visibility::All {
        // A cluster's own template: a statically shaped query, prepared once.
        return Ok(dsl::cluster_template
            .filter(dsl::uuid.eq(uuid.to_string()))
            .select(ClusterTemplate::as_select())
            .first(conn)
            .optional()?);
    }
    Ok(visible(v)
        .filter(dsl::uuid.eq(uuid.to_string()))
        .select(ClusterTemplate::as_select())
        .first(conn)
        .optional()?)
}

/// The visible template with database id `id`.
pub fn get_by_id(
    conn: &mut AnyConnection,
    v: &Visibility,
    id: i32,
) -> Result<Option<ClusterTemplate>, DbError> {
    Ok(visible(v)
        .filter(dsl::id.eq(id))
        .select(ClusterTemplate::as_select())
        .first(conn)
        .optional()?)
}

/// The visible templates named `name`.
pub fn get_by_name(
    conn: &mut AnyConnection,
    v: &Visibility,
    name: &str,
) -> Result<ByName<ClusterTemplate>, DbError> {
    let rows = visible(v)
        .filter(dsl::name.eq(name))
        .select(ClusterTemplate::as_select())
        .limit(2)
        .load(conn)?;
    Ok(ByName::from_rows(rows))
}

/// One page of visible templates.
pub fn list(
    conn: &mut AnyConnection,
    v: &Visibility,
    page: &Page,
) -> Result<Vec<ClusterTemplate>, DbError> {
    if page.is_first_by_id() {
        let asc = page.sort_dir == crate::db::SortDir::Asc;
        macro_rules! first {
            ($q:expr) => {
                if asc {
                    $q.order(dsl::id.asc())
                        .limit(page.limit)
                        .select(ClusterTemplate::as_select())
                        .load(conn)
                } else {
                    $q.order(dsl::id.desc())
                        .limit(page.limit)
                        .select(ClusterTemplate::as_select())
                        .load(conn)
                }
            };
        }
        return Ok(match v {
            Visibility::All => first!(dsl::cluster_template),
            Visibility::Project {
                project,
                include_hidden: true,
            } => {
                first!(
                    dsl::cluster_template.filter(
                        dsl::project_id
                            .eq(project.as_str())
                            .or(dsl::public.eq(true))
                    )
                )
            }
            Visibility::Project {
                project,
                include_hidden: false,
            } => first!(
                dsl::cluster_template.filter(
                    dsl::project_id
                        .eq(project.as_str())
                        .or(dsl::public.eq(true).and(dsl::hidden.eq(false)))
                )
            ),
        }?);
    }
    let mut q = visible(v);
    if let Some(f) = page.marker_filter::<cluster_template::table>() {
        q = q.filter(f);
    }
    Ok(q.order(diesel::dsl::sql::<diesel::sql_types::Integer>(
        &page.order_sql(),
    ))
    .limit(page.limit)
    .select(ClusterTemplate::as_select())
    .load(conn)?)
}

/// Writes every column of `row` (matched by id) and stamps `updated_at`.
pub fn save(
    conn: &mut AnyConnection,
    mut row: ClusterTemplate,
) -> Result<ClusterTemplate, DbError> {
    row.updated_at = Some(crate::db::now());
    diesel::update(dsl::cluster_template.filter(dsl::id.eq(row.id)))
        .set(row.clone())
        .execute(conn)?;
    Ok(row)
}

/// Deletes the template with `id`.
pub fn delete(conn: &mut AnyConnection, id: i32) -> Result<usize, DbError> {
    Ok(diesel::delete(dsl::cluster_template.filter(dsl::id.eq(id))).execute(conn)?)
}

/// How many clusters (of any project) use the template.
pub fn count_referencing_clusters(
    conn: &mut AnyConnection,
    uuid: ClusterTemplateUuid,
) -> Result<i64, DbError> {
    use crate::db::schema::cluster;
    Ok(cluster::table
        .filter(cluster::cluster_template_id.eq(uuid.to_string()))
        .count()
        .get_result(conn)?)
}

impl ClusterTemplate {
    /// A new row with upstream's defaults, owned by `project`/`user`.
    pub fn new(project: ProjectId, user: UserId, coe: Coe) -> Self {
        ClusterTemplate {
            id: 0,
            uuid: ClusterTemplateUuid::new(),
            project_id: project,
            user_id: user,
            name: None,
            image_id: None,
            flavor_id: None,
            master_flavor_id: None,
            keypair_id: None,
            external_network_id: None,
            fixed_network: None,
            fixed_subnet: None,
            network_driver: None,
            volume_driver: None,
            dns_nameserver: None,
            apiserver_port: None,
            docker_volume_size: None,
            docker_storage_driver: None,
            cluster_distro: None,
            coe,
            http_proxy: None,
            https_proxy: None,
            no_proxy: None,
            registry_enabled: false,
            labels: JsonMap::default(),
            tls_disabled: false,
            public: false,
            server_type: ServerType::Vm,
            insecure_registry: None,
            master_lb_enabled: false,
            floating_ip_enabled: true,
            hidden: false,
            tags: None,
            driver: None,
            created_at: crate::db::now(),
            updated_at: None,
        }
    }
}
