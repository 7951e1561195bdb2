//! `cluster_upgrade`: PATCH the node group's stack with the parameters the
//! driver computed when the call was accepted; the default groups also move
//! the cluster to the new template.

use magnum_common::db::JsonMap;
use magnum_common::db::models::changes::{self, ClusterChange, NodeGroupChange};
use magnum_common::ids::ClusterTemplateUuid;
use magnum_common::openstack::heat::StackPatch;
use magnum_common::status::ClusterStatus;
use serde_json::{Map, Value};

use super::{Op, render, stack_by_id};
use crate::error::OpError;
use crate::services::Services;

/// Runs the upgrade's stack PATCH.
pub async fn run(svc: &Services, op: &mut Op) -> Result<(), OpError> {
    let Some(l) = render::load(svc, op.row.cluster_uuid).await? else {
        return Ok(());
    };
    if l.cluster.status != ClusterStatus::UpdateInProgress {
        return Ok(());
    }
    let ng = match op.nodegroup().and_then(|u| l.group(&u.to_string())) {
        Some(ng) => ng.clone(),
        None => l.default_group(false)?.clone(),
    };
    let parameters: Map<String, Value> = op
        .args
        .get("parameters")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let stack_id = ng
        .stack_id
        .clone()
        .or_else(|| l.cluster.stack_id.clone())
        .ok_or_else(|| OpError::Permanent(format!("Node group {} has no stack.", ng.name)))?;
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
    let patch = StackPatch {
        parameters,
        disable_rollback: Some(true),
        ..StackPatch::default()
    };
    session
        .heat
        .patch_stack(&stack.name, &stack.id, &patch)
        .await?;
    // the nodes roll their components' images when the cluster says so (their agent reads it)
    if !l.template.coe.is_swarm()
        && let Some(tag) = patch.parameters.get("kube_tag").and_then(Value::as_str)
    {
        let key = if ng.is_default {
            "kube_tag".to_owned()
        } else {
            format!("kube_tag.{}", ng.name)
        };
        crate::kube::announce(svc, &l.cluster, &key, tag).await;
    }
    if ng.is_default
        && let Some(t) = op
            .arg_str("cluster_template")
            .and_then(|s| s.parse::<ClusterTemplateUuid>().ok())
    {
        let new_labels: JsonMap = op
            .args
            .get("labels")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let uuid = l.cluster.uuid;
        let groups: Vec<_> = l
            .nodegroups
            .iter()
            .filter(|n| n.is_default)
            .map(|n| (n.uuid, n.labels.clone()))
            .collect();
        let mut cluster_labels = l.cluster.labels.clone();
        cluster_labels.0.extend(new_labels.0.clone());
        svc.db
            .run(move |c| {
                magnum_common::db::write_transaction(c, |tx| {
                    changes::update_cluster(
                        tx,
                        uuid,
                        ClusterChange::new().template(t, cluster_labels),
                    )?;
                    for (g, mut labels) in groups {
                        labels.0.extend(new_labels.0.clone());
                        changes::update_nodegroup(tx, g, NodeGroupChange::new().labels(labels))?;
                    }
                    Ok::<(), OpError>(())
                })
            })
            .await?;
    }
    Ok(())
}
