//! Operators' policy files: overrides in YAML or JSON, oslo.config's search
//! directories, broken files and reloading on change.

use std::path::PathBuf;

use super::*;

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
