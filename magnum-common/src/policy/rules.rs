//! A compiled rule set: the defaults for one mode with a policy file's overrides
//! applied, every rule parsed and every `rule:` reference resolved to an index.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::check::{Check, Env, EvalError, Evaluator};
use super::defaults::DEFAULTS;
use super::parser::parse;
use super::{CONTEXT_IS_ADMIN, PolicyError};

/// Rules by name, ready to evaluate.
#[derive(Debug)]
pub(crate) struct RuleSet {
    index: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
    checks: Vec<Check>,
    /// The index of `context_is_admin`, looked up on every request.
    context_is_admin: Option<u32>,
}

impl RuleSet {
    /// The defaults for the mode, with `overrides` (name → rule) replacing rules of
    /// the same name and adding the others. `file` names where the overrides came
    /// from, for errors.
    pub(crate) fn build(
        new_defaults: bool,
        overrides: &BTreeMap<String, String>,
        file: Option<&Path>,
    ) -> Result<Self, PolicyError> {
        let mut set = RuleSet {
            index: HashMap::with_capacity(DEFAULTS.len() + overrides.len()),
            names: Vec::with_capacity(DEFAULTS.len() + overrides.len()),
            checks: Vec::with_capacity(DEFAULTS.len() + overrides.len()),
            context_is_admin: None,
        };
        let file_error = |e| match file {
            Some(path) => PolicyError::FileRule {
                path: path.to_owned(),
                source: e,
            },
            None => PolicyError::Rule(e),
        };
        for default in DEFAULTS {
            let check = match overrides.get(default.name) {
                Some(text) => parse(default.name, text).map_err(file_error)?,
                None => parse(default.name, &default.effective(new_defaults))?,
            };
            set.push(default.name, check);
        }
        for (name, text) in overrides {
            if !set.index.contains_key(name.as_str()) {
                let check = parse(name, text).map_err(file_error)?;
                set.push(name, check);
            }
        }
        set.resolve();
        set.context_is_admin = set.id(CONTEXT_IS_ADMIN);
        set.warn_about_mistakes();
        Ok(set)
    }

    fn push(&mut self, name: &str, check: Check) {
        // `checks` never exceeds u32 entries: rule names come from one file.
        let id = u32::try_from(self.checks.len()).unwrap_or(u32::MAX);
        self.index.insert(name.into(), id);
        self.names.push(name.into());
        self.checks.push(check);
    }

    /// Points every `rule:` reference at its rule's index.
    fn resolve(&mut self) {
        fn walk(check: &mut Check, index: &HashMap<Box<str>, u32>) {
            match check {
                Check::Not(inner) => walk(inner, index),
                Check::And(items) | Check::Or(items) => {
                    for item in items {
                        walk(item, index);
                    }
                }
                Check::Rule(r) => r.id = index.get(&r.name).copied(),
                Check::Always | Check::Never | Check::Role { .. } | Check::Generic { .. } => {}
            }
        }
        let index = &self.index;
        for check in &mut self.checks {
            walk(check, index);
        }
    }

    /// Logs what oslo's `check_rules` warns about: references to undefined rules and
    /// rules that refer to themselves through others.
    fn warn_about_mistakes(&self) {
        for (name, missing) in self.undefined_references() {
            tracing::warn!(
                rule = name,
                missing,
                "policy rule refers to an undefined rule, which denies"
            );
        }
        let cyclic = self.cyclic_rules();
        if !cyclic.is_empty() {
            tracing::warn!(rules = ?cyclic, "policy rules refer to each other in a cycle; checks that reach the cycle deny");
        }
    }

    /// The index of a rule.
    pub(crate) fn id(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// The index of `context_is_admin`, if it exists.
    pub(crate) fn context_is_admin(&self) -> Option<u32> {
        self.context_is_admin
    }

    /// A rule's name.
    pub(crate) fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("?", |n| n)
    }

    /// Evaluates rule `id`.
    pub(crate) fn eval(&self, id: u32, env: Env<'_>) -> Result<bool, EvalError> {
        Evaluator::new(&self.checks, env).rule(id)
    }

    /// The canonical form of a rule, as oslo prints it.
    #[cfg(test)]
    pub(crate) fn canonical(&self, name: &str) -> Option<String> {
        let id = self.id(name)?;
        self.checks.get(id as usize).map(|c| c.to_string())
    }

    /// `(rule, undefined name)` for every reference to a rule that does not exist.
    pub(crate) fn undefined_references(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        for (id, check) in self.checks.iter().enumerate() {
            for_each_ref(check, &mut |name, target| {
                if target.is_none() {
                    out.push((&*self.names[id], name));
                }
            });
        }
        out
    }

    /// The names of the rules that are part of a reference cycle, sorted.
    pub(crate) fn cyclic_rules(&self) -> Vec<&str> {
        // Iterative three-colour depth-first search over the `rule:` graph.
        const WHITE: u8 = 0;
        const GREY: u8 = 1;
        const BLACK: u8 = 2;
        let edges: Vec<Vec<u32>> = self
            .checks
            .iter()
            .map(|check| {
                let mut out = Vec::new();
                for_each_ref(check, &mut |_, target| out.extend(target));
                out
            })
            .collect();
        let mut colour = vec![WHITE; self.checks.len()];
        let mut in_cycle = vec![false; self.checks.len()];
        for start in 0..self.checks.len() {
            if colour[start] != WHITE {
                continue;
            }
            let mut path: Vec<(usize, usize)> = vec![(start, 0)];
            colour[start] = GREY;
            while let Some(top) = path.last_mut() {
                let node = top.0;
                if let Some(&to) = edges[node].get(top.1) {
                    top.1 += 1;
                    let to = to as usize;
                    match colour[to] {
                        WHITE => {
                            colour[to] = GREY;
                            path.push((to, 0));
                        }
                        GREY => {
                            let from = path.iter().position(|&(n, _)| n == to).unwrap_or(0);
                            for &(n, _) in &path[from..] {
                                in_cycle[n] = true;
                            }
                        }
                        _ => {}
                    }
                } else {
                    colour[node] = BLACK;
                    path.pop();
                }
            }
        }
        let mut names: Vec<&str> = (0..self.checks.len())
            .filter(|&i| in_cycle[i])
            .map(|i| &*self.names[i])
            .collect();
        names.sort_unstable();
        names
    }
}

fn for_each_ref<'a>(check: &'a Check, f: &mut dyn FnMut(&'a str, Option<u32>)) {
    match check {
        Check::Not(inner) => for_each_ref(inner, f),
        Check::And(items) | Check::Or(items) => {
            for item in items {
                for_each_ref(item, f);
            }
        }
        Check::Rule(r) => f(&r.name, r.id),
        Check::Always | Check::Never | Check::Role { .. } | Check::Generic { .. } => {}
    }
}

/// Reads a policy file: a YAML (or JSON) mapping of rule name to rule string. An
/// empty file overrides nothing.
pub(crate) fn read_policy_file(path: &Path) -> Result<BTreeMap<String, String>, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
        path: path.to_owned(),
        source,
    })?;
    let format_error = |message: String| PolicyError::Format {
        path: path.to_owned(),
        message,
    };
    let parsed: Option<BTreeMap<String, yaml_serde::Value>> =
        yaml_serde::from_str(&text).map_err(|e| format_error(e.to_string()))?;
    let mut rules = BTreeMap::new();
    for (name, value) in parsed.unwrap_or_default() {
        match value {
            yaml_serde::Value::String(rule) => {
                rules.insert(name, rule);
            }
            other => {
                let found = match other {
                    yaml_serde::Value::Null => "nothing",
                    yaml_serde::Value::Bool(_) => "a boolean",
                    yaml_serde::Value::Number(_) => "a number",
                    yaml_serde::Value::Sequence(_) => "a list",
                    yaml_serde::Value::Mapping(_) => "a mapping",
                    yaml_serde::Value::Tagged(_) | yaml_serde::Value::String(_) => "a tagged value",
                };
                return Err(format_error(format!(
                    "rule \"{name}\" must be a string, found {found}"
                )));
            }
        }
    }
    Ok(rules)
}
