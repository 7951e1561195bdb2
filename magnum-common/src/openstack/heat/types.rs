//! What Heat answers and what the client sends: stacks, outputs, resources,
//! events, and the queries and bodies of its calls.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

/// Where a stack lives: what create returns and what every stack call takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackRef {
    /// Stack id (uuid).
    pub id: String,
    /// Stack name.
    pub name: String,
    /// Its canonical URL, `…/v1/{project}/stacks/{name}/{id}`.
    pub url: String,
}

/// A link of a Heat object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Link {
    /// The URL.
    pub href: String,
    /// `self`, `stack`, `resource`, `nested`…
    #[serde(default)]
    pub rel: String,
}

/// A stack as the list call gives it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StackSummary {
    /// Stack id.
    pub id: String,
    /// Stack name.
    pub stack_name: String,
    /// `ACTION_STATUS`, e.g. `CREATE_IN_PROGRESS`.
    pub stack_status: String,
    /// Heat's reason for the status.
    #[serde(default)]
    pub stack_status_reason: Option<String>,
    /// ISO 8601 creation time.
    #[serde(default)]
    pub creation_time: Option<String>,
    /// ISO 8601 time of the last update.
    #[serde(default)]
    pub updated_time: Option<String>,
    /// ISO 8601 deletion time.
    #[serde(default)]
    pub deletion_time: Option<String>,
    /// Tags (Heat sends null in lists when there are none).
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// The parent stack id of a nested stack.
    #[serde(default)]
    pub parent: Option<String>,
    /// Links (`self` is the canonical URL).
    #[serde(default)]
    pub links: Vec<Link>,
}

/// A stack as show gives it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Stack {
    /// Stack id.
    pub id: String,
    /// Stack name.
    pub stack_name: String,
    /// `ACTION_STATUS`.
    pub stack_status: String,
    /// Heat's reason for the status.
    #[serde(default)]
    pub stack_status_reason: Option<String>,
    /// ISO 8601 creation time.
    #[serde(default)]
    pub creation_time: Option<String>,
    /// ISO 8601 time of the last update.
    #[serde(default)]
    pub updated_time: Option<String>,
    /// Parameters as stored (Heat returns every value as a string).
    #[serde(default)]
    pub parameters: BTreeMap<String, Value>,
    /// Outputs (empty when fetched with `resolve_outputs=false`).
    #[serde(default)]
    pub outputs: Vec<Output>,
    /// Tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Timeout in minutes.
    #[serde(default)]
    pub timeout_mins: Option<i64>,
    /// Whether a failure is left as is (true) or rolled back.
    #[serde(default)]
    pub disable_rollback: Option<bool>,
    /// The parent stack id of a nested stack.
    #[serde(default)]
    pub parent: Option<String>,
    /// Links.
    #[serde(default)]
    pub links: Vec<Link>,
}

/// One stack output.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Output {
    /// Output name.
    pub output_key: String,
    /// Its value (null when it could not be resolved).
    #[serde(default)]
    pub output_value: Value,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Why the value could not be resolved (the stack is still COMPLETE).
    #[serde(default)]
    pub output_error: Option<String>,
}

/// A stack resource (`nested_depth` lists include those of nested stacks).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Resource {
    /// Resource name (a group's members are `0`, `1`, …).
    pub resource_name: String,
    /// Physical id (a nested stack's id for stack resources).
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    /// Resource type as the template named it.
    #[serde(default)]
    pub resource_type: String,
    /// `ACTION_STATUS`.
    pub resource_status: String,
    /// Heat's reason.
    #[serde(default)]
    pub resource_status_reason: Option<String>,
    /// The resource of the parent stack this one is nested under (nested lists).
    #[serde(default)]
    pub parent_resource: Option<String>,
    /// ISO 8601 creation time.
    #[serde(default)]
    pub creation_time: Option<String>,
    /// ISO 8601 update time.
    #[serde(default)]
    pub updated_time: Option<String>,
    /// Attributes (resource show only).
    #[serde(default)]
    pub attributes: Option<Map<String, Value>>,
    /// Links.
    #[serde(default)]
    pub links: Vec<Link>,
}

/// A stack event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Event {
    /// Event id.
    pub id: String,
    /// ISO 8601 time.
    #[serde(default)]
    pub event_time: Option<String>,
    /// The resource (the stack's own events carry the stack name).
    #[serde(default)]
    pub resource_name: String,
    /// Physical id (the stack id for the stack's own events).
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    /// `ACTION_STATUS`.
    pub resource_status: String,
    /// Heat's reason.
    #[serde(default)]
    pub resource_status_reason: Option<String>,
    /// Links (`self`, `resource`, `stack`).
    #[serde(default)]
    pub links: Vec<Link>,
}

/// What a status string says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `*_IN_PROGRESS`.
    InProgress,
    /// `*_COMPLETE`.
    Complete,
    /// `*_FAILED`.
    Failed,
    /// Anything else.
    Other,
}

/// The phase of an `ACTION_STATUS` string.
pub fn phase(status: &str) -> Phase {
    if status.ends_with("_IN_PROGRESS") {
        Phase::InProgress
    } else if status.ends_with("_COMPLETE") {
        Phase::Complete
    } else if status.ends_with("_FAILED") {
        Phase::Failed
    } else {
        Phase::Other
    }
}

/// Whether Magnum treats a stack status as a failure: any `*_FAILED`, and
/// `ROLLBACK_COMPLETE` (a create or update that was rolled back).
pub fn is_failure(status: &str) -> bool {
    phase(status) == Phase::Failed || status == "ROLLBACK_COMPLETE"
}

impl Stack {
    /// The phase of `stack_status`.
    pub fn phase(&self) -> Phase {
        phase(&self.stack_status)
    }

    /// The value of output `key`, if the stack has it.
    pub fn output(&self, key: &str) -> Option<&Value> {
        self.outputs
            .iter()
            .find(|o| o.output_key == key)
            .map(|o| &o.output_value)
    }
}

impl StackSummary {
    /// The phase of `stack_status`.
    pub fn phase(&self) -> Phase {
        phase(&self.stack_status)
    }
}

/// The answer to a stack look-up by its canonical URL.
#[derive(Debug, Clone, PartialEq)]
pub enum StackLookup {
    /// The stack exists (in any state but `DELETE_COMPLETE`).
    Found(Box<Stack>),
    /// 404, or `DELETE_COMPLETE`: the stack is gone.
    Gone,
}

/// A stack to create (the body of `POST /stacks`).
#[derive(Clone, Default)]
pub struct StackCreate {
    /// Stack name: `^[a-zA-Z][a-zA-Z0-9_.-]{0,254}$`, unique in the project.
    pub name: String,
    /// The template, YAML or JSON text.
    pub template: String,
    /// Files the template and environments reference (`get_file`, `type:`), by the
    /// literal names they use.
    pub files: BTreeMap<String, String>,
    /// Environment files (keys of `files`), merged in order, later wins.
    pub environment_files: Vec<String>,
    /// Parameters, applied over the environments.
    pub parameters: Map<String, Value>,
    /// Timeout in minutes (none: no timeout).
    pub timeout_mins: Option<i64>,
    /// Leave a failed create as is (Heat's default when omitted: true).
    pub disable_rollback: Option<bool>,
    /// Comma-separated tags.
    pub tags: Option<String>,
}

impl std::fmt::Debug for StackCreate {
    // parameters may hold secrets (trustee password, trust id): names only
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackCreate")
            .field("name", &self.name)
            .field("template_bytes", &self.template.len())
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .field("environment_files", &self.environment_files)
            .field("parameters", &self.parameters.keys().collect::<Vec<_>>())
            .field("timeout_mins", &self.timeout_mins)
            .field("disable_rollback", &self.disable_rollback)
            .field("tags", &self.tags)
            .finish()
    }
}

/// A PATCH update (`existing=true`: what is not given is kept).
#[derive(Clone, Default)]
pub struct StackPatch {
    /// Parameters patched over the stored ones.
    pub parameters: Map<String, Value>,
    /// Parameters reset to the template's defaults.
    pub clear_parameters: Vec<String>,
    /// A new template (none: the stored one).
    pub template: Option<String>,
    /// Files merged over the stored ones.
    pub files: BTreeMap<String, String>,
    /// New environment files (none: the stored environment).
    pub environment_files: Option<Vec<String>>,
    /// Timeout in minutes.
    pub timeout_mins: Option<i64>,
    /// Leave a failed update as is (true) or roll it back.
    pub disable_rollback: Option<bool>,
    /// Comma-separated tags (replace the stored ones).
    pub tags: Option<String>,
}

impl std::fmt::Debug for StackPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackPatch")
            .field("parameters", &self.parameters.keys().collect::<Vec<_>>())
            .field("clear_parameters", &self.clear_parameters)
            .field("template", &self.template.as_ref().map(String::len))
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .field("environment_files", &self.environment_files)
            .field("timeout_mins", &self.timeout_mins)
            .field("disable_rollback", &self.disable_rollback)
            .field("tags", &self.tags)
            .finish()
    }
}

/// Filters of the stack list (Heat's query parameters; lists repeat the key).
#[derive(Debug, Clone, Default)]
pub struct StackListQuery {
    /// Exact names.
    pub name: Vec<String>,
    /// Stack ids.
    pub id: Vec<String>,
    /// Statuses: the `STATUS` part (`IN_PROGRESS`, `FAILED`, `COMPLETE`) or a
    /// whole `ACTION_STATUS`.
    pub status: Vec<String>,
    /// Actions (`CREATE`, `UPDATE`, `DELETE`, …).
    pub action: Vec<String>,
    /// Stacks that have all these (comma-separated) tags.
    pub tags: Option<String>,
    /// Stacks that have any of these tags.
    pub tags_any: Option<String>,
    /// Stacks that do not have all these tags.
    pub not_tags: Option<String>,
    /// Include deleted stacks (`DELETE_COMPLETE`).
    pub show_deleted: bool,
    /// Include nested stacks.
    pub show_nested: bool,
    /// At most this many (Heat's default: all).
    pub limit: Option<u32>,
    /// The id of the last stack of the previous page.
    pub marker: Option<String>,
}

/// Filters of the event list.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// At most this many.
    pub limit: Option<u32>,
    /// `IN_PROGRESS`, `COMPLETE` or `FAILED`.
    pub resource_status: Option<String>,
    /// `CREATE`, `UPDATE`, `DELETE`, …
    pub resource_action: Option<String>,
    /// Only this resource's events.
    pub resource_name: Option<String>,
    /// Include events of nested stacks this deep.
    pub nested_depth: Option<u32>,
    /// `asc` or `desc` (Heat's default: newest first).
    pub sort_dir: Option<String>,
}

/// Why a failed stack failed, from its resources (`nested_depth` ≥ 1, any
/// status filter) and events: one `name: STATUS: reason` per failed top-level
/// resource (nested ones when no top-level resource failed), joined by `; `;
/// failing that, the newest failed event (a resource's before the stack's).
pub fn failure_reason(resources: &[Resource], events: &[Event]) -> Option<String> {
    let failed: Vec<&Resource> = resources
        .iter()
        .filter(|r| phase(&r.resource_status) == Phase::Failed)
        .collect();
    let top: Vec<&Resource> = failed
        .iter()
        .copied()
        .filter(|r| r.parent_resource.is_none())
        .collect();
    let mut chosen = if top.is_empty() { failed } else { top };
    chosen.sort_by(|a, b| a.resource_name.cmp(&b.resource_name));
    if !chosen.is_empty() {
        return Some(
            chosen
                .iter()
                .map(|r| {
                    format!(
                        "{}: {}: {}",
                        r.resource_name,
                        r.resource_status,
                        r.resource_status_reason.as_deref().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    // The stack's own events: physical id = stack id, which ends the `stack` link.
    let is_stack_event = |e: &Event| {
        e.physical_resource_id.as_deref().is_some_and(|pid| {
            e.links
                .iter()
                .any(|l| l.rel == "stack" && l.href.ends_with(&format!("/{pid}")))
        })
    };
    let newest = |stack_level: bool| {
        events
            .iter()
            .filter(|e| phase(&e.resource_status) == Phase::Failed)
            .filter(|e| is_stack_event(e) == stack_level)
            .max_by(|a, b| a.event_time.cmp(&b.event_time))
    };
    newest(false).or_else(|| newest(true)).map(|e| {
        format!(
            "{}: {}: {}",
            e.resource_name,
            e.resource_status,
            e.resource_status_reason.as_deref().unwrap_or("")
        )
    })
}
