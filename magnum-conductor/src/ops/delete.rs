//! `cluster_delete`: delete every stack of the cluster; once they are gone
//! (now, or when the status sync sees them go) the trust, the trustee, the
//! certificates and the rows go too.

use magnum_common::db::models::changes::{self, ClusterChange};
use magnum_common::db::models::{cluster, pending_operation};
use magnum_common::ids::ClusterUuid;
use magnum_common::status::ClusterStatus;
use serde_json::{Map, Value};

use super::{Op, delete_listed_stack, render, set_groups_status};
use crate::error::OpError;
use crate::services::Services;

/// Asks Heat to delete the cluster's stacks.
pub async fn run(svc: &Services, op: &mut Op) -> Result<(), OpError> {
    let uuid = op.row.cluster_uuid;
    let Some(l) = render::load(svc, uuid).await? else {
        return Ok(());
    };
    if l.cluster.status != ClusterStatus::DeleteInProgress {
        return Ok(());
    }
    if !op.progress.contains_key("notified") {
        svc.notify("delete", "pending", &l.cluster, &op.context)
            .await;
        op.progress.insert("notified".into(), true.into());
        super::set_progress(svc, op).await?;
    }
    svc.db
        .run(move |c| set_groups_status(c, uuid, ClusterStatus::DeleteInProgress, None))
        .await?;
    let mut deleting = false;
    if l.cluster.trust_id.is_some() {
        let session = svc.session(&l.cluster).await?;
        for id in stack_ids(svc, &l).await? {
            deleting |= delete_listed_stack(&session.heat, &id).await?;
        }
        // A create that asked Heat for its stack but died before saving the id.
        if l.cluster.stack_id.is_none()
            && let Some(name) = recorded_stack_name(svc, uuid).await?
            && let Some(found) = session.heat.find_stack(&name).await?
        {
            session.heat.delete_stack(&found.name, &found.id).await?;
            deleting = true;
        }
    }
    if !deleting {
        // Nothing left in Heat: finish now (upstream: delete/success at once).
        finish(svc, uuid, op.row.auth_token.as_deref(), &op.context).await?;
    }
    Ok(())
}

async fn stack_ids(svc: &Services, l: &render::Loaded) -> Result<Vec<String>, OpError> {
    let _ = svc;
    let mut ids: Vec<String> = l
        .nodegroups
        .iter()
        .filter(|n| !n.is_default)
        .filter_map(|n| n.stack_id.clone())
        .collect();
    ids.extend(l.cluster.stack_id.clone());
    ids.dedup();
    Ok(ids)
}

async fn recorded_stack_name(svc: &Services, uuid: ClusterUuid) -> Result<Option<String>, OpError> {
    let ops = svc
        .db
        .run(move |c| pending_operation::list_for_cluster(c, uuid))
        .await?;
    Ok(ops
        .iter()
        .filter(|o| o.method == "cluster_create")
        .find_map(|o| {
            o.progress_json()
                .get("stack_name")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }))
}

/// The cluster's stacks are gone: delete its trust, trustee and certificates
/// (failures only logged, as upstream), then its rows; send delete/success.
pub async fn finish(
    svc: &Services,
    uuid: ClusterUuid,
    user_token: Option<&str>,
    context: &Map<String, Value>,
) -> Result<(), OpError> {
    let Some(l) = render::load(svc, uuid).await? else {
        return Ok(());
    };
    if let Err(e) = svc
        .trusts
        .delete(
            l.cluster.trust_id.as_deref(),
            l.cluster.trustee_user_id.as_deref(),
            user_token,
        )
        .await
    {
        tracing::warn!(cluster = %uuid, error = %e, "trust and trustee not deleted");
    }
    if let Err(e) = svc.certs.delete_for_cluster(uuid).await {
        tracing::warn!(cluster = %uuid, error = %e, "certificates not deleted");
    }
    let mut done = l.cluster.clone();
    done.status = ClusterStatus::DeleteComplete;
    svc.notify("delete", "success", &done, context).await;
    svc.db
        .run(move |c| {
            magnum_common::db::write_transaction(c, |tx| {
                cluster::destroy(tx, uuid)?;
                pending_operation::purge_cluster(tx, uuid)?;
                Ok::<(), OpError>(())
            })
        })
        .await?;
    tracing::info!(cluster = %uuid, "cluster deleted");
    Ok(())
}

/// DELETE_FAILED with the reason; delete/failure.
pub async fn fail(svc: &Services, op: &Op, reason: &str) -> Result<(), OpError> {
    let uuid = op.row.cluster_uuid;
    let reason = reason.to_owned();
    svc.db
        .run(move |c| {
            magnum_common::db::write_transaction(c, |tx| {
                let change = ClusterChange::new()
                    .status(ClusterStatus::DeleteFailed)
                    .status_reason(Some(reason.clone()));
                changes::update_cluster(tx, uuid, change)?;
                set_groups_status(tx, uuid, ClusterStatus::DeleteFailed, Some(reason))
            })
        })
        .await?;
    if let Some(l) = render::load(svc, uuid).await? {
        svc.notify("delete", "failure", &l.cluster, &op.context)
            .await;
    }
    Ok(())
}
