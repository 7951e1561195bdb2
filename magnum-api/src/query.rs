//! Query strings: only the arguments a route declares, with upstream's messages,
//! and the list parameters every collection shares.

use std::collections::BTreeMap;

use actix_web::HttpRequest;
use magnum_common::db::pagination::Sortable;
use magnum_common::db::{Page, SortDir};
use uuid::Uuid;

use crate::error::ApiError;

/// The parsed query string.
#[derive(Debug, Default, Clone)]
pub struct Query(BTreeMap<String, String>);

impl Query {
    /// Parses the request's query string, refusing arguments outside `allowed`.
    pub fn parse(req: &HttpRequest, allowed: &[&str]) -> Result<Query, ApiError> {
        let mut map = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
            map.insert(k.into_owned(), v.into_owned());
        }
        let unknown: Vec<String> = map
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .map(|k| format!("\"{k}\""))
            .collect();
        if !unknown.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "Unknown argument: {}",
                unknown.join(", ")
            )));
        }
        Ok(Query(map))
    }

    /// Drops an argument (handled separately by the caller).
    pub fn remove(&mut self, key: &str) {
        self.0.remove(key);
    }

    /// A raw argument.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A boolean argument (oslo's spellings).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => crate::body::parse_bool(&serde_json::Value::String(v.to_owned())).map(Some).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "Invalid input for field/attribute {key}. Value: '{v}'. Unrecognized value, acceptable values are: \
                     '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'"
                ))
            }),
        }
    }
}

/// The arguments of a list request.
pub const LIST_ARGS: &[&str] = &["marker", "limit", "sort_key", "sort_dir"];

/// `limit`, `marker`, `sort_key` and `sort_dir`, checked.
#[derive(Debug, Clone)]
pub struct ListParams {
    /// Effective page size (capped at `[api] max_limit`).
    pub limit: i64,
    /// The marker uuid, if given.
    pub marker: Option<Uuid>,
    /// The whitelisted sort column.
    pub sort_key: &'static str,
    /// Direction.
    pub sort_dir: SortDir,
}

impl ListParams {
    /// Reads and checks the list arguments for rows of type `R`.
    pub fn parse<R: Sortable>(q: &Query, max_limit: u32) -> Result<ListParams, ApiError> {
        let limit = match q.get("limit") {
            None => i64::from(max_limit),
            Some(v) => {
                let n: i64 = v.trim().parse().map_err(|_| {
                    ApiError::BadRequest(format!("Invalid input for field/attribute limit. Value: '{v}'. unable to convert to int"))
                })?;
                if n <= 0 {
                    return Err(ApiError::BadRequest("Limit must be positive".to_owned()));
                }
                n.min(i64::from(max_limit))
            }
        };
        let sort_dir = match q.get("sort_dir").unwrap_or("asc") {
            "asc" => SortDir::Asc,
            "desc" => SortDir::Desc,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "Invalid sort direction: {other}. Acceptable values are 'asc' or 'desc'"
                )));
            }
        };
        let key = q.get("sort_key").unwrap_or("id");
        let sort_key = R::sort_key(key).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "The sort_key value \"{key}\" is an invalid field for sorting"
            ))
        })?;
        let marker = match q.get("marker") {
            None => None,
            Some(m) => Some(magnum_common::ids::parse_uuid_like(m).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "Invalid input for field/attribute marker. Value: '{m}'. unable to convert to uuid. Error: Expected a uuid but received {m}."
                ))
            })?),
        };
        Ok(ListParams {
            limit,
            marker,
            sort_key,
            sort_dir,
        })
    }

    /// The page to read, starting after `marker_row` when there is one.
    pub fn page<R: Sortable>(&self, marker_row: Option<&R>) -> Page {
        let page = Page {
            limit: self.limit,
            sort_key: self.sort_key,
            sort_dir: self.sort_dir,
            marker: None,
        };
        match marker_row {
            Some(row) => page.after(row),
            None => page,
        }
    }

    /// The `next` link when the page is full: `{host}/v1/{url}?sort_key=…&sort_dir=…&limit=…&marker=…`.
    pub fn next(
        &self,
        host: &str,
        url: &str,
        returned: usize,
        last_marker: Option<String>,
    ) -> Option<String> {
        if returned == 0 || returned as i64 != self.limit {
            return None;
        }
        Some(format!(
            "{host}/v1/{url}?sort_key={}&sort_dir={}&limit={}&marker={}",
            self.sort_key,
            self.sort_dir.as_str(),
            self.limit,
            last_marker?
        ))
    }
}
