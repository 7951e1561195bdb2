//! The sample `policy.yaml`: every default, commented out, in the layout of
//! `oslopolicy-sample-generator`.

use super::DEFAULTS;

/// Why the legacy defaults are deprecated (upstream's wording).
const DEPRECATED_REASON: &str =
    "The Magnum API now enforces scoped tokens and default reader and member roles.";
/// Since when (upstream's wording).
const DEPRECATED_SINCE: &str = "OpenStack 2023.2(Magnum 17.0.0)";

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
