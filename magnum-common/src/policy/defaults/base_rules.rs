//! The base rules other rules refer to: 2023.1's, then the secure-RBAC
//! defaults' (project reader and member, with or without the trustee).

use super::{CONTEXT_IS_ADMIN, RuleDefault, base};

/// The rules of this section, in upstream's order.
pub(super) const RULES: &[RuleDefault] = &[
    // Base rules of 2023.1.
    base(
        "context_is_admin",
        "role:admin",
        "Who is an administrator. Evaluated once per request; its result is the \
         credentials' is_admin.",
    ),
    base(
        "admin_or_owner",
        "is_admin:True or project_id:%(project_id)s",
        "An administrator, or a user of the target's project.",
    ),
    base(
        "admin_api",
        CONTEXT_IS_ADMIN,
        "Administrators only (the 2023.1 name of context_is_admin for actions).",
    ),
    base(
        "admin_or_user",
        "is_admin:True or user_id:%(user_id)s",
        "An administrator, or the user who created the target.",
    ),
    base(
        "cluster_user",
        "user_id:%(trustee_user_id)s",
        "The cluster's trustee: the user its nodes authenticate as.",
    ),
    base(
        "deny_cluster_user",
        "not domain_id:%(trustee_domain_id)s",
        "Anyone but a cluster trustee (a user of the [trust] trustee domain).",
    ),
    // Base rules of the secure-RBAC defaults.
    base(
        "is_user",
        "user_id:%(user_id)s",
        "The user who created the target.",
    ),
    base(
        "project_member",
        "role:member and project_id:%(project_id)s",
        "A member of the target's project.",
    ),
    base(
        "project_reader",
        "role:reader and project_id:%(project_id)s",
        "A reader of the target's project.",
    ),
    base(
        "admin_or_project_reader",
        "(rule:context_is_admin) or (rule:project_reader)",
        "An administrator or a reader of the target's project.",
    ),
    base(
        "admin_or_project_member",
        "(rule:context_is_admin) or (rule:project_member)",
        "An administrator or a member of the target's project.",
    ),
    base(
        "admin_or_project_member_user",
        "(rule:context_is_admin) or ((rule:project_member) and (rule:is_user))",
        "An administrator, or the member of the target's project who created it.",
    ),
    base(
        "admin_or_project_member_user_or_cluster_user",
        "(rule:context_is_admin) or ((rule:project_member) and (rule:is_user)) or \
         (rule:cluster_user)",
        "An administrator, the member of the target's project who created it, or the \
         cluster's trustee.",
    ),
    base(
        "project_member_deny_cluster_user",
        "(rule:project_member) and (rule:deny_cluster_user)",
        "A member of the target's project who is not a cluster trustee.",
    ),
    base(
        "admin_or_project_member_deny_cluster_user",
        "((rule:context_is_admin) or (rule:project_member)) and (rule:deny_cluster_user)",
        "An administrator or a member of the target's project, and not a cluster \
         trustee.",
    ),
    base(
        "project_reader_deny_cluster_user",
        "(rule:project_reader) and (rule:deny_cluster_user)",
        "A reader of the target's project who is not a cluster trustee.",
    ),
    base(
        "admin_or_project_reader_deny_cluster_user",
        "((rule:context_is_admin) or (rule:project_reader)) and (rule:deny_cluster_user)",
        "An administrator or a reader of the target's project, and not a cluster \
         trustee.",
    ),
    base(
        "admin_or_project_reader_user",
        "(rule:context_is_admin) or ((rule:project_reader) and (rule:is_user))",
        "An administrator, or the reader of the target's project who created it.",
    ),
];
