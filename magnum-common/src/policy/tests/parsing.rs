//! The rule language's parser: precedence, grouping, special rules, errors and
//! `%(key)s` templates.

use super::*;
use crate::policy::parser::{canonical, template};

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
    use crate::policy::check::{Part, Template};
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
