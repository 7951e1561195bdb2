//! `rotate_ca_certificate` and `credential_rotate`: the new CAs (made when the
//! call was accepted) or a new trustee password reach the nodes by a PATCH of
//! the cluster stack.

use magnum_common::db::models::changes::{self, ClusterChange};
use magnum_common::openstack::heat::StackPatch;
use magnum_common::status::ClusterStatus;
use serde_json::{Map, Value};

use super::{Op, render, stack_by_id};
use crate::error::OpError;
use crate::services::Services;

async fn patch_cluster_stack(
    svc: &Services,
    op: &mut Op,
    parameters: Map<String, Value>,
) -> Result<(), OpError> {
    let Some(l) = render::load(svc, op.row.cluster_uuid).await? else {
        return Ok(());
    };
    if l.cluster.status != ClusterStatus::UpdateInProgress {
        return Ok(());
    }
    let stack_id = l
        .cluster
        .stack_id
        .clone()
        .ok_or_else(|| OpError::Permanent("The cluster has no stack.".to_owned()))?;
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
    Ok(())
}

/// Tells the nodes to fetch the new CAs (`ca_rotation_id` changes).
pub async fn ca(svc: &Services, op: &mut Op) -> Result<(), OpError> {
    let mut p = Map::new();
    p.insert(
        "ca_rotation_id".into(),
        Value::from(op.row.uuid.to_string()),
    );
    patch_cluster_stack(svc, op, p).await
}

/// Gives the trustee a new password and the nodes with it.
pub async fn credential(svc: &Services, op: &mut Op) -> Result<(), OpError> {
    let Some(l) = render::load(svc, op.row.cluster_uuid).await? else {
        return Ok(());
    };
    let password = match op.progress.get("password").and_then(Value::as_str) {
        Some(_) => l.cluster.trustee_password.clone().unwrap_or_default(),
        None => {
            let user = l
                .cluster
                .trustee_user_id
                .clone()
                .ok_or_else(|| OpError::Permanent("The cluster has no trustee.".to_owned()))?;
            let password = svc.trusts.set_password(&user).await?;
            // Keystone revokes the trustee's tokens with the old password.
            if let Some(trust) = l.cluster.trust_id.as_deref() {
                svc.trusts.forget_trust_token(trust).await;
            }
            let uuid = l.cluster.uuid;
            let change = ClusterChange::new().trustee_password(password.clone());
            svc.db
                .run(move |c| changes::update_cluster(c, uuid, change))
                .await?;
            op.progress.insert("password".into(), "rotated".into());
            super::set_progress(svc, op).await?;
            password
        }
    };
    // a Kubernetes cluster's nodes read it from the cluster (their user data does not change)
    if !l.template.coe.is_swarm() {
        crate::kube::store_trustee_password(svc, &l.cluster, &password).await;
    }
    let mut p = Map::new();
    p.insert("trustee_password".into(), Value::from(password));
    patch_cluster_stack(svc, op, p).await
}
