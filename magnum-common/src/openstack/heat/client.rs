//! [`HeatClient`]: the calls, with retries and lost-answer handling.

use std::sync::RwLock;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::http::*;
use super::*;
use crate::config::Secret;
use crate::openstack::catalog::Catalog;

/// A Heat client acting with one (replaceable) token.
pub struct HeatClient {
    http: reqwest::Client,
    base: Url,
    token: RwLock<Secret>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for HeatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HeatClient({})", self.base)
    }
}

impl HeatClient {
    /// A client for the orchestration endpoint `base_url`
    /// (`http://host:port/v1/<project id>`), acting with `token`.
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        token: impl Into<String>,
    ) -> Result<Self, HeatError> {
        let base = Url::parse(base_url.trim_end_matches('/'))
            .map_err(|e| HeatError::InvalidEndpoint(format!("{base_url}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(HeatError::InvalidEndpoint(format!(
                "{base_url}: not an http(s) URL"
            )));
        }
        if base_url.contains("$(") || base_url.contains("%(") {
            return Err(HeatError::InvalidEndpoint(format!(
                "{base_url}: the project id is not substituted"
            )));
        }
        Ok(HeatClient {
            http,
            base,
            token: RwLock::new(Secret::new(token)),
            retry: RetryPolicy::default(),
        })
    }

    /// A client for the `orchestration` endpoint of `catalog`.
    pub fn from_catalog(
        http: reqwest::Client,
        catalog: &Catalog,
        interface: &str,
        region: Option<&str>,
        token: impl Into<String>,
    ) -> Result<Self, HeatError> {
        let url = catalog
            .url_for("orchestration", interface, region)
            .ok_or_else(|| {
                HeatError::InvalidEndpoint("no orchestration endpoint in the catalog".to_owned())
            })?;
        Self::new(http, url, token)
    }

    /// The same client with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The endpoint, `…/v1/<project id>`.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// Replaces the token used by the next requests.
    pub fn set_token(&self, token: impl Into<String>) {
        let secret = Secret::new(token);
        match self.token.write() {
            Ok(mut t) => *t = secret,
            Err(poisoned) => *poisoned.into_inner() = secret,
        }
    }

    fn current_token(&self) -> String {
        match self.token.read() {
            Ok(t) => t.expose().to_owned(),
            Err(poisoned) => poisoned.into_inner().expose().to_owned(),
        }
    }

    /// `base/seg1/seg2…` with each segment percent-encoded.
    pub(super) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// The canonical URL of a stack.
    pub fn stack_url(&self, name: &str, id: &str) -> String {
        self.url(&["stacks", name, id]).into()
    }

    /// One attempt: `Err(reason)` for a transient failure (connection, timeout, 5xx).
    async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        let mut req = self
            .http
            .request(method.clone(), url.clone())
            .header("X-Auth-Token", self.current_token())
            .header("Accept", "application/json");
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(|e| without_url(&e))?;
        let status = resp.status();
        let request_id = resp
            .headers()
            .get("x-openstack-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        tracing::debug!(%method, path = url.path(), status = status.as_u16(), request_id, "heat");
        if matches!(status.as_u16(), 500 | 502 | 503 | 504) {
            let excerpt = resp.text().await.unwrap_or_default();
            return Err(format!(
                "{method} {} answered {status}{}",
                url.path(),
                error_message(&excerpt)
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ));
        }
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp.bytes().await.map_err(|e| without_url(&e))?.to_vec();
        Ok(Answer {
            status,
            location,
            body,
        })
    }

    /// Sends a request, retrying transient failures when `retry` allows it.
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        retry: Retry,
    ) -> Result<Answer, HeatError> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match self.send_once(&method, &url, body).await {
                Ok(answer) => return Ok(answer),
                Err(message) => {
                    if retry == Retry::Once || attempt > self.retry.retries {
                        return Err(HeatError::Unavailable {
                            attempts: attempt,
                            message,
                        });
                    }
                    tracing::warn!(attempt, %message, "Heat request failed, retrying");
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                }
            }
        }
    }

    /// Sends an idempotent request and turns error statuses into errors.
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Answer, HeatError> {
        let answer = self.send(method, url, body, Retry::Idempotent).await?;
        check(answer)
    }

    /// Creates a stack (201). See the module docs for how a lost answer is handled.
    pub async fn create_stack(&self, req: &StackCreate) -> Result<StackRef, HeatError> {
        let mut body = serde_json::json!({
            "stack_name": req.name,
            "template": req.template,
            "files": req.files,
            "parameters": req.parameters,
        });
        if !req.environment_files.is_empty() {
            body["environment_files"] = serde_json::json!(req.environment_files);
        }
        if let Some(t) = req.timeout_mins {
            body["timeout_mins"] = t.into();
        }
        if let Some(d) = req.disable_rollback {
            body["disable_rollback"] = d.into();
        }
        if let Some(tags) = &req.tags {
            body["tags"] = tags.as_str().into();
        }
        let url = self.url(&["stacks"]);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match self
                .send(Method::POST, url.clone(), Some(&body), Retry::Once)
                .await
            {
                Ok(answer) => {
                    let retried_exists = attempt > 1
                        && answer.status == StatusCode::CONFLICT
                        && matches!(
                            error_of(&answer),
                            HeatError::Conflict {
                                kind: ConflictKind::StackExists,
                                ..
                            }
                        );
                    if retried_exists && let Some(found) = self.find_stack(&req.name).await? {
                        tracing::info!(stack = %req.name, "create re-sent: the first attempt had created the stack");
                        return Ok(found);
                    }
                    let answer = check(answer)?;
                    return self.created_ref(&req.name, &answer);
                }
                Err(HeatError::Unavailable { message, .. }) => {
                    if attempt > self.retry.retries {
                        return Err(HeatError::Unavailable {
                            attempts: attempt,
                            message,
                        });
                    }
                    tracing::warn!(attempt, %message, stack = %req.name, "stack create failed, looking the name up before re-sending");
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    if let Some(found) = self.find_stack(&req.name).await? {
                        tracing::info!(stack = %req.name, "the failed create had created the stack");
                        return Ok(found);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn created_ref(&self, name: &str, answer: &Answer) -> Result<StackRef, HeatError> {
        #[derive(Deserialize)]
        struct Created {
            stack: CreatedStack,
        }
        #[derive(Deserialize)]
        struct CreatedStack {
            id: String,
            #[serde(default)]
            links: Vec<Link>,
        }
        let created: Created = decode(answer)?;
        let url = answer
            .location
            .clone()
            .or_else(|| {
                created
                    .stack
                    .links
                    .iter()
                    .find(|l| l.rel == "self")
                    .map(|l| l.href.clone())
            })
            .unwrap_or_else(|| self.stack_url(name, &created.stack.id));
        Ok(StackRef {
            id: created.stack.id,
            name: name.to_owned(),
            url,
        })
    }

    /// The live (not deleted) stack named `name`, by one list request.
    pub async fn find_stack(&self, name: &str) -> Result<Option<StackRef>, HeatError> {
        let stacks = self
            .list_stacks(&StackListQuery {
                name: vec![name.to_owned()],
                ..Default::default()
            })
            .await?;
        Ok(stacks
            .into_iter()
            .find(|s| s.stack_name == name && s.stack_status != "DELETE_COMPLETE")
            .map(|s| StackRef {
                url: s
                    .links
                    .iter()
                    .find(|l| l.rel == "self")
                    .map(|l| l.href.clone())
                    .unwrap_or_else(|| self.stack_url(name, &s.id)),
                id: s.id,
                name: s.stack_name,
            }))
    }

    /// The stack by its canonical URL; `resolve_outputs=false` skips the (costly)
    /// output resolution. 404 and `DELETE_COMPLETE` are [`StackLookup::Gone`].
    pub async fn get_stack(
        &self,
        name: &str,
        id: &str,
        resolve_outputs: bool,
    ) -> Result<StackLookup, HeatError> {
        #[derive(Deserialize)]
        struct Show {
            stack: Stack,
        }
        let mut url = self.url(&["stacks", name, id]);
        if !resolve_outputs {
            url.query_pairs_mut()
                .append_pair("resolve_outputs", "false");
        }
        match self.call(Method::GET, url, None).await {
            Ok(answer) => {
                let show: Show = decode(&answer)?;
                if show.stack.stack_status == "DELETE_COMPLETE" {
                    Ok(StackLookup::Gone)
                } else {
                    Ok(StackLookup::Found(Box::new(show.stack)))
                }
            }
            Err(HeatError::NotFound(_)) => Ok(StackLookup::Gone),
            Err(e) => Err(e),
        }
    }

    /// The project's stacks matching `query`, in one request (Heat does not page
    /// unless `limit` is given). Summaries carry status and reason.
    pub async fn list_stacks(
        &self,
        query: &StackListQuery,
    ) -> Result<Vec<StackSummary>, HeatError> {
        #[derive(Deserialize)]
        struct List {
            stacks: Vec<StackSummary>,
        }
        let mut url = self.url(&["stacks"]);
        {
            let mut q = url.query_pairs_mut();
            for (key, values) in [
                ("name", &query.name),
                ("id", &query.id),
                ("status", &query.status),
                ("action", &query.action),
            ] {
                for v in values {
                    q.append_pair(key, v);
                }
            }
            for (key, value) in [
                ("tags", &query.tags),
                ("tags_any", &query.tags_any),
                ("not_tags", &query.not_tags),
                ("marker", &query.marker),
            ] {
                if let Some(v) = value {
                    q.append_pair(key, v);
                }
            }
            if query.show_deleted {
                q.append_pair("show_deleted", "true");
            }
            if query.show_nested {
                q.append_pair("show_nested", "true");
            }
            if let Some(limit) = query.limit {
                q.append_pair("limit", &limit.to_string());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let answer = self.call(Method::GET, url, None).await?;
        Ok(decode::<List>(&answer)?.stacks)
    }

    /// PATCH update (`existing=true`), 202. The stack must exist.
    pub async fn patch_stack(
        &self,
        name: &str,
        id: &str,
        patch: &StackPatch,
    ) -> Result<(), HeatError> {
        let mut body = serde_json::json!({ "parameters": patch.parameters });
        if !patch.clear_parameters.is_empty() {
            body["clear_parameters"] = serde_json::json!(patch.clear_parameters);
        }
        if let Some(t) = &patch.template {
            body["template"] = t.as_str().into();
        }
        if !patch.files.is_empty() {
            body["files"] = serde_json::json!(patch.files);
        }
        if let Some(envs) = &patch.environment_files {
            body["environment_files"] = serde_json::json!(envs);
        }
        if let Some(t) = patch.timeout_mins {
            body["timeout_mins"] = t.into();
        }
        if let Some(d) = patch.disable_rollback {
            body["disable_rollback"] = d.into();
        }
        if let Some(tags) = &patch.tags {
            body["tags"] = tags.as_str().into();
        }
        self.call(Method::PATCH, self.url(&["stacks", name, id]), Some(&body))
            .await
            .map(|_| ())
    }

    /// Deletes a stack (204); a stack already gone is fine.
    ///
    /// Heat shows a stack DELETE_COMPLETE a moment before it soft-deletes the
    /// row, and a DELETE in between fails inside Heat (400, its credentials
    /// are gone). So an error is checked against the stack itself: gone is fine.
    pub async fn delete_stack(&self, name: &str, id: &str) -> Result<(), HeatError> {
        match self
            .call(Method::DELETE, self.url(&["stacks", name, id]), None)
            .await
        {
            Ok(_) | Err(HeatError::NotFound(_)) => Ok(()),
            Err(e) => match self.get_stack(name, id, false).await {
                Ok(StackLookup::Gone) => Ok(()),
                _ => Err(e),
            },
        }
    }

    /// Stops a create or update in progress without rolling back (`cancel_without_rollback`):
    /// the stack turns FAILED and keeps what it made, for a delete to remove. A stack that is
    /// not in progress any more answers 400, which is fine here.
    pub async fn cancel_without_rollback(&self, name: &str, id: &str) -> Result<(), HeatError> {
        let body = serde_json::json!({"cancel_without_rollback": null});
        match self
            .call(
                Method::POST,
                self.url(&["stacks", name, id, "actions"]),
                Some(&body),
            )
            .await
        {
            Ok(_) | Err(HeatError::BadRequest(_)) | Err(HeatError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// One output, resolved.
    pub async fn get_output(&self, name: &str, id: &str, key: &str) -> Result<Output, HeatError> {
        #[derive(Deserialize)]
        struct Show {
            output: Output,
        }
        let answer = self
            .call(
                Method::GET,
                self.url(&["stacks", name, id, "outputs", key]),
                None,
            )
            .await?;
        Ok(decode::<Show>(&answer)?.output)
    }

    /// The stack's resources, those of nested stacks down to `nested_depth`,
    /// optionally only those whose status matches `status` (`FAILED`, …).
    pub async fn resources(
        &self,
        name: &str,
        id: &str,
        nested_depth: u32,
        status: Option<&str>,
    ) -> Result<Vec<Resource>, HeatError> {
        #[derive(Deserialize)]
        struct List {
            resources: Vec<Resource>,
        }
        let mut url = self.url(&["stacks", name, id, "resources"]);
        {
            let mut q = url.query_pairs_mut();
            if nested_depth > 0 {
                q.append_pair("nested_depth", &nested_depth.to_string());
            }
            if let Some(status) = status {
                q.append_pair("status", status);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let answer = self.call(Method::GET, url, None).await?;
        Ok(decode::<List>(&answer)?.resources)
    }

    /// One resource with its attributes (e.g. a provider template's outputs, or
    /// a security group's `id`).
    pub async fn resource(
        &self,
        name: &str,
        id: &str,
        resource_name: &str,
    ) -> Result<Resource, HeatError> {
        #[derive(Deserialize)]
        struct Show {
            resource: Resource,
        }
        let answer = self
            .call(
                Method::GET,
                self.url(&["stacks", name, id, "resources", resource_name]),
                None,
            )
            .await?;
        Ok(decode::<Show>(&answer)?.resource)
    }

    /// The stack's events (newest first unless `sort_dir` says otherwise).
    pub async fn events(
        &self,
        name: &str,
        id: &str,
        query: &EventQuery,
    ) -> Result<Vec<Event>, HeatError> {
        #[derive(Deserialize)]
        struct List {
            events: Vec<Event>,
        }
        let mut url = self.url(&["stacks", name, id, "events"]);
        {
            let mut q = url.query_pairs_mut();
            if let Some(limit) = query.limit {
                q.append_pair("limit", &limit.to_string());
            }
            for (key, value) in [
                ("resource_status", &query.resource_status),
                ("resource_action", &query.resource_action),
                ("resource_name", &query.resource_name),
                ("sort_dir", &query.sort_dir),
            ] {
                if let Some(v) = value {
                    q.append_pair(key, v);
                }
            }
            if let Some(depth) = query.nested_depth {
                q.append_pair("nested_depth", &depth.to_string());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let answer = self.call(Method::GET, url, None).await?;
        Ok(decode::<List>(&answer)?.events)
    }

    /// [`failure_reason`] of a stack: its failed resources two levels deep and
    /// its last failed events (two requests).
    pub async fn stack_failure_reason(
        &self,
        name: &str,
        id: &str,
    ) -> Result<Option<String>, HeatError> {
        let resources = self.resources(name, id, 2, Some("FAILED")).await?;
        let events = self
            .events(
                name,
                id,
                &EventQuery {
                    limit: Some(20),
                    resource_status: Some("FAILED".to_owned()),
                    ..Default::default()
                },
            )
            .await?;
        Ok(failure_reason(&resources, &events))
    }
}
