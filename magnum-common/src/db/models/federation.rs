//! `federation`: a host cluster and its member clusters (persisted here, unlike upstream).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{ByName, Scope};
use crate::db::schema::federation::{self, dsl};
use crate::db::{AnyConnection, DbError, JsonList, JsonMap, Page};
use crate::ids::{FederationUuid, ProjectId};
use crate::status::FederationStatus;

/// A federation row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = federation, treat_none_as_null = true)]
pub struct Federation {
    #[diesel(skip_insertion)]
    pub id: i32,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub uuid: FederationUuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub project_id: ProjectId,
    pub name: Option<String>,
    pub hostcluster_id: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub member_ids: JsonList<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: FederationStatus,
    pub status_reason: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub properties: JsonMap,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

crate::sortable!(Federation {
    id,
    uuid,
    project_id,
    name,
    hostcluster_id,
    status,
    status_reason,
    created_at,
    updated_at
});

type Boxed<'a> = federation::BoxedQuery<'a, crate::db::MultiBackend>;

fn scoped(scope: &Scope) -> Boxed<'_> {
    let q = dsl::federation.into_boxed();
    match scope.project() {
        Some(p) => q.filter(dsl::project_id.eq(p)),
        None => q,
    }
}

/// Inserts a federation.
pub fn create(conn: &mut AnyConnection, row: Federation) -> Result<Federation, DbError> {
    let uuid = row.uuid;
    diesel::insert_into(dsl::federation)
        .values(row)
        .execute(conn)?;
    get_by_uuid(conn, &Scope::All, uuid)?
        .ok_or_else(|| DbError::Corrupt(format!("federation {uuid} vanished after insert")))
}

/// The federation `uuid`, if in scope.
pub fn get_by_uuid(
    conn: &mut AnyConnection,
    scope: &Scope,
    uuid: FederationUuid,
) -> Result<Option<Federation>, DbError> {
    Ok(scoped(scope)
        .filter(dsl::uuid.eq(uuid.to_string()))
        .select(Federation::as_select())
        .first(conn)
        .optional()?)
}

/// Federations in scope named `name`.
pub fn get_by_name(
    conn: &mut AnyConnection,
    scope: &Scope,
    name: &str,
) -> Result<ByName<Federation>, DbError> {
    let rows = scoped(scope)
        .filter(dsl::name.eq(name))
        .select(Federation::as_select())
        .limit(2)
        .load(conn)?;
    Ok(ByName::from_rows(rows))
}

/// One page of federations in scope.
pub fn list(
    conn: &mut AnyConnection,
    scope: &Scope,
    page: &Page,
) -> Result<Vec<Federation>, DbError> {
    let mut q = scoped(scope);
    if let Some(f) = page.marker_filter::<federation::table>() {
        q = q.filter(f);
    }
    Ok(q.order(diesel::dsl::sql::<diesel::sql_types::Integer>(
        &page.order_sql(),
    ))
    .limit(page.limit)
    .select(Federation::as_select())
    .load(conn)?)
}

/// Writes the row (matched by id) and stamps `updated_at`.
pub fn save(conn: &mut AnyConnection, mut row: Federation) -> Result<Federation, DbError> {
    row.updated_at = Some(crate::db::now());
    diesel::update(dsl::federation.filter(dsl::id.eq(row.id)))
        .set(row.clone())
        .execute(conn)?;
    Ok(row)
}

/// Deletes the federation with `id`.
pub fn delete(conn: &mut AnyConnection, id: i32) -> Result<usize, DbError> {
    Ok(diesel::delete(dsl::federation.filter(dsl::id.eq(id))).execute(conn)?)
}
