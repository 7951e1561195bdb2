//! How checks evaluate: every kind of check, missing keys and credentials, roles,
//! `is_admin`, the trustee domain, cycles and unknown actions.

use super::*;

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
