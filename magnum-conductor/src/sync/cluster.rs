//! The sync of one cluster: its node groups from their stacks, then the
//! cluster from its node groups.

use std::collections::HashMap;

use magnum_common::db::models::changes::{self, ClusterChange, NodeGroupChange};
use magnum_common::db::models::cluster::Cluster;
use magnum_common::db::models::nodegroup::{self, NodeGroup};
use magnum_common::db::models::{cluster_template, pending_operation};
use magnum_common::openstack::heat::{HeatClient, StackLookup, StackSummary};
use magnum_common::status::{ClusterStatus, Phase};
use serde_json::{Map, Value, json};

use super::Report;
use crate::drivers::StackOutputs;
use crate::error::OpError;
use crate::ops::delete;
use crate::rollup::{self, GroupStatus, StackState};
use crate::services::Services;

/// Minutes a create may take: the cluster's create_timeout, else `[cluster_heat]`.
fn timeout_minutes(svc: &Services, c: &Cluster) -> i64 {
    match c.create_timeout {
        Some(t) if t > 0 => i64::from(t),
        _ => svc.cfg.cluster_heat.create_timeout,
    }
}

/// A create past its timeout (plus a minute, so Heat's own verdict comes first
/// when Heat is alive).
pub fn timed_out(svc: &Services, c: &Cluster) -> bool {
    c.status == ClusterStatus::CreateInProgress
        && magnum_common::db::now() - c.created_at
            > chrono::Duration::minutes(timeout_minutes(svc, c) + 1)
}

/// CREATE_FAILED for a create past its timeout, whatever Heat says.
pub async fn fail_timeout(svc: &Services, c: &Cluster) -> Result<(), OpError> {
    let reason = format!(
        "Cluster create timed out: it was not complete after {} minutes (create_timeout).",
        timeout_minutes(svc, c)
    );
    let (uuid, read_at, r) = (c.uuid, c.updated_at, reason.clone());
    let applied = svc
        .db
        .run(move |conn| {
            magnum_common::db::write_transaction(conn, |tx| {
                let change = ClusterChange::new()
                    .status(ClusterStatus::CreateFailed)
                    .status_reason(Some(r.clone()));
                if !changes::update_cluster_if_unchanged(tx, uuid, read_at, change)? {
                    return Ok(false);
                }
                crate::ops::set_groups_status(tx, uuid, ClusterStatus::CreateFailed, Some(r))?;
                Ok::<bool, OpError>(true)
            })
        })
        .await?;
    if applied {
        tracing::warn!(cluster = %uuid, "{reason}");
        let mut failed = c.clone();
        failed.status = ClusterStatus::CreateFailed;
        failed.status_reason = Some(reason);
        svc.notify("create", "failure", &failed, &context_of(c))
            .await;
    }
    Ok(())
}

/// The context of notifications the sync sends: the cluster's owner.
pub fn context_of(c: &Cluster) -> Map<String, Value> {
    match json!({"user_id": c.user_id.as_str(), "project_id": c.project_id.as_str()}) {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// What the sync learnt of one stack that finished.
#[derive(Default)]
struct Finished {
    outputs: Option<StackOutputs>,
    failure: Option<String>,
}

/// Times Heat is asked again to delete a stack whose delete failed, before the
/// cluster shows DELETE_FAILED (Heat retries a delete of a DELETE_FAILED stack;
/// its failures are often passing ones, such as Keystone refusing a project
/// delete for a moment).
const DELETE_RETRIES: i64 = 3;

/// A cluster being deleted whose stack's delete failed: queues another
/// `cluster_delete` (the conductor deletes the stack again) and says so in the
/// cluster's status_reason. Returns true when it did.
async fn retry_failed_delete(
    svc: &Services,
    c: &Cluster,
    ngs: &[NodeGroup],
    stacks: &HashMap<String, StackSummary>,
) -> Result<bool, OpError> {
    if c.status != ClusterStatus::DeleteInProgress {
        return Ok(false);
    }
    // The cluster stack and the node group stacks (default groups share the cluster's).
    let failed = c
        .stack_id
        .iter()
        .chain(ngs.iter().filter_map(|ng| ng.stack_id.as_ref()))
        .filter_map(|id| stacks.get(id))
        .find(|s| s.stack_status == "DELETE_FAILED");
    let Some(stack) = failed else {
        return Ok(false);
    };
    let why = stack.stack_status_reason.clone().unwrap_or_default();
    let (uuid, read_at, ctx) = (c.uuid, c.updated_at, Value::Object(context_of(c)));
    let stack_name = stack.stack_name.clone();
    let queued = svc
        .db
        .run(move |conn| {
            magnum_common::db::write_transaction(conn, |tx| {
                if pending_operation::has_pending(tx, uuid)? {
                    return Ok(None);
                }
                let done = pending_operation::count_method(tx, uuid, "cluster_delete")?;
                if done > DELETE_RETRIES {
                    return Ok(None);
                }
                let reason = format!(
                    "Heat could not delete stack {stack_name}: {why}; deleting it again (retry {done} of {DELETE_RETRIES})"
                );
                let change = ClusterChange::new().status_reason(Some(reason));
                if !changes::update_cluster_if_unchanged(tx, uuid, read_at, change)? {
                    return Ok(None);
                }
                let row = pending_operation::PendingOperation::new(
                    uuid,
                    None,
                    "cluster_delete",
                    json!({"cluster": uuid.to_string(), "retry": done}),
                    ctx,
                );
                pending_operation::insert(tx, row)?;
                Ok::<_, OpError>(Some(done))
            })
        })
        .await?;
    match queued {
        Some(n) => {
            // The outbox sweep picks the operation up.
            tracing::warn!(cluster = %c.uuid, retry = n, "stack delete failed; deleting again");
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Brings one cluster and its node groups up to date with `stacks`.
pub async fn sync(
    svc: &Services,
    heat: &HeatClient,
    c: &Cluster,
    ngs: Vec<NodeGroup>,
    stacks: &HashMap<String, StackSummary>,
    report: &mut Report,
) -> Result<(), OpError> {
    if retry_failed_delete(svc, c, &ngs, stacks).await? {
        return Ok(());
    }
    let mut finished: HashMap<String, Finished> = HashMap::new();
    let mut ng_changes: Vec<(NodeGroup, NodeGroupChange, ClusterStatus, Option<String>)> =
        Vec::new();
    let mut cluster_change = ClusterChange::new();
    let mut cluster_outputs = false;
    for ng in &ngs {
        let stack_id = ng
            .stack_id
            .clone()
            .or_else(|| ng.is_default.then(|| c.stack_id.clone()).flatten());
        let Some(stack_id) = stack_id else {
            ng_changes.push((
                ng.clone(),
                NodeGroupChange::new(),
                ng.status,
                ng.status_reason.clone(),
            ));
            continue;
        };
        let state = match stacks.get(&stack_id) {
            Some(s) => StackState::Found {
                status: s.stack_status.clone(),
                reason: s.stack_status_reason.clone().unwrap_or_default(),
            },
            None => StackState::Missing,
        };
        let Some((status, mut reason)) = rollup::nodegroup_status(ng.status, &stack_id, &state)
        else {
            ng_changes.push((
                ng.clone(),
                NodeGroupChange::new(),
                ng.status,
                ng.status_reason.clone(),
            ));
            continue;
        };
        let mut change = NodeGroupChange::new();
        if let Some(summary) = stacks.get(&stack_id) {
            let done =
                status.phase() != Phase::InProgress && !status.as_str().starts_with("DELETE");
            if done && !finished.contains_key(&stack_id) {
                let f = finish_stack(svc, heat, c, summary, status.is_failed(), report).await?;
                finished.insert(stack_id.clone(), f);
            }
            if let Some(f) = finished.get(&stack_id) {
                if let Some(why) = &f.failure {
                    reason = Some(why.clone());
                }
                if let Some(o) = &f.outputs {
                    if ng.is_master() {
                        change = change.node_addresses(o.master_addresses.clone());
                        if let Some(n) = o.master_count {
                            change = change.node_count(n);
                        }
                    } else {
                        change = change.node_addresses(o.node_addresses.clone());
                        if let Some(n) = o.node_count {
                            change = change.node_count(n);
                        }
                    }
                    change = change.version(o.coe_version.clone());
                    if ng.is_default && !cluster_outputs {
                        cluster_outputs = true;
                        cluster_change = cluster_change
                            .api_address(o.api_address.clone())
                            .versions(o.coe_version.clone(), o.container_version.clone());
                    }
                }
            }
        }
        change = change.status(status, reason.clone());
        ng_changes.push((ng.clone(), change, status, reason));
    }
    let groups: Vec<GroupStatus<'_>> = ng_changes
        .iter()
        .filter(|(ng, _, status, _)| ng.is_default || *status != ClusterStatus::DeleteComplete)
        .map(|(ng, _, status, reason)| GroupStatus {
            name: &ng.name,
            is_default: ng.is_default,
            is_master: ng.is_master(),
            status: *status,
            reason: reason.as_deref(),
        })
        .collect();
    let Some((status, reason)) = rollup::cluster_status(c.status, &groups) else {
        return Ok(());
    };
    let ng_writes: Vec<(NodeGroup, NodeGroupChange, ClusterStatus)> = ng_changes
        .into_iter()
        .filter(|(_, ch, _, _)| !ch.is_empty())
        .map(|(ng, ch, st, _)| (ng, ch, st))
        .collect();
    let cluster_changed = status != c.status || reason != c.status_reason || cluster_outputs;
    if ng_writes.is_empty() && !cluster_changed {
        return Ok(());
    }
    let (uuid, read_at) = (c.uuid, c.updated_at);
    let change = cluster_change.status(status).status_reason(reason.clone());
    let applied = svc
        .db
        .run(move |conn| {
            magnum_common::db::write_transaction(conn, |tx| {
                // An operation arrived since the read: it goes first.
                if pending_operation::has_pending(tx, uuid)? {
                    return Ok(false);
                }
                if !changes::update_cluster_if_unchanged(tx, uuid, read_at, change)? {
                    return Ok(false);
                }
                for (ng, ch, st) in ng_writes {
                    if !ng.is_default && st == ClusterStatus::DeleteComplete {
                        nodegroup::destroy(tx, ng.id)?;
                    } else {
                        changes::update_nodegroup(tx, ng.uuid, ch)?;
                    }
                }
                Ok::<bool, OpError>(true)
            })
        })
        .await?;
    if !applied || status == c.status {
        return Ok(());
    }
    report.changed += 1;
    tracing::info!(cluster = %c.uuid, from = %c.status, to = %status, "cluster status");
    let mut now = c.clone();
    now.status = status;
    now.status_reason = reason;
    if let Some((action, success)) = rollup::notification_for(status) {
        if status == ClusterStatus::DeleteComplete {
            // finish() sends delete/success once the cleanup is done.
            delete::finish(svc, c.uuid, None, &context_of(c)).await?;
        } else {
            svc.notify(
                action,
                if success { "success" } else { "failure" },
                &now,
                &context_of(c),
            )
            .await;
        }
    }
    Ok(())
}

/// Outputs of a stack that completed, or the reason of one that failed.
async fn finish_stack(
    svc: &Services,
    heat: &HeatClient,
    c: &Cluster,
    summary: &StackSummary,
    failed: bool,
    report: &mut Report,
) -> Result<Finished, OpError> {
    let mut f = Finished::default();
    if failed {
        report.other_calls += 2;
        f.failure = match heat
            .stack_failure_reason(&summary.stack_name, &summary.id)
            .await
        {
            Ok(Some(why)) => Some(why),
            Ok(None) => summary.stack_status_reason.clone(),
            Err(e) => {
                tracing::debug!(stack = %summary.id, error = %e, "no failure detail");
                summary.stack_status_reason.clone()
            }
        };
        return Ok(f);
    }
    report.other_calls += 1;
    let stack = match heat
        .get_stack(&summary.stack_name, &summary.id, true)
        .await?
    {
        StackLookup::Found(s) => s,
        StackLookup::Gone => return Ok(f),
    };
    let template_id = c.cluster_template_id;
    let Some(template) = svc
        .db
        .run(move |conn| {
            cluster_template::get_by_uuid(conn, &cluster_template::Visibility::All, template_id)
        })
        .await?
    else {
        return Ok(f);
    };
    let driver = crate::ops::driver_for(svc, &template)?;
    let outputs: Map<String, Value> = stack
        .outputs
        .iter()
        .map(|o| (o.output_key.clone(), o.output_value.clone()))
        .collect();
    let parameters: Map<String, Value> = stack.parameters.clone().into_iter().collect();
    f.outputs = Some(driver.outputs(c, &template, &outputs, &parameters));
    Ok(f)
}
