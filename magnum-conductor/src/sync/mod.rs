//! The periodic status sync (spec §2): clusters with work in progress are
//! compared with their stacks and their statuses, addresses and versions
//! brought up to date.
//!
//! Upstream asks Heat for each stack, every 10 s. Here one list call per
//! project covers every stack of the project (they carry the `magnum` tag);
//! only a stack that just finished is fetched again, for its outputs. One
//! conductor at a time runs the sync (it holds the `sync` lease); a cluster with
//! an operation pending, or one that just finished, is left for the next
//! period, and every write is conditional on the cluster not having changed
//! since it was read, so the sync never overwrites what the API or an
//! operation just wrote.

mod cluster;
mod nodes;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use magnum_common::db::models::cluster::{self as cluster_rows, Cluster};
use magnum_common::db::models::nodegroup::{self, NodeGroup};
use magnum_common::db::models::{cluster_lease, pending_operation};
use magnum_common::openstack::heat::{HeatError, StackListQuery, StackSummary};
use magnum_common::status::ClusterStatus;

use crate::error::OpError;
use crate::ops::create::STACK_TAG;
use crate::services::Services;

/// The lease key of the sync job.
pub const SYNC_LEASE: &str = "sync";

/// What one period did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Whether this conductor ran the sync (it held the `sync` lease).
    pub leader: bool,
    /// Clusters looked at.
    pub clusters: usize,
    /// Heat list calls made.
    pub list_calls: usize,
    /// Other Heat calls made (outputs and failure reasons of finished stacks).
    pub other_calls: usize,
    /// Clusters whose status changed.
    pub changed: usize,
}

/// The statuses the sync follows.
pub const IN_PROGRESS: &[ClusterStatus] = &[
    ClusterStatus::CreateInProgress,
    ClusterStatus::UpdateInProgress,
    ClusterStatus::DeleteInProgress,
    ClusterStatus::RollbackInProgress,
];

/// Runs one period of the sync (if this conductor leads it).
pub async fn run_once(svc: &Services, period: Duration) -> Result<Report, OpError> {
    let owner = svc.owner.clone();
    let lease = chrono::Duration::from_std(period * 3).unwrap_or(chrono::Duration::seconds(30));
    let leader = svc
        .db
        .run(move |c| {
            cluster_lease::acquire_key(c, SYNC_LEASE, &owner, magnum_common::db::now(), lease)
        })
        .await?;
    let mut report = Report {
        leader,
        ..Report::default()
    };
    if !leader {
        return Ok(report);
    }
    let (clusters, mut groups) = svc
        .db
        .run(|c| {
            let settled_since = magnum_common::db::now() - chrono::Duration::seconds(3);
            let active = pending_operation::clusters_active_since(c, settled_since)?;
            let clusters: Vec<Cluster> = cluster_rows::list_in_statuses(c, IN_PROGRESS)?
                .into_iter()
                .filter(|cl| !active.contains(&cl.uuid))
                .collect();
            let uuids: Vec<_> = clusters.iter().map(|cl| cl.uuid).collect();
            let mut groups: HashMap<_, Vec<NodeGroup>> = HashMap::new();
            for chunk in uuids.chunks(500) {
                for ng in nodegroup::list_for_clusters(c, chunk)? {
                    groups.entry(ng.cluster_id).or_default().push(ng);
                }
            }
            Ok::<_, OpError>((clusters, groups))
        })
        .await?;
    report.clusters = clusters.len();
    let mut by_project: BTreeMap<String, Vec<Cluster>> = BTreeMap::new();
    for c in clusters {
        if cluster::timed_out(svc, &c) {
            cluster::fail_timeout(svc, &c).await?;
            report.changed += 1;
            continue;
        }
        by_project
            .entry(c.project_id.as_str().to_owned())
            .or_default()
            .push(c);
    }
    for (project, clusters) in by_project {
        let Some((session, stacks)) = list_project(svc, &clusters, &mut report).await else {
            tracing::debug!(%project, "no trust to list the project's stacks with");
            continue;
        };
        report.changed += nodes::check(svc, &session, &clusters, &groups, &stacks).await?;
        for c in &clusters {
            let ngs = groups.remove(&c.uuid).unwrap_or_default();
            match cluster::sync(svc, &session.heat, c, ngs, &stacks, &mut report).await {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(cluster = %c.uuid, error = %e, "status sync of the cluster failed")
                }
            }
        }
    }
    Ok(report)
}

/// Lists the project's Magnum stacks with the first cluster trust that works.
async fn list_project(
    svc: &Services,
    clusters: &[Cluster],
    report: &mut Report,
) -> Option<(
    crate::services::ClusterSession,
    HashMap<String, StackSummary>,
)> {
    for c in clusters.iter().filter(|c| c.trust_id.is_some()) {
        let session = match svc.session(c).await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(cluster = %c.uuid, error = %e, "no session with this cluster's trust");
                continue;
            }
        };
        report.list_calls += 1;
        let query = StackListQuery {
            tags: Some(STACK_TAG.to_owned()),
            ..StackListQuery::default()
        };
        match session.heat.list_stacks(&query).await {
            Ok(list) => {
                let stacks = list.into_iter().map(|s| (s.id.clone(), s)).collect();
                return Some((session, stacks));
            }
            Err(e) => {
                tracing::warn!(project = %c.project_id.as_str(), error = %e, "Heat stack list failed; retrying next period");
                if matches!(e, HeatError::Unauthorized) {
                    svc.trusts
                        .forget_trust_token(c.trust_id.as_deref().unwrap_or_default())
                        .await;
                }
                return None;
            }
        }
    }
    None
}
