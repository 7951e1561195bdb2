//! Node groups: admin_or_owner in 2023.1, project readers and members now;
//! administrators read across projects.

use super::{
    ADMIN_OR_OWNER, ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_PROJECT_READER, RuleDefault, action, admin,
};

const NODEGROUPS: &[(&str, &str)] = &[("GET", "/v1/clusters/{cluster_ident}/nodegroups")];
const NODEGROUP: &[(&str, &str)] =
    &[("GET", "/v1/clusters/{cluster_ident}/nodegroups/{nodegroup}")];

/// The rules of this section, in upstream's order.
pub(super) const RULES: &[RuleDefault] = &[
    // Node groups.
    action(
        "nodegroup:get",
        ADMIN_OR_PROJECT_READER,
        ADMIN_OR_OWNER,
        "Retrieve information about the given nodegroup.",
        NODEGROUP,
    ),
    action(
        "nodegroup:get_all",
        ADMIN_OR_PROJECT_READER,
        ADMIN_OR_OWNER,
        "Retrieve a list of nodegroups that belong to a cluster.",
        NODEGROUPS,
    ),
    admin(
        "nodegroup:get_all_all_projects",
        "Retrieve a list of nodegroups across projects.",
        NODEGROUPS,
    ),
    admin(
        "nodegroup:get_one_all_projects",
        "Retrieve information for a given nodegroup across projects.",
        NODEGROUP,
    ),
    action(
        "nodegroup:create",
        ADMIN_OR_PROJECT_MEMBER,
        ADMIN_OR_OWNER,
        "Create a new nodegroup.",
        &[("POST", "/v1/clusters/{cluster_ident}/nodegroups")],
    ),
    action(
        "nodegroup:delete",
        ADMIN_OR_PROJECT_MEMBER,
        ADMIN_OR_OWNER,
        "Delete a nodegroup.",
        &[(
            "DELETE",
            "/v1/clusters/{cluster_ident}/nodegroups/{nodegroup}",
        )],
    ),
    action(
        "nodegroup:update",
        ADMIN_OR_PROJECT_MEMBER,
        ADMIN_OR_OWNER,
        "Update an existing nodegroup.",
        &[(
            "PATCH",
            "/v1/clusters/{cluster_ident}/nodegroups/{nodegroup}",
        )],
    ),
];
