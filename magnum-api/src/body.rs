//! Request bodies: read within the size limit, parsed as JSON, validated field by
//! field against a declaration, with upstream's (WSME's) messages.
//!
//! A declaration ([`Field`]) is the single source for validation, the normalised
//! value handed to the handler and the OpenAPI request schema. Where upstream
//! answered 500 (a bad boolean, a body that is not an object, a null label) this
//! answers 400 with a message that says what to fix.

use actix_web::HttpRequest;
use actix_web::web::{Bytes, BytesMut, Payload};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// An extra string rule and the regex text shown in its message.
pub type Pattern = (fn(&str) -> bool, &'static str);

/// How a field's value is checked and normalised.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A string of `min..=max` characters, optionally matching `pattern` (described by `pattern_text`).
    Str {
        /// Minimum length in characters.
        min: usize,
        /// Maximum length in characters.
        max: usize,
        /// Extra rule, with the regex text shown in messages.
        pattern: Option<Pattern>,
    },
    /// Any string.
    Text,
    /// An integer (numeric strings accepted, as WSME does) within bounds.
    Int {
        /// Inclusive minimum.
        min: Option<i64>,
        /// Inclusive maximum.
        max: Option<i64>,
    },
    /// A boolean: JSON booleans, 0/1, or oslo's strings (true/false, yes/no, on/off, …).
    Bool,
    /// A UUID in any form oslo accepts; normalised to the canonical form.
    Uuid,
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// Labels: string keys to string, number or boolean values, stored as strings.
    Labels,
    /// An object of strings.
    StrDict,
    /// A list of strings.
    StrList,
    /// A list of objects of strings (node taints).
    DictList,
    /// A comma-separated list of IPv4 addresses.
    DnsList,
    /// A single IPv4 address.
    Ipv4,
    /// Accepted for compatibility and dropped (output-only fields clients echo back).
    Ignored,
}

/// One attribute of a request body.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The JSON key.
    pub name: &'static str,
    /// Its type and rules.
    pub kind: Kind,
    /// Must be present and non-null.
    pub mandatory: bool,
    /// Output-only: sending it is an error.
    pub readonly: bool,
    /// What it means (OpenAPI description).
    pub doc: &'static str,
}

impl Field {
    /// An optional field.
    pub const fn opt(name: &'static str, kind: Kind, doc: &'static str) -> Field {
        Field {
            name,
            kind,
            mandatory: false,
            readonly: false,
            doc,
        }
    }

    /// A mandatory field.
    pub const fn req(name: &'static str, kind: Kind, doc: &'static str) -> Field {
        Field {
            name,
            kind,
            mandatory: true,
            readonly: false,
            doc,
        }
    }

    /// An output-only field that clients must not send.
    pub const fn ro(name: &'static str) -> Field {
        Field {
            name,
            kind: Kind::Ignored,
            mandatory: false,
            readonly: true,
            doc: "read-only",
        }
    }
}

/// A string of 1 to 255 characters, Magnum's usual `StringType(min_length=1, max_length=255)`.
pub const STR255: Kind = Kind::Str {
    min: 1,
    max: 255,
    pattern: None,
};

/// Renders a value in messages the way upstream's Python did, close enough to recognise.
pub fn repr(v: &Value) -> String {
    match v {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(quoted_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("'{k}': {}", quoted_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn quoted_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => repr(other),
    }
}

fn invalid(field: &str, value: &Value, msg: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "Invalid input for field/attribute {field}. Value: '{}'. {msg}",
        repr(value)
    ))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// Parses an oslo-style boolean (`strutils.bool_from_string(strict=True)`).
pub fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "t" | "true" | "on" | "y" | "yes" => Some(true),
            "0" | "f" | "false" | "off" | "n" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

const BOOL_HELP: &str = "Unrecognized value, acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'";

/// Stringifies a label value as upstream stores it (Python's `str()`).
pub fn label_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(true) => Some("True".to_owned()),
        Value::Bool(false) => Some("False".to_owned()),
        Value::Number(n) => Some(if let Some(i) = n.as_i64() {
            i.to_string()
        } else if let Some(u) = n.as_u64() {
            u.to_string()
        } else {
            python_float(n.as_f64().unwrap_or(0.0))
        }),
        _ => None,
    }
}

fn python_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else if f.abs() >= 1e16 || (f != 0.0 && f.abs() < 1e-4) {
        let s = format!("{f:e}");
        // Rust writes 1e20, Python 1e+20.
        match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e:0>2}"),
            Some((m, e)) => format!("{m}e-{:0>2}", &e[1..]),
            None => s,
        }
    } else {
        f.to_string()
    }
}

/// Validates one IPv4 address in dotted-quad form (no leading zeros, no shorthand).
pub fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// Checks and normalises one value of `field`.
pub fn check_value(field: &Field, v: &Value) -> Result<Value, ApiError> {
    let name = field.name;
    match field.kind {
        Kind::Str { min, max, pattern } => {
            let Value::String(s) = v else {
                return Err(invalid(name, v, "Value should be string"));
            };
            let len = s.chars().count();
            if len < min {
                return Err(invalid(
                    name,
                    v,
                    &format!("Value should have a minimum character requirement of {min}"),
                ));
            }
            if len > max {
                return Err(invalid(
                    name,
                    v,
                    &format!("Value should have a maximum character requirement of {max}"),
                ));
            }
            if let Some((check, text)) = pattern
                && !check(s)
            {
                return Err(invalid(
                    name,
                    v,
                    &format!("Value should match the pattern {text}"),
                ));
            }
            Ok(v.clone())
        }
        Kind::Text => match v {
            Value::String(_) => Ok(v.clone()),
            other => Err(invalid(
                name,
                v,
                &format!("Wrong type. Expected a string, got a {}", type_name(other)),
            )),
        },
        Kind::Int { min, max } => {
            let n = match v {
                Value::Number(n) => n.as_i64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                        .map(|f| f as i64)
                }),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            let Some(n) = n else {
                return Err(invalid(name, v, "Wrong type. Expected an integer"));
            };
            if let Some(min) = min.filter(|m| n < *m) {
                return Err(invalid(
                    name,
                    v,
                    &format!("Value should be greater or equal to {min}"),
                ));
            }
            if let Some(max) = max.filter(|m| n > *m) {
                return Err(invalid(
                    name,
                    v,
                    &format!("Value should be lower or equal to {max}"),
                ));
            }
            Ok(Value::from(n))
        }
        Kind::Bool => parse_bool(v)
            .map(Value::Bool)
            .ok_or_else(|| invalid(name, v, BOOL_HELP)),
        Kind::Uuid => {
            let Value::String(s) = v else {
                return Err(ApiError::BadRequest(format!(
                    "Expected a uuid but received {}.",
                    repr(v)
                )));
            };
            magnum_common::ids::parse_uuid_like(s)
                .map(|u| Value::String(u.hyphenated().to_string()))
                .ok_or_else(|| ApiError::BadRequest(format!("Expected a uuid but received {s}.")))
        }
        Kind::Enum(values) => match v {
            Value::String(s) if values.contains(&s.as_str()) => Ok(v.clone()),
            _ => Err(invalid(
                name,
                v,
                &format!("Value should be one of: {}", values.join(", ")),
            )),
        },
        Kind::Labels => {
            let Value::Object(map) = v else {
                return Err(invalid(
                    name,
                    v,
                    &format!("Value not a valid dict: {}", repr(v)),
                ));
            };
            let mut out = Map::new();
            for (k, val) in map {
                let s = match val {
                    Value::Null => return Err(invalid(name, v, &format!("The value of label '{k}' is null; give a string, number or boolean"))),
                    other => label_string(other).ok_or_else(|| {
                        invalid(name, v, &format!("Wrong type for label '{k}': expected a string, number or boolean, got a {}", type_name(other)))
                    })?,
                };
                out.insert(k.clone(), Value::String(s));
            }
            Ok(Value::Object(out))
        }
        Kind::StrDict => {
            let Value::Object(map) = v else {
                return Err(invalid(
                    name,
                    v,
                    &format!("Value not a valid dict: {}", repr(v)),
                ));
            };
            if let Some((k, bad)) = map.iter().find(|(_, x)| !x.is_string()) {
                return Err(invalid(
                    name,
                    v,
                    &format!(
                        "Wrong type for '{k}': expected a string, got a {}",
                        type_name(bad)
                    ),
                ));
            }
            Ok(v.clone())
        }
        Kind::StrList => {
            let Value::Array(items) = v else {
                return Err(invalid(
                    name,
                    v,
                    &format!("Value not a valid list: {}", repr(v)),
                ));
            };
            if let Some(bad) = items.iter().find(|x| !x.is_string()) {
                return Err(invalid(
                    name,
                    v,
                    &format!(
                        "Wrong type in list: expected strings, got a {}",
                        type_name(bad)
                    ),
                ));
            }
            Ok(v.clone())
        }
        Kind::DictList => {
            let Value::Array(items) = v else {
                return Err(invalid(
                    name,
                    v,
                    &format!("Value not a valid list: {}", repr(v)),
                ));
            };
            for item in items {
                let Value::Object(map) = item else {
                    return Err(invalid(
                        name,
                        v,
                        &format!(
                            "Wrong type in list: expected objects, got a {}",
                            type_name(item)
                        ),
                    ));
                };
                if let Some((k, bad)) = map.iter().find(|(_, x)| !x.is_string()) {
                    return Err(invalid(
                        name,
                        v,
                        &format!(
                            "Wrong type for '{k}': expected a string, got a {}",
                            type_name(bad)
                        ),
                    ));
                }
            }
            Ok(v.clone())
        }
        Kind::DnsList => {
            let ok = match v {
                Value::String(s) => s.split(',').all(|p| is_ipv4(p.trim())),
                _ => false,
            };
            if ok {
                Ok(v.clone())
            } else {
                Err(ApiError::BadRequest(format!(
                    "Expected a single dns address or comma separated dns list, but received {}.",
                    repr(v)
                )))
            }
        }
        Kind::Ipv4 => match v {
            Value::String(s) if is_ipv4(s) => Ok(v.clone()),
            _ => Err(invalid(name, v, "Value should be IPv4 format")),
        },
        Kind::Ignored => Ok(Value::Null),
    }
}

/// Validates `body` against `fields`; `arg` names the body in messages (`cluster`, `patch`…).
/// Returns only the fields that were given (nulls dropped), normalised.
pub fn validate(arg: &str, fields: &[Field], body: &Value) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(map) = body else {
        return Err(ApiError::BadRequest(format!(
            "Invalid input for argument {arg}: expected a JSON object, got a {}.",
            type_name(body)
        )));
    };
    let mut unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !fields.iter().any(|f| f.name == *k))
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        let s = if unknown.len() > 1 { "s" } else { "" };
        return Err(ApiError::BadRequest(format!(
            "Unknown attribute{s} for argument {arg}: {}",
            unknown.join(", ")
        )));
    }
    let mut out = Map::new();
    for field in fields {
        match map.get(field.name) {
            None | Some(Value::Null) if field.mandatory => {
                return Err(ApiError::BadRequest(format!(
                    "Invalid input for field/attribute {}. Value: 'None'. Mandatory field missing.",
                    field.name
                )));
            }
            None | Some(Value::Null) => {}
            Some(v) if field.readonly => {
                return Err(invalid(field.name, v, "Cannot set read only field."));
            }
            Some(v) => {
                let checked = check_value(field, v)?;
                if !checked.is_null() {
                    out.insert(field.name.to_owned(), checked);
                }
            }
        }
    }
    Ok(out)
}

fn content_type_ok(req: &HttpRequest) -> Result<(), ApiError> {
    let Some(ct) = req.headers().get(actix_web::http::header::CONTENT_TYPE) else {
        return Ok(());
    };
    let ct = ct
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if ct.is_empty()
        || matches!(
            ct.as_str(),
            "application/json" | "text/javascript" | "application/javascript"
        )
    {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(ct))
    }
}

/// Reads the body, refusing more than `limit` bytes with 413.
pub async fn read(
    mut payload: Payload,
    req: &HttpRequest,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::BadRequest(format!("Cannot read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Reads and parses a JSON body named `arg`; an empty body is a missing argument.
pub async fn json(
    payload: Payload,
    req: &HttpRequest,
    limit: usize,
    arg: &str,
) -> Result<Value, ApiError> {
    let bytes = read(payload, req, limit).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(format!("Missing argument: \"{arg}\"")));
    }
    content_type_ok(req)?;
    serde_json::from_slice(&bytes)
        .map_err(|_| ApiError::BadRequest("Request is not in valid JSON format".to_owned()))
}

/// Reads a body that should be empty or a JSON object without arguments (PATCH of
/// certificates and credentials); anything else names the stray argument.
pub async fn empty(payload: Payload, req: &HttpRequest, limit: usize) -> Result<(), ApiError> {
    let bytes = read(payload, req, limit).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) if m.is_empty() => Ok(()),
        Ok(Value::Object(m)) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Err(ApiError::BadRequest(format!(
                "Unknown argument: {}",
                keys.iter()
                    .map(|k| format!("\"{k}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
        Ok(Value::Null) => Ok(()),
        Ok(_) => Err(ApiError::BadRequest(
            "Request must be a JSON dict".to_owned(),
        )),
        // An octet-stream body from a client that sends one anyway carries nothing.
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: &[Field] = &[
        Field::opt(
            "name",
            Kind::Str {
                min: 1,
                max: 5,
                pattern: Some((|s| s.starts_with('a'), "^a")),
            },
            "",
        ),
        Field::req("image_id", STR255, ""),
        Field::opt(
            "count",
            Kind::Int {
                min: Some(1),
                max: None,
            },
            "",
        ),
        Field::opt("public", Kind::Bool, ""),
        Field::opt("labels", Kind::Labels, ""),
        Field::opt("coe", Kind::Enum(&["kubernetes", "swarm"]), ""),
        Field::opt("dns", Kind::DnsList, ""),
        Field::ro("created_at"),
    ];

    fn err(body: Value) -> String {
        validate("thing", FIELDS, &body).unwrap_err().to_string()
    }

    #[test]
    fn wsme_messages() {
        assert_eq!(
            err(json!({"image_id": "i", "foo": 1})),
            "Unknown attribute for argument thing: foo"
        );
        assert_eq!(
            err(json!({"image_id": "i", "zz": 1, "foo": 1})),
            "Unknown attributes for argument thing: foo, zz"
        );
        assert_eq!(
            err(json!({})),
            "Invalid input for field/attribute image_id. Value: 'None'. Mandatory field missing."
        );
        assert_eq!(
            err(json!({"image_id": "i", "count": 0})),
            "Invalid input for field/attribute count. Value: '0'. Value should be greater or equal to 1"
        );
        assert_eq!(
            err(json!({"image_id": "i", "name": "abcdef"})),
            "Invalid input for field/attribute name. Value: 'abcdef'. Value should have a maximum character requirement of 5"
        );
        assert_eq!(
            err(json!({"image_id": "i", "name": "bc"})),
            "Invalid input for field/attribute name. Value: 'bc'. Value should match the pattern ^a"
        );
        assert_eq!(
            err(json!({"image_id": 5})),
            "Invalid input for field/attribute image_id. Value: '5'. Value should be string"
        );
        assert_eq!(
            err(json!({"image_id": "i", "coe": "mesos"})),
            "Invalid input for field/attribute coe. Value: 'mesos'. Value should be one of: kubernetes, swarm"
        );
        assert!(err(json!({"image_id": "i", "public": "maybe"})).contains("acceptable values are"));
        assert!(err(json!({"image_id": "i", "count": "abc"})).contains("Expected an integer"));
        assert!(
            err(json!({"image_id": "i", "created_at": "x"}))
                .ends_with("Cannot set read only field.")
        );
        assert_eq!(
            err(json!({"image_id": "i", "dns": "8.8.8"})),
            "Expected a single dns address or comma separated dns list, but received 8.8.8."
        );
        assert!(err(json!(["x"])).contains("expected a JSON object"));
        assert!(err(json!({"image_id": "i", "labels": {"a": null}})).contains("label 'a' is null"));
        assert!(
            err(json!({"image_id": "i", "labels": "a=b"})).contains("Value not a valid dict: a=b")
        );
    }

    #[test]
    fn normalisation() {
        let out = validate(
            "thing",
            FIELDS,
            &json!({"image_id": "i", "count": "3", "public": "yes", "labels": {"a": true, "b": 1, "c": 1.5, "d": "x", "e": 2.0}, "dns": "8.8.8.8, 1.1.1.1", "name": null}),
        )
        .unwrap();
        assert_eq!(out["count"], 3);
        assert_eq!(out["public"], true);
        assert_eq!(
            out["labels"],
            json!({"a": "True", "b": "1", "c": "1.5", "d": "x", "e": "2.0"})
        );
        assert!(!out.contains_key("name"), "null is absent");
    }

    #[test]
    fn ipv4_is_strict() {
        assert!(is_ipv4("10.0.0.1"));
        for bad in [
            "10.0.0",
            "10.0.0.256",
            "010.0.0.1",
            "a.b.c.d",
            "1.2.3.4.5",
            "",
        ] {
            assert!(!is_ipv4(bad), "{bad}");
        }
    }
}
