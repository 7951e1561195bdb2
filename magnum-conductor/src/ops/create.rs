//! `cluster_create`: trustee and trust, certificates, then the Heat stack.
//!
//! Each step looks at what the cluster row already has, so a retry after a
//! crash continues where the last attempt stopped; the stack name is recorded
//! before the stack is asked for, so a create whose answer was lost is found by
//! name instead of being made twice.

use magnum_common::db::models::changes::{self, ClusterChange};
use magnum_common::openstack::heat::StackCreate;
use magnum_common::status::ClusterStatus;

use super::render::{self, Loaded};
use super::{Op, set_progress};
use crate::certs::pki;
use crate::error::OpError;
use crate::services::Services;
use crate::stack_name;

/// Tags on every stack Magnum makes (the status sync lists by them).
pub const STACK_TAG: &str = "magnum";

/// Runs (or continues) a cluster create.
pub async fn run(svc: &Services, op: &mut Op) -> Result<(), OpError> {
    let Some(mut l) = render::load(svc, op.row.cluster_uuid).await? else {
        return Ok(());
    };
    if l.cluster.status != ClusterStatus::CreateInProgress {
        // Deleted (or failed) before we got to it: nothing to create.
        return Ok(());
    }
    if !op.progress.contains_key("notified") {
        svc.notify("create", "pending", &l.cluster, &op.context)
            .await;
        op.progress.insert("notified".into(), true.into());
        set_progress(svc, op).await?;
    }
    ensure_trust(svc, op, &mut l).await?;
    if l.cluster.ca_cert_ref.is_none() {
        svc.certs.ensure_for_cluster(&l.cluster).await?;
        // Reload: the certificate references were just written.
        let Some(reloaded) = render::load(svc, op.row.cluster_uuid).await? else {
            return Ok(());
        };
        l = reloaded;
    }
    if l.cluster.stack_id.is_none() {
        create_stack(svc, op, &l).await?;
    }
    Ok(())
}

async fn ensure_trust(svc: &Services, op: &Op, l: &mut Loaded) -> Result<(), OpError> {
    let uuid = l.cluster.uuid;
    if l.cluster.trustee_user_id.is_none() {
        let t = svc
            .trusts
            .create_trustee(&uuid.to_string(), l.cluster.project_id.as_str())
            .await?;
        let change = ClusterChange::new().trustee(Some((
            t.username.clone(),
            t.user_id.clone(),
            t.password.clone(),
        )));
        svc.db
            .run(move |c| changes::update_cluster(c, uuid, change))
            .await?;
        l.cluster.trustee_username = Some(t.username);
        l.cluster.trustee_user_id = Some(t.user_id);
        l.cluster.trustee_password = Some(t.password);
    }
    if l.cluster.trust_id.is_none() {
        let token = op.row.auth_token.as_deref().ok_or_else(|| {
            OpError::Permanent(
                "The request carried no token to make the cluster's trust with.".to_owned(),
            )
        })?;
        let roles: Vec<String> = op
            .context
            .get("roles")
            .and_then(|r| serde_json::from_value(r.clone()).ok())
            .unwrap_or_default();
        let trust = svc
            .trusts
            .create_trust(
                token,
                l.cluster.user_id.as_str(),
                l.cluster.project_id.as_str(),
                l.cluster.trustee_user_id.as_deref().unwrap_or_default(),
                &roles,
            )
            .await?;
        let change = ClusterChange::new().trust_id(Some(trust.clone()));
        svc.db
            .run(move |c| changes::update_cluster(c, uuid, change))
            .await?;
        l.cluster.trust_id = Some(trust);
    }
    Ok(())
}

async fn create_stack(svc: &Services, op: &mut Op, l: &Loaded) -> Result<(), OpError> {
    let uuid = l.cluster.uuid;
    let session = svc.session(&l.cluster).await?;
    let (name, fresh) = match op.progress.get("stack_name").and_then(|v| v.as_str()) {
        Some(n) => (n.to_owned(), false),
        None => {
            let n = stack_name::cluster(l.cluster.name.as_deref().unwrap_or(&uuid.to_string()));
            op.progress.insert("stack_name".into(), n.clone().into());
            set_progress(svc, op).await?;
            (n, true)
        }
    };
    // A name made just now (random suffix) has no stack yet: only a retry looks it up.
    let found = if fresh {
        None
    } else {
        session.heat.find_stack(&name).await?
    };
    let stack_id = match found {
        Some(found) => found.id,
        None => {
            let master_count = l.default_group(true)?.node_count;
            let discovery = render::discovery_url(svc, l, master_count).await?;
            if !discovery.is_empty() && l.cluster.discovery_url.as_deref() != Some(&discovery) {
                let change = ClusterChange::new().discovery_url(Some(discovery.clone()));
                svc.db
                    .run(move |c| changes::update_cluster(c, uuid, change))
                    .await?;
            }
            let facts = render::cloud_facts(svc, &session, l).await?;
            let domain = svc.trusts.domain_id().await?;
            let keys =
                pki::service_account_keypair().map_err(|e| OpError::Permanent(e.to_string()))?;
            let inputs = render::inputs(svc, &session, l, None, facts, discovery, domain, keys)?;
            let driver = super::driver_for(svc, &l.template)?;
            let mut stack = driver.cluster_stack(&inputs)?;
            if l.cluster
                .labels
                .0
                .get("cert_manager_api")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
            {
                let ca = svc.certs.ca_key(&l.cluster).await?;
                crate::drivers::insert_ca_key(&mut stack, &ca);
            }
            let timeout = match l.cluster.create_timeout {
                Some(t) if t > 0 => i64::from(t),
                _ => svc.cfg.cluster_heat.create_timeout,
            };
            let created = session
                .heat
                .create_stack(&StackCreate {
                    name: name.clone(),
                    template: stack.template,
                    files: stack.files,
                    environment_files: stack.environment_files,
                    parameters: stack.parameters,
                    timeout_mins: Some(timeout),
                    disable_rollback: Some(true),
                    tags: Some(format!("{STACK_TAG},cluster-{uuid}")),
                })
                .await?;
            created.id
        }
    };
    tracing::info!(cluster = %uuid, stack = %stack_id, "stack created");
    svc.db
        .run(move |c| {
            magnum_common::db::write_transaction(c, |tx| {
                changes::update_cluster(
                    tx,
                    uuid,
                    ClusterChange::new().stack_id(Some(stack_id.clone())),
                )?;
                changes::set_default_nodegroups_stack(tx, uuid, &stack_id)?;
                Ok::<(), OpError>(())
            })
        })
        .await
}

/// Marks the cluster and its default groups CREATE_FAILED with `reason`.
pub async fn fail(svc: &Services, op: &Op, reason: &str) -> Result<(), OpError> {
    let uuid = op.row.cluster_uuid;
    let reason = reason.to_owned();
    let failed = svc
        .db
        .run(move |c| {
            magnum_common::db::write_transaction(c, |tx| {
                let applied = changes::update_cluster_if(
                    tx,
                    uuid,
                    ClusterStatus::CreateInProgress,
                    ClusterChange::new()
                        .status(ClusterStatus::CreateFailed)
                        .status_reason(Some(reason.clone())),
                )?;
                if applied {
                    super::set_groups_status(tx, uuid, ClusterStatus::CreateFailed, Some(reason))?;
                }
                Ok::<bool, OpError>(applied)
            })
        })
        .await?;
    if failed && let Some(l) = render::load(svc, uuid).await? {
        svc.notify("create", "failure", &l.cluster, &op.context)
            .await;
    }
    Ok(())
}
