//! Objects in etcd: one key per object (`/registry/<resource>/<namespace>/<name>`), its JSON
//! as the value, and etcd's mod_revision as the object's resourceVersion, so that optimistic
//! concurrency is etcd's own compare-and-swap.

use serde_json::Value;

use super::resources::Resource;
use super::status::ApiError;
use crate::etcd::{Etcd, Kv, Written};

/// Access to the objects of every resource.
#[derive(Debug)]
pub struct Store {
    /// The etcd client.
    pub etcd: Etcd,
}

/// An object's namespace (empty when cluster-scoped).
pub fn namespace_of(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// An object's name.
pub fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// An object's resourceVersion as a number, if it has one.
pub fn version_of(obj: &Value) -> Option<i64> {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
}

/// The object stored under `kv`, with its resourceVersion.
pub fn decode(kv: &Kv) -> Option<Value> {
    let mut obj: Value = serde_json::from_slice(&kv.value).ok()?;
    set_version(&mut obj, kv.mod_revision);
    Some(obj)
}

fn set_version(obj: &mut Value, rev: i64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rev.to_string()));
    }
}

fn encode(obj: &Value) -> Vec<u8> {
    let mut copy = obj.clone();
    if let Some(meta) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    copy.to_string().into_bytes()
}

impl Store {
    /// One object, or None.
    pub async fn try_get(
        &self,
        res: &Resource,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, ApiError> {
        Ok(self
            .etcd
            .get(&res.key(ns, name))
            .await?
            .as_ref()
            .and_then(decode))
    }

    /// One object, or NotFound.
    pub async fn get(
        &self,
        res: &Resource,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        self.try_get(res, ns, name)
            .await?
            .ok_or_else(|| ApiError::not_found(res, name))
    }

    /// Every object (in `ns` when given) at `revision` (now when None), and the revision.
    pub async fn list(
        &self,
        res: &Resource,
        ns: Option<&str>,
        revision: Option<i64>,
    ) -> Result<(Vec<Value>, i64), ApiError> {
        let (kvs, rev) = self.etcd.list(&res.prefix(ns), revision).await?;
        Ok((kvs.iter().filter_map(decode).collect(), rev))
    }

    /// Stores a new object; AlreadyExists if the name is taken.
    pub async fn create(&self, res: &Resource, mut obj: Value) -> Result<Value, ApiError> {
        let name = name_of(&obj).to_string();
        let key = res.key(namespace_of(&obj), &name);
        match self.etcd.create(&key, &encode(&obj)).await? {
            Written::Done(rev) => {
                set_version(&mut obj, rev);
                Ok(obj)
            }
            _ => Err(ApiError::already_exists(res, &name)),
        }
    }

    /// Replaces an object that must still be at resourceVersion `expect`.
    pub async fn replace(
        &self,
        res: &Resource,
        mut obj: Value,
        expect: i64,
    ) -> Result<Value, ApiError> {
        let name = name_of(&obj).to_string();
        let key = res.key(namespace_of(&obj), &name);
        match self.etcd.update(&key, &encode(&obj), expect).await? {
            Written::Done(rev) => {
                set_version(&mut obj, rev);
                Ok(obj)
            }
            Written::Missing => Err(ApiError::not_found(res, &name)),
            Written::Conflict => Err(ApiError::conflict(res, &name)),
        }
    }

    /// Read-modify-write: `change` gets the current object and returns the new one (or an
    /// error); retried when someone else wrote in between. Unchanged objects are not written.
    pub async fn update<F>(
        &self,
        res: &Resource,
        ns: Option<&str>,
        name: &str,
        mut change: F,
    ) -> Result<Value, ApiError>
    where
        F: FnMut(Value) -> Result<Value, ApiError>,
    {
        let mut attempts = 0;
        loop {
            let current = self.get(res, ns, name).await?;
            let rev = version_of(&current).unwrap_or(0);
            let mut new = change(current.clone())?;
            set_version(&mut new, rev);
            if new == current {
                return Ok(current);
            }
            match self.replace(res, new, rev).await {
                Err(e) if e.reason == "Conflict" && attempts < 8 => attempts += 1,
                other => return other,
            }
        }
    }

    /// Deletes an object (if still at `expect` when given); returns it as it was.
    pub async fn delete(
        &self,
        res: &Resource,
        ns: Option<&str>,
        name: &str,
        expect: Option<i64>,
    ) -> Result<Value, ApiError> {
        let key = res.key(ns, name);
        let mut attempts = 0;
        loop {
            let current = self.get(res, ns, name).await?;
            let rev = version_of(&current).unwrap_or(0);
            if expect.is_some_and(|e| e != rev) {
                return Err(ApiError::conflict(res, name));
            }
            match self.etcd.delete(&key, rev).await? {
                Written::Done(_) => return Ok(current),
                Written::Missing => return Err(ApiError::not_found(res, name)),
                Written::Conflict if expect.is_none() && attempts < 8 => attempts += 1,
                Written::Conflict => return Err(ApiError::conflict(res, name)),
            }
        }
    }

    /// Deletes every object of `res` in namespace `ns`.
    pub async fn delete_all(&self, res: &Resource, ns: Option<&str>) -> Result<i64, ApiError> {
        Ok(self.etcd.delete_prefix(&res.prefix(ns)).await?)
    }
}
