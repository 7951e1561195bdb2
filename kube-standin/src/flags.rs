//! Kubernetes-style command-line flags: `--name=value` (or `--name value` for the flags a
//! component knows). The real components take hundreds of flags and the bootstrap scripts pass
//! them as for real Kubernetes, so every flag the stand-in does not know is noted and ignored
//! instead of being an error.

use std::collections::BTreeMap;
use std::time::Duration;

/// A flag value that could not be understood.
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    /// A known flag that needs a value was given none.
    #[error("flag --{0} needs a value")]
    MissingValue(String),
    /// A duration such as `40s` or `1m30s` could not be parsed.
    #[error("invalid duration {0:?} (expected e.g. 40s, 1m30s, 500ms)")]
    Duration(String),
}

/// The parsed command line of one component.
#[derive(Debug, Default)]
pub struct Flags {
    values: BTreeMap<String, String>,
    /// Flags (and stray words) the component does not know, in the order given.
    pub ignored: Vec<String>,
    /// `--help` or `-h` was given.
    pub help: bool,
    /// `--version` was given.
    pub version: bool,
}

impl Flags {
    /// Parses `args` (without the program name and subcommand); `known` lists the flags that take
    /// a value.
    pub fn parse(args: &[String], known: &[&str]) -> Flags {
        let mut flags = Flags::default();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            if arg.trim().is_empty() {
                // Unset variables in the scripts' command lines leave empty words.
                continue;
            }
            let Some(body) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
                flags.ignored.push(arg.clone());
                continue;
            };
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (body.to_string(), None),
            };
            match name.as_str() {
                "h" | "help" => flags.help = true,
                "version" => flags.version = !matches!(inline.as_deref(), Some("false")),
                _ if known.contains(&name.as_str()) => {
                    let value = match inline {
                        Some(v) => Some(v),
                        None if i < args.len() && !args[i].starts_with('-') => {
                            i += 1;
                            Some(args[i - 1].clone())
                        }
                        None => None,
                    };
                    if let Some(v) = value {
                        flags.values.insert(name, v);
                    } else {
                        flags.values.insert(name, String::new());
                    }
                }
                _ => flags.ignored.push(arg.clone()),
            }
        }
        flags
    }

    /// The value of `name`, if given and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The value of `name`, or `default`.
    pub fn get_or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.get(name).unwrap_or(default)
    }

    /// The value of `name`, which must be given.
    pub fn required(&self, name: &str) -> Result<&str, FlagError> {
        self.get(name)
            .ok_or_else(|| FlagError::MissingValue(name.to_string()))
    }

    /// A duration flag (Go syntax), or `default`.
    pub fn duration(&self, name: &str, default: Duration) -> Result<Duration, FlagError> {
        self.get(name).map_or(Ok(default), parse_duration)
    }

    /// A `a=b,c=d` list flag as pairs (`key` alone gives an empty value).
    pub fn pairs(&self, name: &str) -> Vec<(String, String)> {
        self.get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| match s.split_once('=') {
                        Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
                        None => (s.to_string(), String::new()),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Parses a Go duration (`40s`, `1m30s`, `500ms`, `1.5h`); a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, FlagError> {
    let bad = || FlagError::Duration(text.to_string());
    let s = text.trim();
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = s.parse::<f64>() {
        return if secs >= 0.0 {
            Ok(Duration::from_secs_f64(secs))
        } else {
            Err(bad())
        };
    }
    let mut total = 0.0_f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn durations_in_go_syntax() {
        assert_eq!(parse_duration("40s").ok(), Some(Duration::from_secs(40)));
        assert_eq!(parse_duration("1m").ok(), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("1m30s").ok(), Some(Duration::from_secs(90)));
        assert_eq!(
            parse_duration("500ms").ok(),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_duration("1.5h").ok(), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("25").ok(), Some(Duration::from_secs(25)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("-3s").is_err());
    }

    #[test]
    fn known_unknown_and_separate_values() {
        let f = Flags::parse(
            &args(&[
                "--etcd-servers=https://a:2379",
                "--secure-port",
                "7443",
                "--allow-privileged=true",
                "--v=2",
                "--profiling",
                "stray",
                "",
            ]),
            &["etcd-servers", "secure-port"],
        );
        assert_eq!(f.get("etcd-servers"), Some("https://a:2379"));
        assert_eq!(f.get("secure-port"), Some("7443"));
        assert_eq!(
            f.ignored,
            vec!["--allow-privileged=true", "--v=2", "--profiling", "stray"]
        );
        assert!(!f.help && !f.version);
    }

    #[test]
    fn pairs_help_and_version() {
        let f = Flags::parse(
            &args(&["--node-labels=a=b, c=d,e", "--version", "-h"]),
            &["node-labels"],
        );
        assert_eq!(
            f.pairs("node-labels"),
            vec![
                ("a".into(), "b".into()),
                ("c".into(), "d".into()),
                ("e".into(), String::new())
            ]
        );
        assert!(f.help && f.version);
        assert!(f.duration("x", Duration::from_secs(5)).is_ok());
        assert!(f.required("nope").is_err());
    }
}
