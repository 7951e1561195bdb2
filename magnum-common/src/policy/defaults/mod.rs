//! Magnum's default rules: the 2023.1 ("legacy") defaults and the secure-RBAC
//! ("new") defaults of later releases, and the sample `policy.yaml` they render.
//!
//! Two deliberate differences from upstream's new defaults, because this
//! implementation keeps per-cluster trustee users: the `*_deny_cluster_user` rules
//! still deny the trustee domain, and `cluster_user` still grants
//! `certificate:create`, `certificate:get` and `cluster:update_health_status`, so
//! cluster nodes can fetch and sign their certificates in either mode.
//!
//! The rules live in one module per resource family; [`DEFAULTS`] joins them at
//! compile time in upstream's order, which is the order of the sample
//! `policy.yaml` that `sample` renders (and of the committed copy, checked by a
//! test).

mod base_rules;
mod bays;
mod certificates;
mod cluster_templates;
mod clusters;
mod credentials;
mod federations;
mod nodegroups;
mod sample;
mod services;

pub use sample::default_rules_yaml;

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

/// The sections of [`DEFAULTS`], in upstream's order (base rules first).
const SECTIONS: &[&[RuleDefault]] = &[
    base_rules::RULES,
    bays::RULES,
    certificates::RULES,
    clusters::RULES,
    cluster_templates::RULES,
    credentials::RULES,
    federations::RULES,
    services::RULES,
    nodegroups::RULES,
];

/// Every rule Magnum registers, in upstream's order (base rules first).
pub(crate) static DEFAULTS: &[RuleDefault] = &concat::<{ total(SECTIONS) }>(SECTIONS);

/// How many rules `sections` hold together.
const fn total(sections: &[&[RuleDefault]]) -> usize {
    let mut n = 0;
    let mut s = 0;
    while s < sections.len() {
        n += sections[s].len();
        s += 1;
    }
    n
}

/// `sections` one after the other, in order (evaluated at compile time; `N` is
/// their [`total`]).
const fn concat<const N: usize>(sections: &[&[RuleDefault]]) -> [RuleDefault; N] {
    // Every slot is overwritten below.
    let mut out = [base("", "", ""); N];
    let mut n = 0;
    let mut s = 0;
    while s < sections.len() {
        let section = sections[s];
        let mut i = 0;
        while i < section.len() {
            out[n] = section[i];
            n += 1;
            i += 1;
        }
        s += 1;
    }
    assert!(n == N, "N must be the sections' total length");
    out
}
