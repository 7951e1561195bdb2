//! JSON-patch with upstream's rules.
//!
//! Items are `{"op": "add"|"replace"|"remove", "path": "/attr[/key…]", "value": str|int}`
//! with paths matching `^(/[\w-]+)+$`. Internal attributes cannot be touched,
//! mandatory ones cannot be removed, `add` only fills an attribute that is null,
//! and a string `replace` of a dict attribute (`/labels`) is read as a Python
//! literal, as the legacy `magnum` client sends `"{'a': 'b'}"`.

use serde_json::{Map, Value};

use crate::body::repr;
use crate::error::ApiError;

/// Paths no resource lets a client patch.
pub const BASE_INTERNAL: &[&str] = &[
    "/created_at",
    "/id",
    "/links",
    "/updated_at",
    "/uuid",
    "/project_id",
    "/user_id",
];

/// Per-resource patch rules.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Extra internal paths (besides [`BASE_INTERNAL`]).
    pub internal: &'static [&'static str],
    /// Paths that may not be removed.
    pub non_removable: &'static [&'static str],
    /// Dict attributes whose string values are parsed as Python literals on replace.
    pub literal: &'static [&'static str],
}

/// A patch operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Add (only where the attribute is null, at the top level).
    Add,
    /// Replace an existing value.
    Replace,
    /// Remove a value.
    Remove,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Replace => "replace",
            Op::Remove => "remove",
        }
    }
}

/// One validated patch item.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The operation.
    pub op: Op,
    /// The path, e.g. `/node_count` or `/labels/kube_tag`.
    pub path: String,
    /// The value (absent for remove).
    pub value: Option<Value>,
}

impl Item {
    /// The top-level attribute the item touches.
    pub fn attr(&self) -> &str {
        self.path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("")
    }
}

fn path_ok(p: &str) -> bool {
    p.starts_with('/')
        && p[1..].split('/').all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        })
}

fn items_repr(items: &[Item]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|i| match &i.value {
            Some(v) => format!(
                "{{'path': '{}', 'op': '{}', 'value': {}}}",
                i.path,
                i.op.as_str(),
                py(v)
            ),
            None => format!("{{'path': '{}', 'op': '{}'}}", i.path, i.op.as_str()),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

fn py(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => repr(other),
    }
}

fn wsme(field: &str, v: &Value, msg: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "Invalid input for field/attribute {field}. Value: '{}'. {msg}",
        repr(v)
    ))
}

/// Validates the body of a PATCH and returns its items.
pub fn parse(body: &Value, rules: &Rules) -> Result<Vec<Item>, ApiError> {
    let Value::Array(raw) = body else {
        return Err(wsme(
            "patch",
            body,
            &format!("Value not a valid list: {}", repr(body)),
        ));
    };
    let mut items = Vec::with_capacity(raw.len());
    for entry in raw {
        let Value::Object(obj) = entry else {
            return Err(wsme(
                "patch",
                body,
                "Each patch item must be an object with op, path and value",
            ));
        };
        let mut unknown: Vec<&str> = obj
            .keys()
            .map(String::as_str)
            .filter(|k| !["op", "path", "value"].contains(k))
            .collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            let s = if unknown.len() > 1 { "s" } else { "" };
            return Err(ApiError::BadRequest(format!(
                "Unknown attribute{s} for argument patch: {}",
                unknown.join(", ")
            )));
        }
        let path = match obj.get("path") {
            None | Some(Value::Null) => {
                return Err(ApiError::BadRequest("Invalid input for field/attribute path. Value: 'None'. Mandatory field missing.".to_owned()));
            }
            Some(Value::String(p)) if path_ok(p) => p.clone(),
            Some(Value::String(_)) => {
                return Err(wsme(
                    "path",
                    &obj["path"],
                    r"Value should match the pattern ^(/[\w-]+)+$",
                ));
            }
            Some(other) => return Err(wsme("path", other, "Value should be string")),
        };
        let op = match obj.get("op") {
            None | Some(Value::Null) => {
                return Err(ApiError::BadRequest(
                    "Invalid input for field/attribute op. Value: 'None'. Mandatory field missing."
                        .to_owned(),
                ));
            }
            Some(Value::String(s)) if s == "add" => Op::Add,
            Some(Value::String(s)) if s == "replace" => Op::Replace,
            Some(Value::String(s)) if s == "remove" => Op::Remove,
            Some(other) => {
                return Err(wsme(
                    "op",
                    other,
                    "Value should be one of: add, replace, remove",
                ));
            }
        };
        let value = match obj.get("value") {
            None | Some(Value::Null) => None,
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
                if matches!(v, Value::Number(n) if n.as_i64().is_none()) {
                    return Err(wsme(
                        "value",
                        v,
                        "Wrong type. Expected a string or an integer",
                    ));
                }
                Some(v.clone())
            }
            Some(other) => {
                return Err(wsme(
                    "value",
                    other,
                    "Wrong type. Expected a string or an integer",
                ));
            }
        };
        if BASE_INTERNAL.contains(&path.as_str()) || rules.internal.contains(&path.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "'{path}' is an internal attribute and can not be updated"
            )));
        }
        if op == Op::Remove && rules.non_removable.contains(&path.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "'{path}' is a mandatory attribute and can not be removed"
            )));
        }
        if op != Op::Remove && value.is_none() {
            return Err(ApiError::BadRequest(
                "'add' and 'replace' operations needs value".to_owned(),
            ));
        }
        items.push(Item { op, path, value });
    }
    Ok(items)
}

/// Applies `items` to `doc` (the resource as the API shows it).
pub fn apply(doc: &mut Map<String, Value>, items: &[Item], rules: &Rules) -> Result<(), ApiError> {
    let fail = |reason: String| {
        ApiError::BadRequest(format!(
            "Couldn't apply patch '{}'. Reason: {reason}",
            items_repr(items)
        ))
    };
    for item in items {
        let segments: Vec<&str> = item.path[1..].split('/').collect();
        let mut value = item.value.clone();
        if item.op == Op::Add && segments.len() == 1 {
            match doc.get(segments[0]) {
                None => {
                    return Err(ApiError::BadRequest(format!(
                        "Adding a new attribute {} to the root of the resource is not allowed.",
                        item.path
                    )));
                }
                Some(v) if !v.is_null() => {
                    return Err(ApiError::BadRequest(format!(
                        "The attribute {} has existed, please use 'replace' operation instead.",
                        item.path
                    )));
                }
                Some(_) => {}
            }
        }
        if item.op == Op::Replace
            && segments.len() == 1
            && rules.literal.contains(&item.path.as_str())
            && let Some(Value::String(s)) = &value
        {
            value = Some(parse_literal(s).map_err(&fail)?);
        }
        apply_one(doc, &segments, item.op, value).map_err(&fail)?;
    }
    Ok(())
}

fn apply_one(
    doc: &mut Map<String, Value>,
    segments: &[&str],
    op: Op,
    value: Option<Value>,
) -> Result<(), String> {
    let (last, parents) = segments.split_last().ok_or("empty path")?;
    let Some((first, rest)) = parents.split_first() else {
        return apply_in_object(doc, last, op, value);
    };
    if !doc.contains_key(*first) {
        return Err(format!(
            "member '{first}' not found in {}",
            repr(&Value::Object(doc.clone()))
        ));
    }
    let mut cursor = doc.get_mut(*first).ok_or("vanished")?;
    for seg in rest {
        cursor = match cursor {
            Value::Object(m) => m.get_mut(*seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| format!("member '{seg}' not found"))?;
    }
    match cursor {
        Value::Object(m) => apply_in_object(m, last, op, value),
        Value::Array(a) => {
            let idx = if *last == "-" && op == Op::Add {
                a.len()
            } else {
                last.parse::<usize>()
                    .map_err(|_| format!("invalid array index '{last}'"))?
            };
            match op {
                Op::Add if idx <= a.len() => a.insert(idx, value.unwrap_or(Value::Null)),
                Op::Replace if idx < a.len() => a[idx] = value.unwrap_or(Value::Null),
                Op::Remove if idx < a.len() => {
                    a.remove(idx);
                }
                _ => {
                    return Err(format!(
                        "can't {} a non-existent object '{last}'",
                        op.as_str()
                    ));
                }
            }
            Ok(())
        }
        // Adding under a null dict attribute (e.g. /labels/x when labels is null) creates it.
        Value::Null if op == Op::Add => {
            let mut m = Map::new();
            m.insert((*last).to_owned(), value.unwrap_or(Value::Null));
            *cursor = Value::Object(m);
            Ok(())
        }
        other => Err(format!("member '{last}' not found in {}", repr(other))),
    }
}

fn apply_in_object(
    m: &mut Map<String, Value>,
    key: &str,
    op: Op,
    value: Option<Value>,
) -> Result<(), String> {
    match op {
        Op::Add => {
            m.insert(key.to_owned(), value.unwrap_or(Value::Null));
            Ok(())
        }
        Op::Replace if m.contains_key(key) => {
            m.insert(key.to_owned(), value.unwrap_or(Value::Null));
            Ok(())
        }
        Op::Remove if m.contains_key(key) => {
            m.remove(key);
            Ok(())
        }
        _ => Err(format!(
            "can't {} a non-existent object '{key}'",
            op.as_str()
        )),
    }
}

/// Parses a Python literal (dicts, lists, strings, numbers, True/False/None), as
/// upstream's `ast.literal_eval` of `replace /labels` values.
pub fn parse_literal(text: &str) -> Result<Value, String> {
    let mut p = Lit {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!(
            "malformed literal {text:?}: unexpected text at column {}",
            p.i + 1
        ));
    }
    Ok(v)
}

struct Lit<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lit<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn err(&self, what: &str) -> String {
        format!("malformed literal: {what} at column {}", self.i + 1)
    }

    fn value(&mut self) -> Result<Value, String> {
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => self.dict(),
            Some(b'[') | Some(b'(') => self.list(),
            Some(b'\'') | Some(b'"') => self.string().map(Value::String),
            Some(c) if c.is_ascii_digit() || *c == b'-' || *c == b'+' || *c == b'.' => {
                self.number()
            }
            Some(_) => self.word(),
            None => Err(self.err("unexpected end")),
        }
    }

    fn dict(&mut self) -> Result<Value, String> {
        self.i += 1;
        let mut m = Map::new();
        loop {
            self.ws();
            if self.s.get(self.i) == Some(&b'}') {
                self.i += 1;
                return Ok(Value::Object(m));
            }
            let key = match self.value()? {
                Value::String(s) => s,
                other => repr(&other),
            };
            self.ws();
            if self.s.get(self.i) != Some(&b':') {
                return Err(self.err("expected ':'"));
            }
            self.i += 1;
            let v = self.value()?;
            m.insert(key, v);
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {}
                _ => return Err(self.err("expected ',' or '}'")),
            }
        }
    }

    fn list(&mut self) -> Result<Value, String> {
        let close = if self.s[self.i] == b'[' { b']' } else { b')' };
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.ws();
            if self.s.get(self.i) == Some(&close) {
                self.i += 1;
                return Ok(Value::Array(items));
            }
            items.push(self.value()?);
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(c) if *c == close => {}
                _ => return Err(self.err("expected ',' or the end of the list")),
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = self.s[self.i];
        self.i += 1;
        let mut out = Vec::new();
        while let Some(&c) = self.s.get(self.i) {
            self.i += 1;
            match c {
                b'\\' => {
                    let e = *self
                        .s
                        .get(self.i)
                        .ok_or_else(|| self.err("dangling escape"))?;
                    self.i += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        other => other,
                    });
                }
                c if c == quote => {
                    return String::from_utf8(out).map_err(|_| self.err("invalid UTF-8"));
                }
                c => out.push(c),
            }
        }
        Err(self.err("unterminated string"))
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_digit() || b"+-.eE".contains(&self.s[self.i]))
        {
            self.i += 1;
        }
        let text =
            std::str::from_utf8(&self.s[start..self.i]).map_err(|_| self.err("invalid number"))?;
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Value::from(i));
        }
        text.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| self.err("invalid number"))
    }

    fn word(&mut self) -> Result<Value, String> {
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_alphabetic() {
            self.i += 1;
        }
        match &self.s[start..self.i] {
            b"True" => Ok(Value::Bool(true)),
            b"False" => Ok(Value::Bool(false)),
            b"None" => Ok(Value::Null),
            _ => {
                self.i = start;
                Err(self.err("invalid syntax"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RULES: Rules = Rules {
        internal: &["/api_address"],
        non_removable: &["/image_id"],
        literal: &["/labels"],
    };

    fn doc() -> Map<String, Value> {
        json!({"name": "a", "node_count": 1, "keypair": null, "image_id": "i", "labels": {"x": "1"}})
            .as_object()
            .cloned()
            .unwrap()
    }

    fn run(patch: Value) -> Result<Map<String, Value>, String> {
        let items = parse(&patch, &RULES).map_err(|e| e.to_string())?;
        let mut d = doc();
        apply(&mut d, &items, &RULES).map_err(|e| e.to_string())?;
        Ok(d)
    }

    #[test]
    fn upstream_rules() {
        assert_eq!(
            run(json!([{"op": "replace", "path": "/uuid", "value": "x"}])).unwrap_err(),
            "'/uuid' is an internal attribute and can not be updated"
        );
        assert_eq!(
            run(json!([{"op": "replace", "path": "/api_address", "value": "x"}])).unwrap_err(),
            "'/api_address' is an internal attribute and can not be updated"
        );
        assert_eq!(
            run(json!([{"op": "remove", "path": "/image_id"}])).unwrap_err(),
            "'/image_id' is a mandatory attribute and can not be removed"
        );
        assert_eq!(
            run(json!([{"op": "replace", "path": "/name"}])).unwrap_err(),
            "'add' and 'replace' operations needs value"
        );
        assert_eq!(
            run(json!([{"op": "add", "path": "/nope", "value": 1}])).unwrap_err(),
            "Adding a new attribute /nope to the root of the resource is not allowed."
        );
        assert_eq!(
            run(json!([{"op": "add", "path": "/name", "value": "b"}])).unwrap_err(),
            "The attribute /name has existed, please use 'replace' operation instead."
        );
        assert_eq!(
            run(json!([{"op": "replace", "path": "/foo", "value": "y"}])).unwrap_err(),
            "Couldn't apply patch '[{'path': '/foo', 'op': 'replace', 'value': 'y'}]'. Reason: can't replace a non-existent object 'foo'"
        );
        assert!(
            run(json!({"op": "replace"}))
                .unwrap_err()
                .contains("Value not a valid list")
        );
        assert!(
            run(json!([{"op": "move", "path": "/name", "value": "x"}]))
                .unwrap_err()
                .contains("should be one of")
        );
        assert!(
            run(json!([{"op": "replace", "path": "/name/", "value": "x"}]))
                .unwrap_err()
                .contains("pattern")
        );
        assert!(
            run(json!([{"op": "replace", "path": "/name", "value": [1]}]))
                .unwrap_err()
                .contains("Wrong type")
        );
        assert!(
            run(json!([{"op": "replace", "path": "/name", "value": "x", "extra": 1}]))
                .unwrap_err()
                .contains("Unknown attribute")
        );
    }

    #[test]
    fn applies() {
        let d = run(json!([
            {"op": "add", "path": "/keypair", "value": "k"},
            {"op": "replace", "path": "/node_count", "value": 3},
            {"op": "add", "path": "/labels/y", "value": "2"},
            {"op": "remove", "path": "/labels/x"}
        ]))
        .unwrap();
        assert_eq!(
            (
                d["keypair"].clone(),
                d["node_count"].clone(),
                d["labels"].clone()
            ),
            (json!("k"), json!(3), json!({"y": "2"}))
        );
        let d = run(json!([{"op": "replace", "path": "/labels", "value": "{'a': 'b', \"c\": 1, 'd': True}"}])).unwrap();
        assert_eq!(d["labels"], json!({"a": "b", "c": 1, "d": true}));
        assert!(
            run(json!([{"op": "replace", "path": "/labels", "value": "{'a': }"}]))
                .unwrap_err()
                .starts_with("Couldn't apply patch")
        );
        assert_eq!(run(json!([])).unwrap(), doc());
    }
}
