//! `quotas`: per-project limits (only the `Cluster` resource exists).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Scope;
use crate::db::schema::quotas::{self, dsl};
use crate::db::{AnyConnection, DbError, Page};
use crate::ids::ProjectId;

/// A quota row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = quotas, treat_none_as_null = true)]
pub struct Quota {
    #[diesel(skip_insertion)]
    pub id: i32,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub project_id: ProjectId,
    pub resource: String,
    pub hard_limit: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

crate::sortable!(Quota {
    id,
    project_id,
    resource,
    hard_limit,
    created_at,
    updated_at
});

/// Inserts a quota; [`DbError::Duplicate`] if (project, resource) exists.
pub fn create(
    conn: &mut AnyConnection,
    project: ProjectId,
    resource: &str,
    hard_limit: i32,
) -> Result<Quota, DbError> {
    let row = Quota {
        id: 0,
        project_id: project.clone(),
        resource: resource.to_owned(),
        hard_limit,
        created_at: crate::db::now(),
        updated_at: None,
    };
    diesel::insert_into(dsl::quotas).values(row).execute(conn)?;
    get(conn, &project, resource)?
        .ok_or_else(|| DbError::Corrupt("quota vanished after insert".to_owned()))
}

/// The quota of `project` for `resource`.
pub fn get(
    conn: &mut AnyConnection,
    project: &ProjectId,
    resource: &str,
) -> Result<Option<Quota>, DbError> {
    Ok(dsl::quotas
        .filter(
            dsl::project_id
                .eq(project.as_str())
                .and(dsl::resource.eq(resource)),
        )
        .select(Quota::as_select())
        .first(conn)
        .optional()?)
}

/// The quota with integer `id` (a page marker).
pub fn get_by_id(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: i32,
) -> Result<Option<Quota>, DbError> {
    let mut q = dsl::quotas
        .into_boxed::<crate::db::MultiBackend>()
        .filter(dsl::id.eq(id));
    if let Some(p) = scope.project() {
        q = q.filter(dsl::project_id.eq(p));
    }
    Ok(q.select(Quota::as_select()).first(conn).optional()?)
}

/// One page of quotas in scope.
pub fn list(conn: &mut AnyConnection, scope: &Scope, page: &Page) -> Result<Vec<Quota>, DbError> {
    let mut q = dsl::quotas.into_boxed::<crate::db::MultiBackend>();
    if let Some(p) = scope.project() {
        q = q.filter(dsl::project_id.eq(p));
    }
    if let Some(f) = page.marker_filter::<quotas::table>() {
        q = q.filter(f);
    }
    Ok(q.order(diesel::dsl::sql::<diesel::sql_types::Integer>(
        &page.order_sql(),
    ))
    .limit(page.limit)
    .select(Quota::as_select())
    .load(conn)?)
}

/// Writes the row (matched by id) and stamps `updated_at`.
pub fn save(conn: &mut AnyConnection, mut row: Quota) -> Result<Quota, DbError> {
    row.updated_at = Some(crate::db::now());
    diesel::update(dsl::quotas.filter(dsl::id.eq(row.id)))
        .set(row.clone())
        .execute(conn)?;
    Ok(row)
}

/// Deletes the quota with `id`.
pub fn delete(conn: &mut AnyConnection, id: i32) -> Result<usize, DbError> {
    Ok(diesel::delete(dsl::quotas.filter(dsl::id.eq(id))).execute(conn)?)
}
