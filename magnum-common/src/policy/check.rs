//! The parsed form of a rule and its evaluation.
//!
//! Rules are parsed once into a [`Check`] tree; `rule:` references are resolved
//! to indices when a rule set is built, so evaluating a request walks the tree
//! without parsing, hashing rule names or (except for the rare mixed template)
//! allocating.

use std::borrow::Cow;
use std::fmt;

use super::{Credentials, Target};

/// How deep `rule:` references may nest before evaluation gives up. Real rule
/// sets nest a handful of levels; anything deeper is a mistake.
pub(crate) const MAX_DEPTH: usize = 64;

/// One node of a parsed rule.
#[derive(Debug, Clone)]
pub(crate) enum Check {
    /// `@`, or the empty rule.
    Always,
    /// `!`.
    Never,
    /// `not X`.
    Not(Box<Check>),
    /// `X and Y and …`.
    And(Vec<Check>),
    /// `X or Y or …`.
    Or(Vec<Check>),
    /// `rule:NAME`.
    Rule(RuleRef),
    /// `role:NAME`: one of the caller's roles, compared case-insensitively.
    Role {
        /// The whole check as written, for display.
        raw: Box<str>,
        /// The role, possibly with `%(key)s` substitutions from the target.
        value: Template,
    },
    /// `key:value`: a credential (or a literal) compared with the value.
    Generic {
        /// The whole check as written, for display.
        raw: Box<str>,
        /// What is compared: a credential field or a literal.
        kind: Kind,
        /// What it must equal.
        value: Template,
    },
}

/// A `rule:NAME` reference, resolved to the rule's index when the set is built.
#[derive(Debug, Clone)]
pub(crate) struct RuleRef {
    /// The referenced name.
    pub name: Box<str>,
    /// Its index in the rule set; `None` when no rule has that name (fails closed).
    pub id: Option<u32>,
}

/// The left side of a generic check.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// A Python literal (`'text'`, `True`, `42`), rendered as `str()` would.
    Literal(Box<str>),
    /// A credential field.
    Cred(CredKey),
}

/// The credential fields a generic check can name (with oslo.context's aliases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredKey {
    UserId,
    ProjectId,
    DomainId,
    UserDomainId,
    ProjectDomainId,
    IsAdmin,
    Roles,
    /// Anything else: not in the credentials, so the check is false.
    Unknown,
}

impl CredKey {
    /// The field a check's key names.
    pub(crate) fn from_key(key: &str) -> Self {
        match key {
            "user_id" | "user" => CredKey::UserId,
            "project_id" | "tenant" | "tenant_id" | "project" => CredKey::ProjectId,
            "domain_id" | "domain" => CredKey::DomainId,
            "user_domain_id" | "user_domain" => CredKey::UserDomainId,
            "project_domain_id" | "project_domain" => CredKey::ProjectDomainId,
            "is_admin" => CredKey::IsAdmin,
            "roles" => CredKey::Roles,
            _ => CredKey::Unknown,
        }
    }
}

/// The right side of a check: Python `%`-formatting against the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Template {
    /// No substitution.
    Plain(Box<str>),
    /// Exactly `%(key)s`.
    Key(Box<str>),
    /// Literal text mixed with substitutions.
    Mixed(Box<[Part]>),
}

/// A piece of a mixed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Lit(Box<str>),
    Key(Box<str>),
}

impl Template {
    /// Whether the template, filled from the target, equals `candidate`. A missing
    /// target key makes it false, as oslo's `KeyError` does.
    fn matches(&self, candidate: &str, env: &Env<'_>) -> bool {
        match self {
            Template::Plain(text) => **text == *candidate,
            Template::Key(key) => env.lookup(key) == Some(candidate),
            Template::Mixed(parts) => {
                let mut rest = candidate;
                for part in parts.iter() {
                    let piece = match part {
                        Part::Lit(text) => &**text,
                        Part::Key(key) => match env.lookup(key) {
                            Some(value) => value,
                            None => return false,
                        },
                    };
                    match rest.strip_prefix(piece) {
                        Some(tail) => rest = tail,
                        None => return false,
                    }
                }
                rest.is_empty()
            }
        }
    }

    /// The filled-in text, or `None` when a target key is missing.
    fn render<'a>(&'a self, env: &Env<'a>) -> Option<Cow<'a, str>> {
        match self {
            Template::Plain(text) => Some(Cow::Borrowed(text)),
            Template::Key(key) => env.lookup(key).map(Cow::Borrowed),
            Template::Mixed(parts) => {
                let mut out = String::new();
                for part in parts.iter() {
                    match part {
                        Part::Lit(text) => out.push_str(text),
                        Part::Key(key) => out.push_str(env.lookup(key)?),
                    }
                }
                Some(Cow::Owned(out))
            }
        }
    }
}

impl fmt::Display for Check {
    /// The canonical form oslo.policy prints (`(a or (b and c))`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Always => f.write_str("@"),
            Check::Never => f.write_str("!"),
            Check::Not(inner) => write!(f, "not {inner}"),
            Check::And(items) => join(f, items, " and "),
            Check::Or(items) => join(f, items, " or "),
            Check::Rule(r) => write!(f, "rule:{}", r.name),
            Check::Role { raw, .. } | Check::Generic { raw, .. } => f.write_str(raw),
        }
    }
}

fn join(f: &mut fmt::Formatter<'_>, items: &[Check], sep: &str) -> fmt::Result {
    f.write_str("(")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{item}")?;
    }
    f.write_str(")")
}

/// What a check is evaluated against.
pub(crate) struct Env<'a> {
    pub creds: &'a Credentials,
    /// The effective `is_admin` (see [`super::PolicyEnforcer::authorize`]).
    pub is_admin: bool,
    pub target: &'a Target,
    /// Injected as the target's `trustee_domain_id`, overriding the caller's.
    pub trustee_domain_id: Option<&'a str>,
}

impl<'a> Env<'a> {
    /// A target value, with `trustee_domain_id` injected as Magnum does.
    fn lookup(&self, key: &str) -> Option<&'a str> {
        if key == "trustee_domain_id"
            && let Some(domain) = self.trustee_domain_id
        {
            return Some(domain);
        }
        self.target.get(key)
    }
}

/// Why evaluation stopped without an answer; the caller denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EvalError {
    /// This rule was reached again while being evaluated.
    Cycle(u32),
    /// `rule:` references nest deeper than [`MAX_DEPTH`].
    TooDeep,
}

/// Walks rule trees, tracking the `rule:` references in progress to catch cycles.
pub(crate) struct Evaluator<'a> {
    rules: &'a [Check],
    env: Env<'a>,
    stack: [u32; MAX_DEPTH],
    depth: usize,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(rules: &'a [Check], env: Env<'a>) -> Self {
        Evaluator {
            rules,
            env,
            stack: [0; MAX_DEPTH],
            depth: 0,
        }
    }

    /// Evaluates the rule with index `id`.
    pub(crate) fn rule(&mut self, id: u32) -> Result<bool, EvalError> {
        if self.stack[..self.depth].contains(&id) {
            return Err(EvalError::Cycle(id));
        }
        if self.depth == MAX_DEPTH {
            return Err(EvalError::TooDeep);
        }
        let Some(check) = self.rules.get(id as usize) else {
            return Ok(false);
        };
        self.stack[self.depth] = id;
        self.depth += 1;
        let result = self.check(check);
        self.depth -= 1;
        result
    }

    fn check(&mut self, check: &'a Check) -> Result<bool, EvalError> {
        Ok(match check {
            Check::Always => true,
            Check::Never => false,
            Check::Not(inner) => !self.check(inner)?,
            Check::And(items) => {
                for item in items {
                    if !self.check(item)? {
                        return Ok(false);
                    }
                }
                true
            }
            Check::Or(items) => {
                for item in items {
                    if self.check(item)? {
                        return Ok(true);
                    }
                }
                false
            }
            Check::Rule(r) => match r.id {
                Some(id) => self.rule(id)?,
                None => false,
            },
            Check::Role { value, .. } => match value.render(&self.env) {
                Some(role) => self
                    .env
                    .creds
                    .roles
                    .iter()
                    .any(|have| eq_lowercase(have, &role)),
                None => false,
            },
            Check::Generic { kind, value, .. } => self.generic(kind, value),
        })
    }

    fn generic(&self, kind: &Kind, value: &Template) -> bool {
        let env = &self.env;
        let creds = env.creds;
        match kind {
            Kind::Literal(literal) => value.matches(literal, env),
            Kind::Cred(key) => match key {
                CredKey::UserId => value.matches(&creds.user_id, env),
                CredKey::ProjectId => value.matches(py_str(&creds.project_id), env),
                CredKey::DomainId => value.matches(py_str(&creds.domain_id), env),
                CredKey::UserDomainId => value.matches(py_str(&creds.user_domain_id), env),
                CredKey::ProjectDomainId => value.matches(py_str(&creds.project_domain_id), env),
                CredKey::IsAdmin => value.matches(if env.is_admin { "True" } else { "False" }, env),
                // oslo matches a list credential when any element matches.
                CredKey::Roles => creds.roles.iter().any(|role| value.matches(role, env)),
                CredKey::Unknown => false,
            },
        }
    }
}

/// Python's `str()` of an optional string: `None` for a missing value.
fn py_str(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("None")
}

/// `a.lower() == b.lower()` without allocating.
fn eq_lowercase(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
    }
}
