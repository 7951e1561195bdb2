//! Federations: project readers read, members change.

use super::{
    DENY_CLUSTER_USER, MEMBER_DENY_CLUSTER_USER, READER_DENY_CLUSTER_USER, RuleDefault, action,
};

/// The rules of this section, in upstream's order.
pub(super) const RULES: &[RuleDefault] = &[
    // Federations.
    action(
        "federation:create",
        MEMBER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Create a new federation.",
        &[("POST", "/v1/federations")],
    ),
    action(
        "federation:delete",
        MEMBER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Delete a federation.",
        &[("DELETE", "/v1/federations/{federation_ident}")],
    ),
    action(
        "federation:detail",
        READER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Retrieve a list of federations with detail.",
        &[("GET", "/v1/federations")],
    ),
    action(
        "federation:get",
        READER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Retrieve information about the given federation.",
        &[("GET", "/v1/federations/{federation_ident}")],
    ),
    action(
        "federation:get_all",
        READER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Retrieve a list of federations.",
        &[("GET", "/v1/federations/")],
    ),
    action(
        "federation:update",
        MEMBER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Update an existing federation.",
        &[("PATCH", "/v1/federations/{federation_ident}")],
    ),
];
