//! The operations of the outbox, one module each, upstream's RPC names.
//!
//! An operation returns `Ok` when its part is done (Heat then does the rest and
//! the status sync follows it), `OpError::Transient` to be retried later, or
//! `OpError::Permanent` to fail: [`fail`] then puts the cluster (and node
//! group) in the failed status with the reason.

pub mod create;
pub mod delete;
pub mod nodegroup;
pub mod render;
pub mod rotate;
pub mod scale;
pub mod upgrade;

use magnum_common::db::AnyConnection;
use magnum_common::db::models::changes::{self, ClusterChange, NodeGroupChange};
use magnum_common::db::models::cluster_template::ClusterTemplate;
use magnum_common::db::models::nodegroup as ng_rows;
use magnum_common::db::models::pending_operation::{self, PendingOperation};
use magnum_common::ids::{ClusterUuid, NodeGroupUuid};
use magnum_common::openstack::heat::{HeatClient, StackListQuery, StackRef};
use magnum_common::status::ClusterStatus;
use serde_json::{Map, Value};

use crate::drivers::Driver;
use crate::error::OpError;
use crate::services::Services;

/// An operation being worked on.
#[derive(Debug, Clone)]
pub struct Op {
    /// The outbox row.
    pub row: PendingOperation,
    /// Its arguments.
    pub args: Map<String, Value>,
    /// The request context it was made in.
    pub context: Map<String, Value>,
    /// How far it got (saved with [`set_progress`]).
    pub progress: Map<String, Value>,
}

impl Op {
    /// Wraps an outbox row.
    pub fn new(row: PendingOperation) -> Self {
        Op {
            args: row.args_json(),
            context: row.context_json(),
            progress: row.progress_json(),
            row,
        }
    }

    /// An argument as text.
    pub fn arg_str(&self, key: &str) -> Option<&str> {
        self.args.get(key).and_then(Value::as_str)
    }

    /// An argument as a number.
    pub fn arg_i32(&self, key: &str) -> Option<i32> {
        self.args
            .get(key)
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
    }

    /// The node group the operation is about.
    pub fn nodegroup(&self) -> Option<NodeGroupUuid> {
        self.row
            .nodegroup_uuid
            .as_deref()
            .or_else(|| self.arg_str("nodegroup"))
            .and_then(|s| s.parse().ok())
    }
}

/// Saves the operation's progress.
pub async fn set_progress(svc: &Services, op: &Op) -> Result<(), OpError> {
    let (uuid, progress) = (op.row.uuid, op.progress.clone());
    svc.db
        .run(move |c| pending_operation::set_progress(c, uuid, &progress))
        .await
        .map_err(OpError::from)
}

/// Runs the operation's next steps.
pub async fn run(svc: &Services, op: &mut Op) -> Result<(), OpError> {
    match op.row.method.as_str() {
        "cluster_create" => create::run(svc, op).await,
        "cluster_update" | "cluster_resize" => scale::run(svc, op).await,
        "cluster_delete" => delete::run(svc, op).await,
        "cluster_upgrade" => upgrade::run(svc, op).await,
        "nodegroup_create" => nodegroup::create(svc, op).await,
        "nodegroup_update" => nodegroup::update(svc, op).await,
        "nodegroup_delete" => nodegroup::delete(svc, op).await,
        "rotate_ca_certificate" => rotate::ca(svc, op).await,
        "credential_rotate" => rotate::credential(svc, op).await,
        other => Err(OpError::Permanent(format!("Unknown operation {other}."))),
    }
}

/// Records that the operation failed for good: statuses and reason as upstream.
pub async fn fail(svc: &Services, op: &Op, reason: &str) -> Result<(), OpError> {
    match op.row.method.as_str() {
        "cluster_create" => create::fail(svc, op, reason).await,
        "cluster_delete" => delete::fail(svc, op, reason).await,
        "nodegroup_create" => {
            update_failed(svc, op, reason, Some(ClusterStatus::CreateFailed)).await
        }
        "nodegroup_delete" => {
            update_failed(svc, op, reason, Some(ClusterStatus::DeleteFailed)).await
        }
        "cluster_update" | "cluster_resize" => scale::fail(svc, op, reason).await,
        _ => update_failed(svc, op, reason, Some(ClusterStatus::UpdateFailed)).await,
    }
}

/// Puts the cluster in UPDATE_FAILED with `reason`, and the operation's node
/// group (if any) in `ng_status`; sends update/failure.
pub async fn update_failed(
    svc: &Services,
    op: &Op,
    reason: &str,
    ng_status: Option<ClusterStatus>,
) -> Result<(), OpError> {
    let (uuid, ng, reason_owned) = (op.row.cluster_uuid, op.nodegroup(), reason.to_owned());
    svc.db
        .run(move |c| {
            magnum_common::db::write_transaction(c, |tx| {
                let change = ClusterChange::new()
                    .status(ClusterStatus::UpdateFailed)
                    .status_reason(Some(reason_owned.clone()));
                changes::update_cluster(tx, uuid, change)?;
                if let (Some(ng), Some(status)) = (ng, ng_status) {
                    changes::update_nodegroup(
                        tx,
                        ng,
                        NodeGroupChange::new().status(status, Some(reason_owned)),
                    )?;
                }
                Ok::<(), OpError>(())
            })
        })
        .await?;
    if let Some(l) = render::load(svc, uuid).await? {
        svc.notify("update", "failure", &l.cluster, &op.context)
            .await;
    }
    Ok(())
}

/// Sets the status of the cluster's default node groups.
pub fn set_groups_status(
    tx: &mut AnyConnection,
    cluster: ClusterUuid,
    status: ClusterStatus,
    reason: Option<String>,
) -> Result<(), OpError> {
    for ng in ng_rows::list_for_clusters(tx, &[cluster])? {
        if ng.is_default {
            changes::update_nodegroup(
                tx,
                ng.uuid,
                NodeGroupChange::new().status(status, reason.clone()),
            )?;
        }
    }
    Ok(())
}

/// The driver of a template.
pub fn driver_for<'a>(svc: &'a Services, t: &ClusterTemplate) -> Result<&'a dyn Driver, OpError> {
    let name = magnum_common::drivers::select(
        t.server_type,
        t.cluster_distro.as_deref(),
        t.coe,
        &svc.cfg.drivers.disabled_drivers,
    )
    .ok_or_else(|| {
        OpError::Permanent(format!(
            "Cluster type ({}, {}, {}) not supported.",
            t.server_type,
            t.cluster_distro.as_deref().unwrap_or("None"),
            t.coe
        ))
    })?;
    svc.drivers
        .get(name.name)
        .ok_or_else(|| OpError::Permanent(format!("Driver {} is not available.", name.name)))
}

/// A stack's canonical reference from its id (one list request: Heat's stack
/// calls want the name too); `None` once it is deleted.
pub async fn stack_by_id(heat: &HeatClient, id: &str) -> Result<Option<StackRef>, OpError> {
    Ok(listed_stack(heat, id)
        .await?
        .filter(|(_, status)| status != "DELETE_COMPLETE")
        .map(|(s, _)| s))
}

/// Asks Heat to delete the stack, unless it is already finishing a delete;
/// true while Heat still lists it (the status sync then sees it go).
pub async fn delete_listed_stack(heat: &HeatClient, id: &str) -> Result<bool, OpError> {
    let Some((s, status)) = listed_stack(heat, id).await? else {
        return Ok(false);
    };
    if status != "DELETE_COMPLETE" {
        heat.delete_stack(&s.name, &s.id).await?;
    }
    Ok(true)
}

/// The stack as the project's list shows it, with its status. Heat lists no
/// deleted stacks: one listed DELETE_COMPLETE is still finishing its delete
/// (credentials, then the row) and may yet turn DELETE_FAILED.
async fn listed_stack(heat: &HeatClient, id: &str) -> Result<Option<(StackRef, String)>, OpError> {
    let stacks = heat
        .list_stacks(&StackListQuery {
            id: vec![id.to_owned()],
            ..Default::default()
        })
        .await?;
    Ok(stacks.into_iter().find(|s| s.id == id).map(|s| {
        (
            StackRef {
                url: heat.stack_url(&s.stack_name, &s.id),
                id: s.id,
                name: s.stack_name,
            },
            s.stack_status,
        )
    }))
}
