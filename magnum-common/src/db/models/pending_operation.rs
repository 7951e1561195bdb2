//! `pending_operation`: the conductor's outbox.
//!
//! The API writes one row in the same transaction as the change it asks for; the
//! RPC message that follows is only a nudge. The conductor sweeps rows whose
//! message never arrived, so an accepted operation is never lost.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use crate::db::schema::pending_operation::{self, dsl};
use crate::db::{AnyConnection, DbError};
use crate::ids::{ClusterUuid, NodeGroupUuid, OperationUuid};

/// Lifecycle of an operation row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationState {
    /// Accepted by the API, not yet done by a conductor.
    Pending,
    /// Finished (successfully or with the failure recorded on the cluster).
    Done,
}

impl OperationState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OperationState::Pending => "pending",
            OperationState::Done => "done",
        }
    }
}

/// An operation row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Identifiable)]
#[diesel(table_name = pending_operation, treat_none_as_null = true)]
pub struct PendingOperation {
    #[diesel(skip_insertion)]
    pub id: i32,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub uuid: OperationUuid,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub cluster_uuid: ClusterUuid,
    pub nodegroup_uuid: Option<String>,
    /// The conductor RPC method (upstream's names: `cluster_create`, …).
    pub method: String,
    /// The method's keyword arguments, JSON.
    pub args: String,
    /// The request context (ids, roles, request id; never tokens), JSON.
    pub context: String,
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

impl PendingOperation {
    /// A pending operation `method` on `cluster`.
    pub fn new(
        cluster: ClusterUuid,
        nodegroup: Option<NodeGroupUuid>,
        method: &str,
        args: Value,
        context: Value,
    ) -> Self {
        PendingOperation {
            id: 0,
            uuid: OperationUuid::new(),
            cluster_uuid: cluster,
            nodegroup_uuid: nodegroup.map(|n| n.to_string()),
            method: method.to_owned(),
            args: args.to_string(),
            context: context.to_string(),
            state: OperationState::Pending.as_str().to_owned(),
            attempts: 0,
            last_error: None,
            created_at: crate::db::now(),
            updated_at: None,
        }
    }
}

/// Inserts an operation row.
pub fn insert(conn: &mut AnyConnection, row: PendingOperation) -> Result<(), DbError> {
    diesel::insert_into(dsl::pending_operation)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The operations recorded for `cluster`, oldest first.
pub fn list_for_cluster(
    conn: &mut AnyConnection,
    cluster: ClusterUuid,
) -> Result<Vec<PendingOperation>, DbError> {
    Ok(dsl::pending_operation
        .filter(dsl::cluster_uuid.eq(cluster.to_string()))
        .order(dsl::id.asc())
        .select(PendingOperation::as_select())
        .load(conn)?)
}

/// Every operation still pending, oldest first.
pub fn list_pending(conn: &mut AnyConnection) -> Result<Vec<PendingOperation>, DbError> {
    Ok(dsl::pending_operation
        .filter(dsl::state.eq(OperationState::Pending.as_str()))
        .order(dsl::id.asc())
        .select(PendingOperation::as_select())
        .load(conn)?)
}

/// Marks an operation done.
pub fn mark_done(
    conn: &mut AnyConnection,
    uuid: OperationUuid,
    error: Option<&str>,
) -> Result<(), DbError> {
    diesel::update(dsl::pending_operation.filter(dsl::uuid.eq(uuid.to_string())))
        .set((
            dsl::state.eq(OperationState::Done.as_str()),
            dsl::last_error.eq(error),
            dsl::updated_at.eq(Some(crate::db::now())),
        ))
        .execute(conn)?;
    Ok(())
}
