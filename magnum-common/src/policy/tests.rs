use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::defaults::DEFAULTS;
use super::parser::{canonical, template};
use super::rules::RuleSet;
use super::*;

const TRUSTEE_DOMAIN: &str = "trustee-domain";

fn user(id: &str, project: &str, roles: &[&str]) -> Credentials {
    Credentials {
        user_id: id.to_owned(),
        project_id: Some(project.to_owned()),
        domain_id: Some("default".to_owned()),
        user_domain_id: Some("default".to_owned()),
        project_domain_id: Some("default".to_owned()),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        is_admin: false,
    }
}

/// A cluster's trustee: a user of the trustee domain with an unscoped token.
fn trustee(id: &str) -> Credentials {
    Credentials {
        user_id: id.to_owned(),
        project_id: None,
        domain_id: Some(TRUSTEE_DOMAIN.to_owned()),
        user_domain_id: Some(TRUSTEE_DOMAIN.to_owned()),
        project_domain_id: None,
        roles: Vec::new(),
        is_admin: false,
    }
}

/// The target Magnum builds when there is no object: the caller's own ids.
fn own(creds: &Credentials) -> Target {
    let mut t = Target::new().with("user_id", creds.user_id.clone());
    if let Some(p) = &creds.project_id {
        t.insert("project_id", p.clone());
    }
    t
}

fn cluster(project: &str, owner: &str, trustee_user: &str) -> Target {
    Target::new()
        .with("project_id", project)
        .with("user_id", owner)
        .with("trustee_user_id", trustee_user)
}

fn enforcer(new_defaults: bool) -> PolicyEnforcer {
    PolicyEnforcer::with_rules(new_defaults, Some(TRUSTEE_DOMAIN.to_owned()), []).unwrap()
}

fn with(rules: &[(&str, &str)]) -> PolicyEnforcer {
    PolicyEnforcer::with_rules(
        false,
        Some(TRUSTEE_DOMAIN.to_owned()),
        rules.iter().copied(),
    )
    .unwrap()
}

fn allowed(e: &PolicyEnforcer, action: &str, creds: &Credentials, target: &Target) -> bool {
    e.authorize(action, creds, target).is_ok()
}

fn opts(policy_file: &str, new_defaults: bool) -> OsloPolicyOpts {
    OsloPolicyOpts {
        policy_file: policy_file.to_owned(),
        enforce_new_defaults: new_defaults,
        ..OsloPolicyOpts::default()
    }
}

fn set_mtime(path: &Path, secs: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

// ---------------------------------------------------------------- parser

#[test]
fn precedence_is_not_then_and_then_or() {
    assert_eq!(
        canonical("a:1 or b:2 and c:3").unwrap(),
        "(a:1 or (b:2 and c:3))"
    );
    assert_eq!(
        canonical("a:1 and b:2 or c:3").unwrap(),
        "((a:1 and b:2) or c:3)"
    );
    assert_eq!(canonical("not a:1 and b:2").unwrap(), "(not a:1 and b:2)");
    assert_eq!(
        canonical("a:1 or not b:2 and c:3 or d:4").unwrap(),
        "(a:1 or (not b:2 and c:3) or d:4)"
    );
    assert_eq!(canonical("not not a:1").unwrap(), "not not a:1");
    assert_eq!(
        canonical("a:1 and b:2 and c:3").unwrap(),
        "(a:1 and b:2 and c:3)"
    );
}

#[test]
fn parentheses_group_and_may_touch_checks() {
    assert_eq!(
        canonical("(a:1 or b:2) and c:3").unwrap(),
        "((a:1 or b:2) and c:3)"
    );
    assert_eq!(canonical("not (a:1 or b:2)").unwrap(), "not (a:1 or b:2)");
    assert_eq!(canonical("((role:admin))").unwrap(), "role:admin");
    assert_eq!(
        canonical("( a:1 or (b:2 and (c:3)) )").unwrap(),
        "(a:1 or (b:2 and c:3))"
    );
    // Operators in any case, any whitespace.
    assert_eq!(
        canonical("A:1\tAND\n b:2 Or NOT c:3").unwrap(),
        "((A:1 and b:2) or not c:3)"
    );
    // Substitutions keep their parentheses.
    assert_eq!(
        canonical("(project_id:%(project_id)s)").unwrap(),
        "project_id:%(project_id)s"
    );
}

#[test]
fn special_and_empty_rules() {
    assert_eq!(canonical("@").unwrap(), "@");
    assert_eq!(canonical("!").unwrap(), "!");
    assert_eq!(canonical("").unwrap(), "@");
    assert_eq!(canonical("@ and !").unwrap(), "(@ and !)");
}

#[test]
fn malformed_rules_are_errors_naming_the_rule() {
    for bad in [
        "role:admin and",
        "or role:admin",
        "(role:admin",
        "role:admin)",
        "role:admin role:member",
        "admin",
        "'quoted'",
        "not",
        "()",
        "   ",
        "user_id:%(user_id)d",
        "user_id:%s",
        "http://example.com/check",
    ] {
        assert!(canonical(bad).is_err(), "{bad:?} should not parse");
    }
    let err = PolicyEnforcer::with_rules(false, None, [("cluster:create", "role:admin and")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("cluster:create"), "{err}");
    assert!(err.contains("role:admin and"), "{err}");
}

#[test]
fn templates_substitute_and_escape() {
    use super::check::{Part, Template};
    assert_eq!(template("abc").unwrap(), Template::Plain("abc".into()));
    assert_eq!(template("%(x)s").unwrap(), Template::Key("x".into()));
    assert_eq!(template("100%%").unwrap(), Template::Plain("100%".into()));
    assert_eq!(
        template("a-%(x)s-%(y)s").unwrap(),
        Template::Mixed(
            vec![
                Part::Lit("a-".into()),
                Part::Key("x".into()),
                Part::Lit("-".into()),
                Part::Key("y".into()),
            ]
            .into()
        )
    );
}

// ---------------------------------------------------------------- checks

#[test]
fn every_check_kind() {
    let e = with(&[
        ("always", "@"),
        ("never", "!"),
        ("member", "role:member"),
        ("ref_member", "rule:member"),
        ("ref_missing", "rule:nope"),
        ("same_user", "user_id:%(user_id)s"),
        ("fixed_user", "user_id:alice"),
        ("literal", "'alice':%(user_id)s"),
        ("literal_true", "True:%(flag)s"),
        ("literal_int", "42:%(n)s"),
        ("admin_flag", "is_admin:True"),
        ("not_admin_flag", "is_admin:False"),
        ("roles_generic", "roles:%(role)s"),
        ("unknown_cred", "user_name:alice"),
        ("mixed", "project_id:proj-%(suffix)s"),
        (
            "domain",
            "domain_id:default and user_domain_id:default and project_domain_id:default",
        ),
        ("role_from_target", "role:%(role)s"),
        ("tenant_alias", "tenant:%(project_id)s"),
    ]);
    let alice = user("alice", "proj-1", &["member"]);
    let t = Target::new()
        .with("user_id", "alice")
        .with("flag", "True")
        .with("n", "42")
        .with("role", "member")
        .with("suffix", "1")
        .with("project_id", "proj-1");
    for yes in [
        "always",
        "member",
        "ref_member",
        "same_user",
        "fixed_user",
        "literal",
        "literal_true",
        "literal_int",
        "not_admin_flag",
        "roles_generic",
        "mixed",
        "domain",
        "role_from_target",
        "tenant_alias",
    ] {
        assert!(allowed(&e, yes, &alice, &t), "{yes} should allow");
    }
    for no in ["never", "ref_missing", "admin_flag", "unknown_cred"] {
        assert!(!allowed(&e, no, &alice, &t), "{no} should deny");
    }
    let bob = user("bob", "proj-2", &["reader"]);
    for no in [
        "member",
        "same_user",
        "fixed_user",
        "roles_generic",
        "mixed",
        "role_from_target",
    ] {
        assert!(!allowed(&e, no, &bob, &t), "{no} should deny bob");
    }
}

#[test]
fn missing_target_keys_make_checks_false() {
    let e = with(&[
        ("same_user", "user_id:%(user_id)s"),
        ("not_same_user", "not user_id:%(user_id)s"),
        ("role_from_target", "role:%(role)s"),
        ("mixed", "user_id:a%(x)s"),
    ]);
    let alice = user("alice", "p", &["member"]);
    let empty = Target::new();
    assert!(!allowed(&e, "same_user", &alice, &empty));
    assert!(allowed(&e, "not_same_user", &alice, &empty));
    assert!(!allowed(&e, "role_from_target", &alice, &empty));
    assert!(!allowed(&e, "mixed", &alice, &empty));
}

#[test]
fn unset_credentials_compare_as_none() {
    let e = with(&[("same_project", "project_id:%(project_id)s")]);
    let unscoped = Credentials {
        user_id: "u".to_owned(),
        ..Credentials::default()
    };
    assert!(!allowed(
        &e,
        "same_project",
        &unscoped,
        &Target::new().with("project_id", "p")
    ));
    assert!(allowed(
        &e,
        "same_project",
        &unscoped,
        &Target::new().with("project_id", "None")
    ));
}

#[test]
fn roles_are_case_insensitive() {
    let e = with(&[("admins", "role:ADMIN"), ("exact", "roles:admin")]);
    let creds = user("u", "p", &["Admin"]);
    assert!(allowed(&e, "admins", &creds, &Target::new()));
    assert!(e.is_admin(&creds), "context_is_admin is role:admin");
    // A generic check on the role list is exact, as in oslo.
    assert!(!allowed(&e, "exact", &creds, &Target::new()));
    let greek = with(&[("greek", "role:ΣΟΦΙΑ")]);
    assert!(allowed(
        &greek,
        "greek",
        &user("u", "p", &["σοφια"]),
        &Target::new()
    ));
}

#[test]
fn is_admin_comes_from_context_is_admin() {
    let e = with(&[
        ("flag", "is_admin:True"),
        ("context_is_admin", "role:cloud-admin"),
    ]);
    let mut creds = user("u", "p", &["cloud-admin"]);
    assert!(!creds.is_admin);
    assert!(e.is_admin(&creds));
    assert!(allowed(&e, "flag", &creds, &Target::new()));
    creds.roles = vec!["admin".to_owned()];
    assert!(!e.is_admin(&creds), "context_is_admin was overridden");
    assert!(!allowed(&e, "flag", &creds, &Target::new()));
    // An internal admin context keeps its flag.
    creds.is_admin = true;
    assert!(allowed(&e, "flag", &creds, &Target::new()));
}

#[test]
fn trustee_domain_is_injected_into_every_target() {
    let e = enforcer(false);
    let t = trustee("t-1");
    let mut target = own(&t);
    target.insert("trustee_domain_id", "something-else");
    assert!(
        !allowed(&e, "cluster:create", &t, &target),
        "the configured domain wins"
    );
    // No trustee domain configured: nobody is a trustee.
    let open = PolicyEnforcer::with_rules(false, None, []).unwrap();
    assert!(allowed(&open, "cluster:create", &t, &own(&t)));
}

#[test]
fn cycles_deny_without_looping() {
    let e = with(&[
        ("a", "rule:b"),
        ("b", "rule:c or rule:a"),
        ("c", "!"),
        ("not_a", "not rule:a"),
        ("self_shortcut", "@ or rule:self_shortcut"),
        ("self", "rule:self"),
    ]);
    let creds = user("u", "p", &["admin"]);
    assert!(!allowed(&e, "a", &creds, &Target::new()));
    assert!(
        !allowed(&e, "not_a", &creds, &Target::new()),
        "a cycle denies outright"
    );
    assert!(!allowed(&e, "self", &creds, &Target::new()));
    // Short-circuiting never reaches the cycle, as in oslo.
    assert!(allowed(&e, "self_shortcut", &creds, &Target::new()));
    let rules = e.rules();
    assert_eq!(rules.cyclic_rules(), ["a", "b", "self", "self_shortcut"]);
}

#[test]
fn deep_but_acyclic_chains_are_evaluated() {
    let names: Vec<String> = (0..30).map(|i| format!("r{i}")).collect();
    let texts: Vec<String> = (0..30)
        .map(|i| {
            if i == 29 {
                "@".to_owned()
            } else {
                format!("rule:r{}", i + 1)
            }
        })
        .collect();
    let e = PolicyEnforcer::with_rules(
        false,
        None,
        names
            .iter()
            .map(String::as_str)
            .zip(texts.iter().map(String::as_str)),
    )
    .unwrap();
    assert!(allowed(&e, "r0", &user("u", "p", &[]), &Target::new()));
}

#[test]
fn unknown_actions_are_denied_with_the_upstream_message() {
    let e = enforcer(false);
    let admin = user("root", "admin", &["admin"]);
    let err = e
        .authorize("cluster:explode", &admin, &own(&admin))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Policy doesn't allow cluster:explode to be performed."
    );
    let err = e
        .authorize("quota:create", &user("u", "p", &["member"]), &Target::new())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Policy doesn't allow quota:create to be performed."
    );
}

// ---------------------------------------------------------------- defaults

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

// ---------------------------------------------------------------- policy files

#[test]
fn overrides_replace_rules_in_both_modes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.yaml");
    std::fs::write(
        &file,
        "# operators' overrides\n\
         \"cluster:create\": \"rule:cloud_ops\"\n\
         cloud_ops: role:ops or rule:context_is_admin\n\
         \"quota:get_all\": \"\"\n",
    )
    .unwrap();
    let member = user("m", "p", &["member"]);
    let ops = user("o", "p", &["ops"]);
    for new_defaults in [false, true] {
        let e = PolicyEnforcer::new(
            &opts(file.to_str().unwrap(), new_defaults),
            &[],
            Some(TRUSTEE_DOMAIN.to_owned()),
        )
        .unwrap();
        assert!(
            !allowed(&e, "cluster:create", &member, &own(&member)),
            "{new_defaults}"
        );
        assert!(allowed(&e, "cluster:create", &ops, &own(&ops)));
        assert!(
            allowed(&e, "quota:get_all", &member, &own(&member)),
            "empty rule allows"
        );
        assert!(allowed(
            &e,
            "cluster_user",
            &trustee("t"),
            &cluster("p", "m", "t")
        ));
    }
}

#[test]
fn json_policy_files_work() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.json");
    std::fs::write(
        &file,
        r#"{"magnum-service:get_all": "role:member", "unused": "@"}"#,
    )
    .unwrap();
    let e = PolicyEnforcer::new(&opts(file.to_str().unwrap(), false), &[], None).unwrap();
    let member = user("m", "p", &["member"]);
    assert!(allowed(
        &e,
        "magnum-service:get_all",
        &member,
        &own(&member)
    ));
}

#[test]
fn relative_files_are_searched_in_order_and_may_be_missing() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    std::fs::write(
        second.path().join("policy.yaml"),
        "\"quota:create\": \"@\"\n",
    )
    .unwrap();
    let member = user("m", "p", &["member"]);
    let dirs = [first.path().to_owned(), second.path().to_owned()];
    let e = PolicyEnforcer::new(&opts("policy.yaml", false), &dirs, None).unwrap();
    assert!(allowed(&e, "quota:create", &member, &own(&member)));

    std::fs::write(
        first.path().join("policy.yaml"),
        "\"quota:create\": \"!\"\n",
    )
    .unwrap();
    let e = PolicyEnforcer::new(&opts("policy.yaml", false), &dirs, None).unwrap();
    assert!(!allowed(
        &e,
        "quota:create",
        &user("root", "p", &["admin"]),
        &Target::new()
    ));

    let e = PolicyEnforcer::new(&opts("absent.yaml", false), &dirs, None).unwrap();
    assert!(
        !allowed(&e, "quota:create", &member, &own(&member)),
        "defaults"
    );
    let e = PolicyEnforcer::new(&opts("/nonexistent/policy.yaml", false), &[], None).unwrap();
    assert!(allowed(&e, "cluster:create", &member, &own(&member)));
}

#[test]
fn empty_files_override_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.yaml");
    std::fs::write(&file, "# nothing yet\n").unwrap();
    let e = PolicyEnforcer::new(&opts(file.to_str().unwrap(), false), &[], None).unwrap();
    let member = user("m", "p", &["member"]);
    assert!(allowed(&e, "cluster:create", &member, &own(&member)));
}

#[test]
fn broken_files_fail_start_up_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, expect) in [
        (
            "syntax.yaml",
            "\"cluster:create\": [unclosed\n",
            "cannot parse policy file",
        ),
        (
            "rule.yaml",
            "\"cluster:create\": \"role:admin or\"\n",
            "cluster:create",
        ),
        ("list.yaml", "- role:admin\n", "cannot parse policy file"),
        ("number.yaml", "\"cluster:create\": 3\n", "must be a string"),
        ("new.yaml", "mine: \"(role:x\"\n", "mine"),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let err = PolicyEnforcer::new(&opts(file.to_str().unwrap(), false), &[], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains(name), "{err}");
        assert!(err.contains(expect), "{err}");
    }
}

#[test]
fn changed_files_are_reloaded_and_bad_reloads_keep_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.yaml");
    std::fs::write(&file, "\"cluster:create\": \"role:ops\"\n").unwrap();
    set_mtime(&file, 1_000_000);
    let mut e =
        PolicyEnforcer::new(&opts("policy.yaml", false), &[dir.path().to_owned()], None).unwrap();
    let member = user("m", "p", &["member"]);
    let ops = user("o", "p", &["ops"]);
    assert!(!allowed(&e, "cluster:create", &member, &own(&member)));
    assert!(!e.reload().unwrap(), "unchanged");

    std::fs::write(&file, "\"cluster:create\": \"role:member\"\n").unwrap();
    set_mtime(&file, 1_000_001);
    // Requests look at the file at most once per interval (a second; longer here)...
    if let Some(w) = e.watch.as_mut() {
        w.interval_ms = 3_600_000;
    }
    assert!(!allowed(&e, "cluster:create", &member, &own(&member)));
    // ...and then notice the change.
    if let Some(w) = e.watch.as_mut() {
        w.interval_ms = 0;
    }
    assert!(allowed(&e, "cluster:create", &member, &own(&member)));
    assert!(!allowed(&e, "cluster:create", &ops, &own(&ops)));

    // A broken edit is reported and the previous rules stay.
    std::fs::write(&file, "\"cluster:create\": \"role:ops and\"\n").unwrap();
    set_mtime(&file, 1_000_002);
    let err = e.reload().unwrap_err().to_string();
    assert!(err.contains("policy.yaml"), "{err}");
    assert!(allowed(&e, "cluster:create", &member, &own(&member)));
    assert!(
        !e.reload().unwrap(),
        "a bad file is not retried until it changes"
    );

    // Fixed: picked up on the next request.
    std::fs::write(&file, "\"cluster:create\": \"role:ops\"\n").unwrap();
    set_mtime(&file, 1_000_003);
    assert!(allowed(&e, "cluster:create", &ops, &own(&ops)));
    assert!(!allowed(&e, "cluster:create", &member, &own(&member)));

    // Removed: the rules loaded from it stay; back again: reloaded.
    std::fs::remove_file(&file).unwrap();
    assert!(!e.reload().unwrap());
    assert!(allowed(&e, "cluster:create", &ops, &own(&ops)));
    std::fs::write(&file, "\"cluster:create\": \"@\"\n").unwrap();
    assert!(e.reload().unwrap());
    assert!(allowed(&e, "cluster:create", &member, &own(&member)));
}

#[test]
fn a_file_created_after_start_up_is_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let e =
        PolicyEnforcer::new(&opts("policy.yaml", false), &[dir.path().to_owned()], None).unwrap();
    let member = user("m", "p", &["member"]);
    assert!(allowed(&e, "cluster:create", &member, &own(&member)));
    std::fs::write(
        dir.path().join("policy.yaml"),
        "\"cluster:create\": \"!\"\n",
    )
    .unwrap();
    assert!(e.reload().unwrap());
    assert!(!allowed(&e, "cluster:create", &member, &own(&member)));
}

#[test]
fn search_dirs_follow_oslo_config() {
    let dirs = search_dirs(
        &[
            PathBuf::from("/a/magnum.conf"),
            PathBuf::from("/b/extra.conf"),
            PathBuf::from("local.conf"),
        ],
        &[PathBuf::from("/c/conf.d")],
    );
    assert_eq!(
        dirs,
        ["/c/conf.d", ".", "/b", "/a", "/etc/magnum"].map(PathBuf::from)
    );
    assert_eq!(
        search_dirs(&[PathBuf::from("/etc/magnum/magnum.conf")], &[]),
        [PathBuf::from("/etc/magnum")]
    );
}

// ---------------------------------------------------------------- sample

#[test]
fn the_sample_reads_back_as_the_defaults() {
    for new_defaults in [false, true] {
        let sample = default_rules_yaml(new_defaults);
        let uncommented: String = sample
            .lines()
            .filter_map(|line| line.strip_prefix("#\""))
            .map(|line| format!("\"{line}\n"))
            .collect();
        let parsed: BTreeMap<String, String> = yaml_serde::from_str(&uncommented).unwrap();
        assert_eq!(parsed.len(), DEFAULTS.len());
        for default in DEFAULTS {
            assert_eq!(
                parsed[default.name],
                default.effective(new_defaults),
                "{}",
                default.name
            );
        }
        // Every line is a comment or blank, so the sample itself overrides nothing.
        assert!(sample.lines().all(|l| l.is_empty() || l.starts_with('#')));
        let from_sample: BTreeMap<String, String> = yaml_serde::from_str::<Option<_>>(&sample)
            .unwrap()
            .unwrap_or_default();
        assert!(from_sample.is_empty());
    }
}

/// The committed sample must match what the code generates. Regenerate it with
/// `MAGNUM_UPDATE_SAMPLE=1 cargo test -p magnum-common committed_policy_sample`.
#[test]
fn committed_policy_sample_is_current() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../etc/magnum/policy.yaml.sample"
    );
    let expected = default_rules_yaml(false);
    if std::env::var_os("MAGNUM_UPDATE_SAMPLE").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == expected,
        "etc/magnum/policy.yaml.sample is stale: regenerate it with \
         `MAGNUM_UPDATE_SAMPLE=1 cargo test -p magnum-common committed_policy_sample`"
    );
}
