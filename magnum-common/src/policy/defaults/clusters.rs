//! Clusters: project readers read, members change, administrators act across
//! projects; the cluster's trustee may only report its health.

use super::{
    ADMIN_OR_USER_OR_CLUSTER_USER, DENY_CLUSTER_USER, MEMBER_DENY_CLUSTER_USER,
    READER_DENY_CLUSTER_USER, RuleDefault, action, admin,
};

const CLUSTERS: &[(&str, &str)] = &[("GET", "/v1/clusters")];
const CLUSTER: &[(&str, &str)] = &[("GET", "/v1/clusters/{cluster_ident}")];
const CLUSTER_PATCH: &[(&str, &str)] = &[("PATCH", "/v1/clusters/{cluster_ident}")];
const CLUSTER_DELETE: &[(&str, &str)] = &[("DELETE", "/v1/clusters/{cluster_ident}")];
const CLUSTER_UPGRADE: &[(&str, &str)] =
    &[("POST", "/v1/clusters/{cluster_ident}/actions/upgrade")];

/// The rules of this section, in upstream's order.
pub(super) const RULES: &[RuleDefault] = &[
    // Clusters.
    action(
        "cluster:create",
        MEMBER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Create a new cluster.",
        &[("POST", "/v1/clusters")],
    ),
    action(
        "cluster:delete",
        MEMBER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Delete a cluster.",
        CLUSTER_DELETE,
    ),
    admin(
        "cluster:delete_all_projects",
        "Delete a cluster from any project.",
        CLUSTER_DELETE,
    ),
    action(
        "cluster:detail",
        READER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Retrieve a list of clusters with detail.",
        CLUSTERS,
    ),
    admin(
        "cluster:detail_all_projects",
        "Retrieve a list of clusters with detail across projects.",
        CLUSTERS,
    ),
    action(
        "cluster:get",
        READER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Retrieve information about the given cluster.",
        CLUSTER,
    ),
    admin(
        "cluster:get_one_all_projects",
        "Retrieve information about the given cluster across projects.",
        CLUSTER,
    ),
    action(
        "cluster:get_all",
        READER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Retrieve a list of clusters.",
        CLUSTERS,
    ),
    admin(
        "cluster:get_all_all_projects",
        "Retrieve a list of all clusters across projects.",
        CLUSTERS,
    ),
    action(
        "cluster:update",
        MEMBER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Update an existing cluster.",
        CLUSTER_PATCH,
    ),
    action(
        "cluster:update_health_status",
        "rule:admin_or_project_member_user_or_cluster_user",
        ADMIN_OR_USER_OR_CLUSTER_USER,
        "Update the health status of an existing cluster.",
        CLUSTER_PATCH,
    ),
    admin(
        "cluster:update_all_projects",
        "Update an existing cluster of any project.",
        CLUSTER_PATCH,
    ),
    action(
        "cluster:resize",
        MEMBER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Resize an existing cluster.",
        &[("POST", "/v1/clusters/{cluster_ident}/actions/resize")],
    ),
    action(
        "cluster:upgrade",
        MEMBER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Upgrade an existing cluster.",
        CLUSTER_UPGRADE,
    ),
    admin(
        "cluster:upgrade_all_projects",
        "Upgrade an existing cluster across all projects.",
        CLUSTER_UPGRADE,
    ),
];
