//! From Heat stack statuses to node group statuses, and from node groups to the
//! cluster status (spec §2). Pure functions: the sync feeds them what it read.

use magnum_common::status::{ClusterStatus, Phase};

/// What Heat said about a node group's stack in this period.
#[derive(Debug, Clone, PartialEq)]
pub enum StackState {
    /// The stack exists: its `stack_status` and `stack_status_reason`.
    Found {
        /// Heat's status (`CREATE_COMPLETE`, …).
        status: String,
        /// Heat's reason.
        reason: String,
    },
    /// Not in the project's stack list (Heat lists no deleted stacks), or 404.
    Missing,
}

/// The new status of a node group given its stack's state; `None` to keep it.
pub fn nodegroup_status(
    current: ClusterStatus,
    stack_id: &str,
    stack: &StackState,
) -> Option<(ClusterStatus, Option<String>)> {
    match stack {
        StackState::Found { status, reason } => {
            // A status Magnum does not know (SUSPEND_*, …) leaves the group as it is.
            let status: ClusterStatus = status.parse().ok()?;
            if status == current {
                return None;
            }
            // Still listed: Heat has not finished the delete. It shows
            // DELETE_COMPLETE before it removes the stack's credentials and
            // row, and turns it DELETE_FAILED if that fails; the group is
            // deleted once the stack leaves the list (Missing).
            if status == ClusterStatus::DeleteComplete && current == ClusterStatus::DeleteInProgress
            {
                return None;
            }
            Some((status, (!reason.is_empty()).then(|| reason.clone())))
        }
        StackState::Missing => {
            let reason = Some(format!("Stack with id {stack_id} not found in Heat."));
            match current {
                ClusterStatus::DeleteInProgress => Some((ClusterStatus::DeleteComplete, None)),
                ClusterStatus::CreateInProgress => Some((ClusterStatus::CreateFailed, reason)),
                ClusterStatus::UpdateInProgress => Some((ClusterStatus::UpdateFailed, reason)),
                _ => None,
            }
        }
    }
}

/// A node group as the roll-up sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupStatus<'a> {
    /// Its name (for the failure summary).
    pub name: &'a str,
    /// One of the cluster's two default groups.
    pub is_default: bool,
    /// The default master group.
    pub is_master: bool,
    /// Its status.
    pub status: ClusterStatus,
    /// Its status reason (Heat's, when it failed).
    pub reason: Option<&'a str>,
}

/// The cluster status and reason from its node groups' (spec §2 "Aggregation"),
/// with one improvement: a failure's reason carries Heat's explanation rather
/// than only the failed groups' names.
pub fn cluster_status(
    previous: ClusterStatus,
    groups: &[GroupStatus<'_>],
) -> Option<(ClusterStatus, Option<String>)> {
    let master = groups.iter().find(|g| g.is_default && g.is_master)?;
    let status = if groups.iter().all(|g| g.is_default) {
        master.status
    } else {
        let action = if master.status.as_str().starts_with("DELETE") {
            "DELETE"
        } else if previous.as_str().starts_with("CREATE") {
            "CREATE"
        } else {
            "UPDATE"
        };
        let phases: Vec<Phase> = groups.iter().map(|g| g.status.phase()).collect();
        let suffix = if phases.contains(&Phase::InProgress) {
            "IN_PROGRESS"
        } else if phases.contains(&Phase::Failed) {
            "FAILED"
        } else {
            "COMPLETE"
        };
        format!("{action}_{suffix}").parse().ok()?
    };
    let reason = status.is_failed().then(|| failure_reason(groups));
    Some((status, reason))
}

fn failure_reason(groups: &[GroupStatus<'_>]) -> String {
    let failed: Vec<&GroupStatus<'_>> = groups.iter().filter(|g| g.status.is_failed()).collect();
    let reasons: Vec<&str> = failed.iter().filter_map(|g| g.reason).collect();
    // The default groups share the cluster stack, so they share one reason.
    if failed.iter().all(|g| g.is_default)
        && let Some(first) = reasons.first()
        && reasons.iter().all(|r| r == first)
    {
        return (*first).to_owned();
    }
    failed
        .iter()
        .map(|g| match g.reason {
            Some(r) => format!("{} failed: {r}", g.name),
            None => format!("{} failed", g.name),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The notification action and outcome for a cluster that reached `status`
/// (spec §8), or `None` while it is still in progress.
pub fn notification_for(status: ClusterStatus) -> Option<(&'static str, bool)> {
    let action = match status.as_str().split('_').next() {
        Some("CREATE") => "create",
        Some("DELETE") => "delete",
        Some("UPDATE" | "ROLLBACK") => "update",
        _ => return None,
    };
    match status.phase() {
        Phase::InProgress => None,
        Phase::Failed => Some((action, false)),
        Phase::Complete => Some((action, true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ClusterStatus::*;

    fn g(name: &str, default: bool, master: bool, status: ClusterStatus) -> GroupStatus<'_> {
        GroupStatus {
            name,
            is_default: default,
            is_master: master,
            status,
            reason: None,
        }
    }

    fn found(s: &str, r: &str) -> StackState {
        StackState::Found {
            status: s.to_owned(),
            reason: r.to_owned(),
        }
    }

    #[test]
    fn stack_status_is_copied_with_heat_reason() {
        assert_eq!(
            nodegroup_status(
                CreateInProgress,
                "s",
                &found("CREATE_COMPLETE", "Stack CREATE completed successfully")
            ),
            Some((
                CreateComplete,
                Some("Stack CREATE completed successfully".to_owned())
            ))
        );
        // Unchanged and not failed: nothing to write.
        assert_eq!(
            nodegroup_status(CreateInProgress, "s", &found("CREATE_IN_PROGRESS", "")),
            None
        );
        // A status Magnum does not have is ignored.
        assert_eq!(
            nodegroup_status(CreateInProgress, "s", &found("SUSPEND_COMPLETE", "")),
            None
        );
    }

    #[test]
    fn a_listed_delete_complete_stack_is_not_gone_yet() {
        // Heat lists it DELETE_COMPLETE while it still deletes its credentials.
        assert_eq!(
            nodegroup_status(DeleteInProgress, "s", &found("DELETE_COMPLETE", "")),
            None
        );
        // ... and may yet fail that: the failure is taken.
        assert_eq!(
            nodegroup_status(DeleteInProgress, "s", &found("DELETE_FAILED", "403")),
            Some((DeleteFailed, Some("403".to_owned())))
        );
        // Gone from the list: deleted.
        assert_eq!(
            nodegroup_status(DeleteInProgress, "s", &StackState::Missing),
            Some((DeleteComplete, None))
        );
    }

    #[test]
    fn missing_stack_follows_the_status() {
        let reason = Some("Stack with id s1 not found in Heat.".to_owned());
        assert_eq!(
            nodegroup_status(DeleteInProgress, "s1", &StackState::Missing),
            Some((DeleteComplete, None))
        );
        assert_eq!(
            nodegroup_status(CreateInProgress, "s1", &StackState::Missing),
            Some((CreateFailed, reason.clone()))
        );
        assert_eq!(
            nodegroup_status(UpdateInProgress, "s1", &StackState::Missing),
            Some((UpdateFailed, reason))
        );
        assert_eq!(
            nodegroup_status(CreateComplete, "s1", &StackState::Missing),
            None
        );
    }

    #[test]
    fn default_groups_only_take_the_master_status() {
        let mut m = g("default-master", true, true, CreateFailed);
        m.reason = Some("Resource CREATE failed: kube_masters: quota exceeded");
        let mut w = g("default-worker", true, false, CreateFailed);
        w.reason = m.reason;
        assert_eq!(
            cluster_status(CreateInProgress, &[m, w]),
            Some((
                CreateFailed,
                Some("Resource CREATE failed: kube_masters: quota exceeded".to_owned())
            ))
        );
        let ok = [
            g("default-master", true, true, CreateComplete),
            g("default-worker", true, false, CreateComplete),
        ];
        assert_eq!(
            cluster_status(CreateInProgress, &ok),
            Some((CreateComplete, None))
        );
    }

    #[test]
    fn extra_groups_use_action_and_suffix_priority() {
        let groups = [
            g("default-master", true, true, UpdateComplete),
            g("default-worker", true, false, UpdateComplete),
            g("gpu", false, false, CreateInProgress),
        ];
        assert_eq!(
            cluster_status(UpdateComplete, &groups).map(|s| s.0),
            Some(UpdateInProgress)
        );
        let mut gpu = g("gpu", false, false, CreateFailed);
        gpu.reason = Some("no valid host");
        let groups = [
            g("default-master", true, true, CreateComplete),
            g("default-worker", true, false, CreateComplete),
            gpu,
        ];
        assert_eq!(
            cluster_status(UpdateInProgress, &groups),
            Some((UpdateFailed, Some("gpu failed: no valid host".to_owned())))
        );
        // CREATE_COMPLETE reads UPDATE_COMPLETE unless the cluster was being created.
        let done = [
            g("default-master", true, true, CreateComplete),
            g("default-worker", true, false, CreateComplete),
            g("gpu", false, false, CreateComplete),
        ];
        assert_eq!(
            cluster_status(UpdateInProgress, &done).map(|s| s.0),
            Some(UpdateComplete)
        );
        assert_eq!(
            cluster_status(CreateInProgress, &done).map(|s| s.0),
            Some(CreateComplete)
        );
        // Deleting: the action follows the default group.
        let del = [
            g("default-master", true, true, DeleteInProgress),
            g("default-worker", true, false, DeleteInProgress),
            g("gpu", false, false, DeleteComplete),
        ];
        assert_eq!(
            cluster_status(UpdateComplete, &del).map(|s| s.0),
            Some(DeleteInProgress)
        );
    }

    #[test]
    fn notifications_map_status_to_action_and_outcome() {
        assert_eq!(notification_for(CreateComplete), Some(("create", true)));
        assert_eq!(notification_for(CreateFailed), Some(("create", false)));
        assert_eq!(notification_for(RollbackComplete), Some(("update", true)));
        assert_eq!(notification_for(DeleteComplete), Some(("delete", true)));
        assert_eq!(notification_for(UpdateInProgress), None);
        assert_eq!(notification_for(CheckComplete), None);
    }
}
