//! `magnum.conf` in oslo.config's INI form.
//!
//! Files are read in order (`--config-file` may repeat; later files win) and
//! then every `*.conf` in `--config-dir`, sorted by name, as oslo.config does.
//! Every option is declared once, with its default and a doc line, in
//! [`groups`]; the same declaration drives parsing and the generated sample.

mod groups;
mod value;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use groups::*;
pub use value::{ConfigValue, Secret};

/// A configuration problem, named precisely enough to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not valid INI.
    #[error("cannot parse config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// An option's value does not fit its type.
    #[error("invalid value for [{group}] {option}: {message}")]
    Value {
        /// The group (`DEFAULT` for the default group).
        group: String,
        /// The option name.
        option: String,
        /// What is wrong with it.
        message: String,
    },
}

/// Raw values: group → option → value, after all files were merged.
#[derive(Debug, Default, Clone)]
pub struct RawConfig {
    groups: BTreeMap<String, BTreeMap<String, String>>,
}

impl RawConfig {
    /// Reads `files` in order, then the `*.conf` files of `dirs`.
    pub fn load(files: &[PathBuf], dirs: &[PathBuf]) -> Result<Self, ConfigError> {
        let mut raw = RawConfig::default();
        for file in files {
            raw.merge_file(file)?;
        }
        for dir in dirs {
            let entries = std::fs::read_dir(dir).map_err(|source| ConfigError::Read {
                path: dir.clone(),
                source,
            })?;
            let mut confs: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "conf"))
                .collect();
            confs.sort();
            for file in confs {
                raw.merge_file(&file)?;
            }
        }
        Ok(raw)
    }

    /// Merges one file's values over the current ones.
    pub fn merge_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        self.merge_str(&text).map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })
    }

    /// Merges INI text over the current values.
    pub fn merge_str(&mut self, text: &str) -> Result<(), String> {
        let opts = ini::ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            enabled_indented_mutiline_value: true,
            ..Default::default()
        };
        let parsed = ini::Ini::load_from_str_opt(text, opts).map_err(|e| e.to_string())?;
        for (section, props) in parsed.iter() {
            let group = match section {
                None => continue,
                Some(s) if s.eq_ignore_ascii_case("default") => "DEFAULT".to_owned(),
                Some(s) => s.to_owned(),
            };
            let entry = self.groups.entry(group).or_default();
            for (key, value) in props.iter() {
                entry.insert(key.trim().replace('-', "_"), value.trim().to_owned());
            }
        }
        Ok(())
    }

    /// Sets one value (tests and command-line overrides).
    pub fn set(&mut self, group: &str, option: &str, value: &str) {
        self.groups
            .entry(group.to_owned())
            .or_default()
            .insert(option.to_owned(), value.to_owned());
    }

    /// The raw value of `[group] option`, if any file set it.
    pub fn get(&self, group: &str, option: &str) -> Option<&str> {
        self.groups.get(group)?.get(option).map(String::as_str)
    }
}

/// Reads a value of type `T` for `[group] option`, falling back to `default`.
pub(crate) fn read_opt<T: ConfigValue>(
    raw: &RawConfig,
    group: &str,
    option: &str,
    default: T,
) -> Result<T, ConfigError> {
    match raw.get(group, option) {
        None => Ok(default),
        Some(text) => T::parse(text).map_err(|message| ConfigError::Value {
            group: group.to_owned(),
            option: option.to_owned(),
            message,
        }),
    }
}

/// One option as the sample generator sees it.
#[derive(Debug, Clone)]
pub struct OptionDoc {
    /// Option name.
    pub name: &'static str,
    /// Type name for the sample (`string`, `integer`, `boolean`, `list`…).
    pub kind: &'static str,
    /// The default, rendered as it would be written in the file.
    pub default: String,
    /// The doc line(s).
    pub help: &'static str,
}

/// One group as the sample generator sees it.
#[derive(Debug, Clone)]
pub struct GroupDoc {
    /// Group name (`DEFAULT` for the default group).
    pub name: &'static str,
    /// What the group is about.
    pub help: &'static str,
    /// Its options, in declaration order.
    pub options: Vec<OptionDoc>,
}

/// Renders the sample `magnum.conf`: every group and option, commented out, with its
/// default and doc line, like `oslo-config-generator` output.
pub fn sample_config() -> String {
    let mut out = String::from(
        "# Sample magnum.conf, generated from the code by `magnum-api --print-sample-config`.\n\
         # Every option is shown with its default, commented out.\n",
    );
    for group in Config::docs() {
        out.push_str(&format!("\n[{}]\n", group.name));
        if !group.help.is_empty() {
            out.push_str(&format!("#\n# From {}: {}\n", group.name, group.help));
        }
        for opt in group.options {
            out.push('\n');
            for line in opt.help.lines() {
                out.push_str(&format!("# {}\n", line.trim()));
            }
            out.push_str(&format!("# ({})\n", opt.kind));
            out.push_str(&format!("#{} = {}\n", opt.name, opt.default));
        }
    }
    out
}

impl Config {
    /// Loads the files, then fills every option (its default when unset).
    pub fn load(files: &[PathBuf], dirs: &[PathBuf]) -> Result<Self, ConfigError> {
        Self::from_raw(&RawConfig::load(files, dirs)?)
    }

    /// The `[database] connection` URL to use: the configured one, or a SQLite file
    /// under `state_path`.
    pub fn database_url(&self) -> String {
        match self.database.connection.as_deref() {
            Some(url) if !url.is_empty() => url.to_owned(),
            _ => format!(
                "sqlite:///{}/magnum.sqlite",
                self.default.state_path.trim_end_matches('/')
            ),
        }
    }
}

#[cfg(test)]
mod tests;
