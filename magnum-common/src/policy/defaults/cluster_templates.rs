//! Cluster templates: like clusters, except that changes are admin_or_owner in
//! 2023.1 and publishing is for administrators only.

use super::{
    ADMIN_OR_OWNER, ADMIN_OR_PROJECT_MEMBER, DENY_CLUSTER_USER, MEMBER_DENY_CLUSTER_USER,
    READER_DENY_CLUSTER_USER, RuleDefault, action, admin,
};

const TEMPLATES: &[(&str, &str)] = &[("GET", "/v1/clustertemplates")];
const TEMPLATE: &[(&str, &str)] = &[("GET", "/v1/clustertemplates/{clustertemplate_ident}")];
const TEMPLATE_PATCH: &[(&str, &str)] =
    &[("PATCH", "/v1/clustertemplates/{clustertemplate_ident}")];
const TEMPLATE_DELETE: &[(&str, &str)] =
    &[("DELETE", "/v1/clustertemplates/{clustertemplate_ident}")];

/// The rules of this section, in upstream's order.
pub(super) const RULES: &[RuleDefault] = &[
    // Cluster templates.
    action(
        "clustertemplate:create",
        MEMBER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Create a new cluster template.",
        &[("POST", "/v1/clustertemplates")],
    ),
    action(
        "clustertemplate:delete",
        ADMIN_OR_PROJECT_MEMBER,
        ADMIN_OR_OWNER,
        "Delete a cluster template.",
        TEMPLATE_DELETE,
    ),
    admin(
        "clustertemplate:delete_all_projects",
        "Delete a cluster template from any project.",
        TEMPLATE_DELETE,
    ),
    admin(
        "clustertemplate:detail_all_projects",
        "Retrieve a list of cluster templates with detail across projects.",
        TEMPLATES,
    ),
    action(
        "clustertemplate:detail",
        READER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Retrieve a list of cluster templates with detail.",
        TEMPLATES,
    ),
    action(
        "clustertemplate:get",
        READER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Retrieve information about the given cluster template (checked for private \
         templates only).",
        TEMPLATE,
    ),
    admin(
        "clustertemplate:get_one_all_projects",
        "Retrieve information about the given cluster template across projects.",
        TEMPLATE,
    ),
    action(
        "clustertemplate:get_all",
        READER_DENY_CLUSTER_USER,
        DENY_CLUSTER_USER,
        "Retrieve a list of cluster templates.",
        TEMPLATES,
    ),
    admin(
        "clustertemplate:get_all_all_projects",
        "Retrieve a list of cluster templates across projects.",
        TEMPLATES,
    ),
    action(
        "clustertemplate:update",
        ADMIN_OR_PROJECT_MEMBER,
        ADMIN_OR_OWNER,
        "Update an existing cluster template.",
        TEMPLATE_PATCH,
    ),
    admin(
        "clustertemplate:update_all_projects",
        "Update an existing cluster template of any project.",
        TEMPLATE_PATCH,
    ),
    admin(
        "clustertemplate:publish",
        "Publish or hide an existing cluster template (set the public or hidden flags).",
        &[
            ("POST", "/v1/clustertemplates"),
            ("PATCH", "/v1/clustertemplates"),
        ],
    ),
];
