//! Credentials: rotating a cluster's credential (not in 2023.1).

use super::{RuleDefault, action};

/// The rules of this section, in upstream's order.
pub(super) const RULES: &[RuleDefault] = &[
    // Credentials (not in 2023.1; the legacy rule mirrors upstream's deprecated
    // admin_or_owner, still denying trustees).
    action(
        "credential:rotate",
        "rule:project_member_deny_cluster_user",
        "(rule:admin_or_owner) and (rule:deny_cluster_user)",
        "Rotate the credential of a cluster.",
        &[("PATCH", "/v1/credentials/{cluster_uuid}")],
    ),
];
