//! Certificates: signed for the cluster's creator, an administrator or the
//! cluster's trustee (its nodes), whose CA only a project member may rotate.

use super::{
    ADMIN_OR_OWNER, ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_USER_OR_CLUSTER_USER, RuleDefault, action,
};

/// The rules of this section, in upstream's order.
pub(super) const RULES: &[RuleDefault] = &[
    // Certificates.
    action(
        "certificate:create",
        "rule:admin_or_project_member_user or rule:cluster_user",
        ADMIN_OR_USER_OR_CLUSTER_USER,
        "Sign a new certificate by the CA.",
        &[("POST", "/v1/certificates")],
    ),
    action(
        "certificate:get",
        "rule:admin_or_project_reader_user or rule:cluster_user",
        ADMIN_OR_USER_OR_CLUSTER_USER,
        "Retrieve CA information about the given cluster.",
        &[("GET", "/v1/certificates/{cluster_uuid}")],
    ),
    action(
        "certificate:rotate_ca",
        ADMIN_OR_PROJECT_MEMBER,
        ADMIN_OR_OWNER,
        "Rotate the CA certificate on the given cluster.",
        &[("PATCH", "/v1/certificates/{cluster_uuid}")],
    ),
];
