//! Conversions between typed fields and the TEXT columns that store them.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};

use crate::ids::{
    ClusterTemplateUuid, ClusterUuid, FederationUuid, NodeGroupUuid, OperationUuid, ProjectId,
    UserId,
};
use crate::status::{ClusterStatus, Coe, FederationStatus, HealthStatus, ServerType};

/// The current time, UTC, to the second (every backend stores the same value).
pub fn now() -> NaiveDateTime {
    let t = chrono::Utc::now().naive_utc();
    t.with_nanosecond(0).unwrap_or(t)
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

macro_rules! text_column {
    ($($t:ty),*) => {$(
        impl TryFrom<String> for $t {
            type Error = BoxError;
            fn try_from(s: String) -> Result<Self, BoxError> {
                s.parse::<$t>().map_err(|e| format!("{}: {e}", stringify!($t)).into())
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.to_string()
            }
        }
    )*};
}
text_column!(
    ClusterUuid,
    ClusterTemplateUuid,
    NodeGroupUuid,
    FederationUuid,
    OperationUuid,
    ClusterStatus,
    FederationStatus,
    Coe,
    ServerType
);

macro_rules! keystone_column {
    ($($t:ty),*) => {$(
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
    )*};
}
keystone_column!(ProjectId, UserId);

/// A nullable health status, stored as a nullable TEXT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MaybeHealth(pub Option<HealthStatus>);

impl TryFrom<Option<String>> for MaybeHealth {
    type Error = BoxError;
    fn try_from(s: Option<String>) -> Result<Self, BoxError> {
        match s {
            None => Ok(MaybeHealth(None)),
            Some(s) => Ok(MaybeHealth(Some(
                s.parse().map_err(|e| format!("health_status: {e}"))?,
            ))),
        }
    }
}

impl From<MaybeHealth> for Option<String> {
    fn from(v: MaybeHealth) -> Option<String> {
        v.0.map(|h| h.as_str().to_owned())
    }
}

impl crate::db::pagination::ToSortValue for MaybeHealth {
    fn to_sort_value(&self) -> crate::db::pagination::SortValue {
        crate::db::pagination::SortValue::Text(self.0.map(|h| h.as_str().to_owned()))
    }
}

/// Labels: string keys to string values (upstream stores every value as a string).
pub type Labels = BTreeMap<String, String>;

/// A JSON object stored as TEXT (labels, health reasons, federation properties).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JsonMap(pub BTreeMap<String, String>);

impl TryFrom<String> for JsonMap {
    type Error = BoxError;
    fn try_from(s: String) -> Result<Self, BoxError> {
        if s.is_empty() {
            return Ok(JsonMap::default());
        }
        Ok(serde_json::from_str(&s)?)
    }
}

impl From<JsonMap> for String {
    fn from(v: JsonMap) -> String {
        serde_json::to_string(&v.0).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// A JSON array stored as TEXT (addresses, member ids, taints).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JsonList<T>(pub Vec<T>);

impl<T: serde::de::DeserializeOwned> TryFrom<String> for JsonList<T> {
    type Error = BoxError;
    fn try_from(s: String) -> Result<Self, BoxError> {
        if s.is_empty() {
            return Ok(JsonList(Vec::new()));
        }
        Ok(JsonList(serde_json::from_str(&s)?))
    }
}

impl<T: Serialize> From<JsonList<T>> for String {
    fn from(v: JsonList<T>) -> String {
        serde_json::to_string(&v.0).unwrap_or_else(|_| "[]".to_owned())
    }
}
