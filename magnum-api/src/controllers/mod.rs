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

use chrono::{Datelike, NaiveDateTime, Timelike};

/// Upstream's datetime rendering: `2016-08-29T06:51:31+00:00` (written directly: a
/// strftime format would be parsed again for every timestamp of every response).
pub fn ts(t: NaiveDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Optional datetime rendering.
pub fn ts_opt(t: Option<NaiveDateTime>) -> Option<String> {
    t.map(ts)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_like_upstream() {
        let t = chrono::NaiveDate::from_ymd_opt(2016, 8, 9)
            .unwrap()
            .and_hms_opt(6, 5, 1)
            .unwrap();
        assert_eq!(super::ts(t), "2016-08-09T06:05:01+00:00");
    }
}
