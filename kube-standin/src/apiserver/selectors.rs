//! `labelSelector` and `fieldSelector` on lists and watches: what kubectl's `-l` and
//! `--field-selector`, the scheduler (`spec.nodeName=`) and `kubectl delete`/`wait`
//! (`metadata.name=`) send.

use serde_json::Value;

/// A selector that could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("unable to parse requirement: {0}")]
pub struct SelectorError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
}

impl Op {
    fn matches(&self, value: Option<&str>) -> bool {
        match self {
            Op::Eq(v) => value == Some(v.as_str()),
            Op::NotEq(v) => value != Some(v.as_str()),
            Op::In(vs) => value.is_some_and(|x| vs.iter().any(|v| v == x)),
            Op::NotIn(vs) => !value.is_some_and(|x| vs.iter().any(|v| v == x)),
            Op::Exists => value.is_some(),
            Op::NotExists => value.is_none(),
        }
    }
}

/// Splits on commas that are not inside parentheses (`a in (x,y),b`).
fn split_top(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0_i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

fn set_values(s: &str) -> Result<Vec<String>, SelectorError> {
    let inner = s
        .trim()
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .ok_or_else(|| SelectorError(s.to_string()))?;
    Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
}

/// A label selector: equality (`a=b`, `a==b`, `a!=b`), sets (`a in (x,y)`, `a notin (x)`)
/// and existence (`a`, `!a`).
#[derive(Debug, Clone, Default)]
pub struct LabelSelector(Vec<(String, Op)>);

impl LabelSelector {
    /// Parses the `labelSelector` query parameter.
    pub fn parse(s: &str) -> Result<LabelSelector, SelectorError> {
        let mut reqs = Vec::new();
        for part in split_top(s) {
            let req = if let Some(key) = part.strip_prefix('!') {
                (key.trim().to_string(), Op::NotExists)
            } else if let Some((k, v)) = part.split_once("!=") {
                (k.trim().to_string(), Op::NotEq(v.trim().to_string()))
            } else if let Some((k, v)) = part.split_once("==") {
                (k.trim().to_string(), Op::Eq(v.trim().to_string()))
            } else if let Some((k, v)) = part.split_once('=') {
                (k.trim().to_string(), Op::Eq(v.trim().to_string()))
            } else if let Some((k, v)) = part.split_once(" notin ") {
                (k.trim().to_string(), Op::NotIn(set_values(v)?))
            } else if let Some((k, v)) = part.split_once(" in ") {
                (k.trim().to_string(), Op::In(set_values(v)?))
            } else if part.contains(|c: char| c.is_whitespace() || "()<>".contains(c)) {
                return Err(SelectorError(part.to_string()));
            } else {
                (part.to_string(), Op::Exists)
            };
            if req.0.is_empty() {
                return Err(SelectorError(part.to_string()));
            }
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    /// A selector from a map of required labels (a Service's or ReplicationController's).
    pub fn from_map(labels: &serde_json::Map<String, Value>) -> LabelSelector {
        LabelSelector(
            labels
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        Op::Eq(v.as_str().unwrap_or_default().to_string()),
                    )
                })
                .collect(),
        )
    }

    /// Whether an object's labels match.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        self.0
            .iter()
            .all(|(key, op)| op.matches(labels.and_then(|l| l.get(key)).and_then(Value::as_str)))
    }

    /// `a=b,c=d`, as Scale's `status.selector` shows it.
    pub fn to_text(&self) -> String {
        self.0
            .iter()
            .filter_map(|(k, op)| match op {
                Op::Eq(v) => Some(format!("{k}={v}")),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A field selector: `path=value` or `path!=value` on dotted fields such as `metadata.name`,
/// `metadata.namespace`, `spec.nodeName` or `status.phase` (missing fields read as empty).
#[derive(Debug, Clone, Default)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    /// Parses the `fieldSelector` query parameter.
    pub fn parse(s: &str) -> Result<FieldSelector, SelectorError> {
        let mut reqs = Vec::new();
        for part in split_top(s) {
            let (field, eq, value) = if let Some((k, v)) = part.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, true, v)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, true, v)
            } else {
                return Err(SelectorError(part.to_string()));
            };
            reqs.push((field.trim().to_string(), eq, value.trim().to_string()));
        }
        Ok(FieldSelector(reqs))
    }

    /// Adds `metadata.name=name` (watches of one object).
    pub fn with_name(mut self, name: &str) -> FieldSelector {
        self.0
            .push(("metadata.name".into(), true, name.to_string()));
        self
    }

    /// Whether an object matches.
    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(field, eq, value)| {
            let pointer = format!("/{}", field.replace('.', "/"));
            let actual = match obj.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (actual == *value) == *eq
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(labels: Value) -> Value {
        json!({"metadata": {"name": "p1", "namespace": "default", "labels": labels},
               "spec": {"nodeName": "n1"}, "status": {"phase": "Pending"}})
    }

    #[test]
    fn equality_and_existence() {
        let p = pod(json!({"app": "web", "tier": "front"}));
        let ok = |s: &str| LabelSelector::parse(s).unwrap().matches(&p);
        assert!(ok("app=web"));
        assert!(ok("app==web,tier"));
        assert!(ok("app=web,tier!=back"));
        assert!(!ok("app=db"));
        assert!(!ok("missing"));
        assert!(ok("!missing"));
        assert!(ok("missing!=x"));
        assert!(ok(""));
        assert!(ok("app in (db, web),tier notin (back)"));
        assert!(!ok("app notin (web)"));
        assert!(LabelSelector::parse("a b").is_err());
        assert!(LabelSelector::parse("=x").is_err());
    }

    #[test]
    fn fields() {
        let p = pod(json!({}));
        let ok = |s: &str| FieldSelector::parse(s).unwrap().matches(&p);
        assert!(ok("metadata.name=p1"));
        assert!(ok("metadata.namespace=default,spec.nodeName=n1"));
        assert!(ok("spec.nodeName!=n2"));
        assert!(!ok("spec.nodeName="));
        assert!(ok("spec.unknown="));
        assert!(ok("status.phase==Pending"));
        assert!(FieldSelector::parse("nonsense").is_err());
        assert!(FieldSelector::default().with_name("p1").matches(&p));
        assert!(!FieldSelector::default().with_name("p2").matches(&p));
    }

    #[test]
    fn from_map_and_text() {
        let m = json!({"app": "web"});
        let sel = LabelSelector::from_map(m.as_object().unwrap());
        assert_eq!(sel.to_text(), "app=web");
        assert!(sel.matches(&pod(json!({"app": "web"}))));
    }
}
