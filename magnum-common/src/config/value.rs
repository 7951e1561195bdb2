//! Option value types and how they are written in INI files.

use std::fmt;

/// A value an option can hold: parsed from and rendered to INI text.
pub trait ConfigValue: Sized {
    /// The type name shown in the sample.
    const KIND: &'static str;
    /// Parses the text after `=`.
    fn parse(text: &str) -> Result<Self, String>;
    /// Renders the value as the sample shows it.
    fn render(&self) -> String;
}

impl ConfigValue for String {
    const KIND: &'static str = "string";
    fn parse(text: &str) -> Result<Self, String> {
        Ok(text.to_owned())
    }
    fn render(&self) -> String {
        self.clone()
    }
}

impl ConfigValue for Option<String> {
    const KIND: &'static str = "string";
    fn parse(text: &str) -> Result<Self, String> {
        Ok(if text.is_empty() {
            None
        } else {
            Some(text.to_owned())
        })
    }
    fn render(&self) -> String {
        match self {
            Some(s) => s.clone(),
            None => "<None>".to_owned(),
        }
    }
}

impl ConfigValue for bool {
    const KIND: &'static str = "boolean";
    fn parse(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            other => Err(format!("expected true or false, got {other:?}")),
        }
    }
    fn render(&self) -> String {
        if *self { "true" } else { "false" }.to_owned()
    }
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl ConfigValue for $t {
            const KIND: &'static str = "integer";
            fn parse(text: &str) -> Result<Self, String> {
                text.parse().map_err(|_| format!("expected an integer in the range of {}, got {text:?}", stringify!($t)))
            }
            fn render(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
int_value!(u16, u32, u64, i32, i64, usize);

impl ConfigValue for Vec<String> {
    const KIND: &'static str = "list";
    fn parse(text: &str) -> Result<Self, String> {
        Ok(text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    }
    fn render(&self) -> String {
        self.join(",")
    }
}

/// A secret option (passwords): never printed by `Debug` or in logs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no secret was configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "Secret(<empty>)"
        } else {
            "Secret(***)"
        })
    }
}

impl ConfigValue for Secret {
    const KIND: &'static str = "string, secret";
    fn parse(text: &str) -> Result<Self, String> {
        Ok(Secret(text.to_owned()))
    }
    fn render(&self) -> String {
        if self.0.is_empty() {
            "<None>".to_owned()
        } else {
            "****".to_owned()
        }
    }
}
