//! Cluster, node group and federation statuses and the rules built on them.
//!
//! Magnum has exactly eighteen cluster statuses (not a full action × phase
//! product). Handlers and the conductor ask these types what an operation is
//! allowed to do instead of comparing strings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The wire and database spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownValue(other.to_owned())),
                }
            }
        }
    };
}

/// A string that names none of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownValue(pub String);

string_enum!(
    /// The status of a cluster or node group, as Heat's `ACTION_STATUS`.
    ClusterStatus {
        CreateInProgress = "CREATE_IN_PROGRESS",
        CreateFailed = "CREATE_FAILED",
        CreateComplete = "CREATE_COMPLETE",
        UpdateInProgress = "UPDATE_IN_PROGRESS",
        UpdateFailed = "UPDATE_FAILED",
        UpdateComplete = "UPDATE_COMPLETE",
        DeleteInProgress = "DELETE_IN_PROGRESS",
        DeleteFailed = "DELETE_FAILED",
        DeleteComplete = "DELETE_COMPLETE",
        ResumeComplete = "RESUME_COMPLETE",
        ResumeFailed = "RESUME_FAILED",
        RestoreComplete = "RESTORE_COMPLETE",
        RollbackInProgress = "ROLLBACK_IN_PROGRESS",
        RollbackFailed = "ROLLBACK_FAILED",
        RollbackComplete = "ROLLBACK_COMPLETE",
        SnapshotComplete = "SNAPSHOT_COMPLETE",
        CheckComplete = "CHECK_COMPLETE",
        AdoptComplete = "ADOPT_COMPLETE",
    }
);

/// What a status says about the work on the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Something is being done to the object right now.
    InProgress,
    /// The last operation failed.
    Failed,
    /// The last operation finished.
    Complete,
}

/// A user-visible operation whose admissibility depends on the cluster status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterOp {
    /// PATCH of a cluster (node_count and health fields).
    Update,
    /// `actions/resize`: also allowed while a previous update runs or failed.
    Resize,
    /// `actions/upgrade`.
    Upgrade,
    /// Node group create and update on the cluster.
    NodeGroupChange,
    /// CA rotation.
    RotateCa,
    /// Delete: always admissible (upstream performs no pre-check).
    Delete,
}

impl ClusterStatus {
    /// The statuses upstream calls `STATUS_FAILED` (shown with `faults`).
    pub fn is_failed(self) -> bool {
        self.phase() == Phase::Failed
    }

    /// True while a create, update, delete or rollback runs.
    pub fn is_in_progress(self) -> bool {
        self.phase() == Phase::InProgress
    }

    /// The phase encoded in the status suffix.
    pub fn phase(self) -> Phase {
        let s = self.as_str();
        if s.ends_with("_IN_PROGRESS") {
            Phase::InProgress
        } else if s.ends_with("_FAILED") {
            Phase::Failed
        } else {
            Phase::Complete
        }
    }

    /// The "settled and healthy" statuses from which an update may start.
    fn is_update_allowed(self) -> bool {
        use ClusterStatus::*;
        matches!(
            self,
            CreateComplete
                | UpdateComplete
                | ResumeComplete
                | RestoreComplete
                | RollbackComplete
                | SnapshotComplete
                | CheckComplete
                | AdoptComplete
        )
    }

    /// Whether `op` may start while the cluster is in this status.
    pub fn allows(self, op: ClusterOp) -> bool {
        use ClusterStatus::*;
        match op {
            ClusterOp::Update | ClusterOp::Upgrade | ClusterOp::RotateCa => {
                self.is_update_allowed()
            }
            ClusterOp::Resize | ClusterOp::NodeGroupChange => {
                self.is_update_allowed() || matches!(self, UpdateInProgress | UpdateFailed)
            }
            ClusterOp::Delete => true,
        }
    }
}

string_enum!(
    /// Health of a cluster as seen through its COE API.
    HealthStatus {
        Healthy = "HEALTHY",
        Unhealthy = "UNHEALTHY",
        Unknown = "UNKNOWN",
    }
);

string_enum!(
    /// The status of a federation (a smaller set than clusters).
    FederationStatus {
        CreateInProgress = "CREATE_IN_PROGRESS",
        CreateFailed = "CREATE_FAILED",
        CreateComplete = "CREATE_COMPLETE",
        UpdateInProgress = "UPDATE_IN_PROGRESS",
        UpdateFailed = "UPDATE_FAILED",
        UpdateComplete = "UPDATE_COMPLETE",
        DeleteInProgress = "DELETE_IN_PROGRESS",
        DeleteFailed = "DELETE_FAILED",
        DeleteComplete = "DELETE_COMPLETE",
    }
);

string_enum!(
    /// Role of a node group.
    NodeGroupRoleKind {
        Master = "master",
        Worker = "worker",
    }
);

string_enum!(
    /// The container orchestration engine a template deploys.
    Coe {
        Kubernetes = "kubernetes",
        Swarm = "swarm",
        SwarmMode = "swarm-mode",
    }
);

impl Coe {
    /// Swarm and swarm-mode share validation rules and defaults.
    pub fn is_swarm(self) -> bool {
        matches!(self, Coe::Swarm | Coe::SwarmMode)
    }
}

string_enum!(
    /// Where cluster nodes run.
    ServerType {
        Vm = "vm",
        Bm = "bm",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighteen_statuses_round_trip() {
        assert_eq!(ClusterStatus::ALL.len(), 18);
        for s in ClusterStatus::ALL {
            assert_eq!(s.as_str().parse::<ClusterStatus>().unwrap(), *s);
        }
        assert!("CREATE".parse::<ClusterStatus>().is_err());
    }

    #[test]
    fn failed_set_matches_upstream() {
        let failed: Vec<_> = ClusterStatus::ALL
            .iter()
            .filter(|s| s.is_failed())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(
            failed,
            [
                "CREATE_FAILED",
                "UPDATE_FAILED",
                "DELETE_FAILED",
                "RESUME_FAILED",
                "ROLLBACK_FAILED"
            ]
        );
    }

    /// The whole status × operation table, so any change to the rules shows in review.
    #[test]
    fn admissibility_table() {
        let ops = [
            ClusterOp::Update,
            ClusterOp::Resize,
            ClusterOp::Upgrade,
            ClusterOp::NodeGroupChange,
            ClusterOp::RotateCa,
            ClusterOp::Delete,
        ];
        let mut table = String::new();
        for s in ClusterStatus::ALL {
            let row: Vec<&str> = ops
                .iter()
                .map(|op| if s.allows(*op) { "y" } else { "." })
                .collect();
            table.push_str(&format!("{:<22}{}\n", s.as_str(), row.join(" ")));
        }
        let expected = "\
CREATE_IN_PROGRESS    . . . . . y
CREATE_FAILED         . . . . . y
CREATE_COMPLETE       y y y y y y
UPDATE_IN_PROGRESS    . y . y . y
UPDATE_FAILED         . y . y . y
UPDATE_COMPLETE       y y y y y y
DELETE_IN_PROGRESS    . . . . . y
DELETE_FAILED         . . . . . y
DELETE_COMPLETE       . . . . . y
RESUME_COMPLETE       y y y y y y
RESUME_FAILED         . . . . . y
RESTORE_COMPLETE      y y y y y y
ROLLBACK_IN_PROGRESS  . . . . . y
ROLLBACK_FAILED       . . . . . y
ROLLBACK_COMPLETE     y y y y y y
SNAPSHOT_COMPLETE     y y y y y y
CHECK_COMPLETE        y y y y y y
ADOPT_COMPLETE        y y y y y y
";
        assert_eq!(table, expected);
    }
}
