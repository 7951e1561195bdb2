//! `nodegroup_create`, `nodegroup_update`, `nodegroup_delete`: a non-default
//! node group is a stack of its own that joins the cluster stack's network,
//! security group and master.

use magnum_common::db::models::changes::{self, NodeGroupChange};
use magnum_common::db::models::nodegroup::{self, NodeGroup};
use magnum_common::openstack::heat::{HeatClient, StackCreate, StackPatch, StackRef};
use magnum_common::status::ClusterStatus;
use serde_json::Value;

use super::create::STACK_TAG;
use super::{Op, delete_listed_stack, render, set_progress, stack_by_id};
use crate::certs::pki;
use crate::drivers::{Driver, ExistingCluster};
use crate::error::OpError;
use crate::services::Services;
use crate::stack_name;

fn group(l: &render::Loaded, op: &Op) -> Option<NodeGroup> {
    let uuid = op.nodegroup()?.to_string();
    l.group(&uuid).cloned()
}

/// What a node group stack needs from the cluster stack.
async fn existing(
    heat: &HeatClient,
    cluster_stack: &StackRef,
    driver: &dyn Driver,
) -> Result<ExistingCluster, OpError> {
    let attr = |r: &magnum_common::openstack::heat::Resource, k: &str| {
        r.attributes
            .as_ref()
            .and_then(|a| a.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let network = heat
        .resource(&cluster_stack.name, &cluster_stack.id, "network")
        .await?;
    let sg = heat
        .resource(
            &cluster_stack.name,
            &cluster_stack.id,
            driver.worker_security_group_resource(),
        )
        .await?;
    let stack = match heat
        .get_stack(&cluster_stack.name, &cluster_stack.id, true)
        .await?
    {
        magnum_common::openstack::heat::StackLookup::Found(s) => s,
        magnum_common::openstack::heat::StackLookup::Gone => {
            return Err(OpError::Permanent(format!(
                "Stack with id {} not found in Heat.",
                cluster_stack.id
            )));
        }
    };
    let master = ["kube_masters_private", "swarm_primary_master_private"]
        .iter()
        .find_map(|k| stack.output(k))
        .and_then(|v| match v {
            Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_owned),
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_default();
    Ok(ExistingCluster {
        master_private_ip: master,
        security_group: sg.physical_resource_id.unwrap_or_default(),
        fixed_network: attr(&network, "fixed_network"),
        fixed_subnet: attr(&network, "fixed_subnet"),
    })
}

/// Creates the node group's stack.
pub async fn create(svc: &Services, op: &mut Op) -> Result<(), OpError> {
    let Some(l) = render::load(svc, op.row.cluster_uuid).await? else {
        return Ok(());
    };
    let Some(ng) = group(&l, op) else {
        return Ok(());
    };
    if ng.status != ClusterStatus::CreateInProgress || ng.stack_id.is_some() {
        return Ok(());
    }
    let session = svc.session(&l.cluster).await?;
    let name = match op.progress.get("stack_name").and_then(Value::as_str) {
        Some(n) => n.to_owned(),
        None => {
            let cluster_name = l
                .cluster
                .name
                .clone()
                .unwrap_or_else(|| l.cluster.uuid.to_string());
            let n = stack_name::nodegroup(&cluster_name, &ng.name);
            op.progress.insert("stack_name".into(), n.clone().into());
            set_progress(svc, op).await?;
            n
        }
    };
    let stack_id = match session.heat.find_stack(&name).await? {
        Some(found) => found.id,
        None => {
            let driver = super::driver_for(svc, &l.template)?;
            let cluster_stack_id = l.cluster.stack_id.clone().ok_or_else(|| {
                OpError::Permanent("The cluster has no stack to join.".to_owned())
            })?;
            let cluster_stack = stack_by_id(&session.heat, &cluster_stack_id)
                .await?
                .ok_or_else(|| {
                    OpError::Permanent(format!(
                        "Stack with id {cluster_stack_id} not found in Heat."
                    ))
                })?;
            let joined = existing(&session.heat, &cluster_stack, driver).await?;
            let facts = render::cloud_facts(svc, &session, &l).await?;
            let domain = svc.trusts.domain_id().await?;
            let keys =
                pki::service_account_keypair().map_err(|e| OpError::Permanent(e.to_string()))?;
            let discovery = l.cluster.discovery_url.clone().unwrap_or_default();
            let mut inputs =
                render::inputs(svc, &session, &l, Some(&ng), facts, discovery, domain, keys)?;
            inputs.existing = Some(joined);
            let stack = driver.nodegroup_stack(&inputs)?;
            let timeout = svc.cfg.cluster_heat.create_timeout;
            session
                .heat
                .create_stack(&StackCreate {
                    name,
                    template: stack.template,
                    files: stack.files,
                    environment_files: stack.environment_files,
                    parameters: stack.parameters,
                    timeout_mins: Some(timeout),
                    disable_rollback: Some(true),
                    tags: Some(format!(
                        "{STACK_TAG},cluster-{},nodegroup-{}",
                        l.cluster.uuid, ng.uuid
                    )),
                })
                .await?
                .id
        }
    };
    let ng_uuid = ng.uuid;
    svc.db
        .run(move |c| {
            changes::update_nodegroup(c, ng_uuid, NodeGroupChange::new().stack_id(Some(stack_id)))
        })
        .await?;
    Ok(())
}

/// PATCHes the node group's stack to its node count.
pub async fn update(svc: &Services, op: &mut Op) -> Result<(), OpError> {
    let Some(l) = render::load(svc, op.row.cluster_uuid).await? else {
        return Ok(());
    };
    let Some(ng) = group(&l, op) else {
        return Ok(());
    };
    if ng.status != ClusterStatus::UpdateInProgress {
        return Ok(());
    }
    let stack_id = ng
        .stack_id
        .clone()
        .or_else(|| {
            if ng.is_default {
                l.cluster.stack_id.clone()
            } else {
                None
            }
        })
        .ok_or_else(|| OpError::Permanent(format!("Node group {} has no stack.", ng.name)))?;
    let session = svc.session(&l.cluster).await?;
    let stack = stack_by_id(&session.heat, &stack_id)
        .await?
        .ok_or_else(|| {
            OpError::Permanent(format!("Stack with id {stack_id} not found in Heat."))
        })?;
    let driver = super::driver_for(svc, &l.template)?;
    let patch = StackPatch {
        parameters: driver.scale_parameters(&ng, ng.node_count, &[]),
        disable_rollback: Some(true),
        ..StackPatch::default()
    };
    session
        .heat
        .patch_stack(&stack.name, &stack.id, &patch)
        .await?;
    Ok(())
}

/// Deletes the node group's stack (or, without one, the row at once).
pub async fn delete(svc: &Services, op: &mut Op) -> Result<(), OpError> {
    let Some(l) = render::load(svc, op.row.cluster_uuid).await? else {
        return Ok(());
    };
    let Some(ng) = group(&l, op) else {
        return Ok(());
    };
    let mut gone = true;
    if let Some(id) = ng.stack_id.as_deref() {
        let session = svc.session(&l.cluster).await?;
        // a group's nodes leave the cluster first (drained), as a resize's do
        if !op.progress.contains_key("drained") {
            if let Some(stack) = super::stack_by_id(&session.heat, id).await? {
                if l.template.coe.is_swarm() {
                    let hostnames = crate::swarm::stack_hostnames(svc, &session, &stack.name).await;
                    crate::swarm::remove_nodes(svc, &l.cluster, &hostnames).await;
                } else {
                    let names = crate::kube::stack_nodes(svc, &session, &stack.name).await;
                    crate::kube::remove_nodes(svc, &l.cluster, &names).await;
                }
            }
            op.progress.insert("drained".into(), true.into());
            super::set_progress(svc, op).await?;
        }
        gone = !delete_listed_stack(&session.heat, id).await?;
    }
    let ng_id = ng.id;
    let ng_uuid = ng.uuid;
    svc.db
        .run(move |c| {
            if gone {
                nodegroup::destroy(c, ng_id).map(drop)
            } else {
                changes::update_nodegroup(
                    c,
                    ng_uuid,
                    NodeGroupChange::new().status(ClusterStatus::DeleteInProgress, None),
                )
                .map(drop)
            }
        })
        .await?;
    Ok(())
}
