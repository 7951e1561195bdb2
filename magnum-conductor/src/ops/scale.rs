//! `cluster_update` (PATCH of node_count) and `cluster_resize`: a PATCH of the
//! node group's stack with the driver's scaling parameters.
//!
//! The API already set the group's new node_count and the UPDATE_IN_PROGRESS
//! statuses in the transaction that recorded the operation; here Heat is asked
//! to follow. Sending the same PATCH twice is harmless (Heat finds nothing to
//! change), so a retry after a crash needs no bookkeeping.

use magnum_common::db::models::changes::{self, ClusterChange, NodeGroupChange};
use magnum_common::openstack::heat::StackPatch;
use magnum_common::status::ClusterStatus;

use super::{Op, render, stack_by_id};
use crate::error::OpError;
use crate::services::Services;

/// PATCHes the node group's stack.
pub async fn run(svc: &Services, op: &mut Op) -> Result<(), OpError> {
    let Some(l) = render::load(svc, op.row.cluster_uuid).await? else {
        return Ok(());
    };
    if l.cluster.status != ClusterStatus::UpdateInProgress {
        // Superseded (deleted meanwhile): nothing to scale.
        return Ok(());
    }
    let ng_uuid = op.nodegroup().map(|u| u.to_string()).unwrap_or_default();
    let ng = match l.group(&ng_uuid) {
        Some(ng) => ng.clone(),
        None => l.default_group(false)?.clone(),
    };
    let node_count = op.arg_i32("node_count").unwrap_or(ng.node_count);
    let to_remove: Vec<String> = op
        .args
        .get("nodes_to_remove")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let stack_id = ng
        .stack_id
        .clone()
        .or_else(|| l.cluster.stack_id.clone())
        .ok_or_else(|| {
            OpError::Permanent(format!("Node group {} has no stack to scale.", ng.name))
        })?;
    let session = svc.session(&l.cluster).await?;
    let stack = stack_by_id(&session.heat, &stack_id)
        .await?
        .ok_or_else(|| {
            OpError::Permanent(format!("Stack with id {stack_id} not found in Heat."))
        })?;
    if !op.progress.contains_key("notified") {
        svc.notify("update", "pending", &l.cluster, &op.context)
            .await;
        op.progress.insert("notified".into(), true.into());
        super::set_progress(svc, op).await?;
    }
    if l.template.coe.is_swarm() && !to_remove.is_empty() && !op.progress.contains_key("drained") {
        let hostnames =
            crate::swarm::hostnames_to_remove(svc, &session, &stack.name, &to_remove).await;
        crate::swarm::remove_nodes(svc, &l.cluster, &hostnames).await;
        op.progress.insert("drained".into(), true.into());
        super::set_progress(svc, op).await?;
    }
    if !l.template.coe.is_swarm() && !op.progress.contains_key("drained") {
        let names = crate::kube::nodes_to_remove(
            svc,
            &session,
            &stack.name,
            &ng.name,
            node_count,
            &to_remove,
        )
        .await;
        crate::kube::remove_nodes(svc, &l.cluster, &names).await;
        op.progress.insert("drained".into(), true.into());
        super::set_progress(svc, op).await?;
    }
    let driver = super::driver_for(svc, &l.template)?;
    let rollback = op
        .args
        .get("rollback")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let patch = StackPatch {
        parameters: driver.scale_parameters(&ng, node_count, &to_remove),
        disable_rollback: Some(!rollback),
        ..StackPatch::default()
    };
    session
        .heat
        .patch_stack(&stack.name, &stack.id, &patch)
        .await?;
    tracing::info!(cluster = %l.cluster.uuid, nodegroup = %ng.name, node_count, "stack scaling");
    Ok(())
}

/// UPDATE_FAILED for the cluster and the group, whose node_count goes back.
pub async fn fail(svc: &Services, op: &Op, reason: &str) -> Result<(), OpError> {
    let (uuid, ng, previous) = (
        op.row.cluster_uuid,
        op.nodegroup(),
        op.arg_i32("previous_node_count"),
    );
    let reason_owned = reason.to_owned();
    svc.db
        .run(move |c| {
            magnum_common::db::write_transaction(c, |tx| {
                let change = ClusterChange::new()
                    .status(ClusterStatus::UpdateFailed)
                    .status_reason(Some(reason_owned.clone()));
                changes::update_cluster(tx, uuid, change)?;
                if let Some(ng) = ng {
                    let mut change = NodeGroupChange::new()
                        .status(ClusterStatus::UpdateFailed, Some(reason_owned));
                    if let Some(n) = previous {
                        change = change.node_count(n);
                    }
                    changes::update_nodegroup(tx, ng, change)?;
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
