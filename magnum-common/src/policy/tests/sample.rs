//! The generated sample `policy.yaml`: it reads back as the defaults, and the
//! committed copy is current.

use std::collections::BTreeMap;

use super::*;
use crate::policy::defaults::DEFAULTS;

#[test]
fn the_sample_reads_back_as_the_defaults() {
    for new_defaults in [false, true] {
        let sample = default_rules_yaml(new_defaults);
        let uncommented: String = sample
            .lines()
            .filter_map(|line| line.strip_prefix("#\""))
            .map(|line| format!("\"{line}\n"))
            .collect();
        let parsed: BTreeMap<String, String> = yaml_serde::from_str(&uncommented).unwrap();
        assert_eq!(parsed.len(), DEFAULTS.len());
        for default in DEFAULTS {
            assert_eq!(
                parsed[default.name],
                default.effective(new_defaults),
                "{}",
                default.name
            );
        }
        // Every line is a comment or blank, so the sample itself overrides nothing.
        assert!(sample.lines().all(|l| l.is_empty() || l.starts_with('#')));
        let from_sample: BTreeMap<String, String> = yaml_serde::from_str::<Option<_>>(&sample)
            .unwrap()
            .unwrap_or_default();
        assert!(from_sample.is_empty());
    }
}

/// The committed sample must match what the code generates. Regenerate it with
/// `MAGNUM_UPDATE_SAMPLE=1 cargo test -p magnum-common committed_policy_sample`.
#[test]
fn committed_policy_sample_is_current() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../etc/magnum/policy.yaml.sample"
    );
    let expected = default_rules_yaml(false);
    if std::env::var_os("MAGNUM_UPDATE_SAMPLE").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == expected,
        "etc/magnum/policy.yaml.sample is stale: regenerate it with \
         `MAGNUM_UPDATE_SAMPLE=1 cargo test -p magnum-common committed_policy_sample`"
    );
}
