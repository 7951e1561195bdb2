//! One module per resource; legacy bays and baymodels share their modern twins' code.

pub mod certificate;
pub mod cluster;
pub mod cluster_actions;
pub mod cluster_template;
pub mod credential;
pub mod federation;
pub mod lookup;
pub mod mservice;
pub mod nodegroup;
pub mod quota;
pub mod root;
pub mod stats;

use chrono::NaiveDateTime;

/// Upstream's datetime rendering: `2016-08-29T06:51:31+00:00`.
pub fn ts(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

/// Optional datetime rendering.
pub fn ts_opt(t: Option<NaiveDateTime>) -> Option<String> {
    t.map(ts)
}
