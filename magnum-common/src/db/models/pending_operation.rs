//! `pending_operation`: the conductor's outbox.
//!
//! The API writes one row in the same transaction as the change it asks for; the
//! RPC message that follows is only a nudge. The conductor sweeps rows whose
//! message never arrived, so an accepted operation is never lost.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;
use std::fmt;

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
#[derive(Clone, PartialEq, Queryable, Selectable, Insertable, Identifiable)]
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
    /// The caller's token, kept only until the operation is done: a create needs
    /// it to make the cluster's trust, which every later step uses instead.
    pub auth_token: Option<String>,
    /// How far the conductor got (JSON), so a retried step finds its own work.
    pub progress: Option<String>,
    /// Not to be retried before this time (backoff after a failure).
    pub not_before: Option<NaiveDateTime>,
}

impl fmt::Debug for PendingOperation {
    // By hand, so the caller's token can never reach a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingOperation")
            .field("uuid", &self.uuid)
            .field("cluster_uuid", &self.cluster_uuid)
            .field("nodegroup_uuid", &self.nodegroup_uuid)
            .field("method", &self.method)
            .field("state", &self.state)
            .field("attempts", &self.attempts)
            .field("last_error", &self.last_error)
            .field("auth_token", &self.auth_token.as_ref().map(|_| "***"))
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
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
            auth_token: None,
            progress: None,
            not_before: None,
        }
    }

    /// The same operation, carrying the caller's token until it is done.
    #[must_use]
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.auth_token = token;
        self
    }

    /// The arguments, parsed (an object; `{}` if the stored text is not one).
    pub fn args_json(&self) -> serde_json::Map<String, Value> {
        parse_object(&self.args)
    }

    /// The request context, parsed.
    pub fn context_json(&self) -> serde_json::Map<String, Value> {
        parse_object(&self.context)
    }

    /// The progress record, parsed (`{}` before the first step).
    pub fn progress_json(&self) -> serde_json::Map<String, Value> {
        self.progress
            .as_deref()
            .map(parse_object)
            .unwrap_or_default()
    }
}

fn parse_object(text: &str) -> serde_json::Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

/// Inserts an operation row.
pub fn insert(conn: &mut AnyConnection, row: PendingOperation) -> Result<(), DbError> {
    diesel::insert_into(dsl::pending_operation)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The operation `uuid`.
pub fn get(
    conn: &mut AnyConnection,
    uuid: OperationUuid,
) -> Result<Option<PendingOperation>, DbError> {
    Ok(dsl::pending_operation
        .filter(dsl::uuid.eq(uuid.to_string()))
        .select(PendingOperation::as_select())
        .first(conn)
        .optional()?)
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

/// The operations of `cluster` still pending, oldest first (whether due or not:
/// a cluster's operations run in order, so a deferred one holds back the rest).
pub fn pending_for_cluster(
    conn: &mut AnyConnection,
    cluster: ClusterUuid,
) -> Result<Vec<PendingOperation>, DbError> {
    Ok(dsl::pending_operation
        .filter(dsl::cluster_uuid.eq(cluster.to_string()))
        .filter(dsl::state.eq(OperationState::Pending.as_str()))
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

/// Clusters with a pending operation that is due at `now` (at most `limit`,
/// those waiting longest first): what a sweep hands to the workers.
pub fn clusters_due(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<ClusterUuid>, DbError> {
    let rows: Vec<(String, i32)> = dsl::pending_operation
        .filter(dsl::state.eq(OperationState::Pending.as_str()))
        .filter(dsl::not_before.is_null().or(dsl::not_before.le(now)))
        .order(dsl::id.asc())
        .select((dsl::cluster_uuid, dsl::id))
        .limit(limit)
        .load(conn)?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter_map(|(c, _)| c.parse::<ClusterUuid>().ok())
        .filter(|c| seen.insert(*c))
        .collect())
}

/// Records how far an operation got.
pub fn set_progress(
    conn: &mut AnyConnection,
    uuid: OperationUuid,
    progress: &serde_json::Map<String, Value>,
) -> Result<(), DbError> {
    diesel::update(dsl::pending_operation.filter(dsl::uuid.eq(uuid.to_string())))
        .set((
            dsl::progress.eq(Some(Value::Object(progress.clone()).to_string())),
            dsl::updated_at.eq(Some(crate::db::now())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Puts an operation off until `not_before` after a failed attempt.
pub fn defer(
    conn: &mut AnyConnection,
    uuid: OperationUuid,
    attempts: i32,
    not_before: NaiveDateTime,
    error: &str,
) -> Result<(), DbError> {
    diesel::update(dsl::pending_operation.filter(dsl::uuid.eq(uuid.to_string())))
        .set((
            dsl::attempts.eq(attempts),
            dsl::not_before.eq(Some(not_before)),
            dsl::last_error.eq(Some(error)),
            dsl::updated_at.eq(Some(crate::db::now())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks an operation done (with the error it ended with, if any) and forgets
/// the caller's token.
pub fn mark_done(
    conn: &mut AnyConnection,
    uuid: OperationUuid,
    error: Option<&str>,
) -> Result<(), DbError> {
    diesel::update(dsl::pending_operation.filter(dsl::uuid.eq(uuid.to_string())))
        .set((
            dsl::state.eq(OperationState::Done.as_str()),
            dsl::last_error.eq(error),
            dsl::auth_token.eq(None::<String>),
            dsl::updated_at.eq(Some(crate::db::now())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes every operation of `cluster` (when the cluster itself goes: what
/// was still pending has nothing left to act on).
pub fn purge_cluster(conn: &mut AnyConnection, cluster: ClusterUuid) -> Result<usize, DbError> {
    Ok(
        diesel::delete(dsl::pending_operation.filter(dsl::cluster_uuid.eq(cluster.to_string())))
            .execute(conn)?,
    )
}

/// Clusters with an operation pending, or one finished since `since`: the
/// status sync leaves them alone until their operations have settled.
pub fn clusters_active_since(
    conn: &mut AnyConnection,
    since: NaiveDateTime,
) -> Result<std::collections::HashSet<ClusterUuid>, DbError> {
    let rows: Vec<String> = dsl::pending_operation
        .filter(
            dsl::state
                .eq(OperationState::Pending.as_str())
                .or(dsl::updated_at.ge(since)),
        )
        .select(dsl::cluster_uuid)
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|c| c.parse().ok()).collect())
}

/// How many operations `method` of `cluster` there are (done or not).
pub fn count_method(
    conn: &mut AnyConnection,
    cluster: ClusterUuid,
    method: &str,
) -> Result<i64, DbError> {
    Ok(dsl::pending_operation
        .filter(dsl::cluster_uuid.eq(cluster.to_string()))
        .filter(dsl::method.eq(method))
        .count()
        .get_result(conn)?)
}

/// Whether `cluster` has an operation pending.
pub fn has_pending(conn: &mut AnyConnection, cluster: ClusterUuid) -> Result<bool, DbError> {
    let n: i64 = dsl::pending_operation
        .filter(dsl::cluster_uuid.eq(cluster.to_string()))
        .filter(dsl::state.eq(OperationState::Pending.as_str()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
