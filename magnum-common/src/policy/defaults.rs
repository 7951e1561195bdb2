//! Magnum's default rules: the 2023.1 ("legacy") defaults and the secure-RBAC
//! ("new") defaults of later releases, and the sample `policy.yaml` they render.
//!
//! Two deliberate differences from upstream's new defaults, because this
//! implementation keeps per-cluster trustee users: the `*_deny_cluster_user` rules
//! still deny the trustee domain, and `cluster_user` still grants
//! `certificate:create`, `certificate:get` and `cluster:update_health_status`, so
//! cluster nodes can fetch and sign their certificates in either mode.

use std::borrow::Cow;

/// One rule Magnum registers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RuleDefault {
    /// Rule or action name (`cluster:create`, `admin_or_owner`).
    pub name: &'static str,
    /// The default with `[oslo_policy] enforce_new_defaults = true`.
    pub new: &'static str,
    /// The deprecated 2023.1 default, OR-ed in while `enforce_new_defaults` is
    /// false; `None` when the rule is the same in both modes.
    pub legacy: Option<&'static str>,
    /// What the rule guards, for the sample.
    pub description: &'static str,
    /// The API calls it guards (method, path), for the sample.
    pub operations: &'static [(&'static str, &'static str)],
    /// Whether upstream marks it project-scoped.
    pub project_scope: bool,
}

impl RuleDefault {
    /// The rule in force when nothing overrides it.
    pub(crate) fn effective(&self, new_defaults: bool) -> Cow<'static, str> {
        match self.legacy {
            Some(legacy) if !new_defaults => Cow::Owned(format!("({}) or ({legacy})", self.new)),
            _ => Cow::Borrowed(self.new),
        }
    }
}

/// Why the legacy defaults are deprecated (upstream's wording).
const DEPRECATED_REASON: &str =
    "The Magnum API now enforces scoped tokens and default reader and member roles.";
/// Since when (upstream's wording).
const DEPRECATED_SINCE: &str = "OpenStack 2023.2(Magnum 17.0.0)";

const ADMIN_API: &str = "rule:admin_api";
const CONTEXT_IS_ADMIN: &str = "rule:context_is_admin";
const ADMIN_OR_OWNER: &str = "rule:admin_or_owner";
const DENY_CLUSTER_USER: &str = "rule:deny_cluster_user";
const ADMIN_OR_USER_OR_CLUSTER_USER: &str = "rule:admin_or_user or rule:cluster_user";
const ADMIN_OR_PROJECT_READER: &str = "rule:admin_or_project_reader";
const ADMIN_OR_PROJECT_MEMBER: &str = "rule:admin_or_project_member";
const MEMBER_DENY_CLUSTER_USER: &str = "rule:admin_or_project_member_deny_cluster_user";
const READER_DENY_CLUSTER_USER: &str = "rule:admin_or_project_reader_deny_cluster_user";

/// A base rule: the same in both modes.
const fn base(name: &'static str, check: &'static str, description: &'static str) -> RuleDefault {
    RuleDefault {
        name,
        new: check,
        legacy: None,
        description,
        operations: &[],
        project_scope: false,
    }
}

/// A project-scoped action whose default changed with secure RBAC.
const fn action(
    name: &'static str,
    new: &'static str,
    legacy: &'static str,
    description: &'static str,
    operations: &'static [(&'static str, &'static str)],
) -> RuleDefault {
    RuleDefault {
        name,
        new,
        legacy: Some(legacy),
        description,
        operations,
        project_scope: true,
    }
}

/// An administrators-only action: `context_is_admin` now, `admin_api` in 2023.1
/// (the same check unless `admin_api` is overridden).
const fn admin(
    name: &'static str,
    description: &'static str,
    operations: &'static [(&'static str, &'static str)],
) -> RuleDefault {
    RuleDefault {
        name,
        new: CONTEXT_IS_ADMIN,
        legacy: Some(ADMIN_API),
        description,
        operations,
        project_scope: false,
    }
}

/// An action of the bay/baymodel API, which only exists in 2023.1: one rule in
/// both modes.
const fn bay(
    name: &'static str,
    check: &'static str,
    description: &'static str,
    operations: &'static [(&'static str, &'static str)],
) -> RuleDefault {
    RuleDefault {
        name,
        new: check,
        legacy: None,
        description,
        operations,
        project_scope: false,
    }
}

const CLUSTERS: &[(&str, &str)] = &[("GET", "/v1/clusters")];
const CLUSTER: &[(&str, &str)] = &[("GET", "/v1/clusters/{cluster_ident}")];
const CLUSTER_PATCH: &[(&str, &str)] = &[("PATCH", "/v1/clusters/{cluster_ident}")];
const CLUSTER_DELETE: &[(&str, &str)] = &[("DELETE", "/v1/clusters/{cluster_ident}")];
const CLUSTER_UPGRADE: &[(&str, &str)] =
    &[("POST", "/v1/clusters/{cluster_ident}/actions/upgrade")];
const TEMPLATES: &[(&str, &str)] = &[("GET", "/v1/clustertemplates")];
const TEMPLATE: &[(&str, &str)] = &[("GET", "/v1/clustertemplates/{clustertemplate_ident}")];
const TEMPLATE_PATCH: &[(&str, &str)] =
    &[("PATCH", "/v1/clustertemplates/{clustertemplate_ident}")];
const TEMPLATE_DELETE: &[(&str, &str)] =
    &[("DELETE", "/v1/clustertemplates/{clustertemplate_ident}")];
const NODEGROUPS: &[(&str, &str)] = &[("GET", "/v1/clusters/{cluster_ident}/nodegroups")];
const NODEGROUP: &[(&str, &str)] =
    &[("GET", "/v1/clusters/{cluster_ident}/nodegroups/{nodegroup}")];

/// Every rule Magnum registers, in upstream's order (base rules first).
pub(crate) static DEFAULTS: &[RuleDefault] = &[
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
    // Credentials (not in 2023.1; the legacy rule mirrors upstream's deprecated
    // admin_or_owner, still denying trustees).
    action(
        "credential:rotate",
        "rule:project_member_deny_cluster_user",
        "(rule:admin_or_owner) and (rule:deny_cluster_user)",
        "Rotate the credential of a cluster.",
        &[("PATCH", "/v1/credentials/{cluster_uuid}")],
    ),
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
    // Magnum services.
    admin(
        "magnum-service:get_all",
        "Retrieve a list of magnum-services.",
        &[("GET", "/v1/mservices")],
    ),
    // Quotas.
    admin("quota:create", "Create quota.", &[("POST", "/v1/quotas")]),
    admin(
        "quota:delete",
        "Delete quota for a given project_id and resource.",
        &[("DELETE", "/v1/quotas/{project_id}/{resource}")],
    ),
    action(
        "quota:get",
        ADMIN_OR_PROJECT_READER,
        ADMIN_OR_OWNER,
        "Retrieve Quota information for the given project_id.",
        &[("GET", "/v1/quotas/{project_id}/{resource}")],
    ),
    admin(
        "quota:get_all",
        "Retrieve a list of quotas.",
        &[("GET", "/v1/quotas")],
    ),
    admin(
        "quota:update",
        "Update quota for a given project_id.",
        &[("PATCH", "/v1/quotas/{project_id}/{resource}")],
    ),
    // Stats.
    action(
        "stats:get_all",
        ADMIN_OR_PROJECT_READER,
        ADMIN_OR_OWNER,
        "Retrieve magnum stats.",
        &[("GET", "/v1/stats")],
    ),
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

/// Renders every default as a commented-out sample `policy.yaml`, in the layout of
/// `oslopolicy-sample-generator`. Each rule line shows the rule in force for the
/// given `[oslo_policy] enforce_new_defaults`; uncommenting it changes nothing
/// until it is edited.
pub fn default_rules_yaml(new_defaults: bool) -> String {
    let mut out = String::new();
    out.push_str(
        "# Sample policy.yaml for Magnum, generated from the code (every default rule,\n\
         # commented out). Uncomment a rule and edit it to override it; an override\n\
         # replaces the rule entirely, in both modes. Rules not named here may be added\n\
         # and referred to as rule:NAME.\n#\n",
    );
    if new_defaults {
        out.push_str(
            "# Shown for [oslo_policy] enforce_new_defaults = true: only the new reader /\n\
             # member defaults apply.\n\n",
        );
    } else {
        out.push_str(
            "# Shown for [oslo_policy] enforce_new_defaults = false (the default): an action\n\
             # whose default changed accepts its new rule or its deprecated 2023.1 rule.\n\n",
        );
    }
    for rule in DEFAULTS {
        push_wrapped(&mut out, rule.description);
        for (method, path) in rule.operations {
            out.push_str(&format!("# {method}  {path}\n"));
        }
        if rule.project_scope {
            out.push_str("# Intended scope(s): project\n");
        }
        out.push_str(&format!(
            "#\"{}\": \"{}\"\n",
            rule.name,
            rule.effective(new_defaults)
        ));
        if let Some(legacy) = rule.legacy {
            out.push_str("# DEPRECATED\n");
            push_wrapped(
                &mut out,
                &format!(
                    "\"{name}\":\"{legacy}\" has been deprecated since {DEPRECATED_SINCE} in \
                     favor of \"{name}\":\"{new}\".",
                    name = rule.name,
                    new = rule.new,
                ),
            );
            let mode = if new_defaults {
                "With enforce_new_defaults = true only the new rule applies."
            } else {
                "Either rule is accepted until enforce_new_defaults is set to true."
            };
            push_wrapped(&mut out, &format!("{DEPRECATED_REASON} {mode}"));
        }
        out.push('\n');
    }
    out
}

/// Appends `text` as `# ` comment lines of at most 70 columns (words longer than
/// that get a line of their own rather than being split).
fn push_wrapped(out: &mut String, text: &str) {
    const WIDTH: usize = 70;
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() > 1 && line.len() + 1 + word.len() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line.truncate(1);
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}
