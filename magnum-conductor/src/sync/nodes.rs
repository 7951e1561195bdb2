//! Nodes that die while their cluster is being built or scaled. Heat cannot see it: a server
//! that stops after it became ACTIVE leaves its wait condition waiting until the stack times
//! out (an hour by default). So, once per period and project, the sync asks Nova for the
//! project's servers; a server of a cluster in progress (its name starts with the name of one
//! of the cluster's stacks) that is SHUTOFF or ERROR fails the cluster at once, with the last
//! lines of the node's console in `status_reason`, and Heat is told to stop waiting.

use std::collections::HashMap;

use magnum_common::db::models::changes::{self, ClusterChange, NodeGroupChange};
use magnum_common::db::models::cluster::Cluster;
use magnum_common::db::models::nodegroup::NodeGroup;
use magnum_common::openstack::cloud::{CloudClient, Server};
use magnum_common::openstack::heat::StackSummary;
use magnum_common::status::ClusterStatus;

use crate::error::OpError;
use crate::services::{ClusterSession, Services};

/// Console lines quoted in the reason.
const CONSOLE_LINES: u32 = 12;
/// At most this much of the console goes into the reason.
const CONSOLE_CHARS: usize = 1500;

/// Nova statuses of a node that will not signal any more.
fn dead(status: &str) -> bool {
    matches!(
        status,
        "SHUTOFF" | "ERROR" | "DELETED" | "SHELVED" | "SHELVED_OFFLOADED"
    )
}

/// The failed status for a cluster in progress (None: not watched).
fn failed_status(c: &Cluster) -> Option<ClusterStatus> {
    match c.status {
        ClusterStatus::CreateInProgress => Some(ClusterStatus::CreateFailed),
        ClusterStatus::UpdateInProgress => Some(ClusterStatus::UpdateFailed),
        _ => None,
    }
}

/// A console, made readable for a one-line reason: escape sequences and control characters
/// out, blank lines dropped, the end kept.
pub fn console_tail(raw: &str) -> String {
    let mut clean = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '\u{1b}' {
            // CSI: ESC [ ... final byte in @..~
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        if ch == '\n' || !ch.is_control() {
            clean.push(ch);
        }
    }
    let lines: Vec<&str> = clean
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let joined = lines.join(" | ");
    let start = joined
        .char_indices()
        .rev()
        .nth(CONSOLE_CHARS)
        .map_or(0, |(i, _)| i);
    joined[start..].to_owned()
}

/// Fails the clusters in progress of one project whose nodes died. Returns how many.
pub async fn check(
    svc: &Services,
    session: &ClusterSession,
    clusters: &[Cluster],
    groups: &HashMap<magnum_common::ids::ClusterUuid, Vec<NodeGroup>>,
    stacks: &HashMap<String, StackSummary>,
) -> Result<usize, OpError> {
    let watched: Vec<&Cluster> = clusters
        .iter()
        .filter(|c| failed_status(c).is_some())
        .collect();
    if watched.is_empty() {
        return Ok(0);
    }
    let catalog = &session.token.info.catalog;
    if !catalog.has("compute") {
        return Ok(0);
    }
    let cloud = CloudClient::new(&svc.http, catalog, &session.token.token, &svc.endpoints);
    let servers = match cloud.servers(&[]).await {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(error = %e, "Nova's server list failed; nodes are checked next period");
            return Ok(0);
        }
    };
    let mut failed = 0;
    for c in watched {
        let stack_names: Vec<&str> = c
            .stack_id
            .iter()
            .chain(
                groups
                    .get(&c.uuid)
                    .into_iter()
                    .flatten()
                    .filter_map(|g| g.stack_id.as_ref()),
            )
            .filter_map(|id| stacks.get(id))
            .filter(|s| s.stack_status.ends_with("IN_PROGRESS"))
            .map(|s| s.stack_name.as_str())
            .collect();
        let dead_node: Option<&Server> = servers.iter().find(|s| {
            dead(&s.status)
                && stack_names
                    .iter()
                    .any(|n| s.name.starts_with(&format!("{n}-")))
        });
        let Some(node) = dead_node else { continue };
        // a node of a non-default group's stack fails that group too
        let owner = groups.get(&c.uuid).into_iter().flatten().find(|g| {
            !g.is_default
                && g.stack_id
                    .as_ref()
                    .and_then(|id| stacks.get(id))
                    .is_some_and(|s| node.name.starts_with(&format!("{}-", s.stack_name)))
        });
        let console = match cloud.console_output(&node.id, CONSOLE_LINES).await {
            Ok(Some(out)) => console_tail(&out),
            Ok(None) => String::new(),
            Err(e) => format!("(its console could not be read: {e})"),
        };
        let reason = format!(
            "Node {} ({}) is {} while the cluster is {}: it will not finish its bootstrap. Last lines of its console: {}",
            node.name,
            node.id,
            node.status,
            c.status.as_str(),
            if console.is_empty() {
                "(empty)"
            } else {
                &console
            }
        );
        if fail(svc, c, owner, &reason).await? {
            failed += 1;
            // Heat would wait for the node's signal until the stack times out
            for id in c.stack_id.iter().chain(
                groups
                    .get(&c.uuid)
                    .into_iter()
                    .flatten()
                    .filter_map(|g| g.stack_id.as_ref()),
            ) {
                if let Some(s) = stacks
                    .get(id)
                    .filter(|s| s.stack_status.ends_with("IN_PROGRESS"))
                    && let Err(e) = session
                        .heat
                        .cancel_without_rollback(&s.stack_name, &s.id)
                        .await
                {
                    tracing::warn!(cluster = %c.uuid, stack = %s.stack_name, error = %e, "could not stop the stack");
                }
            }
        }
    }
    Ok(failed)
}

/// The group's own failed status, when it is in progress.
fn group_failed_status(g: &NodeGroup) -> Option<ClusterStatus> {
    match g.status {
        ClusterStatus::CreateInProgress => Some(ClusterStatus::CreateFailed),
        ClusterStatus::UpdateInProgress => Some(ClusterStatus::UpdateFailed),
        _ => None,
    }
}

/// The cluster, its default groups and the group `owner` of the dead node FAILED with
/// `reason` (unless the cluster changed meanwhile).
async fn fail(
    svc: &Services,
    c: &Cluster,
    owner: Option<&NodeGroup>,
    reason: &str,
) -> Result<bool, OpError> {
    let Some(status) = failed_status(c) else {
        return Ok(false);
    };
    let owner = owner.and_then(|g| group_failed_status(g).map(|s| (g.uuid, s)));
    let (uuid, read_at, r) = (c.uuid, c.updated_at, reason.to_owned());
    let applied = svc
        .db
        .run(move |conn| {
            magnum_common::db::write_transaction(conn, |tx| {
                let change = ClusterChange::new()
                    .status(status)
                    .status_reason(Some(r.clone()));
                if !changes::update_cluster_if_unchanged(tx, uuid, read_at, change)? {
                    return Ok(false);
                }
                crate::ops::set_groups_status(tx, uuid, status, Some(r.clone()))?;
                if let Some((ng, ng_status)) = owner {
                    changes::update_nodegroup(
                        tx,
                        ng,
                        NodeGroupChange::new().status(ng_status, Some(r)),
                    )?;
                }
                Ok::<bool, OpError>(true)
            })
        })
        .await?;
    if applied {
        tracing::warn!(cluster = %uuid, "{reason}");
        let mut failed = c.clone();
        failed.status = status;
        failed.status_reason = Some(reason.to_owned());
        let action = if status == ClusterStatus::CreateFailed {
            "create"
        } else {
            "update"
        };
        svc.notify(action, "failure", &failed, &super::cluster::context_of(c))
            .await;
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consoles_lose_escapes_and_keep_their_end() {
        let raw = "\u{1b}[0;32m  OK  \u{1b}[0m] Started x.\r\n\n[  1.2] cloud-init[9]: boom\r\n";
        assert_eq!(
            console_tail(raw),
            "OK  ] Started x. | [  1.2] cloud-init[9]: boom"
        );
        let long = "x".repeat(5000);
        assert_eq!(console_tail(&long).len(), CONSOLE_CHARS + 1);
    }

    #[test]
    fn only_stopped_or_broken_nodes_count() {
        assert!(dead("SHUTOFF") && dead("ERROR"));
        assert!(!dead("ACTIVE") && !dead("BUILD") && !dead("REBOOT"));
    }
}
