//! The Heat templates: `heat-templates/` built into the binary, or a directory with the same
//! layout (`[drivers] heat_template_dir`), and their rendering into a stack's template, files
//! and environment files.
//!
//! Files ending in `.yaml` or `.json` are tera templates (rendered with the driver's context:
//! `driver`, `os_distro`, `coe` and `params`, the parameter list of the driver's
//! `_params.yaml`); every other file is sent as is. A stack carries only the files its
//! template and environment files reference (`get_file`, a resource `type` naming a file,
//! an environment's `resource_registry` entries), recursively, keyed by the name they are
//! referenced with, which is their path relative to `heat-templates/`. Names starting with
//! `_` are tera partials and parameter lists, never referenced by Heat.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::DriverError;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/heat_templates.rs"));
}

/// The files `names` (whitespace-separated) joined by newlines, gzip'd, in base64: a node's
/// whole bootstrap in its user data (cloud-config's `gz+b64` files; Ignition's `data:` URLs with
/// `"compression": "gzip"`), small enough for Nova's 64 KiB of user data.
fn gzip_base64(sources: &BTreeMap<String, String>, names: &str) -> Result<String, String> {
    use base64::Engine as _;
    use std::io::Write as _;
    let mut text = String::new();
    for name in names.split_whitespace() {
        let body = sources
            .get(name)
            .ok_or_else(|| format!("gzip: no file {name}"))?;
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(body);
    }
    let mut gz = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::best());
    gz.write_all(text.as_bytes())
        .and_then(|()| gz.finish())
        .map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes))
        .map_err(|e| format!("gzip: {e}"))
}

/// Why templates could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A file is not UTF-8 text.
    #[error("{path} is not UTF-8 text")]
    NotText {
        /// The file.
        path: PathBuf,
    },
    /// A tera template does not compile.
    #[error("template {name}: {message}")]
    Syntax {
        /// Template name (relative path).
        name: String,
        /// Tera's message.
        message: String,
    },
    /// A `_params.yaml` parameter list is malformed.
    #[error("parameter list {name}: {message}")]
    Params {
        /// The list's name (relative path).
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// One stack parameter as a `_params.yaml` declares it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// Parameter name.
    pub name: String,
    /// HOT type (string, number, boolean, comma_delimited_list, json).
    #[serde(rename = "type")]
    pub kind: String,
    /// Default value; None: the parameter is required.
    #[serde(default)]
    pub default: Option<Value>,
    /// Heat masks the value.
    #[serde(default)]
    pub hidden: bool,
    /// HOT constraints.
    #[serde(default)]
    pub constraints: Option<Value>,
    /// Which node templates receive it (all, master, minion, node); None: cluster only.
    #[serde(default)]
    pub to: Option<String>,
    /// One line of documentation.
    pub description: String,
}

/// A parameter as the templates see it (every field present).
#[derive(Serialize)]
struct ParamView<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    description: &'a str,
    has_default: bool,
    default: &'a Value,
    hidden: bool,
    constraints: &'a Value,
    to: &'a str,
}

/// What a driver renders a stack with.
#[derive(Debug, Clone)]
pub struct RenderContext<'a> {
    /// Driver name.
    pub driver: &'a str,
    /// Glance os_distro the driver serves.
    pub os_distro: &'a str,
    /// COE.
    pub coe: &'a str,
    /// The driver's parameter list.
    pub params: &'a [ParamSpec],
}

/// A rendered stack without its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedFiles {
    /// The main template.
    pub template: String,
    /// Every referenced file by its name.
    pub files: BTreeMap<String, String>,
}

/// A loaded set of templates (see the module documentation).
pub struct Templates {
    tera: tera::Tera,
    sources: BTreeMap<String, String>,
    params: BTreeMap<String, Vec<ParamSpec>>,
    origin: String,
    /// Renderings already made: they depend only on the files and the context, not on the
    /// cluster, and finding the referenced files means parsing every rendered YAML file.
    rendered: Mutex<HashMap<String, Arc<RenderedFiles>>>,
}

/// Distinct renderings kept (a few per driver in practice); the cache starts over past it.
const RENDER_CACHE_SIZE: usize = 256;

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("origin", &self.origin)
            .field("files", &self.sources.len())
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// The templates built into the binary (`dir` None), or those of `dir`.
    pub fn load(dir: Option<&Path>) -> Result<Self, TemplateError> {
        match dir {
            None => Self::from_files(
                "built-in heat-templates",
                embedded::EMBEDDED
                    .iter()
                    .map(|(n, c)| ((*n).to_owned(), (*c).to_owned())),
            ),
            Some(dir) => {
                let mut files = Vec::new();
                read_dir(dir, dir, &mut files)?;
                Self::from_files(&dir.display().to_string(), files)
            }
        }
    }

    /// Templates from `[drivers] heat_template_dir` (empty: the built-in ones).
    pub fn from_config(heat_template_dir: &str) -> Result<Self, TemplateError> {
        let dir = heat_template_dir.trim();
        Self::load((!dir.is_empty()).then(|| Path::new(dir)))
    }

    /// Templates from (relative name, contents) pairs.
    pub fn from_files(
        origin: &str,
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, TemplateError> {
        let sources: BTreeMap<String, String> = files.into_iter().collect();
        let mut tera = tera::Tera::new();
        tera.autoescape_on(Vec::<&str>::new());
        tera.register_filter(
            "json",
            |v: &tera::Value, _: tera::Kwargs, _: &tera::State<'_>| {
                serde_json::to_string(v).map_err(|e| tera::Error::message(e.to_string()))
            },
        );
        let fragments = Arc::new(sources.clone());
        let also = Arc::clone(&fragments);
        tera.register_filter(
            "gzip_data_url",
            move |v: &tera::Value, _: tera::Kwargs, _: &tera::State<'_>| {
                let names = v.as_str().unwrap_or_default();
                gzip_base64(&fragments, names)
                    .map(|b64| format!("data:;base64,{b64}"))
                    .map_err(tera::Error::message)
            },
        );
        tera.register_filter(
            "gzip_base64",
            move |v: &tera::Value, _: tera::Kwargs, _: &tera::State<'_>| {
                let names = v.as_str().unwrap_or_default();
                gzip_base64(&also, names).map_err(tera::Error::message)
            },
        );
        let templated: Vec<(&str, &str)> = sources
            .iter()
            .filter(|(n, _)| is_tera(n))
            .map(|(n, c)| (n.as_str(), c.as_str()))
            .collect();
        tera.add_raw_templates(templated)
            .map_err(|e| TemplateError::Syntax {
                name: origin.to_owned(),
                message: error_chain(&e),
            })?;
        let mut params = BTreeMap::new();
        for (name, text) in sources.iter().filter(|(n, _)| n.ends_with("_params.yaml")) {
            let list: Vec<ParamSpec> =
                yaml_serde::from_str(text).map_err(|e| TemplateError::Params {
                    name: name.clone(),
                    message: e.to_string(),
                })?;
            check_params(name, &list)?;
            params.insert(name.clone(), list);
        }
        Ok(Templates {
            tera,
            sources,
            params,
            origin: origin.to_owned(),
            rendered: Mutex::new(HashMap::new()),
        })
    }

    /// Where the templates come from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Every file name (relative path).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.sources.keys().map(String::as_str)
    }

    /// The unrendered contents of `name`.
    pub fn source(&self, name: &str) -> Option<&str> {
        self.sources.get(name).map(String::as_str)
    }

    /// The parameter list `name` (e.g. `kubernetes/_params.yaml`).
    pub fn params(&self, name: &str) -> Result<&[ParamSpec], DriverError> {
        self.params
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| DriverError::Render {
                name: name.to_owned(),
                message: format!("{} has no such parameter list", self.origin),
            })
    }

    /// Renders `main` and the environment files, and collects every file they reference.
    ///
    /// The result is a function of the arguments alone, so it is kept and handed out again
    /// when `ctx.params` is one of these templates' own parameter lists (the drivers' case).
    pub fn render(
        &self,
        main: &str,
        environment_files: &[&str],
        ctx: &RenderContext<'_>,
    ) -> Result<RenderedFiles, DriverError> {
        let Some(list) = self
            .params
            .iter()
            .find(|(_, v)| std::ptr::eq(v.as_slice(), ctx.params))
            .map(|(name, _)| name)
        else {
            return self.render_uncached(main, environment_files, ctx);
        };
        let key = [ctx.driver, ctx.os_distro, ctx.coe, list, main]
            .into_iter()
            .chain(environment_files.iter().copied())
            .collect::<Vec<_>>()
            .join("\n");
        let cached = lock(&self.rendered).get(&key).cloned();
        if let Some(r) = cached {
            return Ok((*r).clone());
        }
        let r = self.render_uncached(main, environment_files, ctx)?;
        let mut cache = lock(&self.rendered);
        if cache.len() >= RENDER_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(key, Arc::new(r.clone()));
        Ok(r)
    }

    fn render_uncached(
        &self,
        main: &str,
        environment_files: &[&str],
        ctx: &RenderContext<'_>,
    ) -> Result<RenderedFiles, DriverError> {
        let context = Self::context(ctx);
        let template = self.render_one(main, &context)?;
        let mut files = BTreeMap::new();
        let mut pending: Vec<(String, String)> = Vec::new();
        for r in references(main, &template, false)? {
            pending.push((main.to_owned(), r));
        }
        for env in environment_files {
            let text = self.render_one(env, &context)?;
            for r in references(env, &text, true)? {
                pending.push(((*env).to_owned(), r));
            }
            files.insert((*env).to_owned(), text);
        }
        while let Some((from, name)) = pending.pop() {
            if files.contains_key(&name) {
                continue;
            }
            if !self.sources.contains_key(&name) {
                return Err(DriverError::Render {
                    name: from,
                    message: format!("references {name}, which {} lacks", self.origin),
                });
            }
            let text = self.render_one(&name, &context)?;
            if is_yaml(&name) {
                for r in references(&name, &text, false)? {
                    pending.push((name.clone(), r));
                }
            }
            files.insert(name, text);
        }
        Ok(RenderedFiles { template, files })
    }

    /// Renders the one file `name` (no reference check).
    pub fn render_file(&self, name: &str, ctx: &RenderContext<'_>) -> Result<String, DriverError> {
        self.render_one(name, &Self::context(ctx))
    }

    fn context(ctx: &RenderContext<'_>) -> tera::Context {
        let null = Value::Null;
        let views: Vec<ParamView<'_>> = ctx
            .params
            .iter()
            .map(|p| ParamView {
                name: &p.name,
                kind: &p.kind,
                description: &p.description,
                has_default: p.default.is_some(),
                default: p.default.as_ref().unwrap_or(&null),
                hidden: p.hidden,
                constraints: p.constraints.as_ref().unwrap_or(&null),
                to: p.to.as_deref().unwrap_or(""),
            })
            .collect();
        let mut context = tera::Context::new();
        context.insert("driver", ctx.driver);
        context.insert("os_distro", ctx.os_distro);
        context.insert("coe", ctx.coe);
        context.insert("params", &views);
        context
    }

    fn render_one(&self, name: &str, context: &tera::Context) -> Result<String, DriverError> {
        if is_tera(name) {
            self.tera
                .render(name, context)
                .map_err(|e| DriverError::Render {
                    name: name.to_owned(),
                    message: error_chain(&e),
                })
        } else {
            self.sources
                .get(name)
                .cloned()
                .ok_or_else(|| DriverError::Render {
                    name: name.to_owned(),
                    message: format!("{} has no such file", self.origin),
                })
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Tera renders `.yaml` and `.json` files; the rest is sent verbatim.
fn is_tera(name: &str) -> bool {
    is_yaml(name) || name.ends_with(".json")
}

fn is_yaml(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".template")
}

/// A string naming a file rather than a resource type.
fn names_file(s: &str) -> bool {
    is_yaml(s)
}

/// The files a rendered template (or, with `env`, an environment) references.
pub fn references(name: &str, text: &str, env: bool) -> Result<Vec<String>, DriverError> {
    let doc: Value = yaml_serde::from_str(text).map_err(|e| DriverError::Render {
        name: name.to_owned(),
        message: format!("not valid YAML once rendered: {e}"),
    })?;
    let mut found = Vec::new();
    if env {
        if let Some(registry) = doc.get("resource_registry") {
            collect_registry(registry, &mut found);
        }
    } else {
        collect_template(&doc, &mut found);
    }
    Ok(found)
}

fn collect_template(v: &Value, found: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                match (k.as_str(), x) {
                    ("get_file", Value::String(s)) => found.push(s.clone()),
                    ("type", Value::String(s)) if names_file(s) => found.push(s.clone()),
                    _ => collect_template(x, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_template(x, found)),
        _ => {}
    }
}

fn collect_registry(v: &Value, found: &mut Vec<String>) {
    match v {
        Value::String(s) if names_file(s) => found.push(s.clone()),
        Value::Object(map) => map.values().for_each(|x| collect_registry(x, found)),
        _ => {}
    }
}

fn check_params(name: &str, list: &[ParamSpec]) -> Result<(), TemplateError> {
    let mut seen = std::collections::BTreeSet::new();
    for p in list {
        let bad = |message: String| TemplateError::Params {
            name: name.to_owned(),
            message,
        };
        if !seen.insert(p.name.as_str()) {
            return Err(bad(format!("{} is declared twice", p.name)));
        }
        if ![
            "string",
            "number",
            "boolean",
            "comma_delimited_list",
            "json",
        ]
        .contains(&p.kind.as_str())
        {
            return Err(bad(format!("{} has the unknown type {}", p.name, p.kind)));
        }
        if let Some(to) = &p.to
            && !["all", "master", "minion", "node"].contains(&to.as_str())
        {
            return Err(bad(format!("{} goes to the unknown role {to}", p.name)));
        }
    }
    Ok(())
}

fn read_dir(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> Result<(), TemplateError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| TemplateError::Io { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.eq_ignore_ascii_case("README.md") {
            continue;
        }
        if entry.file_type().map_err(io(&path))?.is_dir() {
            read_dir(root, &path, out)?;
            continue;
        }
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let text =
            String::from_utf8(bytes).map_err(|_| TemplateError::NotText { path: path.clone() })?;
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        out.push((rel, text));
    }
    Ok(())
}

/// A tera error with its causes (tera puts the useful part in the source chain).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renderings_are_kept_only_for_own_parameter_lists() {
        let t = Templates::load(None).unwrap();
        let envs = ["common/environments/no_volume.yaml"];
        let ctx = RenderContext {
            driver: "k8s_fedora_coreos_v1",
            os_distro: "fedora-coreos",
            coe: "kubernetes",
            params: t.params("kubernetes/_params.yaml").unwrap(),
        };
        let first = t
            .render("kubernetes/kubecluster.yaml", &envs, &ctx)
            .unwrap();
        let again = t
            .render("kubernetes/kubecluster.yaml", &envs, &ctx)
            .unwrap();
        assert_eq!(first, again);
        assert_eq!(lock(&t.rendered).len(), 1);
        let foreign = ctx.params.to_vec();
        let other = RenderContext {
            params: &foreign,
            ..ctx
        };
        let uncached = t
            .render("kubernetes/kubecluster.yaml", &envs, &other)
            .unwrap();
        assert_eq!(uncached, first);
        assert_eq!(lock(&t.rendered).len(), 1);
    }
}
