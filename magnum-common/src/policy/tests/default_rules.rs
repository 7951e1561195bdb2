//! Magnum's default rules: complete and well-formed, 2023.1's legacy defaults,
//! the secure-RBAC reader/member defaults, and how the two combine.

use std::collections::BTreeMap;

use super::*;
use crate::policy::defaults::DEFAULTS;
use crate::policy::rules::RuleSet;

#[test]
fn every_default_parses_and_refers_to_defined_rules() {
    for new_defaults in [false, true] {
        let set = RuleSet::build(new_defaults, &BTreeMap::new(), None).unwrap();
        assert!(
            set.undefined_references().is_empty(),
            "{:?}",
            set.undefined_references()
        );
        assert!(set.cyclic_rules().is_empty());
    }
    let mut names: Vec<&str> = DEFAULTS.iter().map(|d| d.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate default");
    for expected in [
        "bay:create",
        "baymodel:publish",
        "magnum-service:get_all",
        "credential:rotate",
        "federation:update",
        "quota:get_all",
        "stats:get_all",
        "nodegroup:get_one_all_projects",
        "certificate:rotate_ca",
        "cluster:update_health_status",
        "cluster:upgrade_all_projects",
        "clustertemplate:publish",
        "clustertemplate:get_all_all_projects",
    ] {
        assert!(names.contains(&expected), "{expected} missing");
    }
    assert_eq!(
        DEFAULTS.iter().filter(|d| d.name.contains(':')).count(),
        69 - 6 + 1,
        "2023.1's 63 actions plus credential:rotate"
    );
}

#[test]
fn legacy_defaults_are_2023_1() {
    let e = enforcer(false);
    let demo = user("demo", "demo-project", &["member"]);
    let other = user("alt", "alt-project", &["member"]);
    let admin = user("root", "admin-project", &["admin"]);
    let t = trustee("trustee-1");
    let c = cluster("demo-project", "demo", "trustee-1");

    // A project member creates, lists and reads clusters; a trustee may not.
    assert!(allowed(&e, "cluster:create", &demo, &own(&demo)));
    assert!(allowed(&e, "cluster:get", &demo, &c));
    assert!(allowed(&e, "cluster:get_all", &demo, &own(&demo)));
    assert!(!allowed(&e, "cluster:create", &t, &own(&t)));
    assert!(!allowed(&e, "cluster:get", &t, &c));
    assert!(!allowed(&e, "clustertemplate:create", &t, &own(&t)));
    assert!(!allowed(&e, "federation:get_all", &t, &own(&t)));
    assert!(!allowed(&e, "bay:create", &t, &own(&t)));

    // Certificates: the cluster's creator, an admin, or the cluster's trustee.
    assert!(allowed(&e, "certificate:get", &t, &c));
    assert!(allowed(&e, "certificate:create", &t, &c));
    assert!(allowed(&e, "certificate:get", &demo, &c));
    assert!(allowed(&e, "certificate:get", &admin, &c));
    let colleague = user("colleague", "demo-project", &["member"]);
    assert!(!allowed(&e, "certificate:get", &colleague, &c));
    assert!(!allowed(&e, "certificate:get", &trustee("trustee-2"), &c));
    assert!(allowed(&e, "cluster:update_health_status", &t, &c));

    // Templates: update and delete are admin_or_owner; publishing is admin only.
    let ct = Target::new()
        .with("project_id", "demo-project")
        .with("user_id", "demo");
    assert!(allowed(&e, "clustertemplate:update", &demo, &ct));
    assert!(allowed(&e, "clustertemplate:update", &colleague, &ct));
    assert!(!allowed(&e, "clustertemplate:update", &other, &ct));
    assert!(allowed(&e, "clustertemplate:update", &admin, &ct));
    assert!(!allowed(&e, "clustertemplate:delete", &other, &ct));
    assert!(!allowed(&e, "clustertemplate:publish", &demo, &own(&demo)));
    assert!(allowed(&e, "clustertemplate:publish", &admin, &own(&admin)));
    assert!(!allowed(&e, "baymodel:publish", &demo, &own(&demo)));

    // Admin-only APIs.
    for action in [
        "quota:create",
        "quota:update",
        "quota:delete",
        "quota:get_all",
        "magnum-service:get_all",
        "cluster:get_all_all_projects",
        "nodegroup:get_one_all_projects",
    ] {
        assert!(!allowed(&e, action, &demo, &own(&demo)), "{action}");
        assert!(allowed(&e, action, &admin, &own(&admin)), "{action}");
    }
    // Own-project checks against the caller's own target always pass.
    assert!(allowed(&e, "quota:get", &demo, &own(&demo)));
    assert!(allowed(&e, "stats:get_all", &demo, &own(&demo)));
    assert!(allowed(&e, "nodegroup:create", &demo, &own(&demo)));
    // Legacy rules ignore roles altogether.
    let roleless = user("x", "x-project", &[]);
    assert!(allowed(&e, "cluster:create", &roleless, &own(&roleless)));
}

#[test]
fn new_defaults_require_reader_and_member_roles() {
    let strict = enforcer(true);
    let lenient = enforcer(false);
    let reader = user("r", "p", &["reader"]);
    let member = user("m", "p", &["member", "reader"]);
    let admin = user("root", "admin-project", &["admin"]);
    let c = cluster("p", "m", "trustee-1");

    assert!(allowed(&strict, "cluster:get", &reader, &c));
    assert!(allowed(&strict, "cluster:get_all", &reader, &own(&reader)));
    assert!(!allowed(&strict, "cluster:create", &reader, &own(&reader)));
    assert!(!allowed(&strict, "cluster:delete", &reader, &c));
    assert!(
        allowed(&lenient, "cluster:create", &reader, &own(&reader)),
        "legacy still lets them"
    );

    assert!(allowed(&strict, "cluster:create", &member, &own(&member)));
    assert!(allowed(&strict, "cluster:delete", &member, &c));
    assert!(!allowed(
        &strict,
        "cluster:get",
        &member,
        &cluster("q", "m", "t")
    ));
    assert!(allowed(&strict, "cluster:delete", &admin, &c));
    assert!(allowed(
        &strict,
        "cluster:get_all_all_projects",
        &admin,
        &own(&admin)
    ));
    assert!(!allowed(
        &strict,
        "cluster:get_all_all_projects",
        &member,
        &own(&member)
    ));

    // Trustees are still denied, even with a member role, and still get certificates.
    let mut t = trustee("trustee-1");
    t.project_id = Some("p".to_owned());
    t.roles = vec!["member".to_owned()];
    assert!(!allowed(&strict, "cluster:create", &t, &own(&t)));
    assert!(!allowed(&strict, "credential:rotate", &t, &own(&t)));
    let bare = trustee("trustee-1");
    assert!(allowed(&strict, "certificate:get", &bare, &c));
    assert!(allowed(&strict, "certificate:create", &bare, &c));
    assert!(allowed(&strict, "cluster:update_health_status", &bare, &c));
    assert!(!allowed(
        &strict,
        "certificate:get",
        &trustee("trustee-2"),
        &c
    ));

    // Certificates: the creating reader/member only.
    assert!(allowed(&strict, "certificate:get", &member, &c));
    assert!(
        !allowed(&strict, "certificate:get", &reader, &c),
        "not the creator"
    );
    assert!(!allowed(
        &strict,
        "certificate:create",
        &user("m", "p", &["reader"]),
        &c
    ));

    // credential:rotate is member-only; an admin without the role fails.
    assert!(allowed(
        &strict,
        "credential:rotate",
        &member,
        &own(&member)
    ));
    assert!(!allowed(&strict, "credential:rotate", &admin, &own(&admin)));
    assert!(allowed(&lenient, "credential:rotate", &admin, &own(&admin)));

    // Templates.
    let ct = Target::new().with("project_id", "p").with("user_id", "m");
    assert!(allowed(&strict, "clustertemplate:update", &member, &ct));
    assert!(!allowed(&strict, "clustertemplate:update", &reader, &ct));
    assert!(allowed(&lenient, "clustertemplate:update", &reader, &ct));
    assert!(allowed(&strict, "clustertemplate:get", &reader, &ct));

    // Bays keep their single rule.
    assert!(allowed(&strict, "bay:create", &reader, &own(&reader)));
}

#[test]
fn effective_rules_or_the_legacy_default_in_unless_new_defaults() {
    let lenient = RuleSet::build(false, &BTreeMap::new(), None).unwrap();
    let strict = RuleSet::build(true, &BTreeMap::new(), None).unwrap();
    assert_eq!(
        lenient.canonical("cluster:create").unwrap(),
        "(rule:admin_or_project_member_deny_cluster_user or rule:deny_cluster_user)"
    );
    assert_eq!(
        strict.canonical("cluster:create").unwrap(),
        "rule:admin_or_project_member_deny_cluster_user"
    );
    assert_eq!(
        lenient.canonical("bay:get").unwrap(),
        "rule:deny_cluster_user"
    );
    assert_eq!(
        strict.canonical("bay:get").unwrap(),
        "rule:deny_cluster_user"
    );
}
