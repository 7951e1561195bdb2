//! Bays and baymodels: the legacy API, which only exists in 2023.1, so each action
//! has one rule in both modes.

use super::{ADMIN_API, DENY_CLUSTER_USER, RuleDefault, bay};

/// The rules of this section, in upstream's order.
pub(super) const RULES: &[RuleDefault] = &[
    // Bays and baymodels (2023.1 only).
    bay(
        "bay:create",
        DENY_CLUSTER_USER,
        "Create a new bay.",
        &[("POST", "/v1/bays")],
    ),
    bay(
        "bay:delete",
        DENY_CLUSTER_USER,
        "Delete a bay.",
        &[("DELETE", "/v1/bays/{bay_ident}")],
    ),
    bay(
        "bay:detail",
        DENY_CLUSTER_USER,
        "Retrieve a list of bays with detail.",
        &[("GET", "/v1/bays")],
    ),
    bay(
        "bay:get",
        DENY_CLUSTER_USER,
        "Retrieve information about the given bay.",
        &[("GET", "/v1/bays/{bay_ident}")],
    ),
    bay(
        "bay:get_all",
        DENY_CLUSTER_USER,
        "Retrieve a list of bays.",
        &[("GET", "/v1/bays/")],
    ),
    bay(
        "bay:update",
        DENY_CLUSTER_USER,
        "Update an existing bay.",
        &[("PATCH", "/v1/bays/{bay_ident}")],
    ),
    bay(
        "baymodel:create",
        DENY_CLUSTER_USER,
        "Create a new baymodel.",
        &[("POST", "/v1/baymodels")],
    ),
    bay(
        "baymodel:delete",
        DENY_CLUSTER_USER,
        "Delete a baymodel.",
        &[("DELETE", "/v1/baymodels/{baymodel_ident}")],
    ),
    bay(
        "baymodel:detail",
        DENY_CLUSTER_USER,
        "Retrieve a list of baymodel with detail.",
        &[("GET", "/v1/baymodels")],
    ),
    bay(
        "baymodel:get",
        DENY_CLUSTER_USER,
        "Retrieve information about the given baymodel.",
        &[("GET", "/v1/baymodels/{baymodel_ident}")],
    ),
    bay(
        "baymodel:get_all",
        DENY_CLUSTER_USER,
        "Retrieve a list of baymodel.",
        &[("GET", "/v1/baymodels")],
    ),
    bay(
        "baymodel:update",
        DENY_CLUSTER_USER,
        "Update an existing baymodel.",
        &[("PATCH", "/v1/baymodels/{baymodel_ident}")],
    ),
    bay(
        "baymodel:publish",
        ADMIN_API,
        "Publish an existing baymodel.",
        &[("POST", "/v1/baymodels"), ("PATCH", "/v1/baymodels")],
    ),
];
