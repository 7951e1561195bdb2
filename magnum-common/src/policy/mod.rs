//! Authorization with oslo.policy's rule language and Magnum's default rules.
//!
//! Operators keep the `policy.yaml` they wrote for upstream Magnum: the same rule
//! language, the same action names, the same defaults (2023.1's, and the
//! reader/member defaults of later releases behind `[oslo_policy]
//! enforce_new_defaults`), and a policy file that is re-read when it changes.
//!
//! Rules are parsed once per load into trees; [`PolicyEnforcer::authorize`] only
//! walks them, since it runs on every API request.

mod check;
mod defaults;
mod parser;
mod rules;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Instant, SystemTime};

use crate::config::OsloPolicyOpts;

use check::{Env, EvalError};
use rules::RuleSet;

pub use defaults::default_rules_yaml;
pub use parser::ParseError;

/// The rule whose result is the caller's `is_admin`.
pub const CONTEXT_IS_ADMIN: &str = "context_is_admin";

/// Searched last for a relative `policy_file`, as oslo.config does.
pub const DEFAULT_SEARCH_DIR: &str = "/etc/magnum";

/// How often, at most, the policy file's modification time is looked at.
const RELOAD_INTERVAL_MS: u64 = 1000;

/// Who is asking: the fields of Magnum's request context that rules can name
/// (`user_id:…`, `project_id:…`, `domain_id:…`, `role:…`, `is_admin:True`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Keystone user id.
    pub user_id: String,
    /// The token's project; `None` for unscoped tokens (rules see `None`).
    pub project_id: Option<String>,
    /// The user's domain (`X-User-Domain-Id`); trustees are recognised by it.
    pub domain_id: Option<String>,
    /// The user's domain, under its newer name.
    pub user_domain_id: Option<String>,
    /// The project's domain.
    pub project_domain_id: Option<String>,
    /// Role names, compared case-insensitively by `role:` checks.
    pub roles: Vec<String>,
    /// Whether the caller is an administrator. Callers set it from
    /// [`PolicyEnforcer::is_admin`]; `authorize` also computes `context_is_admin`
    /// itself, so leaving it false never takes rights away.
    pub is_admin: bool,
}

/// What is acted on: string attributes such as `project_id`, `user_id` and
/// `trustee_user_id`, which rules substitute with `%(key)s`. A key that is absent
/// makes any check naming it false.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target(BTreeMap<String, String>);

impl Target {
    /// An empty target.
    pub const fn new() -> Self {
        Target(BTreeMap::new())
    }

    /// Sets an attribute, returning its previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.0.insert(key.into(), value.into())
    }

    /// Sets an attribute (builder style).
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.insert(key, value);
        self
    }

    /// An attribute's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Whether no attribute is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Target {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Target(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// The policy refused an action; the API turns it into a 403 with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Policy doesn't allow {action} to be performed.")]
pub struct PolicyDenied {
    /// The refused action (`cluster:create`).
    pub action: String,
}

/// Why the policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy file exists but could not be read.
    #[error("cannot read policy file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The policy file is not a YAML/JSON mapping of names to rule strings.
    #[error("cannot parse policy file {path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A rule in the policy file is not valid.
    #[error("invalid rule in policy file {path}: {source}")]
    FileRule {
        /// The file.
        path: PathBuf,
        /// The rule and what is wrong with it.
        source: ParseError,
    },
    /// A rule given in code is not valid.
    #[error(transparent)]
    Rule(#[from] ParseError),
}

/// Decides whether a caller may perform an action, from Magnum's defaults and the
/// operator's policy file, which it re-reads when its modification time changes.
#[derive(Debug)]
pub struct PolicyEnforcer {
    new_defaults: bool,
    trustee_domain_id: Option<String>,
    rules: RwLock<Arc<RuleSet>>,
    watch: Option<Watch>,
}

/// The policy file being watched.
#[derive(Debug)]
struct Watch {
    /// `[oslo_policy] policy_file` as configured.
    policy_file: PathBuf,
    /// Where a relative `policy_file` is looked for, in order.
    search_dirs: Vec<PathBuf>,
    /// Minimum time between two looks at the file.
    interval_ms: u64,
    /// Origin of `last_check_ms`.
    epoch: Instant,
    /// When the file was last looked at, in ms since `epoch`.
    last_check_ms: AtomicU64,
    /// The file as last seen (`None`: there was none).
    seen: Mutex<Option<Stamp>>,
}

/// Enough about a file to notice that it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    path: PathBuf,
    modified: Option<SystemTime>,
    len: u64,
}

impl Watch {
    /// The policy file and its stamp, if it exists: an absolute path as given, a
    /// relative one in the first search directory that has it.
    fn locate(&self) -> Option<Stamp> {
        let stamp = |path: PathBuf| {
            let meta = std::fs::metadata(&path).ok()?;
            meta.is_file().then(|| Stamp {
                modified: meta.modified().ok(),
                len: meta.len(),
                path,
            })
        };
        if self.policy_file.is_absolute() {
            return stamp(self.policy_file.clone());
        }
        self.search_dirs
            .iter()
            .find_map(|dir| stamp(dir.join(&self.policy_file)))
    }
}

/// An empty target, for `context_is_admin` (Magnum checks it against `{}`).
static NO_TARGET: Target = Target::new();

impl PolicyEnforcer {
    /// Loads the defaults for `[oslo_policy] enforce_new_defaults` and the policy
    /// file, if there is one (a missing file is not an error; a broken one is).
    /// A relative `policy_file` is looked for in `search_dirs` in order (see
    /// [`search_dirs`]). `trustee_domain_id` is `[trust] trustee_domain_id`, which
    /// every target gets as `trustee_domain_id`, as Magnum injects it.
    pub fn new(
        opts: &OsloPolicyOpts,
        search_dirs: &[PathBuf],
        trustee_domain_id: Option<String>,
    ) -> Result<Self, PolicyError> {
        let watch = Watch {
            policy_file: PathBuf::from(&opts.policy_file),
            search_dirs: search_dirs.to_vec(),
            interval_ms: RELOAD_INTERVAL_MS,
            epoch: Instant::now(),
            last_check_ms: AtomicU64::new(0),
            seen: Mutex::new(None),
        };
        let stamp = if opts.policy_file.is_empty() {
            None
        } else {
            watch.locate()
        };
        let rules = match &stamp {
            Some(stamp) => {
                let set = load(opts.enforce_new_defaults, &stamp.path)?;
                tracing::info!(path = %stamp.path.display(), "loaded policy file");
                set
            }
            None => {
                tracing::debug!(
                    policy_file = %opts.policy_file,
                    "policy file not found; using the default rules"
                );
                RuleSet::build(opts.enforce_new_defaults, &BTreeMap::new(), None)?
            }
        };
        *watch.seen.lock().unwrap_or_else(PoisonError::into_inner) = stamp;
        Ok(PolicyEnforcer {
            new_defaults: opts.enforce_new_defaults,
            trustee_domain_id,
            rules: RwLock::new(Arc::new(rules)),
            watch: (!opts.policy_file.is_empty()).then_some(watch),
        })
    }

    /// An enforcer without a policy file: the defaults for the mode with
    /// `overrides` (name → rule) applied. Useful in tests of the API.
    pub fn with_rules<'a>(
        new_defaults: bool,
        trustee_domain_id: Option<String>,
        overrides: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, PolicyError> {
        let overrides: BTreeMap<String, String> = overrides
            .into_iter()
            .map(|(name, rule)| (name.to_owned(), rule.to_owned()))
            .collect();
        Ok(PolicyEnforcer {
            new_defaults,
            trustee_domain_id,
            rules: RwLock::new(Arc::new(RuleSet::build(new_defaults, &overrides, None)?)),
            watch: None,
        })
    }

    /// Allows `action` (`cluster:create`) on `target` for `creds`, or says why
    /// not. An action no rule is named after is denied (and logged: it is a bug
    /// in the caller). `is_admin:True` checks see `creds.is_admin` or the result of
    /// `context_is_admin`, computed first as Magnum's request context does.
    pub fn authorize(
        &self,
        action: &str,
        creds: &Credentials,
        target: &Target,
    ) -> Result<(), PolicyDenied> {
        if self.enforce(action, creds, target) {
            Ok(())
        } else {
            Err(PolicyDenied {
                action: action.to_owned(),
            })
        }
    }

    /// [`authorize`](Self::authorize) as a boolean.
    pub fn enforce(&self, action: &str, creds: &Credentials, target: &Target) -> bool {
        self.maybe_reload();
        let rules = self.rules();
        let Some(id) = rules.id(action) else {
            tracing::error!(action, "policy check for an action without a rule; denying");
            return false;
        };
        let is_admin = creds.is_admin || self.context_is_admin(&rules, creds);
        let env = self.env(creds, is_admin, target);
        let allowed = self.evaluate(&rules, id, env, action);
        if !allowed {
            tracing::debug!(action, user_id = %creds.user_id, "policy denied");
        }
        allowed
    }

    /// Whether `creds` pass `context_is_admin` (evaluated against an empty target,
    /// as Magnum does when it builds the request context).
    pub fn is_admin(&self, creds: &Credentials) -> bool {
        self.maybe_reload();
        let rules = self.rules();
        self.context_is_admin(&rules, creds)
    }

    /// Whether the new (reader/member) defaults alone are enforced.
    pub fn enforces_new_defaults(&self) -> bool {
        self.new_defaults
    }

    /// Looks at the policy file now, and reloads it if it changed since it was last
    /// seen (for a SIGHUP handler; requests do this at most once a second). Returns
    /// whether the rules were replaced. A file that fails to load leaves the
    /// current rules in force; the error is logged and returned.
    pub fn reload(&self) -> Result<bool, PolicyError> {
        let Some(watch) = &self.watch else {
            return Ok(false);
        };
        let mut seen = watch.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let current = watch.locate();
        if current == *seen {
            return Ok(false);
        }
        let previous = std::mem::replace(&mut *seen, current.clone());
        let Some(stamp) = current else {
            if let Some(previous) = previous {
                tracing::error!(
                    path = %previous.path.display(),
                    "policy file disappeared; keeping the rules loaded from it"
                );
            }
            return Ok(false);
        };
        match load(self.new_defaults, &stamp.path) {
            Ok(set) => {
                *self.rules.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
                tracing::info!(path = %stamp.path.display(), "reloaded policy file");
                Ok(true)
            }
            Err(e) => {
                tracing::error!(error = %e, "policy file not reloaded; keeping the previous rules");
                Err(e)
            }
        }
    }

    /// Reloads the file if it is time to look at it again.
    fn maybe_reload(&self) {
        let Some(watch) = &self.watch else {
            return;
        };
        let now = u64::try_from(watch.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = watch.last_check_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < watch.interval_ms {
            return;
        }
        // One thread looks; the others go on with the rules they have.
        if watch
            .last_check_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            // Errors were logged by `reload`.
            let _ = self.reload();
        }
    }

    fn rules(&self) -> Arc<RuleSet> {
        Arc::clone(&self.rules.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn env<'a>(&'a self, creds: &'a Credentials, is_admin: bool, target: &'a Target) -> Env<'a> {
        Env {
            creds,
            is_admin,
            target,
            trustee_domain_id: self.trustee_domain_id.as_deref(),
        }
    }

    fn context_is_admin(&self, rules: &RuleSet, creds: &Credentials) -> bool {
        let Some(id) = rules.context_is_admin() else {
            return false;
        };
        let env = self.env(creds, creds.is_admin, &NO_TARGET);
        self.evaluate(rules, id, env, CONTEXT_IS_ADMIN)
    }

    fn evaluate(&self, rules: &RuleSet, id: u32, env: Env<'_>, action: &str) -> bool {
        match rules.eval(id, env) {
            Ok(allowed) => allowed,
            Err(EvalError::Cycle(rule)) => {
                tracing::error!(
                    action,
                    rule = rules.name(rule),
                    "policy rules refer to each other in a cycle; denying"
                );
                false
            }
            Err(EvalError::TooDeep) => {
                tracing::error!(action, "policy rules nest too deeply; denying");
                false
            }
        }
    }
}

/// Reads the policy file and builds the rule set with its overrides.
fn load(new_defaults: bool, path: &Path) -> Result<RuleSet, PolicyError> {
    let overrides = rules::read_policy_file(path)?;
    RuleSet::build(new_defaults, &overrides, Some(path))
}

/// Where a relative `policy_file` is looked for, in oslo.config's order: the
/// `--config-dir` directories, the directories of the `--config-file`s (the last
/// file's first), then [`DEFAULT_SEARCH_DIR`].
pub fn search_dirs(config_files: &[PathBuf], config_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let files = config_files.iter().rev().map(|file| match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    });
    for dir in config_dirs
        .iter()
        .cloned()
        .chain(files)
        .chain([PathBuf::from(DEFAULT_SEARCH_DIR)])
    {
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

#[cfg(test)]
mod tests;
